/** "Did you mean …?" hints for unknown names, shared by every loader that reports one. */

/** Levenshtein distance. */
export function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++)
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
  return d[a.length]![b.length]!;
}

export interface SuggestOptions {
  /** The largest distance accepted is max(floor, ⌊length/3⌋). Default 2. */
  floor?: number;
  /** An anagram ('wbe' → 'web') counts one edit less. */
  anagrams?: boolean;
}

/** ` (did you mean 'x'?)` for the closest candidate (the first of equals), or '' when none is close. */
export function didYouMean(name: string, candidates: Iterable<string>, opts: SuggestOptions = {}): string {
  const limit = Math.max(opts.floor ?? 2, Math.floor(name.length / 3));
  const sorted = [...name].sort().join('');
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(name, c) - (opts.anagrams && [...c].sort().join('') === sorted ? 1 : 0);
    if (d < bestD) [best, bestD] = [c, d];
  }
  return best !== undefined && bestD <= limit ? ` (did you mean '${best}'?)` : '';
}
