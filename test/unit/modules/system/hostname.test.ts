import { describe, expect, it } from 'vitest';
import hostname, { hostnameApply, hostnameParse, hostnamePlan, hostnameProbe } from '../../../../src/modules/system/hostname.ts';
import { shSyntax } from '../helpers.ts';

const out = (stdout: string) => ({ stdout, stderr: '', code: 0 });
const systemd = (current: string, permanent: string, kernel = current) =>
  hostnameParse(out(`systemd=1\ncurrent=${current}\npermanent=${permanent}\nkernel=${kernel}\nfile_exists=1\nfile=${permanent}\n`));

describe('hostname plan', () => {
  it('converged when the running and permanent names are the name', () => {
    expect(hostnamePlan({ name: 'web1' }, systemd('web1', 'web1'))).toEqual([]);
  });
  it('sets the permanent name before the running one, with hostnamectl under systemd', () => {
    const p = hostnamePlan({ name: 'web1.example.org' }, systemd('old', 'old'));
    expect(p.map((c) => c.op)).toEqual([
      { kind: 'permanent', systemd: true, fileExists: true },
      { kind: 'current', systemd: true },
    ]);
    expect(p[0].diff).toContain('-hostname = old\n+hostname = web1.example.org');
    const sh = hostnameApply(
      { name: 'web1.example.org' },
      p.map((c) => c.op),
    );
    expect(sh).toContain(
      "hostnamectl --pretty --static set-hostname 'web1.example.org'\nhostnamectl --transient set-hostname 'web1.example.org'",
    );
    expect(shSyntax(sh)).toBe('');
  });
  it('only the running name drifted: one op', () => {
    expect(hostnamePlan({ name: 'a' }, systemd('b', 'a')).map((c) => c.op.kind)).toEqual(['current']);
  });
  it('without systemd: /etc/hostname and the kernel name', () => {
    const s = hostnameParse(out('systemd=0\nkernel=old\nfile=old\n'));
    expect(s).toMatchObject({ systemd: false, current: 'old', permanent: 'old' });
    const ops = hostnamePlan({ name: 'new' }, s).map((c) => c.op);
    const sh = hostnameApply({ name: 'new' }, ops);
    expect(sh).toContain("dest='/etc/hostname'");
    expect(sh).toContain("hostname 'new'");
    expect(shSyntax(sh)).toBe('');
  });
  it("refuses other systems' strategies, and use: systemd without systemd", () => {
    expect(() => hostnamePlan({ name: 'a', use: 'redhat' }, systemd('a', 'a'))).toThrow(/strategy of another system/);
    expect(() => hostnamePlan({ name: 'a', use: 'systemd' }, hostnameParse(out('systemd=0\nkernel=a\nfile=a\n')))).toThrow(/hostnamectl/);
    expect(hostnamePlan({ name: 'a', use: 'debian' }, systemd('a', 'a'))).toEqual([]);
  });
  it('the probe parses as sh; register sets the facts Ansible sets', () => {
    expect(shSyntax(hostnameProbe())).toBe('');
    expect(hostname.registerData!({ name: 'web1.example.org' }, undefined, systemd('x', 'x'))).toEqual({
      name: 'web1.example.org',
      ansible_facts: { ansible_hostname: 'web1', ansible_nodename: 'web1.example.org' },
    });
  });
});
