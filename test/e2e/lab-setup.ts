/**
 * Shared lab for end-to-end suites. Other suites call `ensureLab()`: it brings the default 7-host
 * lab (lb1 lb2 web1 web2 db1 db2 mon1) up once, with the real CLI, and reuses it afterwards (also
 * across test runs: `kiln lab down` in the repo root removes it).
 *
 * Coordination with test/e2e/lab.test.ts (which brings up its own 3-host lab and tears it down:
 * there is one lab per machine): run lab.test.ts first, or alone. If the shared lab is already up
 * when lab.test.ts starts, lab.test.ts skips itself with a message instead of destroying a lab other
 * suites may be using. Concurrent `kiln lab` commands serialize on /run/kiln-lab.lock, so several
 * suites calling ensureLab() at once is safe.
 */
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const KILN_BIN = path.join(REPO_ROOT, 'bin/kiln.js');
/** Working directory of the shared lab (its files are in `<dir>/.lab`). */
export const SHARED_LAB_CWD = process.env.KILN_E2E_LAB_CWD ?? REPO_ROOT;

/** Why lab tests cannot run here, or undefined when they can. */
export function labSkipReason(): string | undefined {
  if (process.platform !== 'linux') return `kiln lab needs Linux (this is ${process.platform})`;
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return 'kiln lab needs root (run the e2e tests as root)';
  return undefined;
}

export interface KilnResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the real CLI: `node bin/kiln.js ARGS` in `cwd`. */
export function kiln(args: readonly string[], cwd: string, timeoutMs = 600000): Promise<KilnResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [KILN_BIN, ...args], { cwd, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

interface StatusJson {
  labDir: string | null;
  /** `added`: a host another suite added with `kiln lab add` (not part of the default lab). */
  hosts: { host: string; address: string; state: string; added?: unknown }[];
}

export const DEFAULT_LAB_HOSTS = ['lb1', 'lb2', 'web1', 'web2', 'db1', 'db2', 'mon1'];

export async function labStatus(cwd: string): Promise<StatusJson> {
  const r = await kiln(['lab', 'status', '--json'], cwd, 60000);
  if (r.code !== 0) throw new Error(`kiln lab status failed (${r.code}):\n${r.stderr}`);
  return JSON.parse(r.stdout) as StatusJson;
}

let pending: Promise<{ dir: string; inventory: string }> | undefined;

/** Brings the default 7-host lab up (idempotent) and returns its `.lab` dir and inventory path. */
export function ensureLab(): Promise<{ dir: string; inventory: string }> {
  pending ??= (async () => {
    const why = labSkipReason();
    if (why) throw new Error(`ensureLab: ${why}`);
    const dir = path.join(SHARED_LAB_CWD, '.lab');
    const result = { dir, inventory: path.join(dir, 'inventory.yml') };
    const s = await labStatus(SHARED_LAB_CWD);
    // Hosts other suites added (`kiln lab add`) come and go: only the default hosts decide.
    const own = s.hosts.filter((h) => !h.added);
    const ready =
      s.labDir === dir &&
      own.length === DEFAULT_LAB_HOSTS.length &&
      own.every((h) => DEFAULT_LAB_HOSTS.includes(h.host) && (h.state === 'running' || h.state === 'degraded'));
    if (ready) return result;
    // `up` reuses running hosts, restarts stopped ones and refuses (clearly) if another lab is up.
    const r = await kiln(['lab', 'up'], SHARED_LAB_CWD);
    if (r.code !== 0) throw new Error(`ensureLab: kiln lab up failed (${r.code}):\n${r.stderr}${r.stdout}`);
    return result;
  })();
  pending.catch(() => {
    pending = undefined;
  });
  return pending;
}

/**
 * Writes a copy of the lab's inventory with only the default hosts (key and known_hosts paths made
 * absolute): other suites may add hosts to the shared inventory while a suite runs.
 */
export function defaultHostsInventory(labInventory: string, out: string): void {
  type Group = { vars?: Record<string, unknown>; hosts?: Record<string, unknown>; children?: Record<string, Group> };
  const inv = parse(readFileSync(labInventory, 'utf8')) as { all: Group };
  const prune = (g: Group) => {
    for (const h of Object.keys(g.hosts ?? {})) if (!DEFAULT_LAB_HOSTS.includes(h)) delete g.hosts![h];
    for (const c of Object.values(g.children ?? {})) prune(c);
  };
  prune(inv.all);
  const vars = inv.all.vars ?? {};
  for (const k of ['identity_file', 'known_hosts'])
    if (typeof vars[k] === 'string') vars[k] = path.join(path.dirname(labInventory), vars[k] as string);
  writeFileSync(out, stringify(inv));
}
