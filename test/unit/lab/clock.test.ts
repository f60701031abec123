/**
 * Sealing the kernel's one-time clock warp before lab hosts (which share this kernel) can set a
 * time zone: the call shifts nothing (it writes back the kernel's zero time zone) and is idempotent.
 * As root it runs for real on this machine (that is what `kiln lab up` does here).
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { SEAL_CLOCK_WARP, sealClockWarp } from '../../../src/lab/clock.ts';

/** The wall clock minus the monotonic clock, in ms: changes only when the system clock is set. */
const clockOffset = () => Date.now() - Number(process.hrtime.bigint() / 1_000_000n);
const root = typeof process.getuid === 'function' && process.getuid() === 0;

describe('sealClockWarp', () => {
  it('is valid Python', () => {
    execFileSync('python3', ['-c', `import ast; ast.parse(${JSON.stringify(SEAL_CLOCK_WARP)})`]);
  });

  it.skipIf(!root)('seals (or finds spent) the warp without moving the clock, twice in a row', async () => {
    const before = clockOffset();
    const first = await sealClockWarp();
    const second = await sealClockWarp();
    expect(['sealed', 'spent']).toContain(first); // root here: permitted
    expect(second).toBe(first);
    expect(Math.abs(clockOffset() - before)).toBeLessThan(1000);
  });
});
