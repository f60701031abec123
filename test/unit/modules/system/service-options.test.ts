/** service/systemd options of issue 17: masked, scope, no_block, force, and service's sleep. */
import { describe, expect, it } from 'vitest';
import svc, { type ServiceParams, serviceCheckParams, serviceProbe, systemctl } from '../../../../src/modules/system/service.ts';
import { ctx, shSyntax } from '../helpers.ts';

const out = (stdout: string) => ({ stdout, stderr: '', code: 0 });
const show = (o: Record<string, string>, isEnabled?: string) =>
  out(
    `init=systemd\n${Object.entries({
      Type: 'simple',
      RemainAfterExit: 'no',
      NeedDaemonReload: 'no',
      LoadState: 'loaded',
      ActiveState: 'active',
      SubState: 'running',
      UnitFileState: 'enabled',
      CanReload: 'no',
      ...o,
    })
      .map(([k, v]) => `${k}=${v}`)
      .join('\n')}\n${isEnabled === undefined ? '' : `is_enabled=${isEnabled}\n`}`,
  );
const MASKED = show({ LoadState: 'masked', ActiveState: 'inactive', SubState: 'dead', UnitFileState: 'masked' }, 'masked');
const DISABLED = show({ ActiveState: 'inactive', SubState: 'dead', UnitFileState: 'disabled' }, 'disabled');
const NOT_FOUND = show({ LoadState: 'not-found', ActiveState: 'inactive', SubState: 'dead', UnitFileState: '' }, '');
const SYSV = out('init=sysv\nLoadState=loaded\nActiveState=active\nUnitFileState=enabled\n');

const plan = (p: ServiceParams, o: ReturnType<typeof out>) => svc.plan(p, undefined, svc.parse(o, p, undefined), ctx());
const script = (p: ServiceParams, o: ReturnType<typeof out>) => {
  const s = svc.parse(o, p, undefined);
  const sc = svc.apply(
    p,
    undefined,
    s,
    svc.plan(p, undefined, s, ctx()).map((c) => c.op),
    ctx(),
  );
  expect(shSyntax(sc)).toBe('');
  return sc;
};

describe('service: masked', () => {
  it('masks and unmasks by what is-enabled answers (Ansible’s test), before enabling and starting', () => {
    expect(plan({ name: 'cups', masked: true }, DISABLED)).toEqual([{ summary: 'mask cups', op: { kind: 'mask' } }]);
    expect(plan({ name: 'cups', masked: true }, MASKED)).toEqual([]);
    expect(plan({ name: 'cups', masked: false }, MASKED)).toEqual([{ summary: 'unmask cups', op: { kind: 'unmask' } }]);
    expect(plan({ name: 'cups', masked: false }, DISABLED)).toEqual([]);
    const sc = script({ name: 'cups', masked: false, enabled: true, state: 'started' }, MASKED);
    expect(sc.indexOf('systemctl unmask')).toBeLessThan(sc.indexOf('systemctl enable'));
    expect(sc.indexOf('systemctl enable')).toBeLessThan(sc.indexOf('systemctl start'));
  });
  it('unmasking then enabling: the links are only known after the unmask (unpredictable)', () => {
    expect(plan({ name: 'cups', masked: false, enabled: true, state: 'started' }, MASKED)).toEqual([
      { summary: 'unmask cups', op: { kind: 'unmask' } },
      { summary: 'enable cups (after unmasking: its links are read then)', unpredictable: true, op: { kind: 'enable' } },
      { summary: 'start cups', op: { kind: 'start' } },
    ]);
  });
  it('masks a unit that is not installed (as Ansible), and says a masked unit cannot start', () => {
    const p: ServiceParams = { name: 'ghost', masked: true };
    expect(plan(p, NOT_FOUND)).toEqual([{ summary: 'mask ghost', op: { kind: 'mask' } }]);
    const sc = script(p, NOT_FOUND);
    expect(sc).toContain("systemctl mask -- 'ghost'");
    expect(sc).not.toContain('is not installed');
    expect(() => plan({ name: 'cups', state: 'started' }, MASKED)).toThrow(/masked.*masked: false/);
    expect(() => serviceCheckParams({ name: 'cups', masked: true, state: 'started' })).toThrow(/cannot be started/);
    expect(() => serviceCheckParams({ name: 'cups', masked: true, enabled: true })).toThrow(/cannot be enabled/);
    expect(() => plan({ name: 'cups', masked: true }, SYSV)).toThrow(/masked needs systemd/);
  });
});

describe('service: scope, no_block, force', () => {
  it('every systemctl call carries --user/--global, --no-block and --force, as Ansible adds them', () => {
    expect(systemctl({ name: 'x' })).toBe('systemctl');
    expect(systemctl({ name: 'x', scope: 'user', no_block: true, force: true })).toBe('systemctl --user --no-block --force');
    const sc = script({ name: 'app', scope: 'user', state: 'started', force: true }, DISABLED);
    expect(sc).toContain('XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/run/user/$(id -u)}');
    expect(sc).toContain("systemctl --user --force start -- 'app'");
    expect(shSyntax(serviceProbe({ name: 'app', scope: 'user' }))).toBe('');
    expect(shSyntax(serviceProbe({ name: 'app', scope: 'global' }))).toBe('');
  });
  it('scope user without a running user manager fails saying how to get one', () => {
    const p: ServiceParams = { name: 'app', scope: 'user', state: 'started' };
    expect(() => plan(p, out('init=systemd\nno_user_manager=1000 /run/user/1000\n'))).toThrow(
      /uid 1000 has no running systemd user manager \(neither \/run\/user\/1000\/bus nor \/run\/user\/1000\/systemd\/private\).*enable-linger/,
    );
  });
  it('scope global enables and masks only: a state is refused', () => {
    expect(() => serviceCheckParams({ name: 'app', scope: 'global', state: 'started' })).toThrow(/global has no running state/);
    const g = out('init=systemd\nis_enabled=disabled\nUnitFileState=disabled\nLoadState=loaded\n');
    expect(plan({ name: 'app', scope: 'global', enabled: true }, g)).toEqual([{ summary: 'enable app', op: { kind: 'enable' } }]);
    expect(script({ name: 'app', scope: 'global', enabled: true }, g)).toContain("systemctl --global enable -- 'app'");
    expect(() => serviceCheckParams({ name: 'app', scope: 'user', state: 'started', health_command: 'true' })).toThrow(
      /scope: system only/,
    );
  });
  it('no_block: the state change is queued, said so, and not verified', () => {
    const p: ServiceParams = { name: 'app', state: 'started', no_block: true };
    expect(plan(p, DISABLED)).toEqual([{ summary: 'start app (no_block: not waited for)', op: { kind: 'start' } }]);
    expect(script(p, DISABLED)).toContain("systemctl --no-block start -- 'app'");
    // right after, the job may still be queued: verify does not fail on the running state
    expect(svc.verify!(p, undefined, svc.parse(DISABLED, p, undefined), ctx())).toEqual([]);
    expect(svc.verify!({ ...p, no_block: false }, undefined, svc.parse(DISABLED, p, undefined), ctx()).length).toBeGreaterThan(0);
  });
});

describe('service: sleep', () => {
  it('a sysv restart with sleep is stop, sleep, start (as Ansible); systemd ignores it (as Ansible)', () => {
    const sc = script({ name: 'pg', state: 'restarted', sleep: 5 }, SYSV);
    expect(sc).toContain("'/etc/init.d/pg' stop </dev/null || true; sleep 5; '/etc/init.d/pg' start </dev/null");
    expect(script({ name: 'pg', state: 'restarted' }, SYSV)).toContain("'/etc/init.d/pg' restart");
    const sd = script({ name: 'pg', state: 'restarted', sleep: 5 }, show({}, 'enabled'));
    expect(sd).toContain("systemctl restart -- 'pg'");
    expect(sd).not.toContain('sleep');
  });
});
