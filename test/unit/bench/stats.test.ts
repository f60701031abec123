/** Statistics and number formats of the benchmark results (expected values taken from bin/kiln-bench.js before the move). */
import { describe, expect, it } from 'vitest';
import { median, ratioSpread, sec, spread } from '../../../bench/driver/stats.ts';

describe('median', () => {
  const cases: [number[], number][] = [
    [[3, 1, 2], 2],
    [[4, 1, 3, 2], 2.5],
    [[5], 5],
    [[2.5, 1.5], 2],
    [[10, 10, 1, 1000], 10],
  ];
  it.each(cases)('of %j is %d', (xs, m) => {
    expect(median(xs)).toBe(m);
  });
  it('is NaN for no values', () => {
    expect(median([])).toBeNaN();
  });
  it('does not reorder its input', () => {
    const xs = [3, 1, 2];
    median(xs);
    expect(xs).toEqual([3, 1, 2]);
  });
});

describe('sec', () => {
  const cases: [number, string][] = [
    [0, '0.00'],
    [0.004, '0.00'],
    [0.005, '0.01'],
    [1.234, '1.23'],
    [9.994, '9.99'],
    [9.999, '10.00'],
    [10, '10.0'],
    [12.345, '12.3'],
    [99.94, '99.9'],
    [99.95, '100.0'],
    [100, '100'],
    [144.5, '145'],
    [1234.56, '1235'],
  ];
  it.each(cases)('%d s is %j', (x, s) => {
    expect(sec(x)).toBe(s);
  });
});

describe('spread', () => {
  const cases: [number[], string][] = [
    [[], '—'],
    [[2.74], '2.74 s (2.74–2.74)'],
    [[2.43, 4.66, 2.74], '2.74 s (2.43–4.66)'],
    [[59.2, 112, 121], '112 s (59.2–121)'],
    [[100, 9.5], '54.8 s (9.50–100)'],
  ];
  it.each(cases)('of %j is %j', (xs, s) => {
    expect(spread(xs)).toBe(s);
  });
});

describe('ratioSpread', () => {
  const cases: [number[], string][] = [
    [[], '—'],
    [[24.4, 40.8, 26.0], '×26.0 (24.4–40.8)'],
    [[2.96, 3.04], '×3.0 (3.0–3.0)'],
    [[0.25, 0.35, 0.05], '×0.3 (0.1–0.3)'],
    [[40.9], '×40.9 (40.9–40.9)'],
  ];
  it.each(cases)('of %j is %j', (rs, s) => {
    expect(ratioSpread(rs)).toBe(s);
  });
});
