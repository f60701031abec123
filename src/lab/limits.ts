/**
 * Per-user kernel limits every host's systemd counts against: all hosts run as the machine's root
 * (no user namespaces), so their inotify instances add up. Each idle host uses about 7, the
 * default limit is 128, so the 20th host's systemd hangs in "initializing" without more.
 * `up` raises the limit only when the lab needs it, records the old value, and `down` puts it back
 * (unless someone else changed it meanwhile).
 *
 * Invariants: the limit is only ever raised, never lowered, by `up` or `add`; the value recorded
 * is the one before the lab's first raise.
 */
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';

/** The per-user inotify instance limit (sysctl fs.inotify.max_user_instances). */
export const INOTIFY_INSTANCES = '/proc/sys/fs/inotify/max_user_instances';
/** Per host: idle systemd + logind use about 7; services installed by roles add a few. */
export const INOTIFY_PER_HOST = 10;
/** Left for the machine's own root processes. */
export const INOTIFY_MACHINE = 32;

export interface RaisedLimit {
  file: string;
  original: number;
  raisedTo: number;
}

function read(file: string): number | undefined {
  if (!existsSync(file)) return undefined;
  const v = Number(readFileSync(file, 'utf8').trim());
  return Number.isFinite(v) ? v : undefined;
}

/** The inotify instance limit a lab of `hosts` hosts needs (the default 128 fits 9 hosts). */
export function neededInotifyInstances(hosts: number): number {
  return INOTIFY_MACHINE + hosts * INOTIFY_PER_HOST;
}

/** Raises max_user_instances if below what `hosts` need; returns what was changed (to restore). */
export async function ensureInotifyLimit(
  hosts: number,
  previous: RaisedLimit | undefined,
  log: (m: string) => void,
): Promise<RaisedLimit | undefined> {
  const current = read(INOTIFY_INSTANCES);
  if (current === undefined) return previous;
  const need = neededInotifyInstances(hosts);
  if (current >= need) return previous;
  await writeFile(INOTIFY_INSTANCES, String(need));
  log(`raised fs.inotify.max_user_instances from ${current} to ${need} for ${hosts} hosts (restored by \`kiln lab down\`)`);
  return { file: INOTIFY_INSTANCES, original: previous?.original ?? current, raisedTo: need };
}

/** Puts a raised limit back, unless it was changed by someone else since. */
export async function restoreLimit(raised: RaisedLimit | undefined, log: (m: string) => void): Promise<void> {
  if (!raised) return;
  const current = read(raised.file);
  if (current !== raised.raisedTo) {
    log(`${raised.file} is ${current}, not the ${raised.raisedTo} the lab set: left as it is`);
    return;
  }
  await writeFile(raised.file, String(raised.original));
}
