/**
 * Names and addresses of the bench hosts: bench1..bench50 at 10.77.0.100–10.77.0.149, a range of
 * the lab's network that the lab's own hosts do not use.
 */

export const MAX_HOSTS = 50;
export const FIRST_OCTET = 100;

export const hostName = (i: number): string => `bench${i}`;
export const hostAddr = (i: number): string => `10.77.0.${FIRST_OCTET + i - 1}`;
/** 1..n */
export const range = (n: number): number[] => Array.from({ length: n }, (_, k) => k + 1);

/** Whether an address lies in the bench range (10.77.0.100–.149). */
export function inBenchRange(address: string): boolean {
  if (!/^10\.77\.0\.(\d+)$/.test(address)) return false;
  const last = Number(address.split('.')[3]);
  return last >= FIRST_OCTET && last < FIRST_OCTET + MAX_HOSTS;
}
