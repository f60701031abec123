/**
 * `kiln report merge` (engine/report-merge.ts) on reports that no real run can make: malformed
 * files, impossible shards, shards whose hosts do not add up to the run's. The real runs, merged,
 * are test/integration/shard.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { mergeReports } from '../../../src/engine/report-merge.ts';

const stats = { ok: 1, changed: 0, failed: 0, skipped: 0, ignored: 0, rescued: 0, unreachable: false, round_trips: 1 };
function shard(index: number, count: number, hosts: string[], extra: { selected?: number; shardHosts?: number } = {}) {
  return {
    run: {
      playbook: 'site.yml',
      fingerprint: 'sha256:aa',
      shard: { index, count },
      selected_hosts: extra.selected ?? 4,
      shard_hosts: extra.shardHosts ?? hosts.length,
    },
    hosts: Object.fromEntries(hosts.map((h) => [h, { ...stats }])),
    tasks: hosts.map((host) => ({ host })),
    check: false,
    duration_ms: 100 * (index + 1),
  };
}
const input = (file: string, r: unknown) => ({ file, text: typeof r === 'string' ? r : JSON.stringify(r) });
const messages = (inputs: { file: string; text: string }[], allowPartial = false) =>
  mergeReports(inputs, { allowPartial }).problems.map((p) => `${p.file}: ${p.message}`);

describe('mergeReports', () => {
  it('merges whole shards: hosts sorted by name, tasks in shard order, the longest duration', () => {
    const { merged, problems } = mergeReports([input('b.json', shard(1, 2, ['d', 'a'])), input('a.json', shard(0, 2, ['c', 'b']))]);
    expect(problems).toEqual([]);
    expect(Object.keys(merged!.report.hosts)).toEqual(['a', 'b', 'c', 'd']);
    expect(merged!.report.tasks).toEqual([{ host: 'c' }, { host: 'b' }, { host: 'd' }, { host: 'a' }]);
    expect(merged!.report.duration_ms).toBe(200);
    expect(merged!.report.run).toMatchObject({ shard: null, selected_hosts: 4, shard_hosts: 4, merged_shards: [0, 1] });
  });

  it('refuses what is not a report, an impossible shard, an already merged report', () => {
    expect(messages([input('x.json', '{nope')])[0]).toMatch(/^x\.json: not JSON: /);
    expect(messages([input('x.json', { foo: 1 })])).toEqual(['x.json: not a kiln JSON report (no `hosts` and `tasks`)']);
    expect(messages([input('x.json', shard(3, 2, ['a']))])).toEqual(['x.json: shard 3/2: not a shard (0 ≤ i < n)']);
    const bad = shard(0, 1, ['a']);
    (bad.hosts.a as Record<string, unknown>).ok = 'many';
    expect(messages([input('x.json', bad)])).toEqual(["x.json: host 'a': its statistics are not a kiln report's"]);
    const { merged } = mergeReports([input('a.json', shard(0, 2, ['a', 'b'])), input('b.json', shard(1, 2, ['c', 'd']))]);
    expect(messages([input('m.json', merged!.report)])).toEqual(['m.json: already a merged report: merge the shards’ own reports']);
    expect(messages([])).toEqual(['command line: no report to merge']);
  });

  it('refuses shards whose hosts do not add up to the run, names every missing shard, and with allowPartial counts the hosts left out', () => {
    expect(messages([input('a.json', shard(0, 2, ['a'])), input('b.json', shard(1, 2, ['c', 'd']))])).toEqual([
      'command line: the shards cover 3 host(s), the run selects 4: the reports are not of one partition',
    ]);
    expect(messages([input('b.json', shard(1, 4, ['b']))])).toEqual([
      'command line: missing shards 0/4, 2/4, 3/4 (1 of 4 given; --allow-partial merges them anyway)',
    ]);
    const { merged } = mergeReports([input('b.json', shard(1, 4, ['b']))], { allowPartial: true });
    expect(merged!.missing).toEqual([0, 2, 3]);
    expect(merged!.missingHosts).toBe(3);
  });
});
