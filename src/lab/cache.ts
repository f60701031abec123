/**
 * What the two machine-wide caches in CACHE_DIR (`rootfs-<key>`, `mirror-<key>`) share: the Debian
 * suite, the key that names a cache directory, and the machine's apt sources and Acquire options
 * they are built with (mmdebstrap ignores /etc/apt, so both are passed explicitly).
 *
 * A key is the first 16 hex digits of the SHA-256 of the JSON of every input of a build (recipe
 * version, suite, package list, sources or base key): a changed input names a new directory and
 * never rebuilds a cache in place. Read-only: nothing here writes.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LabError } from './errors.ts';

export const SUITE = 'bookworm';

export function hashKey(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 16);
}

/** The machine's Debian sources (mmdebstrap ignores /etc/apt, so it is passed explicitly). */
export function machineSources(): string {
  const candidates = [process.env.KILN_LAB_SOURCES, '/etc/apt/sources.list.d/debian.sources', '/etc/apt/sources.list'].filter(
    (c): c is string => typeof c === 'string' && c.length > 0,
  );
  for (const c of candidates) {
    if (existsSync(c) && /\S/.test(readFileSync(c, 'utf8'))) return c;
  }
  throw new LabError(
    'no Debian apt sources found on this machine (looked at /etc/apt/sources.list.d/debian.sources and /etc/apt/sources.list); set KILN_LAB_SOURCES to a sources file for bookworm',
  );
}

/**
 * Files of /etc/apt/apt.conf.d that configure how the registry is reached (Acquire:: options such as
 * proxies or Check-Valid-Until). Files defining index targets (appstream's DEP-11) or hooks are left
 * out: they describe the machine, not the registry, and break a minimal bootstrap.
 */
export function machineAptOptionFiles(): string[] {
  const dir = '/etc/apt/apt.conf.d';
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .sort()
    .map((f) => join(dir, f))
    .filter((f) => {
      try {
        const text = readFileSync(f, 'utf8');
        return /^\s*Acquire(::|\s*\{)/m.test(text) && !/IndexTargets|Invoke/.test(text);
      } catch {
        return false;
      }
    });
}
