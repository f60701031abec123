/**
 * Where the benchmark driver reads and writes: the repository, Kiln's entry point, the lab's
 * directory and the bench hosts' own inventory in it, the work folder for logs and reports
 * (bench/.work, git-ignored), the Ansible project, and Ansible's SSH control sockets.
 */
import { realpathSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const KILN = path.join(REPO, 'bin/kiln.js');
export const LAB_DIR = path.join(REPO, '.lab');
export const BENCH_INV = path.join(LAB_DIR, 'bench-inventory.yml');
export const WORK = path.join(REPO, 'bench/.work');
export const ANSIBLE_DIR = path.join(REPO, 'bench/ansible');
export const RESULTS_DIR = path.join(REPO, 'bench/results');
/** = control_path_dir in bench/ansible/ansible.cfg */
export const CP_DIR = '/tmp/kiln-bench-ansible-cp';

/** Whether the module at `url` (its import.meta.url) is the script node was started with (not imported by a test or another module). */
export function isEntry(url: string): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return realpathSync(path.resolve(entry)) === realpathSync(fileURLToPath(url));
  } catch {
    return false;
  }
}
