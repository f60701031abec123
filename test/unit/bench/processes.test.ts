/** bench/driver/processes.ts: the pure parts of the processes-per-host figure. */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { MODULE_WORKLOADS, marginal, median, parseLastPid, processesBetween, READ_LAST_PID } from '../../../bench/driver/processes.ts';

describe('processes per host', () => {
  it('reads the last PID a host handed out', () => {
    expect(parseLastPid('motd\nlast_pid=5195\n')).toBe(5195);
    expect(() => parseLastPid('nothing')).toThrow(/no last_pid/);
    // The read line itself, in a PID namespace of its own: sh is 1, its $(cat) 2.
    const r = spawnSync('unshare', ['-r', '--pid', '--fork', '--mount-proc', '/bin/sh', '-c', READ_LAST_PID], { encoding: 'utf8' });
    if (r.status === 0) expect(parseLastPid(r.stdout)).toBe(2);
  });

  it('counts processes between two reads, less what a read costs, across a PID wrap', () => {
    expect(processesBetween(1000, 1250, 4)).toBe(246);
    expect(processesBetween(32760, 10, 2, 32768)).toBe(16);
  });

  it('takes the marginal cost of a task from n and 2n tasks', () => {
    expect(marginal(23, 35, 4)).toBe(3);
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it('generates playbooks of n tasks of each module type', () => {
    for (const w of MODULE_WORKLOADS) {
      const a = w.playbook(4);
      const b = w.playbook(8);
      expect(b.split('\n    - ').length - a.split('\n    - ').length, w.module).toBe(4);
    }
  });
});
