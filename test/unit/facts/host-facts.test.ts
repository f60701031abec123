/**
 * The hosts' facts as variables (src/input/inventory/host-facts.ts and the facts level of
 * vars-builder.ts): Ansible's namespace_facts / clean_facts, the shallow merge of
 * set_host_facts, and the "host facts" precedence level (above the inventory, below play vars).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadInventory } from '../../../src/input/inventory/index.ts';
import { cleanFacts, HostFacts, namespaceFacts } from '../../../src/input/inventory/host-facts.ts';
import { VarsBuilder } from '../../../src/input/inventory/vars-builder.ts';
import { loadPlaybook } from '../../../src/input/playbook/load.ts';
import { moduleCatalog } from '../../../src/modules/registry.ts';
import { fnmatch } from '../../../src/modules/system/facts/setup.ts';

const dir = mkdtempSync(join(tmpdir(), 'kiln-host-facts-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('HostFacts', () => {
  it('namespace_facts: ansible_facts without the prefix, ansible_local kept; clean_facts drops connection names', () => {
    const facts = {
      ansible_os_family: 'Debian',
      ansible_local: { a: 1 },
      module_setup: true,
      ansible_host: 'evil',
      ansible_ssh_user: 'x',
      ansible_ssh_host_key_rsa_public: 'AAA',
      ansible_python_interpreter: '/bin/x',
    };
    expect(namespaceFacts(facts)).toEqual({
      os_family: 'Debian',
      ansible_local: { a: 1 },
      module_setup: true,
      host: 'evil',
      ssh_user: 'x',
      ssh_host_key_rsa_public: 'AAA',
      python_interpreter: '/bin/x',
    });
    expect(cleanFacts(facts)).toEqual({
      ansible_os_family: 'Debian',
      ansible_local: { a: 1 },
      module_setup: true,
      ansible_ssh_host_key_rsa_public: 'AAA',
    });
  });

  it('merge is a shallow update (set_host_facts); vars are empty before any gathering', () => {
    const hf = new HostFacts();
    expect(hf.vars('h1')).toEqual({});
    hf.merge('h1', { ansible_lsb: { id: 'Debian', release: '12' }, ansible_kernel: 'k1' });
    hf.merge('h1', { ansible_lsb: { id: 'Ubuntu' } });
    expect(hf.of('h1')).toEqual({ ansible_lsb: { id: 'Ubuntu' }, ansible_kernel: 'k1' });
    expect(hf.vars('h1').ansible_facts).toEqual({ lsb: { id: 'Ubuntu' }, kernel: 'k1' });
    expect(hf.version('h1')).toBe(2);
  });
});

describe('the host facts level of the variables', () => {
  writeFileSync(
    join(dir, 'hosts.yml'),
    'all:\n  hosts:\n    h1: { ansible_kernel: inventory, ansible_os_family: inventory, ansible_machine: inventory, other: "{{ ansible_kernel }}" }\n    h2: {}\n',
  );
  writeFileSync(join(dir, 'pb.yml'), '- hosts: all\n  vars:\n    ansible_machine: play\n  tasks:\n    - command: "true"\n');
  const { inventory } = loadInventory([join(dir, 'hosts.yml')]);
  const { playbook } = loadPlaybook(join(dir, 'pb.yml'), { modules: moduleCatalog });
  const play = playbook.plays[0]!;

  it('inventory < facts < play vars < extra vars; ansible_facts is {} before gathering; facts are never templates', () => {
    const vb = new VarsBuilder(inventory, { extraVars: { ansible_os_family: 'extra' }, check: false, playbook: join(dir, 'pb.yml') });
    const before = vb.forTask('h1', play, ['h1'], play.tasks[0]);
    expect(before.ansible_facts).toEqual({});
    expect(before.ansible_kernel).toBe('inventory');
    vb.facts.merge('h1', {
      ansible_kernel: 'fact-{{ nope }}',
      ansible_os_family: 'Debian',
      ansible_machine: 'x86_64',
      ansible_local: { a: 1 },
    });
    const v = vb.forTask('h1', play, ['h1'], play.tasks[0]);
    expect(v.ansible_kernel).toBe('fact-{{ nope }}');
    expect(v.ansible_machine).toBe('play');
    expect(v.ansible_os_family).toBe('extra');
    expect(v.ansible_local).toEqual({ a: 1 });
    expect((v.ansible_facts as Record<string, unknown>).machine).toBe('x86_64');
    expect(v.other).toBe('fact-{{ nope }}');
    expect((vb.hostvars.h1 as Record<string, unknown>).ansible_facts).toEqual({
      kernel: 'fact-{{ nope }}',
      os_family: 'Debian',
      machine: 'x86_64',
      ansible_local: { a: 1 },
    });
    // Another host's facts are its own.
    expect(vb.forTask('h2', play, ['h2'], play.tasks[0]).ansible_facts).toEqual({});
  });
});

describe("setup's filter", () => {
  it("is Python's fnmatch", () => {
    expect(fnmatch('ansible_distribution_version', 'ansible_distribution*')).toBe(true);
    expect(fnmatch('ansible_os_family', 'ansible_os_famil?')).toBe(true);
    expect(fnmatch('ansible_eth0', 'ansible_eth[0-9]')).toBe(true);
    expect(fnmatch('ansible_eth0', 'ansible_eth[!0-9]')).toBe(false);
    expect(fnmatch('ansible_kernel', 'ansible_k.rnel')).toBe(false);
    expect(fnmatch('ansible_kernel', 'kernel')).toBe(false);
  });
});
