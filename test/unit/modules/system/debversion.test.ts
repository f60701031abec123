import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { compareDebVersions } from '../../../../src/modules/system/debversion.ts';

const PAIRS: [string, string][] = [
  ['1.0', '1.0'],
  ['1.0', '1.1'],
  ['1.0~rc1', '1.0'],
  ['1.0-1', '1.0-1+b1'],
  ['5.2.15-2+b8', '5.2.15-2+b13'],
  ['1:1.0', '2.0'],
  ['1.0a', '1.0'],
  ['1.0', '1.0.0'],
  ['2.10-3', '2.9-3'],
  ['1.0~~', '1.0~'],
  ['0:1.0-0', '1.0'],
  ['10.11.6-0+deb12u1', '10.11.4-1~deb12u1'],
];

describe('compareDebVersions', () => {
  it('orders versions as dpkg does', () => {
    const sign = (n: number) => Math.sign(n);
    const want: Record<string, number> = {
      '1.0 1.0': 0,
      '1.0 1.1': -1,
      '1.0~rc1 1.0': -1,
      '1.0-1 1.0-1+b1': -1,
      '5.2.15-2+b8 5.2.15-2+b13': -1,
      '1:1.0 2.0': 1,
      '1.0a 1.0': 1,
      '1.0 1.0.0': -1,
      '2.10-3 2.9-3': 1,
      '1.0~~ 1.0~': -1,
      '0:1.0-0 1.0': 0,
      '10.11.6-0+deb12u1 10.11.4-1~deb12u1': 1,
    };
    for (const [a, b] of PAIRS) {
      expect(sign(compareDebVersions(a, b)), `${a} vs ${b}`).toBe(want[`${a} ${b}`]);
      expect(sign(compareDebVersions(b, a)), `${b} vs ${a}`).toBe(0 - want[`${a} ${b}`] || 0);
    }
  });
  it.skipIf(!hasDpkg())('agrees with dpkg --compare-versions', () => {
    for (const [a, b] of PAIRS) {
      const lt = run(a, 'lt', b);
      const gt = run(a, 'gt', b);
      expect(Math.sign(compareDebVersions(a, b)), `${a} vs ${b}`).toBe(lt ? -1 : gt ? 1 : 0);
    }
  });
});

function hasDpkg(): boolean {
  try {
    execFileSync('dpkg', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
function run(a: string, op: string, b: string): boolean {
  try {
    execFileSync('dpkg', ['--compare-versions', a, op, b], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
