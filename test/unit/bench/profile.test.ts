/** Figure 4's profile: the machine's busy CPU from /proc/stat, the median profile of a size, its table, and the results file naming. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { machineBusySeconds } from '../../../bench/driver/exec.ts';
import { hostCpuSnapshot, hostCpuUsed, parseProcStat } from '../../../bench/driver/hostcpu.ts';
import { cpuRow, nextResultsFile, profileRow, renderBody, renderCpuTable, renderProfile } from '../../../bench/driver/results.ts';

describe('machineBusySeconds', () => {
  it('adds user, nice, system, irq, softirq and steal of the all-cores line, in 1/100 s', () => {
    const stat = 'cpu  1000 20 300 90000 500 7 3 10 0 0\ncpu0 500 10 150 45000 250 3 1 5 0 0\nintr 1\n';
    // 1000 + 20 + 300 + 7 + 3 + 10 = 1340 ticks; idle (90000) and iowait (500) are not busy
    expect(machineBusySeconds(stat)).toBe(13.4);
  });
  it('is undefined when the line is missing', () => {
    expect(machineBusySeconds('intr 1\n')).toBeUndefined();
  });
  it('reads this machine when it has /proc/stat, and the count only grows', () => {
    const a = machineBusySeconds();
    if (a === undefined) return; // not Linux
    let x = 0;
    for (let i = 0; i < 2e7; i++) x += i;
    expect(x).toBeGreaterThan(0);
    expect(machineBusySeconds()!).toBeGreaterThanOrEqual(a);
  });
});

describe('profileRow and renderProfile', () => {
  it('takes medians and shows the busy share and the hosts side per host', () => {
    const r = profileRow(
      50,
      [
        { wall: 10, cpu: 2, machineBusy: 19 },
        { wall: 12, cpu: 3, machineBusy: 22 },
        { wall: 11, cpu: 2.5, machineBusy: 20 },
      ],
      2,
    );
    expect(r).toEqual({ n: 50, wall: 11, cpu: 2.5, busy: 20, cores: 2 });
    const t = renderProfile([r, profileRow(5, [{ wall: 1.5, cpu: 0.5 }], 2)]).split('\n');
    // busy 20 of 11 × 2 = 22 → 91 %; (20 − 2.5) / 50 = 0.350 s per host
    expect(t[2]).toBe('| 50 | 11.0 | 2.50 | 20.0 | 91 % | 0.350 | – |');
    expect(t[3]).toBe('| 5 | 1.50 | 0.50 | – | – | – | – |');
  });
  it('is in the body only with figure 4 and a profile', () => {
    const profile = [profileRow(5, [{ wall: 1, cpu: 0.5, machineBusy: 1.5 }], 2)];
    expect(renderBody({ rows: [], notes: [], profile }, new Set([4]), [], undefined)).toContain(
      '| 5 | 1.00 | 0.50 | 1.50 | 75 % | 0.200 | – |',
    );
    expect(renderBody({ rows: [], notes: [], profile }, new Set([2]), [], undefined)).not.toContain('Profile');
  });
});

describe("figure 1's CPU table: every tool's own CPU, the machine's and the hosts' processes", () => {
  const m = (o: Record<string, number>) => new Map(Object.entries(o));
  it('takes the medians of the runs and sums the hosts, listing the largest processes first', () => {
    const r = cpuRow('pyinfra', [
      { wall: 80, cpu: 40, machineBusy: 150, hostCpu: m({ dpkg: 30, systemd: 20, sshd: 10, 'sd-pam': 0.01 }) },
      { wall: 90, cpu: 44, machineBusy: 170, hostCpu: m({ dpkg: 34, systemd: 24, sshd: 12 }) },
    ]);
    // medians of two runs are their means; the hosts' sums are 60.01 and 70; sd-pam (0.005) is below 0.05 s and left out
    expect(r).toEqual({
      tool: 'pyinfra',
      wall: 85,
      cpu: 42,
      busy: 160,
      hosts: (60.01 + 70) / 2,
      byProcess: [
        ['dpkg', 32],
        ['systemd', 22],
        ['sshd', 11],
      ],
    });
    const t = renderCpuTable([r, cpuRow('Kiln', [{ wall: 40 }])], 2).split('\n');
    // busy 160 of 85 × 2 = 170 → 94 %
    expect(t[2]).toBe('| pyinfra | 85.0 | 42.0 | 160 | 94 % | 65.0 | dpkg 32.0, systemd 22.0, sshd 11.0 |');
    expect(t[3]).toBe('| Kiln | 40.0 | – | – | – | – | – |');
  });
  it('is in the body only with figure 1 and rows', () => {
    const firstCpu = { n: 20, cores: 2, rows: [cpuRow('Kiln', [{ wall: 40, cpu: 8, machineBusy: 70, hostCpu: m({ dpkg: 20 }) }])] };
    const body = renderBody({ rows: [], notes: [], firstCpu }, new Set([1]), [], undefined);
    expect(body).toContain("**1. Where the first applies' CPU went** (20 hosts, medians)");
    expect(body).toContain('| Kiln | 40.0 | 8.00 | 70.0 | 88 % | 20.0 | dpkg 20.0 |');
    expect(renderBody({ rows: [], notes: [], firstCpu }, new Set([2]), [], undefined)).not.toContain('first applies');
  });
});

describe("the hosts' CPU by process", () => {
  it('parses /proc/PID/stat: the name (even with spaces and parentheses) and utime+stime+cutime+cstime', () => {
    const line = '4242 (sshd: kiln (x)) S 1 4242 4242 0 -1 4194560 100 0 0 0 7 3 20 10 20 0 1 0 100 1000 100 0';
    expect(parseProcStat(line)).toEqual({ comm: 'sshd: kiln (x)', ticks: 40 });
    expect(parseProcStat('garbage')).toBeUndefined();
  });
  it('the difference of two snapshots, by name, over the hosts; a process that ended counts in its parent', () => {
    const before = new Map([
      [
        'kiln-a',
        new Map([
          ['sshd', 1],
          ['bash', 0.5],
          ['systemd', 2],
        ]),
      ],
      [
        'kiln-b',
        new Map([
          ['sshd', 1],
          ['systemd', 2],
        ]),
      ],
    ]);
    const after = new Map([
      [
        'kiln-a',
        new Map([
          ['sshd', 1.8],
          ['systemd', 2.1],
        ]),
      ], // bash ended: sshd reaped it (0.5 of its 1.8 is bash's old CPU)
      [
        'kiln-b',
        new Map([
          ['sshd', 1.2],
          ['systemd', 2.05],
        ]),
      ],
    ]);
    const used = hostCpuUsed(before, after);
    expect(used.get('sshd')).toBeCloseTo(1.0);
    expect(used.get('bash')).toBeCloseTo(-0.5);
    expect(used.get('systemd')).toBeCloseTo(0.15);
    expect([...used.values()].reduce((a, b) => a + b, 0)).toBeCloseTo(0.65); // the total is exact
  });
  it('the profile shows the largest per host', () => {
    const r = profileRow(
      2,
      [
        {
          wall: 1,
          cpu: 0.5,
          machineBusy: 1.5,
          hostCpu: new Map([
            ['sshd', 0.4],
            ['systemd', 0.2],
            ['bash', -0.001],
          ]),
        },
      ],
      2,
    );
    expect(r.hostCpu).toEqual([
      ['sshd', 0.2],
      ['systemd', 0.1],
    ]);
    expect(renderProfile([r])).toContain('| sshd 0.200, systemd 0.100 |');
  });
  it('a snapshot of namespaces that do not exist is empty', () => {
    expect(hostCpuSnapshot(['kiln-no-such-host-x'])).toEqual(new Map([['kiln-no-such-host-x', new Map()]]));
  });
});

describe('nextResultsFile with a tag', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kiln-results-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  it('never overwrites an earlier scale file of the same day', () => {
    const d = new Date('2026-12-03T10:00:00Z');
    expect(nextResultsFile(d, dir, '-scale')).toBe(path.join(dir, '2026-12-03-scale.md'));
    writeFileSync(path.join(dir, '2026-12-03-scale.md'), 'x');
    expect(nextResultsFile(d, dir, '-scale')).toBe(path.join(dir, '2026-12-03-scale-2.md'));
    expect(nextResultsFile(d, dir)).toBe(path.join(dir, '2026-12-03.md'));
  });
});
