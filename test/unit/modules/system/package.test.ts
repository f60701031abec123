import { describe, expect, it } from 'vitest';
import pkg, { type PackageParams, parsePolicy } from '../../../../src/modules/system/package.ts';
import { ctx, runProbe, shSyntax } from '../helpers.ts';
import { expectApplyFromOpsOnly } from './ops-only.ts';

const out = (stdout: string) => ({ stdout, stderr: '', code: 0 });
// Captured on Debian 12 (bookworm): bash has a newer candidate, coreutils is current, hello is not installed.
const REAL_LATEST =
  'now=1795841478\ncache_mtime=1795840885\n--dpkg\nbash\tbash\tii \t5.2.15-2+b8\ncoreutils\tcoreutils\tii \t9.1-1\n--policy\ncoreutils:\n  Installed: 9.1-1\n  Candidate: 9.1-1\n  Version table:\n *** 9.1-1 500\n        500 http://deb.debian.org/debian bookworm/main amd64 Packages\n        100 /var/lib/dpkg/status\nbash:\n  Installed: 5.2.15-2+b8\n  Candidate: 5.2.15-2+b13\n  Version table:\n     5.2.15-2+b13 500\n        500 http://deb.debian.org/debian bookworm/main amd64 Packages\n *** 5.2.15-2+b8 100\n        100 /var/lib/dpkg/status\n';
const REAL_PRESENT =
  'now=1795841478\ncache_mtime=1795840885\n--dpkg\ncoreutils\tcoreutils\tii \t9.1-1\n--policy\nhello:\n  Installed: (none)\n  Candidate: 2.10-3\n  Version table:\n     2.10-3 500\n        500 http://deb.debian.org/debian bookworm/main amd64 Packages\n';

function plan(p: PackageParams, stdout: string) {
  return pkg.plan(p, undefined, pkg.parse(out(stdout), p, undefined), ctx());
}
const sums = (p: PackageParams, stdout: string) => plan(p, stdout).map((c) => c.summary);
const ops = <Op>(planned: readonly { op: Op }[]) => planned.map((c) => c.op);

describe('package plan', () => {
  it('is converged when everything is installed (present) and current (latest)', () => {
    expect(plan({ name: 'coreutils' }, 'now=1\ncache_mtime=1\n--dpkg\ncoreutils\tcoreutils\tii \t9.1-1\n--policy\n')).toEqual([]);
    expect(plan({ name: 'coreutils', state: 'latest' }, REAL_LATEST)).toEqual([]);
  });
  it('installs what is missing, with the candidate version', () => {
    expect(sums({ name: ['coreutils', 'hello'] }, REAL_PRESENT)).toEqual(['install hello 2.10-3']);
  });
  it('upgrades to the candidate for latest', () => {
    expect(sums({ name: ['coreutils', 'bash'], state: 'latest' }, REAL_LATEST)).toEqual(['upgrade bash 5.2.15-2+b8 → 5.2.15-2+b13']);
  });
  it('fails clearly for a name apt does not know', () => {
    const s = 'now=1\ncache_mtime=1\n--dpkg\n--policy\n';
    expect(() => plan({ name: ['nosuchpkg-kiln'] }, s)).toThrow(/no installation candidate for nosuchpkg-kiln.*update_cache/);
  });
  it('does not fail for an unknown name when a cache update will run first, but says it cannot predict', () => {
    const c = plan({ name: 'newpkg', update_cache: true }, 'now=100\ncache_mtime=1\n--dpkg\n--policy\n');
    expect(c.map((x) => x.summary)).toEqual([
      'update apt cache',
      'install newpkg (not in the apt cache yet; the cache update may provide it)',
    ]);
    expect(c[0].action).toBe(true);
    expect(c[1].unpredictable).toBe(true);
  });
  it('updates the cache only when older than cache_valid_time', () => {
    const st = 'now=10000\ncache_mtime=9000\n--dpkg\ncoreutils\tcoreutils\tii \t9.1-1\n--policy\n';
    expect(plan({ name: 'coreutils', update_cache: true, cache_valid_time: 3600 }, st)).toEqual([]);
    const c = plan({ name: 'coreutils', update_cache: true, cache_valid_time: 600 }, st);
    expect(c).toEqual([
      { summary: 'update apt cache (cache is 1000 s old, valid for 600 s)', action: false, op: { kind: 'update-cache' } },
    ]);
    expect(
      sums(
        { name: 'coreutils', update_cache: true, cache_valid_time: 600 },
        'now=10\ncache_mtime=0\n--dpkg\ncoreutils\tcoreutils\tii \t9.1-1\n--policy\n',
      ),
    ).toEqual(['update apt cache (no cache yet)']);
  });
  it('latest + cache update: an unpredictable maybe-upgrade for current packages', () => {
    const p: PackageParams = { name: ['coreutils', 'bash'], state: 'latest', update_cache: true, cache_valid_time: 60 };
    const c = plan(p, REAL_LATEST);
    expect(c.map((x) => x.summary)).toEqual([
      'update apt cache (cache is 593 s old, valid for 60 s)',
      'upgrade coreutils if the updated cache has a newer version than 9.1-1',
      'upgrade bash 5.2.15-2+b8 → 5.2.15-2+b13',
    ]);
    expect(c[1]).toMatchObject({ action: true, unpredictable: true });
    const script = pkg.apply(p, undefined, pkg.parse(out(REAL_LATEST), p, undefined), ops(c), ctx());
    expect(script).toContain("install -- 'coreutils' 'bash'");
  });
  it('removes and purges', () => {
    const st = '--dpkg\nfoo\tfoo\tii \t1.0\nbar\tbar\trc \t2.0\nbaz\tbaz\tun \t\n';
    expect(sums({ name: ['foo', 'bar', 'baz'], state: 'absent' }, st)).toEqual(['remove foo 1.0']);
    expect(sums({ name: ['foo', 'bar', 'baz'], state: 'absent', purge: true }, st)).toEqual([
      'purge foo 1.0',
      'purge bar (configuration files left)',
    ]);
    const p: PackageParams = { name: ['foo', 'bar', 'baz'], state: 'absent', purge: true };
    const s = pkg.parse(out(st), p, undefined);
    expect(pkg.apply(p, undefined, s, ops(pkg.plan(p, undefined, s, ctx())), ctx())).toContain("purge -- 'foo' 'bar'");
  });
  it('treats rc (config files only) and half-installed as not installed', () => {
    const st =
      '--dpkg\nfoo\tfoo\trc \t1.0\nbar\tbar\tiU \t2.0\n--policy\nfoo:\n  Installed: (none)\n  Candidate: 1.0\nbar:\n  Installed: 2.0\n  Candidate: 2.0\n';
    expect(sums({ name: ['foo', 'bar'] }, st)).toEqual(['install foo 1.0', 'install bar 2.0 (currently half-installed: iU)']);
  });
  it('pins versions', () => {
    const st =
      '--dpkg\nbash\tbash\tii \t5.2.15-2+b8\n--policy\nbash:\n  Installed: 5.2.15-2+b8\n  Candidate: 5.2.15-2+b13\n  Version table:\n     5.2.15-2+b13 500\n *** 5.2.15-2+b8 100\n';
    expect(plan({ name: 'bash=5.2.15-2+b8' }, st)).toEqual([]);
    const p: PackageParams = { name: 'bash=5.2.15-2+b13' };
    const c = plan(p, st);
    expect(c.map((x) => x.summary)).toEqual(['install bash 5.2.15-2+b13 (installed: 5.2.15-2+b8)']);
    const script = pkg.apply(p, undefined, pkg.parse(out(st), p, undefined), ops(c), ctx());
    expect(script).toContain("--force-confold install -- 'bash=5.2.15-2+b13'");
    expect(script).not.toContain('--allow-downgrades');
    expect(() => plan({ name: 'bash=9.9' }, st)).toThrow(/no installation candidate for bash=9.9: check the name and version/);
  });
  it('refuses a downgrade unless allow_downgrade (as apt-get -y does), and passes --allow-downgrades only then', () => {
    const st = '--dpkg\nbash\tbash\tii \t5.2.15-2+b13\n--policy\n';
    expect(() => plan({ name: 'bash=5.2.15-2+b8' }, st)).toThrow(
      /pinned version older than the installed one: bash 5.2.15-2\+b13 → 5.2.15-2\+b8; apt refuses a downgrade unless allow_downgrade: true/,
    );
    const p: PackageParams = { name: 'bash=5.2.15-2+b8', allow_downgrade: true };
    const c = plan(p, st);
    expect(c.map((x) => x.summary)).toEqual(['downgrade bash 5.2.15-2+b13 → 5.2.15-2+b8']);
    expect(pkg.apply(p, undefined, pkg.parse(out(st), p, undefined), ops(c), ctx())).toContain(
      "--allow-downgrades install -- 'bash=5.2.15-2+b8'",
    );
  });
  it('default_release: the probe asks apt-cache with APT::Default-Release, the install passes -t', () => {
    const p: PackageParams = { name: 'hello', default_release: 'bookworm-backports' };
    expect(pkg.probe(p, undefined, ctx())).toContain("apt-cache -o APT::Default-Release='bookworm-backports' policy");
    const s = pkg.parse(out(REAL_PRESENT), p, undefined);
    const script = pkg.apply(p, undefined, s, ops(pkg.plan(p, undefined, s, ctx())), ctx());
    expect(script).toContain("-t 'bookworm-backports' install -- 'hello'");
  });
  it('policy_rc_d: policy-rc.d exits with the code around apt-get, and the old one comes back', () => {
    const p: PackageParams = { name: 'hello', policy_rc_d: 101 };
    const s = pkg.parse(out(REAL_PRESENT), p, undefined);
    const script = pkg.apply(p, undefined, s, ops(pkg.plan(p, undefined, s, ctx())), ctx());
    expect(script).toContain('printf \'#!/bin/sh\\nexit %d\\n\' 101 > "$prc" && chmod 0755 "$prc"');
    expect(script.indexOf('policy-rc.d')).toBeLessThan(script.indexOf("install -- 'hello'"));
    expect(script).toContain('prc_restore; [ "$rc" -eq 0 ] || exit "$rc"');
    expect(shSyntax(script)).toBe('');
    expect(pkg.apply({ name: 'hello' }, undefined, s, ops(pkg.plan(p, undefined, s, ctx())), ctx())).not.toContain('policy-rc.d');
  });
  it('apply: non-interactive, keeps conffiles, waits for the lock, honours install_recommends', () => {
    const p: PackageParams = { name: ['coreutils', 'hello'], update_cache: true };
    const s = pkg.parse(out(REAL_PRESENT), p, undefined);
    const script = pkg.apply(p, undefined, s, ops(pkg.plan(p, undefined, s, ctx())), ctx());
    expect(script).toContain('apt-get -y -q -o DPkg::Lock::Timeout=120 update');
    expect(script).toContain('-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold');
    expect(script).toContain("install -- 'hello' </dev/null");
    expect(script).not.toContain('coreutils');
    expect(script).not.toContain('--no-install-recommends');
    expect(pkg.apply({ ...p, install_recommends: false }, undefined, s, ops(pkg.plan(p, undefined, s, ctx())), ctx())).toContain(
      '--no-install-recommends',
    );
    expect(shSyntax(script)).toBe('');
  });
  it('apply depends only on the planned ops, never on summary text', () => {
    const latest: PackageParams = { name: ['coreutils', 'bash'], state: 'latest', update_cache: true, cache_valid_time: 60 };
    const script = expectApplyFromOpsOnly(pkg, latest, undefined, pkg.parse(out(REAL_LATEST), latest, undefined));
    expect(script).toContain(' update </dev/null');
    expect(script).toContain("install -- 'coreutils' 'bash' </dev/null");
    const st = '--dpkg\nfoo\tfoo\tiiR\t1.0\nbar\tbar\trc \t2.0\n--policy\nbar:\n  Installed: (none)\n  Candidate: 2.0\n';
    const fix: PackageParams = { name: ['foo', 'bar'] };
    expect(expectApplyFromOpsOnly(pkg, fix, undefined, pkg.parse(out(st), fix, undefined))).toContain(
      "--reinstall install -- 'foo' 'bar' </dev/null",
    );
    const gone: PackageParams = { name: ['foo', 'bar'], state: 'absent', purge: true };
    expect(expectApplyFromOpsOnly(pkg, gone, undefined, pkg.parse(out(st), gone, undefined))).toContain("purge -- 'foo' 'bar' </dev/null");
  });
  it('a pinned name the cache update may provide is installed at that version (the summary shows the spec)', () => {
    // Before typed ops, apply matched "install <name> " in the summary, which shows "name=version" here: nothing was installed.
    const p: PackageParams = { name: 'newpkg=1.2-1', update_cache: true };
    const c = plan(p, 'now=100\ncache_mtime=1\n--dpkg\n--policy\n');
    expect(c.map((x) => x.summary)).toEqual([
      'update apt cache',
      'install newpkg=1.2-1 (not in the apt cache yet; the cache update may provide it)',
    ]);
    expect(pkg.apply(p, undefined, pkg.parse(out('now=100\ncache_mtime=1\n--dpkg\n--policy\n'), p, undefined), ops(c), ctx())).toContain(
      "--force-confold install -- 'newpkg=1.2-1' </dev/null",
    );
  });
  it('parses apt-cache policy', () => {
    expect(
      parsePolicy(
        'hello:\n  Installed: (none)\n  Candidate: 2.10-3\n  Version table:\n     2.10-3 500\n        500 http://deb.debian.org/debian bookworm/main amd64 Packages\n',
      ),
    ).toEqual({
      hello: { installed: null, candidate: '2.10-3', versions: ['2.10-3'] },
    });
  });
});

describe('package probe', () => {
  it('is valid sh', () => {
    for (const state of ['present', 'latest', 'absent'] as const)
      expect(shSyntax(pkg.probe({ name: ['a', 'b'], state }, undefined, ctx()))).toBe('');
  });
  it('runs for real on this Debian host (read-only)', () => {
    const p: PackageParams = { name: ['coreutils', 'nosuchpkg-kiln'] };
    const r = runProbe(pkg.probe(p, undefined, ctx()));
    expect(r.code).toBe(0);
    const s = pkg.parse(r, p, undefined);
    expect(s.pkgs.coreutils.status).toBe('ii ');
    expect(s.pkgs.coreutils.version).toMatch(/^9\./);
    expect(s.pkgs.coreutils.candidate).toBeUndefined(); // installed: apt-cache not asked
    expect(s.pkgs['nosuchpkg-kiln']).toMatchObject({ candidate: null });
    expect(s.now).toBeGreaterThan(1_600_000_000);
    expect(() => pkg.plan(p, undefined, s, ctx())).toThrow(/nosuchpkg-kiln/);
    expect(
      pkg.plan(
        { name: 'coreutils' },
        undefined,
        pkg.parse(runProbe(pkg.probe({ name: 'coreutils' }, undefined, ctx())), { name: 'coreutils' }, undefined),
        ctx(),
      ),
    ).toEqual([]);
  });
});

describe('package: a cache update only (apt: update_cache=yes, as Ansible allows)', () => {
  it('probes no package and plans only the cache update when it is due', () => {
    const p: PackageParams = { update_cache: true, cache_valid_time: 86400 };
    const script = pkg.probe(p, undefined, ctx());
    expect(shSyntax(script)).toBe('');
    expect(script).not.toContain('dpkg-query');
    expect(script).not.toContain('apt-cache policy');
    const r = runProbe(script);
    expect(r.code).toBe(0);
    const s = pkg.parse(r, p, undefined);
    expect(s.pkgs).toEqual({});
    const stale = { ...s, cacheMtime: 0 };
    expect(ops(pkg.plan(p, undefined, stale, ctx()))).toEqual([{ kind: 'update-cache' }]);
    expect(pkg.plan(p, undefined, { ...s, cacheMtime: s.now }, ctx())).toEqual([]);
  });
  it('a task with neither a name nor update_cache is refused by the schema', async () => {
    const { schemaErrors } = await import('../../../../src/plan/schema.ts');
    expect(schemaErrors(pkg, {}).length).toBeGreaterThan(0);
    expect(schemaErrors(pkg, { update_cache: true })).toEqual([]);
  });
});

describe('package interpret', () => {
  it('fails with apt’s E: lines when apt-get exits non-zero (the engine trusts interpret)', () => {
    const r = pkg.interpret!(
      { name: 'x' },
      undefined,
      { stdout: '', stderr: 'W: something\nE: Unable to locate package x\n', code: 100 },
      ctx(),
    );
    expect(r.failed).toBe('apt-get failed (exit 100): E: Unable to locate package x');
    const ok = pkg.interpret!(
      { name: 'x' },
      undefined,
      { stdout: '0 upgraded, 1 newly installed, 0 to remove and 3 not upgraded.\n', stderr: '', code: 0 },
      ctx(),
    );
    expect(ok.failed).toBeUndefined();
    expect(ok.result).toMatchObject({ rc: 0, installed: 1, upgraded: 0, removed: 0 });
  });
});
