/**
 * What a module instance's probe reads and its apply writes on the host (its footprint), for the
 * engine's batching of applies (src/engine/phases/batch.ts): a later instance's plan, computed
 * from a probe taken before an earlier instance's apply, is trusted only when what its probe
 * reads does not intersect what the earlier applies write; otherwise its probe is run again on
 * the host right before its apply and compared byte for byte (a guard).
 *
 * Resources:
 * - `path`: a path on the host; `tree` also covers everything below it. A write of a path also
 *   touches its ancestors (mkdir -p creates them, a new entry changes its directory), so it
 *   intersects a read of the path itself, of any ancestor, and — for a tree write — of anything
 *   below it. A path that is not absolute is treated as `anything`.
 * - `packages`: the dpkg/apt database.
 * - `systemd`: the systemd manager's view of one unit (`unit`) or of every unit (no `unit`).
 * - `firewall`: the kernel's packet filter ruleset.
 * - `anything`: unknown (a command, a shell script, a package's maintainer scripts).
 */
export type Resource =
  | { kind: 'path'; path: string; tree?: boolean }
  | { kind: 'packages' }
  | { kind: 'systemd'; unit?: string }
  | { kind: 'firewall' }
  | { kind: 'anything' };

/** A module instance's footprint (ModuleDef.footprint). */
export interface Footprint {
  /** What its probe reads (its plan depends on nothing else of the host). */
  reads: Resource[];
  /** What its apply may change. */
  writes: Resource[];
  /**
   * Its apply fails exactly when its script exits non-zero (the module's interpret never fails a
   * zero exit): a later instance may then be applied in the same script, which stops at the
   * first non-zero exit. Without it the instance can only be the last of a batch.
   */
  exitStatusFails: boolean;
}

export const ANYTHING: Resource = { kind: 'anything' };

/** A path resource (`anything` unless absolute), normalized (no trailing slash, no `//`, `.`). */
export function pathResource(path: string, tree = false): Resource {
  if (!path.startsWith('/')) return ANYTHING;
  const parts = path.split('/').filter((s) => s && s !== '.');
  if (parts.includes('..')) return ANYTHING;
  return { kind: 'path', path: `/${parts.join('/')}`, ...(tree ? { tree: true } : {}) };
}

/** The directory a path is in ('/' for a top-level name). */
export function parentPath(path: string): string {
  const i = path.replace(/\/+$/, '').lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

/** The account databases a probe reads when it shows owner and group names. */
export const ACCOUNTS: Resource[] = [pathResource('/etc/passwd'), pathResource('/etc/group')];

/** Where systemd reads unit files from (a write there changes what it reports about units). */
export const UNIT_DIRS: Resource[] = ['/etc/systemd', '/run/systemd', '/lib/systemd', '/usr/lib/systemd'].map((p) => pathResource(p, true));

/** Is `a` strictly below `b`? */
const below = (a: string, b: string): boolean => (b === '/' ? a !== '/' : a.startsWith(`${b}/`));

/** Does writing `w` possibly change what reading `r` returns? */
export function overlaps(w: Resource, r: Resource): boolean {
  if (w.kind === 'anything' || r.kind === 'anything') return true;
  if (w.kind !== r.kind) return false;
  if (w.kind === 'path' && r.kind === 'path') {
    if (w.path === r.path) return true;
    if (below(w.path, r.path)) return true; // an ancestor read: created, or its entries changed
    return Boolean(w.tree) && below(r.path, w.path);
  }
  if (w.kind === 'systemd' && r.kind === 'systemd') return w.unit === undefined || r.unit === undefined || w.unit === r.unit;
  return true; // packages, firewall: one shared resource each
}

/** The first write of `writes` that changes something `reads` reads, if any. */
export function firstOverlap(writes: readonly Resource[], reads: readonly Resource[]): { write: Resource; read: Resource } | undefined {
  for (const w of writes) for (const r of reads) if (overlaps(w, r)) return { write: w, read: r };
  return undefined;
}

/** A resource as shown in messages and docs. */
export function showResource(r: Resource): string {
  switch (r.kind) {
    case 'path':
      return r.tree ? `${r.path}/**` : r.path;
    case 'systemd':
      return r.unit ? `systemd unit ${r.unit}` : 'systemd (every unit)';
    default:
      return r.kind;
  }
}
