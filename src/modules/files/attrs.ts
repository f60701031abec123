/**
 * Owner, group and mode: the attributes file, copy, template, lineinfile, get_url (and tls_cert)
 * share.
 *
 * Invariants: `planAttrs` pairs each attribute that differs with a typed `AttrOp`, and
 * `applyAttrOps` turns exactly those ops back into shell, never reading a summary. A mode is
 * always 4 octal digits once normalised (`normMode`). `newFileAttrs` is the one rule for a file
 * written through `atomicWrite`: an existing file keeps its owner and mode, a new one is 0644,
 * and the task's own owner/group/mode always win.
 */
import type { Planned } from '../contract.ts';
import type { AtomicWrite } from '../../sh/atomic.ts';
import { q } from '../../sh/quote.ts';

export interface Attrs {
  owner?: string;
  group?: string;
  mode?: string | number;
}

export interface StatState {
  exists: boolean;
  type?: 'file' | 'directory' | 'link' | 'other';
  mode?: string;
  owner?: string;
  group?: string;
  size?: number;
  target?: string;
}

/** One attribute to set on an existing path (the value wanted, already normalised). */
export type AttrOp = { kind: 'owner'; owner: string } | { kind: 'group'; group: string } | { kind: 'mode'; mode: string };

export const attrSchema = {
  owner: { type: 'string', minLength: 1, description: 'user name that owns the path' },
  group: { type: 'string', minLength: 1, description: 'group name of the path' },
  mode: {
    type: ['string', 'integer'],
    pattern: '^0?[0-7]{3,4}$',
    minimum: 0,
    maximum: 0o7777,
    description:
      'octal mode, e.g. "0644"; a number is its value, as in Ansible: YAML reads 0644 as octal (0644) but 644 as decimal (01204), so quote it',
  },
} as const;

/**
 * Normalises a mode to 4 octal digits ("644", "0644" → "0644"). A number is the mode's value, as
 * Ansible's file attributes take an int mode (420, YAML's `0644`, → "0644"; 999 → "1747"); one
 * outside 0–0o7777 is refused (Ansible would chmod it and never converge).
 */
export function normMode(mode: string | number | undefined): string | undefined {
  if (mode === undefined) return undefined;
  if (typeof mode === 'number') {
    if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777)
      throw new Error(`invalid mode ${mode}: a number must be from 0 to 4095 (0o7777)`);
    return mode.toString(8).padStart(4, '0');
  }
  const s = String(mode);
  if (!/^0?[0-7]{3,4}$/.test(s)) throw new Error(`invalid mode ${JSON.stringify(mode)}: use octal digits like "0644"`);
  return s.padStart(4, '0').slice(-4);
}

export function statFromKv(kv: Record<string, string>): StatState {
  if (kv.exists !== '1') return { exists: false };
  return {
    exists: true,
    type: kv.type as StatState['type'],
    mode: kv.mode,
    owner: kv.owner,
    group: kv.group,
    size: kv.size ? Number(kv.size) : undefined,
    target: kv.target_b64 !== undefined ? Buffer.from(kv.target_b64, 'base64').toString('utf8') : undefined,
  };
}

/** Attribute changes on an existing path, each with its op. */
export function planAttrs(path: string, want: Attrs, have: StatState): Planned<AttrOp>[] {
  const out: Planned<AttrOp>[] = [];
  const mode = normMode(want.mode);
  if (want.owner && want.owner !== have.owner)
    out.push({ summary: `owner of ${path}: ${have.owner} → ${want.owner}`, op: { kind: 'owner', owner: want.owner } });
  if (want.group && want.group !== have.group)
    out.push({ summary: `group of ${path}: ${have.group} → ${want.group}`, op: { kind: 'group', group: want.group } });
  if (mode && mode !== have.mode) out.push({ summary: `mode of ${path}: ${have.mode} → ${mode}`, op: { kind: 'mode', mode } });
  return out;
}

function attrLines(
  pathExpr: string,
  owner: string | undefined,
  group: string | undefined,
  mode: string | undefined,
  noDeref = false,
): string {
  const lines: string[] = [];
  if (owner || group) lines.push(`chown ${noDeref ? '-h ' : ''}${q(`${owner ?? ''}${group ? `:${group}` : ''}`)} ${pathExpr}`);
  if (mode) lines.push(`chmod ${mode} ${pathExpr}`);
  return lines.join('\n');
}

/** Shell applying the attribute ops among `ops` (others are ignored) to `pathExpr` (quoted or a "$var"). */
export function applyAttrOps(pathExpr: string, ops: readonly { kind: string }[], opts: { noDeref?: boolean } = {}): string {
  const attr = ops.filter((o): o is AttrOp => o.kind === 'owner' || o.kind === 'group' || o.kind === 'mode');
  const get = <K extends AttrOp['kind']>(k: K) => attr.find((o): o is Extract<AttrOp, { kind: K }> => o.kind === k);
  return attrLines(pathExpr, get('owner')?.owner, get('group')?.group, get('mode')?.mode, opts.noDeref);
}

/** Shell applying owner/group/mode to `pathExpr` (already quoted or a "$var"). Only what differs from `have`. */
export function applyAttrs(pathExpr: string, want: Attrs, have?: StatState, opts: { noDeref?: boolean } = {}): string {
  const mode = normMode(want.mode);
  const owner = want.owner && want.owner !== have?.owner ? want.owner : undefined;
  const group = want.group && want.group !== have?.group ? want.group : undefined;
  return attrLines(pathExpr, owner, group, mode && mode !== have?.mode ? mode : undefined, opts.noDeref);
}

/** Attributes of a file written by `atomicWrite`: an existing file's are kept, a new one is 0644; the task's own win. */
export function newFileAttrs(want: Attrs, exists: boolean): Pick<AtomicWrite, 'keepAttrs' | 'attrs'> {
  return { keepAttrs: exists, attrs: { owner: want.owner, group: want.group, mode: normMode(want.mode) ?? (exists ? undefined : '0644') } };
}

export function describeAttrs(want: Attrs): string {
  const parts: string[] = [];
  const mode = normMode(want.mode);
  if (mode) parts.push(mode);
  if (want.owner || want.group) parts.push(`${want.owner ?? ''}${want.group ? `:${want.group}` : ''}`);
  return parts.length ? ` (${parts.join(' ')})` : '';
}
