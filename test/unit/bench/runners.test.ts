/** Counts the benchmark reads from each tool's output: Kiln's JSON report and Ansible's PLAY RECAP (expected values taken from bin/kiln-bench.js before the move). */
import { describe, expect, it } from 'vitest';
import { ansibleCounts, kilnCounts } from '../../../bench/driver/runners.ts';

describe('kilnCounts', () => {
  it('sums changed and failed (an unreachable host counts one) and lists round trips', () => {
    expect(
      kilnCounts({
        hosts: {
          bench1: { changed: 0, failed: 0, unreachable: false, round_trips: 1 },
          bench2: { changed: 3, failed: 1, unreachable: false, round_trips: 2 },
          bench3: { changed: 0, failed: 0, unreachable: true, round_trips: 0 },
        },
      }),
    ).toEqual({ hosts: 3, changed: 3, failed: 2, roundTrips: [1, 2, 0] });
  });

  it('is all zero for a missing report', () => {
    expect(kilnCounts({ hosts: {} })).toEqual({ hosts: 0, changed: 0, failed: 0, roundTrips: [] });
  });
});

describe('ansibleCounts', () => {
  const recap = `PLAY RECAP *********************************************************************
bench1                     : ok=41   changed=0    unreachable=0    failed=0    skipped=0    rescued=0    ignored=0
bench2                     : ok=40   changed=2    unreachable=0    failed=1    skipped=0    rescued=0    ignored=0
bench3                     : ok=0    changed=0    unreachable=1    failed=0    skipped=0    rescued=0    ignored=0
`;
  const cases: [string, string, number, { hosts: number; changed: number; failed: number }][] = [
    ['every host in the recap', recap, 3, { hosts: 3, changed: 2, failed: 2 }],
    ['a host missing from the recap counts as failed', recap, 4, { hosts: 3, changed: 2, failed: 3 }],
    [
      'no recap (ansible-playbook did not get that far)',
      'ERROR! the playbook could not be found\n',
      7,
      { hosts: 0, changed: 0, failed: 7 },
    ],
  ];
  it.each(cases)('%s', (_name, text, n, expected) => {
    expect(ansibleCounts(text, n)).toEqual(expected);
  });
});
