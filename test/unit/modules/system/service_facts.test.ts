import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import sf, { parseServiceFacts, serviceFactsProbe, serviceFactsResult } from '../../../../src/modules/system/service_facts.ts';
import { ctx, runProbe, shSyntax } from '../helpers.ts';

const FIX = join(import.meta.dirname, '../../../fixtures/ansible/service_facts');
const read = (f: string) => readFileSync(join(FIX, f), 'utf8');
const ansible = (f: string) => {
  const { changed: _c, ...rest } = JSON.parse(read(f)) as Record<string, unknown>;
  return rest;
};

describe('service_facts', () => {
  it('reads a systemd host exactly as Ansible does (probe output and Ansible result of the same lab host)', () => {
    const services = parseServiceFacts(read('x17g1-probe.txt'));
    expect(serviceFactsResult(services)).toEqual(ansible('x17g1-ansible.json'));
    // both sources, bad states and unit files list-units does not name
    expect(services['dbus']).toEqual({ name: 'dbus', state: 'running', source: 'sysv' });
    expect(services['ssh.service']).toEqual({ name: 'ssh.service', state: 'running', status: 'enabled', source: 'systemd' });
    expect(Object.values(services).some((s) => s.status === 'not-found')).toBe(true);
  });

  it('reads a host without systemd (service --status-all only) as Ansible does', () => {
    expect(serviceFactsResult(parseServiceFacts(read('loopback-probe.txt')))).toEqual(ansible('loopback-ansible.json'));
  });

  it("parses list-units lines with a bullet and a bad state, and keeps a bad state over the unit file's status", () => {
    const out = [
      '@@kiln-sf units',
      '  UNIT                 LOAD      ACTIVE   SUB     DESCRIPTION',
      '  cron.service         loaded    active   running Regular background program processing daemon',
      '* foo.service          not-found inactive dead    foo.service',
      '  bar.service          masked    inactive dead    bar.service',
      '@@kiln-sf files',
      'UNIT FILE            STATE    VENDOR PRESET',
      'cron.service         enabled  enabled',
      'bar.service          masked   enabled',
      'baz.service          disabled enabled',
      'qux.service          static   -',
      '@@kiln-sf show',
      '0 baz.service ActiveState=inactive',
      '1 qux.service ',
    ].join('\n');
    expect(parseServiceFacts(out)).toEqual({
      'cron.service': { name: 'cron.service', state: 'running', status: 'enabled', source: 'systemd' },
      'foo.service': { name: 'foo.service', state: 'stopped', status: 'not-found', source: 'systemd' },
      // 'masked' is in the fields, so Ansible drops the first field (here the name): its own quirk, kept
      masked: { name: 'masked', state: 'stopped', status: 'masked', source: 'systemd' },
      'bar.service': { name: 'bar.service', state: 'unknown', status: 'masked', source: 'systemd' },
      'baz.service': { name: 'baz.service', state: 'inactive', status: 'disabled', source: 'systemd' },
      'qux.service': { name: 'qux.service', state: 'unknown', status: 'static', source: 'systemd' },
    });
  });

  it('is skipped with Ansible’s message when no service is found', () => {
    expect(serviceFactsResult({})).toEqual({
      skipped: true,
      msg: 'Failed to find any services. This can be due to privileges or some other configuration issue.',
    });
  });

  it('never changes anything: an empty plan, a valid read-only probe', () => {
    expect(shSyntax(serviceFactsProbe())).toBe('');
    const r = runProbe(sf.probe({}, undefined, ctx()));
    expect(r.code).toBe(0);
    expect(sf.plan({}, undefined, parseServiceFacts(r.stdout), ctx())).toEqual([]);
  });
});
