/**
 * Statistics and number formats of the results: median, seconds with three significant figures
 * at most, "median (min–max)" of times, and of Ansible ÷ Kiln ratios.
 */

/** The middle value (the mean of the two middle ones for an even count); NaN for none. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Seconds: 0 decimals from 100, 1 from 10, else 2. */
export const sec = (x: number): string => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));

/** `median s (min–max)` of times; `—` for none. */
export const spread = (xs: readonly number[]): string =>
  xs.length === 0 ? '—' : `${sec(median(xs))} s (${sec(Math.min(...xs))}–${sec(Math.max(...xs))})`;

/** `×median (min–max)` of ratios, one decimal; `—` for none. */
export const ratioSpread = (rs: readonly number[]): string =>
  rs.length > 0 ? `×${median(rs).toFixed(1)} (${Math.min(...rs).toFixed(1)}–${Math.max(...rs).toFixed(1)})` : '—';
