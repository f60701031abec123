/**
 * service_facts against the loopback OpenSSH server (read-only: it reads this machine's services).
 * The registered result has Ansible's shape: the same keys and value types as Ansible's result on
 * this kind of host (test/fixtures/ansible/service_facts/), and the host's facts get
 * ansible_facts.services for later tasks, under --check too.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPlaybook } from '../../helpers/run-playbook.ts';
import { startSshd, type TestSshd, writeSshdInventory } from '../../helpers/sshd.ts';

const FIX = join(import.meta.dirname, '../../fixtures/ansible/service_facts');
type Entry = Record<string, unknown>;
const shape = (e: Entry) =>
  Object.entries(e)
    .map(([k, v]) => `${k}:${typeof v}`)
    .sort()
    .join(',');

describe('service_facts over ssh', () => {
  let sshd: TestSshd;
  let dir: string;
  beforeAll(async () => {
    sshd = await startSshd();
    dir = mkdtempSync(join(tmpdir(), 'kiln-mod-service-facts-'));
  });
  afterAll(async () => {
    await sshd.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const check of [false, true]) {
    it(`registers Ansible's result shape and sets ansible_facts.services${check ? ' (--check)' : ''}`, async () => {
      const inventory = writeSshdInventory(sshd, dir, { h1: {} });
      const playbook = join(dir, 'pb.yml');
      const out = join(dir, `sf-${check}.json`);
      writeFileSync(
        playbook,
        `- hosts: all\n  gather_facts: false\n  tasks:\n    - service_facts:\n      register: sf\n` +
          `    - copy:\n        content: "{{ {'registered': sf, 'facts': ansible_facts.services} | to_json }}"\n        dest: ${out}\n` +
          `      check_mode: false\n`,
      );
      const r = await runPlaybook(playbook, inventory, { check });
      expect(r.tasks.map((t) => [t.module, t.status])).toEqual([
        ['service_facts', 'ok'],
        ['copy', 'changed'],
      ]);
      const got = JSON.parse(readFileSync(out, 'utf8')) as { registered: Entry; facts: Record<string, Entry> };
      const services = (got.registered.ansible_facts as { services: Record<string, Entry> }).services;
      expect(got.facts).toEqual(services);
      expect(Object.keys(got.registered).sort()).toEqual(['ansible_facts', 'changed', 'failed']);
      const fixture = [
        ...Object.values(
          (JSON.parse(readFileSync(join(FIX, 'loopback-ansible.json'), 'utf8')) as { ansible_facts: { services: Record<string, Entry> } })
            .ansible_facts.services,
        ),
        ...Object.values(
          (JSON.parse(readFileSync(join(FIX, 'x17g1-ansible.json'), 'utf8')) as { ansible_facts: { services: Record<string, Entry> } })
            .ansible_facts.services,
        ),
      ];
      const shapes = new Map(fixture.map((e) => [e.source, shape(e)]));
      expect(Object.keys(services).length).toBeGreaterThan(0);
      for (const [name, e] of Object.entries(services)) {
        expect(e.name).toBe(name);
        expect(shape(e), name).toBe(shapes.get(e.source));
      }
    });
  }
});
