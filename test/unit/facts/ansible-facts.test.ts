/**
 * Ansible's facts as Kiln gathers them, against ansible-core 2.14's own output recorded on this
 * machine (test/fixtures/facts/, see its README): which facts each gather_subset gives, local
 * facts (fact_path), a bad subset's message. The gathering script runs here through `sh`, as the
 * local transport runs it.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ansibleFactsScript } from '../../../src/modules/system/facts/script.ts';
import { parseAnsibleFacts } from '../../../src/modules/system/facts/parse.ts';
import { BadSubsetError, collectorsFor } from '../../../src/input/playbook/gather-subset.ts';

const FIX = join(import.meta.dirname, '..', '..', 'fixtures', 'facts');
/** What Kiln does not gather (docs/playbooks.md, Facts). */
const NOT_GATHERED = new Set(['ansible_devices', 'ansible_device_links', 'discovered_interpreter_python']);

function gather(subset: string[], factPath?: string): Record<string, unknown> {
  const collectors = collectorsFor(subset);
  const out = execFileSync('sh', ['-c', ansibleFactsScript({ collectors, factPath })], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  return parseAnsibleFacts(out, { collectors, gatherSubset: subset, factPath });
}

/** Fact names, without the per-interface ones (named by the machine). */
function names(f: Record<string, unknown>): Set<string> {
  const ifaces = new Set(((f.ansible_interfaces as string[]) ?? []).map((i) => `ansible_${i.replace(/-/g, '_')}`));
  return new Set(Object.keys(f).filter((k) => !ifaces.has(k)));
}

const tmp = mkdtempSync(join(tmpdir(), 'kiln-facts-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('gather_subset', () => {
  const rows = readFileSync(join(FIX, 'subsets.tsv'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => l.split('\t') as [string, string]);
  // The facts this machine can give at all (Ansible's on the day of the fixture ∩ Kiln's now).
  const kilnAll = names(gather(['all']));
  it.each(rows)('%s: the same fact names as Ansible', (subset, expected) => {
    const want = new Set(
      expected.split(' ').filter((k) => !NOT_GATHERED.has(k) && (kilnAll.has(k) || ['gather_subset', 'module_setup'].includes(k))),
    );
    const got = names(gather(subset.split(',')));
    expect([...got].filter((k) => kilnAll.has(k) || !k.startsWith('ansible_')).sort()).toEqual([...want].sort());
  });

  it("a bad subset name: Ansible's message, word for word", () => {
    const msg = readFileSync(join(FIX, 'bad-subset.txt'), 'utf8').trim();
    expect(() => collectorsFor(['bogus'])).toThrow(BadSubsetError);
    expect(() => collectorsFor(['bogus'])).toThrow(msg);
    // An excluded unknown name is no error (Ansible only checks the names it adds).
    expect(() => collectorsFor(['!bogus'])).not.toThrow();
  });

  it('every fact the issue lists is gathered by default', () => {
    const f = gather(['all']);
    for (const k of [
      'distribution',
      'distribution_version',
      'distribution_major_version',
      'distribution_release',
      'os_family',
      'architecture',
      'hostname',
      'fqdn',
      'nodename',
      'kernel',
      'default_ipv4',
      'default_ipv6',
      'all_ipv4_addresses',
      'interfaces',
      'memtotal_mb',
      'processor_vcpus',
      'processor_cores',
      'processor_count',
      'service_mgr',
      'pkg_mgr',
      'python_version',
      'python',
      'virtualization_type',
      'virtualization_role',
      'env',
      'user_id',
      'user_uid',
      'user_gid',
      'mounts',
      'date_time',
      'lsb',
      'distribution_file_variety',
      'system',
      'machine_id',
      'domain',
      'memfree_mb',
      'swaptotal_mb',
      'processor',
      'selinux',
      'apparmor',
      'dns',
    ]) {
      expect(f, k).toHaveProperty([`ansible_${k}`]);
    }
    expect(f.gather_subset).toEqual(['all']);
    expect(f.module_setup).toBe(true);
  });
});

describe('fact_path: local facts', () => {
  it("JSON, INI, an executable, a failing one and a file that is neither: Ansible's ansible_local", () => {
    const dir = join(tmp, 'facts.d');
    cpSync(join(FIX, 'local.d'), dir, { recursive: true });
    const want = JSON.parse(readFileSync(join(FIX, 'local.json'), 'utf8').replaceAll('FACT_PATH', dir)) as unknown;
    const f = gather(['!all', '!min', 'local'], dir);
    expect(f.ansible_local).toEqual(want);
  });

  it('a missing fact_path gives an empty ansible_local', () => {
    expect(gather(['!all', '!min', 'local'], join(tmp, 'none')).ansible_local).toEqual({});
  });
});
