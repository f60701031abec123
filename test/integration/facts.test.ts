/**
 * Ansible's facts over a real OpenSSH server on loopback (this machine): `kiln facts --ansible`
 * against ansible-core 2.14's setup output recorded here (test/fixtures/facts/setup-all.json, see
 * its README) — the same names and types, the machine-independent values equal; and a playbook
 * that gathers (Ansible's default) and uses them: `ansible_facts`, the injected `ansible_*`
 * names at the host-facts precedence level, local facts, and the round trip budget.
 */
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kiln, ROOT } from '../helpers/kiln.ts';
import { startSshd, type TestSshd, writeSshdInventory } from '../helpers/sshd.ts';

const FIX = join(ROOT, 'test/fixtures/facts');
/** What Kiln does not gather (docs/playbooks.md, Facts). */
const NOT_GATHERED = new Set(['ansible_devices', 'ansible_device_links', 'discovered_interpreter_python']);

let sshd: TestSshd;
let work: string;
let inv: string;

beforeAll(async () => {
  sshd = await startSshd();
  work = mkdtempSync(join(tmpdir(), 'kiln-facts-it-'));
  inv = writeSshdInventory(sshd, work, { loop1: { ansible_distribution: 'from-the-inventory' } });
}, 30000);

afterAll(async () => {
  await sshd?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** A value's JSON shape: its type, and for a mapping its keys (one level). */
function shape(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'list';
  if (typeof v === 'object')
    return `dict(${Object.keys(v as object)
      .sort()
      .join(',')})`;
  return typeof v;
}

describe('kiln facts --ansible', () => {
  it("gathers what Ansible's setup module gathers on this machine: same names, same types", () => {
    const r = kiln(['facts', 'loop1', '-i', inv, '--ansible']);
    expect(r.code, r.output).toBe(0);
    const out = JSON.parse(r.stdout) as { ansible_facts: Record<string, unknown>; round_trips: number };
    expect(out.round_trips).toBe(1);
    const kf = out.ansible_facts;
    const af = (JSON.parse(readFileSync(join(FIX, 'setup-all.json'), 'utf8')) as { ansible_facts: Record<string, unknown> }).ansible_facts;
    const perIface = (f: Record<string, unknown>) =>
      new Set(((f.ansible_interfaces as string[]) ?? []).map((i) => `ansible_${i.replace(/-/g, '_')}`));
    const ansibleIfaces = perIface(af);
    const kilnIfaces = perIface(kf);
    // Every fact Ansible gave here (but those Kiln documents it does not gather) is there, of the same type.
    for (const [k, v] of Object.entries(af)) {
      if (NOT_GATHERED.has(k) || ansibleIfaces.has(k)) continue;
      expect(kf, k).toHaveProperty([k]);
      const dictShape = [
        'ansible_date_time',
        'ansible_python',
        'ansible_lsb',
        'ansible_apparmor',
        'ansible_selinux',
        'ansible_default_ipv4',
        'ansible_default_ipv6',
        'ansible_memory_mb',
        'ansible_loadavg',
      ];
      if (dictShape.includes(k)) expect(shape(kf[k]), k).toBe(shape(v));
      else expect(typeof kf[k], k).toBe(typeof v);
    }
    // Per interface: the same keys as Ansible's for an interface of the same name (ethtool's features excepted).
    for (const k of kilnIfaces) {
      if (!(k in af)) continue;
      const strip = (x: unknown) =>
        Object.keys(x as object)
          .filter((n) => !['features', 'timestamping', 'hw_timestamp_filters', 'phc_index'].includes(n))
          .sort();
      expect(strip(kf[k]), k).toEqual(strip(af[k]));
    }
    // Values that do not depend on the day: equal to Ansible's.
    for (const k of [
      'ansible_system',
      'ansible_architecture',
      'ansible_machine',
      'ansible_userspace_bits',
      'ansible_os_family',
      'ansible_distribution',
      'ansible_distribution_major_version',
      'ansible_distribution_release',
      'ansible_distribution_file_variety',
      'ansible_pkg_mgr',
      'ansible_apparmor',
      'ansible_fips',
      'ansible_processor_count',
      'ansible_processor_cores',
      'ansible_processor_vcpus',
    ]) {
      expect(kf[k], k).toEqual(af[k]);
    }
    // Interfaces are this machine's now (Ansible lists /sys/class/net; the fixture's machine had others).
    expect(new Set(kf.ansible_interfaces as string[])).toEqual(new Set(readdirSync('/sys/class/net')));
    // Values of this machine now, known independently.
    expect(kf.ansible_user_id).toBe(sshd.user);
    expect(kf.ansible_user_uid).toBe(process.getuid!());
    expect(kf.ansible_nodename).toBe(hostname());
    expect(kf.ansible_hostname).toBe(hostname().split('.')[0]);
    expect(kf.ansible_kernel).toBe(release());
    const mem = readFileSync('/proc/meminfo', 'utf8').match(/^MemTotal:\s+(\d+)/m)!;
    expect(kf.ansible_memtotal_mb).toBe(Math.floor(Number(mem[1]) / 1024));
    const dt = kf.ansible_date_time as Record<string, string>;
    expect(Math.abs(Number(dt.epoch) - Date.now() / 1000)).toBeLessThan(60);
    expect(kf.gather_subset).toEqual(['all']);
  });

  it('gather_subset selects the collectors; a bad subset is refused before any contact', () => {
    const r = kiln(['facts', 'loop1', '-i', inv, '--ansible', '--gather-subset', '!all,!min,distribution']);
    expect(r.code, r.output).toBe(0);
    const f = JSON.parse(r.stdout).ansible_facts as Record<string, unknown>;
    expect(Object.keys(f).sort()).toEqual([
      'ansible_distribution',
      'ansible_distribution_file_parsed',
      'ansible_distribution_file_path',
      'ansible_distribution_file_variety',
      'ansible_distribution_major_version',
      'ansible_distribution_minor_version',
      'ansible_distribution_release',
      'ansible_distribution_version',
      'ansible_os_family',
      'gather_subset',
      'module_setup',
    ]);
    const bad = kiln(['facts', 'loop1', '-i', inv, '--ansible', '--gather-subset', 'bogus']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("Bad subset 'bogus' given to Ansible. gather_subset options allowed: all, all_ipv4_addresses");
  });
});

describe('a play that gathers facts (the default)', () => {
  it('ansible_facts and ansible_* at the host-facts level; local facts; a converged run costs 2 round trips', () => {
    const dir = join(work, 'pb');
    mkdirSync(dir, { recursive: true });
    const factPath = join(dir, 'facts.d');
    cpSync(join(FIX, 'local.d'), factPath, { recursive: true });
    const out = join(dir, 'out.txt');
    writeFileSync(
      join(dir, 'site.yml'),
      `- hosts: all
  fact_path: ${factPath}
  vars:
    ansible_kernel: from-play-vars
  tasks:
    - name: facts in a file
      copy:
        dest: ${out}
        content: |
          {{ ansible_facts.distribution }}|{{ ansible_distribution }}|{{ ansible_facts['os_family'] }}
          {{ ansible_hostname }}|{{ ansible_facts.default_ipv4.address | default('none') }}
          {{ ansible_kernel }}|{{ ansible_facts.kernel == ansible_kernel }}
          {{ ansible_local.app.version }}|{{ ansible_local.site.general.name }}|{{ ansible_facts.ansible_local.dynamic.count }}
          {{ hostvars[inventory_hostname].ansible_facts.system }}|{{ facts.hostname == ansible_hostname }}
`,
    );
    const run = (json: string, extra: string[] = []) =>
      kiln(['apply', join(dir, 'site.yml'), '-i', inv, '--json', join(dir, json), ...extra]);
    const first = run('first.json');
    expect(first.code, first.output).toBe(0);
    const af = (JSON.parse(readFileSync(join(FIX, 'setup-all.json'), 'utf8')) as { ansible_facts: Record<string, unknown> }).ansible_facts;
    const lines = readFileSync(out, 'utf8').split('\n');
    // Facts win over the inventory's ansible_distribution; play vars win over the facts.
    expect(lines[0]).toBe(`${af.ansible_distribution}|${af.ansible_distribution}|${af.ansible_os_family}`);
    expect(lines[1]!.split('|')[0]).toBe(hostname().split('.')[0]);
    expect(lines[2]).toBe('from-play-vars|False');
    expect(lines[3]).toBe('1.2.3|web|3');
    expect(lines[4]).toBe('Linux|True');
    // Converged: gathering (1) + the probes (1).
    const again = run('again.json');
    expect(again.code, again.output).toBe(0);
    const rep = JSON.parse(readFileSync(join(dir, 'again.json'), 'utf8')) as {
      hosts: Record<string, { changed: number; round_trips: number }>;
    };
    expect(rep.hosts.loop1!.changed).toBe(0);
    expect(rep.hosts.loop1!.round_trips).toBe(2);
    // Facts are never printed: not the environment, not a fact's value.
    expect(again.output).not.toContain(String((af.ansible_env as Record<string, string>).PATH));
  });

  it('gather_facts: false — a fact is undefined, and validation names it (exit 2, nothing contacted)', () => {
    const dir = join(work, 'off');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'site.yml'), '- hosts: all\n  gather_facts: false\n  tasks:\n    - command: echo {{ ansible_os_family }}\n');
    const r = kiln(['apply', join(dir, 'site.yml'), '-i', inv]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/site\.yml:4:\d+: .*'ansible_os_family' is undefined.*the Ansible fact 'os_family'/);
  });
});

describe('setup and gather_facts as tasks', () => {
  it("merge their ansible_facts into the host's facts (later tasks see them), filter, register; --check alike", () => {
    const dir = join(work, 'setup-task');
    mkdirSync(dir, { recursive: true });
    const factPath = join(dir, 'facts.d');
    cpSync(join(FIX, 'local.d'), factPath, { recursive: true });
    const out = join(dir, 'out.txt');
    writeFileSync(
      join(dir, 'site.yml'),
      `- hosts: all
  gather_facts: false
  tasks:
    - name: only the distribution facts
      ansible.builtin.setup:
        gather_subset: ["!all", "!min", distribution]
        filter: ["ansible_distribution*", "ansible_os_famil?"]
      register: s
    - name: local facts
      setup: { gather_subset: "!all,!min,local", fact_path: ${factPath} }
    - name: facts in a file
      copy:
        dest: ${out}
        content: |
          {{ ansible_distribution }}|{{ ansible_facts.os_family }}|{{ s.ansible_facts.ansible_distribution }}
          {{ s.ansible_facts.keys() | sort | join(',') }}
          {{ ansible_local.app.port }}|{{ ansible_hostname is defined }}
`,
    );
    const check = kiln(['apply', join(dir, 'site.yml'), '-i', inv, '--check']);
    expect(check.code, check.output).toBe(0);
    const r = kiln(['apply', join(dir, 'site.yml'), '-i', inv]);
    expect(r.code, r.output).toBe(0);
    const af = (JSON.parse(readFileSync(join(FIX, 'setup-all.json'), 'utf8')) as { ansible_facts: Record<string, unknown> }).ansible_facts;
    const lines = readFileSync(out, 'utf8').split('\n');
    expect(lines[0]).toBe(`${af.ansible_distribution}|${af.ansible_os_family}|${af.ansible_distribution}`);
    expect(lines[1]).toBe(
      'ansible_distribution,ansible_distribution_file_parsed,ansible_distribution_file_path,ansible_distribution_file_variety,ansible_distribution_major_version,ansible_distribution_minor_version,ansible_distribution_release,ansible_distribution_version,ansible_os_family',
    );
    expect(lines[2]).toBe('8080|False');
  });

  it('a bad gather_subset on a setup task is refused at validation, located', () => {
    const dir = join(work, 'setup-bad');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'site.yml'), '- hosts: all\n  gather_facts: false\n  tasks:\n    - setup: { gather_subset: [networks] }\n');
    const r = kiln(['apply', join(dir, 'site.yml'), '-i', inv]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/site\.yml:4:\d+: .*Bad subset 'networks' given to Ansible/);
  });
});

describe('the round trip budget over several plays', () => {
  it("an import_playbook whose when is false skips the imported plays' fact gathering too (as Ansible 2.14): no round trip", () => {
    const dir = join(work, 'import-when');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'inner.yml'), '- hosts: all\n  tasks:\n    - debug: { msg: hi }\n');
    writeFileSync(join(dir, 'outer.yml'), '- import_playbook: inner.yml\n  when: run_inner | bool\n');
    const run = (value: string) => {
      const json = join(dir, `${value}.json`);
      const r = kiln(['apply', join(dir, 'outer.yml'), '-i', inv, '-e', `run_inner=${value}`, '--json', json]);
      expect(r.code, r.output).toBe(0);
      return JSON.parse(readFileSync(json, 'utf8')) as { hosts: Record<string, { ok: number; skipped: number; round_trips: number }> };
    };
    const off = run('false');
    expect(off.hosts.loop1).toMatchObject({ ok: 0, skipped: 1, round_trips: 0 });
    const on = run('true');
    expect(on.hosts.loop1).toMatchObject({ ok: 1, round_trips: 1 });
  });

  it('a later play reuses the facts while nothing was applied (2 round trips converged); after a change it gathers again and sees it', () => {
    const dir = join(work, 'plays');
    mkdirSync(join(dir, 'facts.d'), { recursive: true });
    const factPath = join(dir, 'facts.d');
    const out = join(dir, 'out.txt');
    const pb = join(dir, 'site.yml');
    writeFileSync(
      pb,
      `- hosts: all
  fact_path: ${factPath}
  tasks:
    - name: a local fact
      copy: { dest: ${factPath}/release.fact, content: '{"version": "{{ release }}"}' }
- hosts: all
  fact_path: ${factPath}
  tasks:
    - name: what the second play sees
      copy: { dest: ${out}, content: "{{ ansible_local.release.version | default('none') }} {{ ansible_os_family }}" }
`,
    );
    const run = (release: string, json: string) => {
      const r = kiln(['apply', pb, '-i', inv, '-e', `release=${release}`, '--json', join(dir, json)]);
      expect(r.code, r.output).toBe(0);
      return JSON.parse(readFileSync(join(dir, json), 'utf8')) as { hosts: Record<string, { changed: number; round_trips: number }> };
    };
    const af = (JSON.parse(readFileSync(join(FIX, 'setup-all.json'), 'utf8')) as { ansible_facts: Record<string, unknown> }).ansible_facts;
    // The first play writes the fact: the second play gathers again and sees it.
    const first = run('v1', 'first.json');
    expect(first.hosts.loop1!.changed).toBe(2);
    expect(readFileSync(out, 'utf8')).toBe(`v1 ${af.ansible_os_family}`);
    // Converged: one gathering and one probe script for both plays.
    const again = run('v1', 'again.json');
    expect(again.hosts.loop1!.changed).toBe(0);
    expect(again.hosts.loop1!.round_trips).toBe(2);
    // A new value: the second play's gathering is not reused, and it sees the new fact.
    const next = run('v2', 'next.json');
    expect(next.hosts.loop1!.changed).toBe(2);
    expect(readFileSync(out, 'utf8')).toBe(`v2 ${af.ansible_os_family}`);
  });
});
