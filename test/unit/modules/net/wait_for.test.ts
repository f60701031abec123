import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import waitFor, { checkWaitFor, describeWait, type WaitForParams, waitForPlan } from '../../../../src/modules/net/wait_for.ts';
import { ctx, runProbe, shSyntax } from '../helpers.ts';

describe('wait_for plan', () => {
  it('a condition the probe found met is nothing to do; otherwise the wait is a one-shot action', () => {
    const p: WaitForParams = { port: 8080 };
    expect(waitForPlan(p, { check: false, met: { state: 'started' } })).toEqual([]);
    expect(waitForPlan(p, { check: false })).toEqual([
      { summary: 'wait up to 300 s for 127.0.0.1:8080 to be started', action: true, op: { kind: 'wait' } },
    ]);
  });

  it("check mode waits for nothing and registers Ansible's skipped result", () => {
    expect(waitForPlan({ path: '/x' }, { check: true })).toEqual([]);
    expect(waitFor.registerData!({ path: '/x' }, undefined, { check: true })).toEqual({
      skipped: true,
      msg: 'remote module (wait_for) does not support check mode',
    });
  });

  it('summaries', () => {
    expect(describeWait({ timeout: 10 })).toBe('sleep 10 s');
    expect(describeWait({ path: '/var/log/app.log', search_regex: 'ready', timeout: 60, delay: 5 })).toBe(
      'wait up to 60 s for /var/log/app.log to be started holding /ready/, after 5 s',
    );
    expect(describeWait({ host: '10.0.0.1', port: 22, state: 'drained' })).toBe('wait up to 300 s for 10.0.0.1:22 to be drained');
  });

  it("Ansible's argument errors are refused before any host is contacted", () => {
    expect(() => checkWaitFor({ port: 1, path: '/x' })).toThrow('port and path parameter can not both be passed to wait_for');
    expect(() => checkWaitFor({ path: '/x', state: 'stopped' })).toThrow('state=stopped should only be used for checking a port');
    expect(() => checkWaitFor({ path: '/x', state: 'drained' })).toThrow('state=drained should only be used for checking a port');
    expect(() => checkWaitFor({ port: 1, exclude_hosts: ['a'] })).toThrow('exclude_hosts should only be with state=drained');
  });

  it('the probe makes one attempt: a present file with the match is met, with the groups', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-wf-'));
    try {
      const f = join(dir, 'log');
      writeFileSync(f, 'x\nlistening on 8080\n');
      const p: WaitForParams = { path: f, search_regex: 'on (?P<port>\\d+)' };
      const probe = waitFor.probe(p, undefined, ctx());
      expect(shSyntax(probe)).toBe('');
      const s = waitFor.parse(runProbe(probe), p, undefined);
      expect(s.met).toMatchObject({ match_groups: ['8080'], match_groupdict: { port: '8080' }, path: f, state: 'file', elapsed: 0 });
      expect(waitForPlan(p, s)).toEqual([]);
      const missing: WaitForParams = { path: join(dir, 'nope') };
      expect(waitFor.parse(runProbe(waitFor.probe(missing, undefined, ctx())), missing, undefined).met).toBeUndefined();
      const gone: WaitForParams = { path: join(dir, 'nope'), state: 'absent' };
      expect(waitFor.parse(runProbe(waitFor.probe(gone, undefined, ctx())), gone, undefined).met).toMatchObject({ state: 'absent' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a port nobody uses is stopped and drained at once', () => {
    for (const state of ['stopped', 'drained'] as const) {
      const p: WaitForParams = { port: 1, state, ...(state === 'drained' ? { exclude_hosts: ['10.0.0.1'] } : {}) };
      const s = waitFor.parse(runProbe(waitFor.probe(p, undefined, ctx())), p, undefined);
      expect(s.met, state).toMatchObject({ state, port: 1, path: null, elapsed: 0 });
    }
  });

  it('with a delay nothing is tried in the probe', () => {
    const p: WaitForParams = { path: '/', delay: 3 };
    const s = waitFor.parse(runProbe(waitFor.probe(p, undefined, ctx())), p, undefined);
    expect(waitForPlan(p, s)).toHaveLength(1);
  });
});
