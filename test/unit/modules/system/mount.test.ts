/**
 * mount: the fstab edit against Ansible's own results (test/fixtures/mount/oracle.json, generated
 * by ansible.posix.mount with test/fixtures/mount/generate.py on temp fstabs), and the running-state
 * rules of each state from probed states (mountinfo, ismount).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import mount, { linuxMounts, type MountParams, type MountState } from '../../../../src/modules/system/mount.ts';
import { sha256 } from '../../../../src/sh/bytes.ts';
import { ctx, runProbe, shSyntax } from '../helpers.ts';

interface Case {
  initial: string | null;
  params: MountParams;
  after: string | null;
  result: Record<string, unknown> & { changed: boolean };
}
const oracle: Record<string, Case> = JSON.parse(readFileSync(join(__dirname, '../../../fixtures/mount/oracle.json'), 'utf8'));
const b64 = (s: string) => Buffer.from(s).toString('base64');

const MOUNTINFO = [
  '22 1 0:21 / / rw,relatime shared:1 - ext4 /dev/sda1 rw',
  '30 22 0:40 / /srv/cache rw,relatime shared:2 - tmpfs tmpfs rw,size=65536k',
  '31 22 8:1 /data /srv/data rw,relatime shared:1 - ext4 /dev/sda1 rw',
].join('\n');

function stateOf(fstab: string | null, o: { ismount?: boolean; exists?: boolean; mountinfo?: string } = {}): MountState {
  const lines = [
    fstab === null ? 'fstab=0' : `fstab=1\nsha256=${sha256(fstab)}\nfstab_b64=${b64(fstab)}`,
    `exists=${o.exists === false ? 0 : 1}`,
    `ismount=${o.ismount ? 1 : 0}`,
    `mountinfo_b64=${b64(o.mountinfo ?? MOUNTINFO)}`,
    'findmnt=',
  ];
  return mount.parse({ stdout: `${lines.join('\n')}\n`, stderr: '', code: 0 }, { path: '/x', state: 'present' }, undefined);
}
const kinds = (p: MountParams, s: MountState) => mount.plan(p, undefined, s, ctx()).map((c) => c.op.kind);

describe('mount: the fstab edit against the Ansible oracle', () => {
  for (const [name, c] of Object.entries(oracle)) {
    it(name, () => {
      const p = { ...c.params, fstab: '/FSTAB' } as MountParams;
      const s = stateOf(c.initial);
      const planned = mount.plan(p, undefined, s, ctx());
      expect(planned.length > 0, 'changed').toBe(c.result.changed);
      const op = planned[0]?.op;
      expect(op?.kind === 'fstab' ? op.content : c.initial).toBe(c.after ?? null);
      const { changed: _c, ...want } = c.result;
      expect({ ...mount.registerData!(p, undefined, s), fstab: 'FSTAB' }).toEqual(want);
      if (c.after !== null) expect(mount.plan(p, undefined, stateOf(c.after), ctx()), 'converged after').toEqual([]);
    });
  }
});

describe('mount: the running state', () => {
  const fstab = 'tmpfs /srv/cache tmpfs size=64m 0 0\n/data /srv/data none bind 0 0\n';
  it('bind mounts are found in mountinfo with their source directory (Ansible get_linux_mounts)', () => {
    expect(linuxMounts(MOUNTINFO).get('/srv/data')).toEqual({ src: '/data', fs: 'ext4', opts: 'rw,relatime' });
    // Ansible's quirk: a mount under another one gets its root path as source ('/' for a tmpfs).
    expect(linuxMounts(MOUNTINFO).get('/srv/cache')?.src).toBe('/');
  });
  it('mounted: mounts when not mounted, remounts when the entry changed, nothing when both hold', () => {
    const p: MountParams = { path: '/srv/new', src: 'tmpfs', fstype: 'tmpfs', opts: 'size=1m', state: 'mounted' };
    expect(kinds(p, stateOf(fstab, { exists: false }))).toEqual(['mkdir', 'fstab', 'mount']);
    const q: MountParams = { path: '/srv/cache', src: 'tmpfs', fstype: 'tmpfs', opts: 'size=64m', state: 'mounted' };
    expect(kinds(q, stateOf(fstab, { ismount: true }))).toEqual([]);
    expect(kinds({ ...q, opts: 'size=128m' }, stateOf(fstab, { ismount: true }))).toEqual(['fstab', 'remount']);
    const bind: MountParams = { path: '/srv/data', src: '/data', fstype: 'none', opts: 'bind', state: 'mounted' };
    expect(kinds(bind, stateOf(fstab))).toEqual([]);
    expect(kinds(bind, stateOf(fstab, { mountinfo: MOUNTINFO.split('\n').slice(0, 2).join('\n') }))).toEqual(['mount']);
  });
  it('unmounted, absent, remounted, ephemeral', () => {
    expect(kinds({ path: '/srv/cache', state: 'unmounted' }, stateOf(fstab, { ismount: true }))).toEqual(['umount']);
    expect(kinds({ path: '/srv/cache', state: 'unmounted' }, stateOf(fstab, { mountinfo: '' }))).toEqual([]);
    expect(kinds({ path: '/srv/cache', state: 'absent' }, stateOf(fstab, { ismount: true }))).toEqual(['fstab', 'umount', 'rmdir']);
    // Ansible: absent does nothing when the fstab has no entry, even if the path is mounted.
    expect(kinds({ path: '/srv/other', state: 'absent' }, stateOf(fstab, { ismount: true }))).toEqual([]);
    const r = mount.plan({ path: '/srv/cache', state: 'remounted' }, undefined, stateOf(fstab), ctx());
    expect(r.map((c) => [c.op.kind, c.action])).toEqual([['remount', true]]);
    const e: MountParams = { path: '/run/e', src: 'tmpfs', fstype: 'tmpfs', state: 'ephemeral' };
    expect(kinds(e, stateOf(fstab, { mountinfo: '' }))).toEqual(['mount']);
    expect(() => kinds({ ...e, path: '/srv/data', src: '/other' }, stateOf(fstab, { ismount: true }))).toThrow(
      'already mounted with a different source',
    );
  });
  it('refuses mounted/present/ephemeral without src and fstype, as Ansible', () => {
    expect(() => mount.prepare!({ path: '/x', state: 'mounted', src: 'a' }, {} as never)).toThrow('fstype');
  });
  it('probe and apply scripts are valid sh; the probe runs here (read-only)', () => {
    const p: MountParams = {
      path: '/srv/new',
      src: 'tmpfs',
      fstype: 'tmpfs',
      opts: 'size=1m',
      state: 'mounted',
      fstab: '/nonexistent/fstab',
    };
    expect(shSyntax(mount.probe(p, undefined, ctx()))).toBe('');
    const s = mount.parse(runProbe(mount.probe(p, undefined, ctx())), p, undefined);
    expect(s.fstabExists).toBe(false);
    expect(s.mounts.get('/')).toBeDefined();
    for (const st of ['mounted', 'remounted', 'absent', 'ephemeral'] as const) {
      const q = { ...p, state: st };
      const ops = mount.plan(q, undefined, stateOf(fstab, { exists: false }), ctx()).map((c) => c.op);
      expect(shSyntax(mount.apply(q, undefined, s, [...ops, { kind: 'remount' }], ctx())), st).toBe('');
    }
  });
});
