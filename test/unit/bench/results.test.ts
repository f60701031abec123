/** Rendering of the benchmark results: table rows, figures 5 and 6, problems, the results file and its name (expected strings taken from bin/kiln-bench.js before the move). */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  checkRun,
  nextResultsFile,
  pairRow,
  renderBody,
  renderTable,
  resultsFileText,
  type CpuFigure,
  type Row,
} from '../../../bench/driver/results.ts';

const HEAD =
  '| # | what | hosts | Kiln: median (min–max) | Ansible: median (min–max) | Ansible ÷ Kiln, same runs | runs |\n|---|---|---|---|---|---|---|';
const walls = (ws: number[]) => ws.map((wall) => ({ wall }));

describe('pairRow and renderTable', () => {
  const cases: [string, Row, string][] = [
    [
      'the headline figure',
      pairRow(2, '**converged re-run**', 7, { k: walls([2.43, 4.66, 2.74]), a: walls([59.2, 121, 112]), ratios: [24.4, 40.8, 26.0] }),
      '| 2 | **converged re-run** | 7 | 2.74 s (2.43–4.66) | 112 s (59.2–121) | ×26.0 (24.4–40.8) | 3 |',
    ],
    [
      'Ansible skipped at a size',
      pairRow(4, 'converged re-run', 50, { k: walls([9.47, 9.58]), a: [], ratios: [] }),
      '| 4 | converged re-run | 50 | 9.53 s (9.47–9.58) | not run | — | 2 |',
    ],
    ['no runs', pairRow(3, '--check', 7, { k: [], a: [], ratios: [] }), '| 3 | --check | 7 | — | not run | — | 0 |'],
    [
      'one run each',
      pairRow(1, 'first', 7, { k: walls([1]), a: walls([2.96]), ratios: [2.96, 3.04] }),
      '| 1 | first | 7 | 1.00 s (1.00–1.00) | 2.96 s (2.96–2.96) | ×3.0 (3.0–3.0) | 1 |',
    ],
    [
      'the site row',
      {
        figure: 'site',
        what: 'playbooks/site.yml converged re-run (lab hosts)',
        hosts: 7,
        kiln: '3.10 s (3.00–3.20)',
        ansible: '—',
        ratio: '—',
        runs: 3,
      },
      '| site | playbooks/site.yml converged re-run (lab hosts) | 7 | 3.10 s (3.00–3.20) | — | — | 3 |',
    ],
  ];
  it.each(cases)('%s', (_name, row, line) => {
    expect(renderTable([row])).toBe(`${HEAD}\n${line}`);
  });

  it('is the head alone without rows, and keeps the rows in order', () => {
    expect(renderTable([])).toBe(HEAD);
    const rows = cases.map(([, r]) => r);
    expect(renderTable(rows).split('\n').slice(2)).toEqual(cases.map(([, , line]) => line));
  });

  it('keeps the row fields', () => {
    expect(
      pairRow(2, '**converged re-run**', 7, { k: walls([2.43, 4.66, 2.74]), a: walls([59.2, 121, 112]), ratios: [24.4, 40.8, 26.0] }),
    ).toEqual({
      figure: 2,
      what: '**converged re-run**',
      hosts: 7,
      kiln: '2.74 s (2.43–4.66)',
      ansible: '112 s (59.2–121)',
      ratio: '×26.0 (24.4–40.8)',
      runs: 3,
    });
  });
});

describe('checkRun', () => {
  const cases: [string, string, { code: number | null; failed: number; changed: number }, boolean, string[]][] = [
    ['Kiln', 'f2-n7-r1', { code: 0, failed: 0, changed: 0 }, true, []],
    [
      'Kiln',
      'f2-n7-r1',
      { code: 4, failed: 2, changed: 3 },
      true,
      [
        '**Kiln f2-n7-r1: exit 4, 2 failed/unreachable** (log in bench/.work)',
        '**Kiln f2-n7-r1: 3 task results changed on a converged run**',
      ],
    ],
    ['Ansible', 'f1-n7-r1', { code: 0, failed: 0, changed: 41 }, false, []],
    [
      'Ansible',
      'f3-n7-r2',
      { code: 2, failed: 0, changed: 0 },
      true,
      ['**Ansible f3-n7-r2: exit 2, 0 failed/unreachable** (log in bench/.work)'],
    ],
    [
      'Kiln',
      'f4-n5-r1',
      { code: null, failed: 0, changed: 0 },
      true,
      ['**Kiln f4-n5-r1: exit null, 0 failed/unreachable** (log in bench/.work)'],
    ],
  ];
  it.each(cases)('%s %s %j (converged expected: %s)', (tool, what, r, converged, expected) => {
    const notes: string[] = [];
    checkRun(notes, tool, what, r, converged);
    expect(notes).toEqual(expected);
  });
});

describe('renderBody', () => {
  const row = pairRow(2, '**converged re-run**', 7, { k: walls([2.74]), a: walls([112]), ratios: [40.9] });
  const cpu: CpuFigure = {
    n: 50,
    wall: 9.53,
    cpu: 2.26,
    rss: 161.4,
    firstCpu: 10.6,
    firstRss: 160.6,
    firstWall: 121.2,
    ansibleCpu: undefined,
  };
  const all = new Set([1, 2, 3, 4, 5, 6]);
  const line2 = '| 2 | **converged re-run** | 7 | 2.74 s (2.74–2.74) | 112 s (112–112) | ×40.9 (40.9–40.9) | 1 |';
  const fig5 =
    "**5. Kiln SSH round trips per converged host after connecting** (from Kiln's JSON report, `hosts.*.round_trips`, over 4 host-runs): median 1, min 1, max 2 (target ≤ 2).";
  const fig6 =
    '**6. Kiln controller cost at 50 hosts** (GNU time over the kiln process tree): converged re-run 2.26 s CPU (user+sys) for 9.53 s wall, peak RSS 161 MB; first apply of those hosts (untimed converge step) 10.6 s CPU, 121 s wall, peak RSS 161 MB';

  it('is the table and an empty line when nothing else was measured', () => {
    expect(renderBody({ rows: [], notes: [] }, all, [], undefined)).toBe(`${HEAD}\n`);
  });

  it('adds figures 5 and 6 when chosen and measured', () => {
    expect(renderBody({ rows: [row], notes: [] }, all, [1, 1, 2, 1], cpu)).toBe(`${HEAD}\n${line2}\n\n${fig5}\n\n${fig6}.\n`);
  });

  it("leaves out figures not chosen, adds Ansible's CPU and the problems", () => {
    const notes = ['**Kiln f2-n7-r1: exit 4, 1 failed/unreachable** (log in bench/.work)'];
    expect(renderBody({ rows: [row], notes }, new Set([6]), [1], { ...cpu, ansibleCpu: 55.55 })).toBe(
      `${HEAD}\n${line2}\n\n${fig6}; Ansible's converged re-run: 55.5 s CPU.\n\nProblems seen:\n- ${notes[0]}\n`,
    );
  });
});

describe('resultsFileText', () => {
  it('has the title, machine lines, method note and body', () => {
    const started = new Date('2026-11-28T14:15:59.326Z');
    expect(resultsFileText(started, ['- date: a', '- options: (defaults)'], `${HEAD}\n`)).toBe(
      '# Kiln vs ansible-playbook, Ansible + Mitogen and pyinfra, 2026-11-28\n\n- date: a\n- options: (defaults)\n\n' +
        'Absolute times depend on the machine (and here on whatever else it was running); the ratios, measured in the same runs, are what count. Method, workload and Ansible settings: bench/README.md.\n\n' +
        `${HEAD}\n\n`,
    );
  });
});

describe('nextResultsFile', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kiln-bench-results-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const d = new Date('2026-11-28T23:59:00Z');

  it('is <date>.md, then -2, -3 as those exist', () => {
    expect(nextResultsFile(d, dir)).toBe(path.join(dir, '2026-11-28.md'));
    writeFileSync(path.join(dir, '2026-11-28.md'), '');
    expect(nextResultsFile(d, dir)).toBe(path.join(dir, '2026-11-28-2.md'));
    writeFileSync(path.join(dir, '2026-11-28-2.md'), '');
    expect(nextResultsFile(d, dir)).toBe(path.join(dir, '2026-11-28-3.md'));
  });
});

describe('the Ansible + Mitogen and pyinfra columns', () => {
  const res = {
    k: walls([2, 4, 3]),
    a: walls([60, 50, 55]),
    ratios: [30, 12.5, 18.3],
    others: { pyinfra: { runs: walls([6, 5.5, 7]), ratios: [3, 1.375, 2.33] } },
  };

  it('are there when chosen: median (min–max) and the ratio to Kiln, "not run" when a tool did not run', () => {
    const row = pairRow(2, '**converged re-run**', 5, res, ['mitogen', 'pyinfra']);
    expect(row.mitogen).toBe('not run');
    expect(row.pyinfra).toBe('6.00 s (5.50–7.00), ×2.3 (1.4–3.0)');
    expect(renderTable([row])).toBe(
      '| # | what | hosts | Kiln: median (min–max) | Ansible: median (min–max) | Ansible ÷ Kiln, same runs | Ansible + Mitogen: median (min–max), ÷ Kiln | pyinfra: median (min–max), ÷ Kiln | runs |\n' +
        '|---|---|---|---|---|---|---|---|---|\n' +
        '| 2 | **converged re-run** | 5 | 3.00 s (2.00–4.00) | 55.0 s (50.0–60.0) | ×18.3 (12.5–30.0) | not run | 6.00 s (5.50–7.00), ×2.3 (1.4–3.0) | 3 |',
    );
  });

  it("mark a tool whose tree differed from Kiln's", () => {
    const row = pairRow(1, 'first', 5, { ...res, treeDiffers: ['pyinfra', 'ansible'] }, ['pyinfra']);
    expect(row.pyinfra).toBe("6.00 s (5.50–7.00), ×2.3 (1.4–3.0) **tree ≠ Kiln's**");
    expect(row.ansible).toBe("55.0 s (50.0–60.0) **tree ≠ Kiln's**");
  });

  it('show — in a row without them (the site row) when another row has them', () => {
    const site: Row = { figure: 'site', what: 'site', hosts: 7, kiln: '1 s', ansible: '—', ratio: '—', runs: 1 };
    const lines = renderTable([pairRow(2, 'x', 5, res, ['pyinfra']), site]).split('\n');
    expect(lines[0]).toContain('| pyinfra: median (min–max), ÷ Kiln | runs |');
    expect(lines[3]).toBe('| site | site | 7 | 1 s | — | — | — | 1 |');
  });
});
