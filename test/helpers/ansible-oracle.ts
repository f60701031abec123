/**
 * Runs a fixture playbook of an ansible-playbook oracle directory with Kiln over the local
 * transport (the hosts are this machine), as test/unit/engine/where-and-when-oracle.test.ts does:
 * the directory holds the playbooks, `kiln-hosts.ini` and, in expected/, what ansible-playbook 2.14
 * wrote (its generate.sh: exit code and every file under `out`).
 */
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Runner } from '../../src/engine/runner.ts';
import { validateRun } from '../../src/plan/validate.ts';
import { localTransport } from '../../src/transport/local.ts';
import type { Reporter } from '../../src/engine/events.ts';
import type { RunReport } from '../../src/engine/report.ts';
import { quietReporter } from './run-playbook.ts';

export interface OracleExpected {
  ansible: string;
  exit: number;
  files: Record<string, string>;
}

/** The case names of an oracle directory (its expected/*.json). */
export function oracleCases(fixtures: string): string[] {
  return readdirSync(join(fixtures, 'expected'))
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.replace(/\.json$/, ''));
}

export function oracleExpected(fixtures: string, name: string): OracleExpected {
  return JSON.parse(readFileSync(join(fixtures, 'expected', `${name}.json`), 'utf8')) as OracleExpected;
}

/** Kiln's run of case `name` in a copy under `work`: exit (0, or 4 when a host failed) and the files written. */
export async function runOracleCase(
  fixtures: string,
  work: string,
  name: string,
  reporter: Reporter = quietReporter,
): Promise<{ exit: number; files: Record<string, string>; stats: RunReport['hosts'] }> {
  const dir = join(work, name);
  cpSync(fixtures, dir, { recursive: true });
  const out = join(dir, 'out');
  mkdirSync(out);
  const extraVars = { out };
  const v = validateRun({
    playbook: join(dir, `${name}.yml`),
    inventory: [join(dir, 'kiln-hosts.ini')],
    extraVars,
    tags: [],
    skipTags: [],
    check: false,
    diff: false,
  });
  const runner = new Runner(v.playbook, v.inventory, {
    check: false,
    diff: false,
    forks: 3,
    tags: [],
    skipTags: [],
    extraVars,
    acceptNewHostKeys: false,
    reporter,
    transport: localTransport(),
  });
  const report = await runner.run();
  expect(report.error).toBeUndefined();
  const failed = Object.values(report.hosts).some((h) => h.failed > 0 || h.unreachable);
  const files = Object.fromEntries(
    readdirSync(out)
      .sort()
      .map((f) => [f, readFileSync(join(out, f), 'utf8')]),
  );
  return { exit: failed ? 4 : 0, files, stats: report.hosts };
}

/**
 * A describe block that runs every case of an oracle directory with Kiln: each must write the
 * files ansible-playbook wrote, with the same contents, and fail where Ansible failed (Ansible's
 * exit 2 is Kiln's 4).
 */
export function describeFilesOracle(title: string, fixtures: string, minCases: number): void {
  const work = mkdtempSync(join(tmpdir(), 'kiln-oracle-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));
  describe(title, () => {
    const cases = oracleCases(fixtures);
    it('there are cases', () => expect(cases.length).toBeGreaterThanOrEqual(minCases));
    for (const name of cases) {
      it(name, async () => {
        const expected = oracleExpected(fixtures, name);
        expect(expected.ansible).toMatch(/core 2\.14\./);
        const got = await runOracleCase(fixtures, work, name);
        expect(got.files).toEqual(expected.files);
        expect(got.exit).toBe(expected.exit === 2 ? 4 : expected.exit);
      });
    }
  });
}
