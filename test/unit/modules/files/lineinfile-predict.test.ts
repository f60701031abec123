/**
 * lineinfile's predictProbe (batching: a second edit of the same file is planned from what the
 * first leaves): the prediction is compared, byte for byte, with what the real probe prints after
 * the real apply script ran, here with the local shell on a temp directory. Where a value cannot be
 * known on the controller, there is no prediction.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import lif, { type LineinfileParams, lineinfilePredict } from '../../../../src/modules/files/lineinfile.ts';
import { PRELUDE } from '../../../../src/sh/prelude.ts';
import { ctx, runProbe } from '../helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'kiln-lif-predict-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const me = userInfo().username;
const myGroup = execFileSync('id', ['-gn'], { encoding: 'utf8' }).trim();

/** Probe, plan, predict, apply for real, probe again: the prediction and the probe after. */
function applyAndProbe(p: LineinfileParams): { predicted: string | undefined; after: string; changed: boolean } {
  const before = runProbe(lif.probe(p, undefined, ctx()));
  const s = lif.parse(before, p, undefined);
  const planned = lif.plan(p, undefined, s, ctx());
  const ops = planned.map((c) => c.op);
  const predicted = lif.predictProbe!(p, undefined, s, ops);
  if (ops.length) {
    const r = spawnSync('sh', [], { input: `${PRELUDE}\n${lif.apply(p, undefined, s, ops, ctx())}\n`, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
  }
  const after = runProbe(lif.probe(p, undefined, ctx()));
  expect(after.code).toBe(0);
  return { predicted, after: after.stdout, changed: ops.length > 0 };
}

describe('lineinfile predictProbe: exactly what the probe prints after the apply', () => {
  it('a new file with owner, group and mode given, then edits of it keeping them', () => {
    const path = join(dir, 'settings.ini');
    const attrs = { owner: me, group: myGroup, mode: '0640' };
    for (const n of [1, 2, 3]) {
      const r = applyAndProbe({ path, regexp: `^key${n}=`, line: `key${n}=value${n}`, create: true, ...attrs });
      expect(r.changed).toBe(true);
      expect(r.predicted).toBe(r.after);
    }
    expect(applyAndProbe({ path, regexp: '^key2=', line: 'key2=value2', create: true, ...attrs })).toMatchObject({ changed: false });
  });

  it('an existing file keeps its mode when the task gives none; a mode given is set', () => {
    const path = join(dir, 'kept.conf');
    writeFileSync(path, 'a=1\n', { mode: 0o600 });
    const kept = applyAndProbe({ path, line: 'b=2' });
    expect(kept.predicted).toBe(kept.after);
    expect(kept.after).toContain('mode=0600');
    const set = applyAndProbe({ path, line: 'c=3', mode: '644' });
    expect(set.predicted).toBe(set.after);
    expect(set.after).toContain('mode=0644');
  });

  it('only the mode changes: the content is the one probed', () => {
    const path = join(dir, 'mode-only.conf');
    writeFileSync(path, 'x=1\n', { mode: 0o600 });
    const r = applyAndProbe({ path, line: 'x=1', mode: '0604' });
    expect(r.changed).toBe(true);
    expect(r.predicted).toBe(r.after);
  });

  it('through a symlinked directory: the real path is the one written', () => {
    mkdirSync(join(dir, 'real'));
    symlinkSync(join(dir, 'real'), join(dir, 'via'));
    const path = join(dir, 'via', 'app.conf');
    writeFileSync(join(dir, 'real', 'app.conf'), 'port=80\n');
    const r = applyAndProbe({ path, regexp: '^port=', line: 'port=8080' });
    expect(r.after).toContain(`real_b64=${Buffer.from(join(dir, 'real', 'app.conf')).toString('base64')}`);
    expect(r.predicted).toBe(r.after);
  });

  it('no prediction where a value is not known on the controller', () => {
    const missing = { stat: { exists: false }, real: '/x/new.conf', parent: true } as const;
    // a new file whose owner and group are not given: the remote user's
    expect(
      lineinfilePredict({ path: '/x/new.conf', line: 'a', create: true }, missing, [{ kind: 'write', content: 'a\n', expect: 'absent' }]),
    ).toBeUndefined();
    // a numeric owner: stat prints the name
    expect(
      lineinfilePredict({ path: '/x/new.conf', line: 'a', create: true, owner: '0', group: 'root' }, missing, [
        { kind: 'write', content: 'a\n', expect: 'absent' },
      ]),
    ).toBeUndefined();
    // a missing file the task fails on
    expect(lineinfilePredict({ path: '/x/new.conf', line: 'a' }, missing, [{ kind: 'fail-missing' }])).toBeUndefined();
  });
});
