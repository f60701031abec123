import { describe, expect, it } from 'vitest';
import command from '../../../src/modules/system/command.ts';
import group from '../../../src/modules/system/group.ts';
import lineinfile from '../../../src/modules/files/lineinfile.ts';
import pkg from '../../../src/modules/system/package.ts';
import service from '../../../src/modules/system/service.ts';
import shell from '../../../src/modules/system/shell.ts';
import sysctl from '../../../src/modules/files/sysctl.ts';
import type { BoundModule, JSONSchema } from '../../../src/modules/contract.ts';
import user from '../../../src/modules/system/user.ts';
import { newAjv } from '../../../src/plan/schema.ts';

const mine: BoundModule[] = [pkg, service, command, shell, user, group, sysctl, lineinfile];
// The engine's own ajv (src/plan/schema.ts newAjv).
const ajv = newAjv();

describe('module schemas', () => {
  for (const m of mine) {
    it(`${m.name}: compiles in strict mode, closed, every property described`, () => {
      const validate = ajv.compile(m.schema);
      expect(m.schema.additionalProperties).toBe(false);
      for (const [k, v] of Object.entries(m.schema.properties ?? {})) expect((v as JSONSchema).description, `${m.name}.${k}`).toMatch(/\w/);
      expect(validate({ bogus: 1 })).toBe(false);
    });
  }
  it('accepts typical params and rejects bad ones', () => {
    const ok = (m: BoundModule, p: unknown) => ajv.compile(m.schema)(p);
    expect(
      ok(pkg, { name: ['nginx', 'haproxy=2.6.12-1+deb12u1', 'libc6:i386'], state: 'latest', update_cache: true, cache_valid_time: 3600 }),
    ).toBe(true);
    expect(ok(pkg, { name: 'nginx; rm -rf /' })).toBe(false);
    expect(ok(pkg, { name: [] })).toBe(false);
    expect(ok(service, { name: 'nginx', state: 'reloaded', enabled: true })).toBe(true);
    expect(ok(service, { name: 'nginx', state: 'running' })).toBe(false);
    expect(ok(command, { cmd: 'ls', creates: '/x', environment: { A: 'b', N: 1 } })).toBe(true);
    expect(ok(command, { argv: ['ls', '-l'], chdir: '/tmp' })).toBe(true);
    expect(ok(command, { chdir: '/tmp' })).toBe(false);
    expect(ok(command, { cmd: 'ls', environment: { 'A-B': 'x' } })).toBe(false);
    expect(ok(command, { cmd: 'ls', chdir: 'relative' })).toBe(false);
    expect(ok(shell, { cmd: 'a | b', executable: '/bin/bash', stdin: 'x' })).toBe(true);
    expect(ok(user, { name: 'deploy', groups: ['sudo'], append: true, password: '********' })).toBe(true);
    expect(ok(user, { name: 'Bad:Name' })).toBe(false);
    expect(ok(group, { name: 'app', gid: 950, system: true })).toBe(true);
    expect(ok(sysctl, { name: 'net.ipv4.ip_forward', value: 1 })).toBe(true);
    expect(ok(sysctl, { name: 'net.ipv4.ip_local_port_range', value: '1024 65000', reload: false })).toBe(true);
    expect(
      ok(lineinfile, {
        path: '/etc/ssh/sshd_config',
        regexp: '^#?PermitRootLogin',
        line: 'PermitRootLogin no',
        validate: '/usr/sbin/sshd -t -f %s',
      }),
    ).toBe(true);
    expect(ok(lineinfile, { path: '/etc/x', line: 'a', validate: 'no placeholder' })).toBe(false);
  });
});
