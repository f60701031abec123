import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import svc, { type ServiceParams, serviceCheckParams } from '../../../../src/modules/system/service.ts';
import { ctx, runProbe, shSyntax } from '../helpers.ts';
import { expectApplyFromOpsOnly } from './ops-only.ts';

const out = (stdout: string) => ({ stdout, stderr: '', code: 0 });
// `systemctl show -p ...` prints properties in systemd's own order, not the requested one.
const show = (o: Record<string, string>) =>
  out(
    `init=systemd\n${Object.entries({
      Type: 'notify',
      RemainAfterExit: 'no',
      NeedDaemonReload: 'no',
      LoadState: 'loaded',
      ActiveState: 'active',
      SubState: 'running',
      UnitFileState: 'enabled',
      CanReload: 'yes',
      ...o,
    })
      .map(([k, v]) => `${k}=${v}`)
      .join('\n')}\n`,
  );
const NOT_FOUND = show({
  Type: 'simple',
  LoadState: 'not-found',
  ActiveState: 'inactive',
  SubState: 'dead',
  UnitFileState: '',
  CanReload: 'no',
});
const STOPPED = show({ ActiveState: 'inactive', SubState: 'dead', UnitFileState: 'disabled' });

const plan = (p: ServiceParams, o: ReturnType<typeof out>, check = false) =>
  svc.plan(p, undefined, svc.parse(o, p, undefined), ctx({ check }));
const sums = (p: ServiceParams, o: ReturnType<typeof out>) => plan(p, o).map((c) => c.summary);
const ops = <Op>(planned: readonly { op: Op }[]) => planned.map((c) => c.op);

describe('service plan (systemd)', () => {
  it('converged: running and enabled', () => {
    expect(plan({ name: 'nginx', state: 'started', enabled: true }, show({}))).toEqual([]);
    expect(plan({ name: 'nginx', state: 'stopped', enabled: false }, STOPPED)).toEqual([]);
  });
  it('start / stop / enable / disable are state changes', () => {
    expect(plan({ name: 'nginx', state: 'started', enabled: true }, STOPPED)).toEqual([
      { summary: 'enable nginx', op: { kind: 'enable' } },
      { summary: 'start nginx', op: { kind: 'start' } },
    ]);
    expect(sums({ name: 'nginx', state: 'stopped', enabled: false }, show({}))).toEqual(['disable nginx', 'stop nginx']);
    expect(sums({ name: 'nginx', state: 'started' }, show({ ActiveState: 'failed', SubState: 'failed' }))).toEqual([
      'start nginx (currently failed)',
    ]);
  });
  it('restarted and reloaded are always-planned actions', () => {
    expect(plan({ name: 'nginx', state: 'restarted' }, show({}))).toEqual([
      { summary: 'restart nginx', action: true, op: { kind: 'restart' } },
    ]);
    expect(plan({ name: 'nginx', state: 'reloaded' }, show({}))).toEqual([
      { summary: 'reload nginx', action: true, op: { kind: 'reload' } },
    ]);
    expect(sums({ name: 'nginx', state: 'reloaded' }, STOPPED)).toEqual(['start nginx (reload requested, but it is not running)']);
    expect(() => plan({ name: 'nginx', state: 'reloaded' }, show({ CanReload: 'no' }))).toThrow(/cannot reload.*restarted/);
  });
  it('a missing unit never fails the plan (check mode after a predicted install)', () => {
    for (const check of [true, false]) {
      expect(plan({ name: 'nginx', state: 'started', enabled: true }, NOT_FOUND, check).map((c) => c.summary)).toEqual([
        'enable nginx (unit not installed yet)',
        'start nginx (unit not installed yet)',
      ]);
      expect(plan({ name: 'nginx', state: 'restarted' }, NOT_FOUND, check)).toEqual([
        { summary: 'restart nginx (unit not installed yet)', action: true, unpredictable: true, op: { kind: 'restart' } },
      ]);
    }
    expect(plan({ name: 'nginx', state: 'stopped', enabled: false }, NOT_FOUND)).toEqual([
      { summary: 'disable nginx (unit not installed yet)', unpredictable: true, op: { kind: 'disable' } },
    ]);
    // The package's postinst may start and enable it: a dry run says it cannot know.
    expect(plan({ name: 'nginx', state: 'started' }, NOT_FOUND).every((c) => c.unpredictable)).toBe(true);
    // Apply checks the unit and fails with a clear message.
    const p: ServiceParams = { name: 'nginx', state: 'started' };
    const script = svc.apply(p, undefined, svc.parse(NOT_FOUND, p, undefined), ops(plan(p, NOT_FOUND)), ctx());
    expect(script).toContain("'unit nginx is not installed (systemctl cannot find it)'");
    expect(shSyntax(script)).toBe('');
  });
  it('static, indirect and generated units: enabling does not apply, no endless change', () => {
    expect(plan({ name: 'systemd-journald', enabled: true }, show({ UnitFileState: 'static' }))).toEqual([]);
    expect(plan({ name: 'systemd-journald', enabled: false }, show({ UnitFileState: 'static' }))).toEqual([]);
    expect(plan({ name: 'cups', enabled: true }, show({ UnitFileState: 'indirect' }))).toEqual([]);
    // sysv-generated units: systemctl is-enabled answers through systemd-sysv-install.
    const gen = (e: string) => out(`${show({ UnitFileState: 'generated' }).stdout}is_enabled=${e}\n`);
    expect(plan({ name: 'postgresql', enabled: true }, gen('enabled'))).toEqual([]);
    expect(sums({ name: 'postgresql', enabled: true }, gen('disabled'))).toEqual(['enable postgresql']);
    expect(sums({ name: 'x', enabled: true }, show({ UnitFileState: 'enabled-runtime' }))).toEqual([
      'enable x (currently enabled-runtime)',
    ]);
  });
  it('masked units fail clearly when they must run', () => {
    const masked = show({ LoadState: 'masked', ActiveState: 'inactive', UnitFileState: 'masked' });
    expect(() => plan({ name: 'nginx', state: 'started' }, masked)).toThrow(/masked.*systemctl unmask nginx/);
    expect(plan({ name: 'nginx', state: 'stopped', enabled: false }, masked)).toEqual([]);
  });
  it('enabled is read from disk (is-enabled), not from the state systemd cached before a daemon-reload', () => {
    // The unit file was removed and written again (its wants link gone): systemd still says enabled.
    const stale = out(`${show({ NeedDaemonReload: 'yes' }).stdout}is_enabled=disabled\n`);
    expect(sums({ name: 'guard', enabled: true, daemon_reload: true }, stale)).toEqual([
      'systemctl daemon-reload (unit files changed on disk)',
      'enable guard',
    ]);
    const fresh = out(`${show({}).stdout}is_enabled=enabled\n`);
    expect(sums({ name: 'guard', enabled: true }, fresh)).toEqual([]);
    // No answer from is-enabled (an old systemd, an error): the cached state is used.
    expect(sums({ name: 'guard', enabled: true }, out(`${show({ UnitFileState: 'disabled' }).stdout}is_enabled=\n`))).toEqual([
      'enable guard',
    ]);
  });
  it('daemon_reload only when systemd says unit files changed', () => {
    expect(plan({ name: 'nginx', daemon_reload: true, state: 'started' }, show({}))).toEqual([]);
    const p: ServiceParams = { name: 'nginx', daemon_reload: true, state: 'restarted' };
    const c = plan(p, show({ NeedDaemonReload: 'yes' }));
    expect(c.map((x) => x.summary)).toEqual(['systemctl daemon-reload (unit files changed on disk)', 'restart nginx']);
    const script = svc.apply(p, undefined, svc.parse(show({}), p, undefined), ops(c), ctx());
    expect(script.indexOf('daemon-reload')).toBeLessThan(script.indexOf('restart'));
  });
  describe('daemon_reload with enable: one reload of the manager, not two (a systemctl stub records the calls)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-systemctl-'));
    const log = join(dir, 'calls');
    const wants = join(dir, 'multi-user.target.wants');
    // The stub: logs its arguments; `enable` fails when KFAIL_ENABLE is set, else makes its link in
    // `wants` and says so as systemd 252 does (the arrow is KARROW: '->' outside a UTF-8 locale);
    // `daemon-reload` fails when KFAIL_RELOAD is set; `show` prints KLOAD.
    writeFileSync(
      join(dir, 'systemctl'),
      [
        '#!/bin/sh',
        `echo "$*" >> ${log}`,
        '[ "$1" != --force ] || shift',
        'case "$1" in',
        '  enable) [ -z "$KFAIL_ENABLE" ] || { echo "Failed to enable unit: $KFAIL_ENABLE" >&2; exit 1; }',
        `    mkdir -p ${wants}; ln -s /etc/systemd/system/kiln-demo.service ${wants}/kiln-demo.service`,
        `    echo "Created symlink ${wants}/kiln-demo.service \${KARROW:-→} /etc/systemd/system/kiln-demo.service." >&2;;`,
        '  daemon-reload) [ -z "$KFAIL_RELOAD" ] || { echo "$KFAIL_RELOAD" >&2; exit 1; };;',
        '  show) echo "${KLOAD:-loaded}";;',
        'esac',
        '',
      ].join('\n'),
      { mode: 0o755 },
    );
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const run = (p: ServiceParams, env: Record<string, string> = {}) => {
      rmSync(log, { force: true });
      rmSync(wants, { recursive: true, force: true });
      const o = show({ ActiveState: 'inactive', SubState: 'dead', UnitFileState: 'disabled', NeedDaemonReload: 'yes' });
      const script = svc.apply(p, undefined, svc.parse(o, p, undefined), ops(plan(p, o)), ctx());
      expect(shSyntax(script)).toBe('');
      const r = runProbe(script, { ...process.env, PATH: `${dir}:${process.env.PATH}`, ...env });
      return { ...r, calls: existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : [] };
    };
    const p: ServiceParams = { name: 'kiln-demo', state: 'started', enabled: true, daemon_reload: true };

    it('enable without its own reload, then one daemon-reload, then start (Ansible: reload, enable + reload, start: the same end state)', () => {
      const r = run(p);
      expect(r.code, r.stderr).toBe(0);
      expect(r.calls).toEqual([
        'enable --no-reload -- kiln-demo',
        'daemon-reload',
        'show -p LoadState --value -- kiln-demo',
        'start -- kiln-demo',
      ]);
    });
    it('a failed enable still reloads (as the reload before it would have) and fails with its message', () => {
      const r = run(p, { KFAIL_ENABLE: 'Access denied' });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('Failed to enable unit: Access denied');
      expect(r.calls).toEqual(['enable --no-reload -- kiln-demo', 'daemon-reload', 'show -p LoadState --value -- kiln-demo']);
    });
    it("a failed reload fails with Ansible's message and takes back the links enable made (Ansible reloads first and stops there)", () => {
      for (const arrow of ['→', '->']) {
        const r = run(p, { KFAIL_RELOAD: 'Failed to reload daemon: Connection timed out', KARROW: arrow });
        expect(r.code).toBe(1);
        expect(r.stderr.trim()).toBe('failure 1 during daemon-reload: Failed to reload daemon: Connection timed out');
        expect(r.calls).toEqual(['enable --no-reload -- kiln-demo', 'daemon-reload']);
        expect(existsSync(wants) && readdirSync(wants), arrow).toEqual([]);
      }
      // Without the fold (no enable): the same message, nothing else run.
      const r = run({ name: 'kiln-demo', state: 'started', daemon_reload: true }, { KFAIL_RELOAD: 'Access denied' });
      expect([r.code, r.stderr.trim(), r.calls]).toEqual([1, 'failure 1 during daemon-reload: Access denied', ['daemon-reload']]);
    });
    it("enable and reload both failing: the reload's failure, as Ansible (which never got to enable)", () => {
      const r = run(p, { KFAIL_ENABLE: 'Access denied', KFAIL_RELOAD: 'Access denied' });
      expect([r.code, r.stderr.trim()]).toEqual([1, 'failure 1 during daemon-reload: Access denied']);
    });
    it('with force, enable may replace links that could not be put back: no fold', () => {
      expect(run({ ...p, force: true }).calls).toEqual([
        '--force daemon-reload',
        '--force show -p LoadState --value -- kiln-demo',
        '--force enable -- kiln-demo',
        '--force start -- kiln-demo',
      ]);
    });
    it('a unit not installed fails with the same message as without the fold', () => {
      const r = run(p, { KFAIL_ENABLE: 'Unit file kiln-demo.service does not exist.', KLOAD: 'not-found' });
      expect(r.code).toBe(3);
      expect(r.stderr.trim()).toBe('unit kiln-demo is not installed (systemctl cannot find it)');
    });
    it('without enable, or without daemon_reload, or for scope global: as before', () => {
      expect(run({ name: 'kiln-demo', state: 'started', daemon_reload: true }).calls).toEqual([
        'daemon-reload',
        'show -p LoadState --value -- kiln-demo',
        'start -- kiln-demo',
      ]);
      expect(run({ name: 'kiln-demo', state: 'started', enabled: true }).calls).toEqual([
        'show -p LoadState --value -- kiln-demo',
        'enable -- kiln-demo',
        'start -- kiln-demo',
      ]);
    });
  });
  it('oneshot services without RemainAfterExit run every time and are not expected to stay active', () => {
    const o = show({ Type: 'oneshot', ActiveState: 'inactive', SubState: 'dead', UnitFileState: 'disabled' });
    expect(plan({ name: 'seed', state: 'started' }, o)).toEqual([
      { summary: 'start seed (oneshot: runs every time)', action: true, op: { kind: 'start' } },
    ]);
    expect(svc.verify!({ name: 'seed', state: 'started' }, undefined, svc.parse(o, { name: 'seed' }, undefined), ctx())).toEqual([]);
  });
  it('apply runs exactly the planned systemctl verbs', () => {
    const p: ServiceParams = { name: 'nginx', state: 'started', enabled: true };
    const s = svc.parse(STOPPED, p, undefined);
    const script = svc.apply(p, undefined, s, ops(svc.plan(p, undefined, s, ctx())), ctx());
    expect(script).toContain("systemctl enable -- 'nginx'");
    expect(script).toContain("systemctl start -- 'nginx'");
    expect(script).not.toMatch(/restart|reload|disable/);
    expect(shSyntax(script)).toBe('');
  });
  it('health_url: after a start, restart or reload the apply polls it, and an unhealthy answer fails the task with the journal', () => {
    const p: ServiceParams = {
      name: 'kiln-app',
      state: 'restarted',
      health_url: 'http://127.0.0.1:3000/health',
      health_match: '"status":"ok"',
      health_timeout: 1,
    };
    const s = svc.parse(show({}), p, undefined);
    const script = svc.apply(p, undefined, s, ops(svc.plan(p, undefined, s, ctx())), ctx());
    expect(shSyntax(script)).toBe('');
    // The restart runs inside the gate (kact), then the check.
    expect(script).toContain(
      `kact() { KILN_HEALTH_SINCE=$(date +%s.%N); export KILN_HEALTH_SINCE; aout=$( { systemctl "$1" -- 'kiln-app' </dev/null; } 2>&1 ); }`,
    );
    expect(script).toMatch(/^if ! kgate restart; then$/m);
    expect(script).not.toContain("systemctl restart -- 'kiln-app'");
    // Nothing started or restarted (only enable): no health check.
    const en: ServiceParams = { name: 'kiln-app', enabled: true, health_url: p.health_url };
    const disabled = svc.parse(show({ UnitFileState: 'disabled' }), en, undefined);
    expect(svc.apply(en, undefined, disabled, ops(svc.plan(en, undefined, disabled, ctx())), ctx())).not.toContain('healthy');
    // The check itself, with stand-in fetches: healthy, wrong body, no answer.
    const fn = script.slice(script.indexOf('htimeout='), script.indexOf('kact() {'));
    const run = (fetch: string) =>
      spawnSync('sh', [], {
        input: `${fn.replace(/^if command -v curl[\s\S]*?fi\n/m, '')}\nhfetch() { ${fetch}; }\nif healthy; then echo ok; else echo "bad: $why"; fi\n`,
        encoding: 'utf8',
      }).stdout.trim();
    expect(run(`echo '{"status":"ok"}'`)).toBe('ok');
    expect(run(`echo '{"status":"degraded"}'`)).toBe('bad: the answer does not contain "status":"ok": {"status":"degraded"}');
    expect(run(`echo 'curl: (7) Failed to connect to 127.0.0.1 port 3000'; return 7`)).toBe(
      'bad: curl: (7) Failed to connect to 127.0.0.1 port 3000',
    );
    const failed = svc.interpret!(
      p,
      undefined,
      {
        stdout:
          'kiln_health=curl: (22) The requested URL returned error: 503\nkiln_action=restart\nkiln_journal=db primary: connect ECONNREFUSED\n',
        stderr: '',
        code: 4,
      },
      ctx(),
    );
    expect(failed.failed).toBe(
      "kiln-app is not healthy after the restart: no healthy answer from http://127.0.0.1:3000/health within 1s (last: curl: (22) The requested URL returned error: 503)\nlast lines of kiln-app's journal:\ndb primary: connect ECONNREFUSED",
    );
    expect(svc.interpret!(p, undefined, { stdout: '', stderr: 'Job for kiln-app.service failed', code: 1 }, ctx()).failed).toBe(
      'Job for kiln-app.service failed',
    );
    expect(svc.interpret!(p, undefined, { stdout: '', stderr: '', code: 0 }, ctx()).failed).toBeUndefined();
  });
  it('apply depends only on the planned ops, never on summary text', () => {
    const p: ServiceParams = { name: 'nginx', state: 'started', enabled: true, daemon_reload: true, health_url: 'http://127.0.0.1/health' };
    const script = expectApplyFromOpsOnly(
      svc,
      p,
      undefined,
      svc.parse(show({ NeedDaemonReload: 'yes', ActiveState: 'inactive', SubState: 'dead', UnitFileState: 'disabled' }), p, undefined),
    );
    expect(script).toMatch(
      /systemctl enable --no-reload -- 'nginx'[\s\S]*systemctl daemon-reload[\s\S]*if ! kgate start; then[\s\S]*echo kiln_action=start/,
    );
    // A reload of a stopped service is a start, whatever its summary says.
    const r: ServiceParams = { name: 'nginx', state: 'reloaded' };
    expect(expectApplyFromOpsOnly(svc, r, undefined, svc.parse(STOPPED, r, undefined))).toContain("systemctl start -- 'nginx'");
    const sysv: ServiceParams = { name: 'ssh', state: 'stopped', enabled: false };
    const script2 = expectApplyFromOpsOnly(
      svc,
      sysv,
      undefined,
      svc.parse(out('init=sysv\nLoadState=loaded\nActiveState=active\nUnitFileState=enabled\n'), sysv, undefined),
    );
    expect(script2).toContain("update-rc.d 'ssh' disable");
    expect(script2).toContain("'/etc/init.d/ssh' stop");
  });
  it('verify: restarted/reloaded must leave the service active; state changes must have converged', () => {
    const p: ServiceParams = { name: 'nginx', state: 'restarted', enabled: true };
    expect(svc.verify!(p, undefined, svc.parse(show({}), p, undefined), ctx())).toEqual([]);
    expect(svc.verify!(p, undefined, svc.parse(show({ ActiveState: 'failed', SubState: 'failed' }), p, undefined), ctx())).toEqual([
      'nginx is not active after restart (state: failed/failed)',
    ]);
    expect(svc.verify!(p, undefined, svc.parse(show({ UnitFileState: 'disabled' }), p, undefined), ctx())).toEqual([
      'still needed: enable nginx',
    ]);
    expect(svc.verify!(p, undefined, svc.parse(NOT_FOUND, p, undefined), ctx())).toEqual(['nginx is not installed']);
  });
});

describe('service (sysv fallback)', () => {
  const sysv = (a: string, e: string) => out(`init=sysv\nLoadState=loaded\nActiveState=${a}\nUnitFileState=${e}\n`);
  it('plans from init script status and rc links', () => {
    expect(plan({ name: 'ssh', state: 'started', enabled: true }, sysv('active', 'enabled'))).toEqual([]);
    const p: ServiceParams = { name: 'ssh', state: 'started', enabled: true };
    const c = plan(p, sysv('inactive', 'disabled'));
    expect(c.map((x) => x.summary)).toEqual(['enable ssh', 'start ssh']);
    const script = svc.apply(p, undefined, svc.parse(sysv('inactive', 'disabled'), p, undefined), ops(c), ctx());
    expect(script).toContain("update-rc.d 'ssh' enable");
    expect(script).toContain("'/etc/init.d/ssh' start");
    expect(shSyntax(script)).toBe('');
    expect(sums({ name: 'x', state: 'started' }, out('init=sysv\nLoadState=not-found\n'))).toEqual([
      'start x (init script not installed yet)',
    ]);
  });
  it('probe is valid sh and runs for real here (read-only)', () => {
    expect(shSyntax(svc.probe({ name: 'nginx' }, undefined, ctx()))).toBe('');
    const missing = svc.parse(
      runProbe(svc.probe({ name: 'kiln-no-such-service' }, undefined, ctx())),
      { name: 'kiln-no-such-service' },
      undefined,
    );
    expect(missing.loaded).toBe(false);
    if (!existsSync('/run/systemd/system') && existsSync('/etc/init.d/ssh')) {
      const s = svc.parse(runProbe(svc.probe({ name: 'ssh' }, undefined, ctx())), { name: 'ssh' }, undefined);
      expect(s).toMatchObject({ init: 'sysv', loaded: true });
      expect(['active', 'inactive']).toContain(s.active);
      expect(['enabled', 'disabled']).toContain(s.unitFileState);
    }
  });
});

describe("daemon_reload alone (no name), as Ansible's systemd module allows it", () => {
  const p: ServiceParams = { daemon_reload: true };

  it('reloads systemd when a loaded unit has changed unit files on disk; nothing otherwise', () => {
    expect(svc.plan(p, undefined, svc.parse(out('init=systemd\nLoadState=loaded\nNeedDaemonReload=yes\n'), p, undefined), ctx())).toEqual([
      { summary: 'systemctl daemon-reload (unit files changed on disk)', op: { kind: 'daemon-reload' } },
    ]);
    expect(svc.plan(p, undefined, svc.parse(out('init=systemd\nLoadState=loaded\n'), p, undefined), ctx())).toEqual([]);
  });

  it('the probe asks every loaded unit (valid sh), and runs here read-only', () => {
    const probe = svc.probe(p, undefined, ctx());
    expect(shSyntax(probe)).toBe('');
    expect(probe).toContain("show --property=NeedDaemonReload '*'");
    expect(runProbe(probe).stdout).toMatch(/^init=(systemd|sysv)$/m);
  });

  it('name is still required by state, enabled, masked and the health gate, and without daemon_reload', () => {
    expect(() => serviceCheckParams(p)).not.toThrow();
    expect(() => serviceCheckParams({ daemon_reload: true, state: 'started' })).toThrow(
      "missing required parameter 'name' (state needs it)",
    );
    expect(() => serviceCheckParams({ enabled: true })).toThrow(/missing required parameter 'name'/);
    expect(() => serviceCheckParams({})).toThrow("missing required parameter 'name' (only daemon_reload: true goes without one)");
  });
});
