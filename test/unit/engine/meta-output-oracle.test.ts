/**
 * meta tasks as ansible-playbook 2.14 shows and counts them (test/fixtures/ansible/meta-output/,
 * generate.sh: the default callback's stdout, the files written, the exit code): a meta that ran
 * prints no "ok" line; noop, flush_handlers, reset_connection and end_host announce their task
 * once per host; end_batch, end_play and clear_host_errors once, their `when` evaluated on the
 * first host only; none counts in the recap. Kiln's plain output is compared after both are
 * reduced to the same shape: each banner in order, with the sorted "status host" lines under it
 * and how many hosts skipped it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PlainReporter } from '../../../src/output/plain.ts';
import { oracleCases, oracleExpected, runOracleCase } from '../../helpers/ansible-oracle.ts';

const FIXTURES = join(import.meta.dirname, '../../fixtures/ansible/meta-output');
const work = mkdtempSync(join(tmpdir(), 'kiln-meta-oracle-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface Block {
  banner: string;
  lines: string[];
  skipped: number;
}

/** Ansible's default callback output → blocks. */
function ansibleBlocks(stdout: string): Block[] {
  const out: Block[] = [];
  for (const l of stdout.split('\n')) {
    const b = /^(?:TASK|RUNNING HANDLER) \[(.*)\] \*+$/.exec(l);
    if (b) out.push({ banner: b[1]!, lines: [], skipped: 0 });
    else if (/^PLAY RECAP/.test(l)) break;
    const r = /^(ok|changed|failed|skipping): \[([^\]]+)\]/.exec(l);
    if (r && out.length) {
      if (r[1] === 'skipping') out.at(-1)!.skipped++;
      else out.at(-1)!.lines.push(`${r[1]} ${r[2]}`);
    }
  }
  return out.map((x) => ({ ...x, lines: x.lines.sort() }));
}

/** Kiln's plain output → blocks. */
function kilnBlocks(lines: string[]): Block[] {
  const out: Block[] = [];
  for (const l of lines.flatMap((x) => x.split('\n'))) {
    const b = /^(?:TASK|HANDLER) \[(.*)\]$/.exec(l);
    if (b) out.push({ banner: b[1]!, lines: [], skipped: 0 });
    const r = /^ {2}(\S+): (ok|changed|failed)\b/.exec(l);
    if (r && out.length) out.at(-1)!.lines.push(`${r[2]} ${r[1]}`);
    const s = /^ {2}skipped on (\d+) hosts?$/.exec(l);
    if (s && out.length) out.at(-1)!.skipped += Number(s[1]);
  }
  return out.map((x) => ({ ...x, lines: x.lines.sort() }));
}

/** Ansible's recap: per host, ok (changed included), changed, skipped. */
function ansibleRecap(stdout: string): Record<string, { ok: number; changed: number; skipped: number }> {
  const out: Record<string, { ok: number; changed: number; skipped: number }> = {};
  for (const m of stdout.matchAll(/^(\S+)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=\d+\s+failed=\d+\s+skipped=(\d+)/gm))
    out[m[1]!] = { ok: Number(m[2]), changed: Number(m[3]), skipped: Number(m[4]) };
  return out;
}

describe("meta tasks: Kiln's output and recap are ansible-playbook 2.14's", () => {
  const cases = oracleCases(FIXTURES);
  it('there are cases', () => expect(cases.length).toBeGreaterThanOrEqual(1));
  for (const name of cases) {
    it(name, async () => {
      const expected = oracleExpected(FIXTURES, name) as ReturnType<typeof oracleExpected> & { stdout: string };
      expect(expected.ansible).toMatch(/core 2\.14\./);
      const lines: string[] = [];
      const got = await runOracleCase(FIXTURES, work, name, new PlainReporter((l) => lines.push(l), { color: false, verbose: false }));
      expect(got.files).toEqual(expected.files);
      expect(got.exit).toBe(expected.exit === 2 ? 4 : expected.exit);
      expect(kilnBlocks(lines)).toEqual(ansibleBlocks(expected.stdout));
      const recap = Object.fromEntries(
        Object.entries(got.stats).map(([h, s]) => [h, { ok: s.ok, changed: s.changed, skipped: s.skipped }]),
      );
      expect(recap).toEqual(ansibleRecap(expected.stdout));
    });
  }
});
