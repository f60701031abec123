/**
 * The service module's health gate and last-good restore, run for real with the local shell: the
 * generated apply script, with stand-in `systemctl` and `journalctl` on PATH (they log their
 * arguments; `systemctl` can fail), the snapshot directory moved into a temp dir, and
 * configuration files in a temp dir. What systemd itself does is tested on the lab (e2e).
 */
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import svc, { LAST_GOOD_DIR, type ServiceParams, serviceCheckParams } from '../../../../src/modules/system/service.ts';
import { q } from '../../../../src/sh/quote.ts';
import { ctx, outsideHeredocs, shSyntax } from '../helpers.ts';

const ACTIVE = {
  stdout: 'init=systemd\nLoadState=loaded\nActiveState=active\nSubState=running\nUnitFileState=enabled\nCanReload=yes\n',
  stderr: '',
  code: 0,
};

/** What the stand-in systemctl answers without logging: the unit is loaded and active. */
const QUERIES = 'case "$1" in show) echo loaded; exit 0;; is-active|reset-failed) exit 0;; esac';

/** A host in a temp dir: bin/ (stand-ins), etc/ (config), last-good/ (snapshots), log. */
function host() {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-gate-'));
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  mkdirSync(join(dir, 'etc/app'), { recursive: true });
  mkdirSync(join(dir, 'tmp'));
  // systemctl: logs "VERB" (and the time, for KILN_HEALTH_SINCE); fails when etc/fail-VERB exists.
  writeFileSync(
    join(bin, 'systemctl'),
    `#!/bin/sh\nv=$1\n${QUERIES}\necho "$v" >> ${q(join(dir, 'log'))}\ndate +%s.%N > ${q(join(dir, 'action-time'))}\n` +
      `[ -e ${q(join(dir, 'etc'))}/fail-"$v" ] && { echo "Job for app.service failed because the control process exited with error code." >&2; exit 1; }\nexit 0\n`,
  );
  writeFileSync(join(bin, 'journalctl'), '#!/bin/sh\necho "app[42]: listening on the configured port"\n');
  for (const c of ['systemctl', 'journalctl']) chmodSync(join(bin, c), 0o755);
  const conf = join(dir, 'etc/app/app.conf');
  const extra = join(dir, 'etc/app/conf.d with space/extra.conf');
  mkdirSync(join(dir, 'etc/app/conf.d with space'));
  return {
    dir,
    conf,
    extra,
    lg: join(dir, 'last-good'),
    /** Runs the apply of `p` (a `reloaded` handler by default) on this host. */
    apply(over: Partial<ServiceParams> = {}) {
      const p: ServiceParams = {
        name: 'app',
        state: 'reloaded',
        // Healthy while the config says "good" (its output names what it saw).
        health_command: `grep -q good ${q(conf)} || { echo "app answers 503"; echo "config says: $(cat ${q(conf)})"; exit 1; }`,
        health_timeout: 1,
        restore: [conf],
        ...over,
      };
      const s = svc.parse(ACTIVE, p, undefined);
      const script = svc.apply(
        p,
        undefined,
        s,
        svc.plan(p, undefined, s, ctx()).map((c) => c.op),
        ctx(),
      );
      expect(shSyntax(script)).toBe('');
      const local = script.replace(`lg=${q(LAST_GOOD_DIR)}`, `lg=${q(join(dir, 'last-good'))}`);
      if (p.restore) expect(local).not.toBe(script);
      const env = { ...process.env, PATH: `${bin}:${process.env.PATH}`, TMPDIR: join(dir, 'tmp') };
      const r = spawnSync('sh', [], { input: local, encoding: 'utf8', env });
      const out = { stdout: r.stdout, stderr: r.stderr, code: r.status ?? -1 };
      return { out, result: svc.interpret!(p, undefined, out, ctx()), script };
    },
    log: () => (existsSync(join(dir, 'log')) ? readFileSync(join(dir, 'log'), 'utf8').trim().split('\n') : []),
    clearLog: () => rmSync(join(dir, 'log'), { force: true }),
    snapshot: (file: string) => join(dir, 'last-good/app/files', file),
  };
}

describe('service health gate with restore (local sh, stand-in systemctl)', () => {
  it('a healthy reload records the files as the last good configuration, owner and mode kept, in a snapshot switched by a symlink', () => {
    const h = host();
    writeFileSync(h.conf, 'good v1\n', { mode: 0o640 });
    const first = h.apply();
    expect(first.out.code, first.out.stderr).toBe(0);
    expect(first.out.stdout).toContain('kiln_snapshot=recorded');
    expect(first.result.failed).toBeUndefined();
    expect(h.log()).toEqual(['reload']);
    expect(readFileSync(h.snapshot(h.conf), 'utf8')).toBe('good v1\n');
    expect(statSync(h.snapshot(h.conf)).mode & 0o777).toBe(0o640);
    expect(statSync(h.snapshot(h.conf)).uid).toBe(statSync(h.conf).uid);
    expect(statSync(h.lg).mode & 0o777).toBe(0o700);
    expect(lstatSync(join(h.lg, 'app')).isSymbolicLink()).toBe(true);
    const firstDir = readlinkSync(join(h.lg, 'app'));
    expect(firstDir).toMatch(/^\.app\.\w+$/);
    // A later healthy reload replaces the snapshot; the previous one is removed.
    writeFileSync(h.conf, 'good v2\n');
    expect(h.apply().out.code).toBe(0);
    expect(readFileSync(h.snapshot(h.conf), 'utf8')).toBe('good v2\n');
    expect(readlinkSync(join(h.lg, 'app'))).not.toBe(firstDir);
    expect(readdirSync(h.lg).sort()).toEqual(['app', readlinkSync(join(h.lg, 'app'))].sort());
  });

  it('an unhealthy reload restores the last good file (atomically, mode kept), reloads again and fails the task saying it is healthy again', () => {
    const h = host();
    writeFileSync(h.conf, 'good v1\n', { mode: 0o640 });
    expect(h.apply().out.code).toBe(0);
    h.clearLog();
    writeFileSync(h.conf, 'bad: upstream port 3999\n', { mode: 0o644 });
    const r = h.apply();
    expect(r.out.code).toBe(4);
    expect(h.log()).toEqual(['reload', 'reload']);
    expect(readFileSync(h.conf, 'utf8')).toBe('good v1\n');
    expect(statSync(h.conf).mode & 0o777).toBe(0o640);
    expect(readdirSync(join(h.dir, 'etc/app')).sort()).toEqual(['app.conf', 'conf.d with space']); // no temp file left
    expect(r.result.failed).toBe(
      'app is not healthy after the reload: no healthy answer from its health command within 1s ' +
        '(last: the health command exited 1: app answers 503 / config says: bad: upstream port 3999); ' +
        `restored the last good configuration (${h.conf}) and reloaded: healthy again\n` +
        "last lines of app's journal:\napp[42]: listening on the configured port",
    );
    expect(r.result.result).toEqual({ restored: true, healthy: true });
    // The snapshot is still the last good one.
    expect(readFileSync(h.snapshot(h.conf), 'utf8')).toBe('good v1\n');
  });

  it('no snapshot yet: the task fails saying so, and the file is left as it is', () => {
    const h = host();
    writeFileSync(h.conf, 'bad\n');
    const r = h.apply();
    expect(r.out.code).toBe(4);
    expect(h.log()).toEqual(['reload']);
    expect(readFileSync(h.conf, 'utf8')).toBe('bad\n');
    expect(r.result.failed).toContain(
      `; no last good configuration is recorded yet (it is recorded after the first healthy start, restart or reload), so ${h.conf} is left as it is`,
    );
    expect(existsSync(join(h.lg, 'app'))).toBe(false);
  });

  it('still unhealthy after restoring: the task says so with the second answer', () => {
    const h = host();
    writeFileSync(h.conf, 'good\n');
    expect(h.apply().out.code).toBe(0);
    // Something else broke: the check fails whatever the config says.
    const r = h.apply({ health_command: 'echo "backend web has no server UP"; exit 1' });
    expect(r.out.code).toBe(4);
    expect(r.result.failed).toContain(
      `; restored the last good configuration (${h.conf}) and reloaded, but it is still unhealthy after restoring: the health command exited 1: backend web has no server UP`,
    );
    expect(r.result.result).toEqual({ restored: true, healthy: false });
  });

  it('a restart that fails counts as unhealthy: the files are restored and it is restarted again', () => {
    const h = host();
    writeFileSync(h.conf, 'good\n');
    expect(h.apply({ state: 'restarted' }).out.code).toBe(0);
    h.clearLog();
    writeFileSync(h.conf, 'bad bind-address\n');
    writeFileSync(join(h.dir, 'etc/fail-restart'), '');
    // systemctl restart fails while the config is bad: the stand-in checks the file.
    writeFileSync(
      join(h.dir, 'bin/systemctl'),
      `#!/bin/sh\n${QUERIES}\necho "$1" >> ${q(join(h.dir, 'log'))}\n` +
        `grep -q good ${q(h.conf)} || { echo "Job for app.service failed because the control process exited with error code." >&2; exit 1; }\n`,
    );
    const r = h.apply({ state: 'restarted' });
    expect(r.out.code).toBe(4);
    expect(h.log()).toEqual(['restart', 'restart']);
    expect(readFileSync(h.conf, 'utf8')).toBe('good\n');
    expect(r.result.failed).toMatch(
      /^app is not healthy after the restart: no healthy answer from its health command within 1s \(last: restart failed: Job for app\.service failed because the control process exited with error code\.\); restored the last good configuration \(.*\) and restarted: healthy again/,
    );
  });

  it('several files: one absent from the last good configuration is removed again; a file the snapshot lacks prevents any restore', () => {
    const h = host();
    writeFileSync(h.conf, 'good\n');
    const both = { restore: [h.conf, h.extra] };
    expect(h.apply(both).out.code).toBe(0);
    expect(existsSync(join(h.lg, 'app/absent', h.extra))).toBe(true);
    writeFileSync(h.conf, 'bad\n');
    writeFileSync(h.extra, 'include bad.conf\n');
    const r = h.apply(both);
    expect(r.out.code).toBe(4);
    expect(readFileSync(h.conf, 'utf8')).toBe('good\n');
    expect(existsSync(h.extra)).toBe(false);
    expect(r.result.failed).toContain(`restored the last good configuration (${h.conf}, ${h.extra}) and reloaded: healthy again`);
    // A third file added to the list later: the snapshot does not cover it, nothing is touched.
    const third = join(h.dir, 'etc/app/third.conf');
    writeFileSync(h.conf, 'bad\n');
    const partial = h.apply({ restore: [h.conf, third] });
    expect(partial.out.code).toBe(4);
    expect(readFileSync(h.conf, 'utf8')).toBe('bad\n');
    expect(partial.result.failed).toContain(`; no last good configuration of ${third} is recorded yet`);
  });

  it('a restore that cannot write fails the task loudly, naming the files to check', () => {
    const h = host();
    writeFileSync(h.conf, 'good\n');
    expect(h.apply().out.code).toBe(0);
    // The config directory is gone: atomicWrite refuses (its parent must exist).
    rmSync(join(h.dir, 'etc/app'), { recursive: true });
    const r = h.apply();
    expect(r.out.code).toBe(4);
    expect(r.result.failed).toMatch(
      /restoring the last good configuration FAILED \(parent directory .*\/etc\/app does not exist\): check .*app\.conf by hand/,
    );
  });

  it('the health command sees KILN_HEALTH_SINCE from right before the action, runs from a file (not argv), and a hung one is cut at the timeout', () => {
    const h = host();
    writeFileSync(h.conf, 'good\n');
    const since = join(h.dir, 'since');
    const r = h.apply({ health_command: `echo "$KILN_HEALTH_SINCE" > ${q(since)}; grep -q good ${q(h.conf)}`, restore: undefined });
    expect(r.out.code, r.out.stderr).toBe(0);
    const t0 = Number(readFileSync(since, 'utf8'));
    const action = Number(readFileSync(join(h.dir, 'action-time'), 'utf8'));
    expect(t0).toBeGreaterThan(1.7e9);
    expect(t0).toBeLessThanOrEqual(action);
    expect(outsideHeredocs(r.script)).not.toContain('grep -q good');
    expect(readdirSync(join(h.dir, 'tmp'))).toEqual([]); // the command's temp file is gone
    const hung = h.apply({ health_command: 'sleep 30', restore: undefined, health_timeout: 2 });
    expect(hung.out.code).toBe(4);
    expect(hung.result.failed).toMatch(/\(last: the health command did not finish within [12]s\)/);
  });

  it('a health command exiting 100 (unhealthy for good) stops the wait at once: one attempt, then the restore', () => {
    const h = host();
    const attempts = join(h.dir, 'attempts');
    writeFileSync(h.conf, 'good\n');
    expect(h.apply({}).out.code).toBe(0); // records the last good configuration
    writeFileSync(h.conf, 'bad\n');
    const r = h.apply({
      health_timeout: 30,
      health_command: `echo x >> ${q(attempts)}; grep -q good ${q(h.conf)} || { echo "every server failed its check"; exit 100; }`,
    });
    expect(r.out.code).toBe(4);
    expect(r.result.failed).toContain('the health command found it unhealthy for good (exit 100), not waiting');
    expect(r.result.failed).toMatch(/restored the last good configuration/);
    // One attempt for the bad configuration, one after the restore (healthy): no polling in between.
    expect(readFileSync(attempts, 'utf8')).toBe('x\nx\n');
    expect(readFileSync(h.conf, 'utf8')).toBe('good\n');
  });

  it('with health_url too, both must pass in the same attempt', () => {
    const h = host();
    writeFileSync(h.conf, 'good\n');
    writeFileSync(join(h.dir, 'bin/curl'), '#!/bin/sh\necho "curl: (7) Failed to connect to 127.0.0.1 port 8080"\nexit 7\n');
    chmodSync(join(h.dir, 'bin/curl'), 0o755);
    const r = h.apply({ health_url: 'http://127.0.0.1:8080/health' });
    expect(r.out.code).toBe(4);
    expect(r.result.failed).toContain(
      'no healthy answer from its health command and http://127.0.0.1:8080/health within 1s (last: curl: (7) Failed to connect to 127.0.0.1 port 8080)',
    );
  });
});

describe('service restore: parameter checks (before any host is contacted)', () => {
  const base: ServiceParams = { name: 'haproxy', state: 'reloaded', health_command: 'true', restore: ['/etc/haproxy/haproxy.cfg'] };
  it('accepts a health-checked restore of plain absolute paths', () => {
    expect(() => serviceCheckParams(base)).not.toThrow();
    expect(() =>
      svc.bind(base as unknown as Record<string, unknown>, {
        ...ctx(),
        sensitive: false,
        readFile: () => Buffer.from(''),
        renderTemplate: () => '',
      }),
    ).not.toThrow();
  });
  it('refuses restore without a health check, on a stopped service, with . or .. parts, or listed twice', () => {
    expect(() => serviceCheckParams({ ...base, health_command: undefined })).toThrow(
      /restore needs a health check \(health_url or health_command\)/,
    );
    expect(() => serviceCheckParams({ ...base, state: 'stopped' })).toThrow(/not stopped ones/);
    expect(() => serviceCheckParams({ ...base, restore: ['/etc/../etc/passwd'] })).toThrow(/no \. or \.\. parts/);
    expect(() => serviceCheckParams({ ...base, restore: ['/a', '/a'] })).toThrow(/listed twice/);
    expect(() => serviceCheckParams({ ...base, name: '..' })).toThrow(/cannot name a snapshot directory/);
  });
});
