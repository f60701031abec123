/**
 * Batching of applies: the pure decision (engine/phases/batch.ts) over footprints
 * (modules/resources.ts), and the guarded apply script (sh/apply-batch.ts) run by a local sh.
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { type Candidate, decideBatch } from '../../../src/engine/phases/batch.ts';
import { ANYTHING, type Footprint, overlaps, pathResource } from '../../../src/modules/resources.ts';
import { frameBatch, guardHash } from '../../../src/sh/apply-batch.ts';

const fp = (reads: Footprint['reads'], writes: Footprint['writes'], exitStatusFails = true): Footprint => ({
  reads,
  writes,
  exitStatusFails,
});
const file = (path: string): Candidate => ({
  footprint: fp([pathResource(path)], [pathResource(path)]),
  changes: true,
  guardable: true,
});

describe('resources: what a write changes for a read', () => {
  it('a path write touches the path and its ancestors; a tree write also what is below', () => {
    expect(overlaps(pathResource('/opt/a/b'), pathResource('/opt/a/b'))).toBe(true);
    expect(overlaps(pathResource('/opt/a/b'), pathResource('/opt/a'))).toBe(true); // the directory's entries changed
    expect(overlaps(pathResource('/opt/a/b'), pathResource('/opt/a/b/c'))).toBe(false); // mkdir/chmod: c is not changed
    expect(overlaps(pathResource('/opt/a/b', true), pathResource('/opt/a/b/c'))).toBe(true); // rm -r
    expect(overlaps(pathResource('/opt/a/b'), pathResource('/opt/a/bc'))).toBe(false); // prefix by component, not by string
    expect(overlaps(pathResource('/opt/x'), pathResource('/', true))).toBe(true);
  });
  it('paths are normalized; a relative one is anything', () => {
    expect(pathResource('/opt//a/./b/')).toEqual({ kind: 'path', path: '/opt/a/b' });
    expect(pathResource('a/b')).toEqual(ANYTHING);
    expect(pathResource('/opt/../etc')).toEqual(ANYTHING);
  });
  it('systemd units, packages and anything', () => {
    expect(overlaps({ kind: 'systemd', unit: 'a' }, { kind: 'systemd', unit: 'b' })).toBe(false);
    expect(overlaps({ kind: 'systemd' }, { kind: 'systemd', unit: 'b' })).toBe(true);
    expect(overlaps({ kind: 'packages' }, pathResource('/etc'))).toBe(false);
    expect(overlaps(ANYTHING, pathResource('/etc'))).toBe(true);
    expect(overlaps(pathResource('/etc'), ANYTHING)).toBe(true);
  });
});

describe('decideBatch', () => {
  it('independent instances join unguarded', () => {
    const d = decideBatch(file('/opt/k/d1'), [file('/opt/k/d2'), file('/opt/k/d3')]);
    expect(d.members).toEqual([
      { index: 0, guard: false },
      { index: 1, guard: false },
      { index: 2, guard: false },
    ]);
  });
  it('one whose probe reads what an earlier member writes joins guarded', () => {
    const pkg: Candidate = { footprint: fp([{ kind: 'packages' }], [ANYTHING]), changes: true, guardable: true };
    const d = decideBatch(pkg, [file('/etc/x.conf'), file('/etc/y.conf')]);
    expect(d.members.map((m) => m.guard)).toEqual([false, true, true]);
  });
  it('a change that may write anything (command, service, package) only leads a batch: it runs at its own turn', () => {
    const cmd: Candidate = { footprint: fp([], [ANYTHING]), changes: true, guardable: true };
    const d = decideBatch(file('/opt/a'), [file('/opt/b'), cmd, file('/opt/c')]);
    expect(d.members.map((m) => m.index)).toEqual([0, 1]);
    expect(d.end).toMatch(/may change anything/);
    // Converged, it applies nothing: it joins, and what follows it is guarded like after any writer.
    expect(decideBatch(file('/opt/a'), [{ ...cmd, changes: false }, file('/opt/c')]).members).toHaveLength(3);
  });
  it('under the free strategy (no order across hosts) a change that may write anything joins; what reads after it is guarded', () => {
    const cmd: Candidate = { footprint: fp([], [ANYTHING]), changes: true, guardable: true };
    const d = decideBatch(file('/opt/a'), [file('/opt/b'), cmd, file('/opt/c')], false);
    expect(d.members).toEqual([
      { index: 0, guard: false },
      { index: 1, guard: false },
      { index: 2, guard: false },
      { index: 3, guard: true },
    ]);
    // A probe that cannot be compared still ends the batch where it would need a guard.
    expect(decideBatch(cmd, [{ ...file('/opt/c'), guardable: false }], false).members).toHaveLength(1);
  });
  it('a converged member writes nothing', () => {
    const d = decideBatch(file('/opt/a'), [{ ...file('/opt/b'), changes: false }, file('/opt/b')]);
    expect(d.members.map((m) => m.guard)).toEqual([false, false, false]);
  });
  it('a probe that cannot be compared exactly ends the batch where it would need a guard', () => {
    const d = decideBatch(file('/opt/a'), [file('/opt/b'), { ...file('/opt/a'), guardable: false }]);
    expect(d.members.map((m) => m.index)).toEqual([0, 1]);
  });
  it('a candidate planned from a prediction is always guarded; one that cannot be compared ends the batch', () => {
    const d = decideBatch(file('/opt/a'), [{ ...file('/opt/b'), predicted: true }, file('/opt/c')]);
    expect(d.members.map((m) => m.guard)).toEqual([false, true, false]);
    const e = decideBatch(file('/opt/a'), [{ ...file('/opt/b'), predicted: true, guardable: false }, file('/opt/c')]);
    expect(e.members.map((m) => m.index)).toEqual([0]);
    expect(e.end).toContain('prediction');
  });
  it('barriers end the batch before them; a module without footprint too', () => {
    expect(decideBatch(file('/a'), [file('/b'), { ...file('/c'), barrier: 'notifies handlers' }, file('/d')]).members).toHaveLength(2);
    expect(decideBatch(file('/a'), [{ changes: true, guardable: true }, file('/d')]).members).toHaveLength(1);
    expect(decideBatch({ changes: true, guardable: true }, [file('/d')]).members).toHaveLength(1);
    expect(decideBatch({ ...file('/a'), barrier: 'delegate_to' }, [file('/d')]).members).toHaveLength(1);
  });
  it('a last member (failed_when, until, a failure not by exit status) ends the batch after it', () => {
    expect(decideBatch(file('/a'), [{ ...file('/b'), last: 'failed_when' }, file('/c')]).members).toHaveLength(2);
    expect(decideBatch({ ...file('/a'), last: 'until' }, [file('/c')]).members).toHaveLength(1);
    const loose: Candidate = { footprint: fp([], [pathResource('/b')], false), changes: true, guardable: true };
    expect(decideBatch(file('/a'), [loose, file('/c')]).members).toHaveLength(2);
    expect(decideBatch(loose, [file('/c')]).members).toHaveLength(1);
  });
});

describe('the batched apply script (local sh)', () => {
  const run = (script: string): string => {
    try {
      return execFileSync('sh', ['-c', script], { encoding: 'utf8' });
    } catch (err) {
      return (err as { stdout: string }).stdout;
    }
  };
  it('applies in order, stops at the first non-zero exit, probes the rest', () => {
    const f = frameBatch(
      [{ apply: 'echo one', verify: 'echo v1' }, { apply: 'echo two >&2; exit 3', verify: 'echo v2' }, { apply: 'echo three' }],
      ['echo after'],
    );
    const got = f.parse(run(f.script));
    expect(got.members.map((m) => m.apply?.code)).toEqual([0, 3, -1]);
    expect(got.members[1]!.apply!.stderr).toBe('two\n');
    expect(got.members[1]!.verify!.stdout).toBe('v2\n');
    expect(got.trailing[0]!.stdout).toBe('after\n');
  });
  it('a guard whose probe changed stops the batch; its output is the fresh probe', () => {
    const planned = { stdout: 'a=1\n', stderr: '', code: 0 };
    const f = frameBatch(
      [
        { apply: 'echo one' },
        { guard: { probe: 'echo a=1', sha256: guardHash(planned) }, apply: 'echo two' },
        { guard: { probe: 'echo a=2', sha256: guardHash(planned) }, apply: 'echo three' },
        { guard: { probe: 'echo a=1', sha256: guardHash(planned) }, apply: 'echo four' },
      ],
      [],
    );
    const got = f.parse(run(f.script));
    expect(got.members.map((m) => m.apply?.code)).toEqual([0, 0, -1, -1]);
    expect(got.members[2]!.probe!.stdout).toBe('a=2\n');
    expect(got.members[3]!.probe!.stdout).toBe('a=1\n'); // probed again once stopped, not applied
  });
});
