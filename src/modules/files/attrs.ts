/** Owner, group and mode: the attributes file, copy and template share. */
import type { Change } from '../contract.ts';
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

export const attrSchema = {
  owner: { type: 'string', minLength: 1, description: 'user name that owns the path' },
  group: { type: 'string', minLength: 1, description: 'group name of the path' },
  mode: {
    type: ['string', 'integer'],
    pattern: '^0?[0-7]{3,4}$',
    description: 'octal mode, e.g. "0644" (quote it; YAML reads 0644 as a decimal number)',
  },
} as const;

/** Normalises a mode to 4 octal digits ("644", 644, "0644" → "0644"). */
export function normMode(mode: string | number | undefined): string | undefined {
  if (mode === undefined) return undefined;
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
    target: kv.target,
  };
}

/** Attribute changes on an existing path. */
export function planAttrs(path: string, want: Attrs, have: StatState): Change[] {
  const out: Change[] = [];
  const mode = normMode(want.mode);
  if (want.owner && want.owner !== have.owner) out.push({ summary: `owner of ${path}: ${have.owner} → ${want.owner}` });
  if (want.group && want.group !== have.group) out.push({ summary: `group of ${path}: ${have.group} → ${want.group}` });
  if (mode && mode !== have.mode) out.push({ summary: `mode of ${path}: ${have.mode} → ${mode}` });
  return out;
}

/** Shell applying owner/group/mode to `pathExpr` (already quoted or a "$var"). Only what differs. */
export function applyAttrs(pathExpr: string, want: Attrs, have?: StatState, opts: { noDeref?: boolean } = {}): string {
  const lines: string[] = [];
  const mode = normMode(want.mode);
  const h = opts.noDeref ? '-h ' : '';
  const owner = want.owner && want.owner !== have?.owner ? want.owner : undefined;
  const group = want.group && want.group !== have?.group ? want.group : undefined;
  if (owner || group) lines.push(`chown ${h}${q(`${owner ?? ''}${group ? `:${group}` : ''}`)} ${pathExpr}`);
  if (mode && mode !== have?.mode) lines.push(`chmod ${mode} ${pathExpr}`);
  return lines.join('\n');
}

export function describeAttrs(want: Attrs): string {
  const parts: string[] = [];
  const mode = normMode(want.mode);
  if (mode) parts.push(mode);
  if (want.owner || want.group) parts.push(`${want.owner ?? ''}${want.group ? `:${want.group}` : ''}`);
  return parts.length ? ` (${parts.join(' ')})` : '';
}
