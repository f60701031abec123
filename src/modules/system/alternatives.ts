/**
 * `alternatives`: one alternative of a Debian alternatives group (community.general.alternatives),
 * with update-alternatives.
 *
 * As Ansible: `present`, `selected` (default) and `auto` install the alternative when it is not
 * in the group, or when the given `priority` or `subcommands` differ from the group's
 * (`update-alternatives --install LINK NAME PATH PRIORITY [--slave LINK NAME PATH]…`; the
 * priority defaults to the existing one, else 50; the link to the group's); `selected` then sets
 * it (`--set`, manual mode) unless it is already the current value; `auto` puts a group in manual
 * mode back to automatic (`--auto`); `absent` removes it (`--remove NAME PATH`). The state is read
 * with `update-alternatives --query` (machine-readable), and verified the same way.
 */
import { parseKv } from '../../sh/kv.ts';
import { q } from '../../sh/quote.ts';
import { defineModule, type ExecResult, type FromSchema, type Planned } from '../contract.ts';

const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'path'],
  properties: {
    name: { type: 'string', pattern: '^[^/\\s]+$', description: 'the generic name of the group, e.g. editor' },
    path: { type: 'string', pattern: '^/', description: 'the alternative: the path the generic link may point to' },
    link: {
      type: 'string',
      pattern: '^/',
      description:
        "the generic link, e.g. /usr/bin/editor; needed to install into a group that does not exist yet (default: the group's link)",
    },
    priority: {
      type: 'integer',
      description: "the alternative's priority (default: its current one, else 50); a different priority reinstalls it",
    },
    state: {
      enum: ['present', 'selected', 'auto', 'absent'],
      description:
        'selected (default): installed and chosen (manual mode); present: installed, selection untouched; auto: installed and the group in automatic mode; absent: removed',
    },
    subcommands: {
      type: 'array',
      description: 'follower links installed with the alternative (alias slaves); a different set reinstalls it',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'path', 'link'],
        properties: {
          name: { type: 'string', pattern: '^[^/\\s]+$', description: 'generic name of the follower, e.g. editor.1.gz' },
          path: { type: 'string', pattern: '^/', description: 'path the follower link points to with this alternative' },
          link: { type: 'string', pattern: '^/', description: 'the follower link, e.g. /usr/share/man/man1/editor.1.gz' },
        },
      },
    },
  },
} as const;

export type AlternativesParams = FromSchema<typeof schema>;

export interface Subcommand {
  name: string;
  path: string;
  link: string;
}

export interface AlternativesState {
  /** The group exists. */
  exists: boolean;
  link?: string;
  mode?: 'auto' | 'manual';
  /** The current value ('' when none). */
  value?: string;
  /** The group's alternatives. */
  alternatives: Record<string, { priority: number; subcommands: Subcommand[] }>;
  /** `path` exists on the host. */
  pathExists: boolean;
}

export type AlternativesOp =
  | { kind: 'install'; link: string; priority: number; subcommands: Subcommand[] }
  | { kind: 'set' }
  | { kind: 'auto' }
  | { kind: 'remove' };

export function alternativesProbe(p: AlternativesParams): string {
  return [
    `[ -e ${q(p.path)} ] && echo path_exists=1 || echo path_exists=0`,
    `if out=$(LC_ALL=C update-alternatives --query ${q(p.name)} 2>/dev/null); then echo exists=1; printf '%s\\n' "$out" | sed 's/^/q:/'; else echo exists=0; fi`,
  ].join('\n');
}

/** Parses `update-alternatives --query` output (lines prefixed `q:` by the probe). */
export function parseQuery(text: string): Omit<AlternativesState, 'pathExists' | 'exists'> {
  const lines = text
    .split('\n')
    .filter((l) => l.startsWith('q:'))
    .map((l) => l.slice(2));
  const state: Omit<AlternativesState, 'pathExists' | 'exists'> = { alternatives: {} };
  const groupSlaves: Record<string, string> = {};
  let current: string | undefined;
  let inSlaves = false;
  for (const line of lines) {
    if (line === '') {
      inSlaves = false;
      continue;
    }
    if (line.startsWith(' ')) {
      if (!inSlaves) continue;
      const [n, ...rest] = line.trim().split(' ');
      const target = rest.join(' ');
      if (current === undefined) groupSlaves[n] = target;
      else state.alternatives[current].subcommands.push({ name: n, path: target, link: groupSlaves[n] ?? '' });
      continue;
    }
    inSlaves = false;
    const i = line.indexOf(':');
    const key = line.slice(0, i);
    const val = line.slice(i + 1).trim();
    if (key === 'Link') state.link = val;
    else if (key === 'Status') state.mode = val === 'manual' ? 'manual' : 'auto';
    else if (key === 'Value') state.value = val === 'none' ? '' : val;
    else if (key === 'Alternative') {
      current = val;
      state.alternatives[val] = { priority: 0, subcommands: [] };
    } else if (key === 'Priority' && current !== undefined) state.alternatives[current].priority = Number(val);
    else if (key === 'Slaves') inSlaves = true;
  }
  return state;
}

export function alternativesParse(out: ExecResult): AlternativesState {
  const kv = parseKv(out.stdout);
  const exists = kv.exists === '1';
  return { exists, pathExists: kv.path_exists === '1', ...(exists ? parseQuery(out.stdout) : { alternatives: {} }) };
}

const subKey = (s: Subcommand) => `${s.name}\0${s.path}\0${s.link}`;
function sameSubcommands(a: Subcommand[], b: Subcommand[]): boolean {
  const ka = a.map(subKey);
  const kb = b.map(subKey);
  return ka.every((k) => kb.includes(k)) && kb.every((k) => ka.includes(k));
}

export function alternativesPlan(p: AlternativesParams, s: AlternativesState): Planned<AlternativesOp>[] {
  const state = p.state ?? 'selected';
  const have = s.alternatives[p.path];
  if (state === 'absent') return have ? [{ summary: `remove alternative ${p.path} from ${p.name}`, op: { kind: 'remove' } }] : [];
  const out: Planned<AlternativesOp>[] = [];
  const subs = p.subcommands ? p.subcommands.map((x) => ({ name: x.name, path: x.path, link: x.link })) : undefined;
  if (
    !have ||
    (p.priority !== undefined && have.priority !== p.priority) ||
    (subs !== undefined && !sameSubcommands(subs, have.subcommands))
  ) {
    if (!s.pathExists) throw new Error(`alternatives: specified path ${p.path} does not exist`);
    const link = p.link ?? s.link;
    if (!link)
      throw new Error(`alternatives: needed to install ${p.path} for ${p.name}, but the group does not exist and no link is given`);
    const priority = p.priority ?? have?.priority ?? 50;
    const subcommands = subs ?? have?.subcommands ?? [];
    const why = !have ? '' : have.priority !== priority ? ` (priority ${have.priority} → ${priority})` : ' (subcommands differ)';
    out.push({
      summary: `install alternative ${p.path} for ${p.name} (${link}, priority ${priority}${subcommands.length ? `, ${subcommands.length} subcommand(s)` : ''})${why}`,
      op: { kind: 'install', link, priority, subcommands },
    });
  }
  if (state === 'selected' && s.value !== p.path)
    out.push({ summary: `select ${p.path} for ${p.name} (was ${s.value || 'none'}; manual mode)`, op: { kind: 'set' } });
  if (state === 'auto' && s.mode === 'manual') out.push({ summary: `${p.name}: manual → auto mode`, op: { kind: 'auto' } });
  return out;
}

export function alternativesApply(p: AlternativesParams, ops: AlternativesOp[]): string {
  const ua = 'LC_ALL=C update-alternatives';
  const lines = ['set -e'];
  for (const op of ops) {
    switch (op.kind) {
      case 'install':
        lines.push(
          `${ua} --install ${q(op.link)} ${q(p.name)} ${q(p.path)} ${op.priority}${op.subcommands
            .map((s) => ` --slave ${q(s.link)} ${q(s.name)} ${q(s.path)}`)
            .join('')} >/dev/null`,
        );
        break;
      case 'set':
        lines.push(`${ua} --set ${q(p.name)} ${q(p.path)} >/dev/null`);
        break;
      case 'auto':
        lines.push(`${ua} --auto ${q(p.name)} >/dev/null`);
        break;
      case 'remove':
        lines.push(`${ua} --remove ${q(p.name)} ${q(p.path)} >/dev/null`);
        break;
    }
  }
  return lines.join('\n');
}

export default defineModule<AlternativesParams, AlternativesState, AlternativesOp>({
  name: 'alternatives',
  description: 'Install, select, put in auto mode or remove an alternative (update-alternatives).',
  schema,
  probe: (p) => alternativesProbe(p),
  parse: (out) => alternativesParse(out),
  plan: (p, _prep, s) => alternativesPlan(p, s),
  apply: (p, _prep, _s, ops) => alternativesApply(p, ops),
});
