/**
 * `debconf`: one answer in the debconf database, as Ansible's module: the package's questions are
 * read with `debconf-show NAME`, a question it does not list or whose value differs is set with
 * `debconf-set-selections` (`-u` with unseen), a boolean is compared lower-cased and written
 * `true`/`false`. Without a question the task only reads the package's answers (`current`).
 *
 * Where Ansible cannot tell and always reports a change, Kiln checks: a password (debconf-show
 * prints "(password omitted)") is compared through a salted SHA-256 the probe computes from
 * `debconf-communicate`'s answer (the value never leaves the host, the salt is random per run),
 * and vtype `seen` is compared with the question's seen flag (debconf-show's `*`).
 *
 * A password value is a secret: it becomes a `Secret` in prepare (redacted everywhere), is never
 * in a summary or diff, and reaches the host base64-encoded in a heredoc on debconf-set-selections'
 * stdin, never in an argv. The same holds for any value rendered from a secret (vault) or under no_log.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Secret } from '../../core/secret/secret.ts';
import { parseKv } from '../../sh/kv.ts';
import { q } from '../../sh/quote.ts';
import { contentDiff } from '../files/content.ts';
import { defineModule, type ExecResult, type FromSchema, type ModuleContext, type Planned, type PrepareContext } from '../contract.ts';

const VTYPES = ['boolean', 'error', 'multiselect', 'note', 'password', 'seen', 'select', 'string', 'text', 'title'] as const;

const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  // Ansible's required_together.
  dependencies: { question: ['vtype', 'value'], vtype: ['question', 'value'], value: ['question', 'vtype'] },
  properties: {
    name: {
      type: 'string',
      pattern: '^[a-z0-9][a-z0-9+.-]*$',
      description: 'the package whose debconf questions are read (debconf-show NAME) and set',
    },
    question: {
      type: 'string',
      pattern: '^[^\\s]+$',
      description:
        'the debconf question, e.g. tzdata/Areas (with vtype and value); without it the task only reads the answers into `current`',
    },
    vtype: {
      enum: VTYPES,
      description:
        "type of the value: boolean (compared lower-cased, written true/false), password (a secret: never shown, compared on the host through a salted hash), seen (sets the question's seen flag, compared with it), or select, multiselect, string, text, note, error, title",
    },
    value: {
      type: 'string',
      pattern: '^[^\\n]*$',
      description: 'the answer, one line (a password with vtype password: give it from a vault)',
    },
    unseen: { type: 'boolean', description: 'do not mark the question seen when setting it (debconf-set-selections -u); default false' },
  },
} as const;

export type DebconfParams = FromSchema<typeof schema>;

export interface DebconfPrep {
  /** The answer as written: a Secret for a password, or when the task is sensitive. */
  value?: string | Secret;
  /** Values are hidden (password, no_log, or rendered from a secret). */
  hidden: boolean;
  /** Random salt of the password comparison (never a secret: it hides the hash, not the reverse). */
  salt: string;
}

export interface DebconfState {
  /** debconf-show NAME: question → value (the `*` removed). */
  selections: Record<string, string>;
  /** Questions debconf-show marks seen (`*`). */
  seen: string[];
  /** sha256(salt + stored value) of a password question, or undefined when it has no value. */
  passwordHash?: string;
}

export type DebconfOp = { kind: 'set' };

function wantedValue(p: DebconfParams, raw: string): string {
  if (p.vtype === 'boolean') return raw === 'True' ? 'true' : raw === 'False' ? 'false' : raw;
  return raw;
}

const reveal = (v: string | Secret | undefined): string => (v === undefined ? '' : typeof v === 'string' ? v : v.reveal());

export function debconfPrepare(p: DebconfParams, ctx: Pick<PrepareContext, 'sensitive'>): DebconfPrep {
  const hidden = p.vtype === 'password' || ctx.sensitive;
  const v = p.value === undefined ? undefined : wantedValue(p, p.value);
  return {
    value: v !== undefined && hidden ? new Secret(v, 'debconf value') : v,
    hidden,
    salt: randomBytes(16).toString('hex'),
  };
}

export function debconfProbe(p: DebconfParams, prep: DebconfPrep): string {
  const lines = [
    `if ! out=$(debconf-show ${q(p.name)} 2>&1); then printf '%s\\n' "$out" >&2; exit 3; fi`,
    'echo "--show"; printf \'%s\\n\' "$out"; echo "--end"',
  ];
  if (p.vtype === 'password' && p.question) {
    lines.push(
      `v=$(printf 'GET %s\\n' ${q(p.question)} | DEBIAN_FRONTEND=noninteractive debconf-communicate ${q(p.name)} 2>/dev/null) || v=""`,
      'case "$v" in',
      `  0|0\\ *) v=\${v#0}; v=\${v# }; printf 'pwhash=%s\\n' "$( { printf %s ${q(prep.salt)}; printf %s "$v"; } | sha256sum | cut -d' ' -f1)";;`,
      'esac',
    );
  }
  lines.push('true');
  return lines.join('\n');
}

export function debconfParse(out: ExecResult): DebconfState {
  const m = /^--show\n([\s\S]*?)^--end$/m.exec(out.stdout);
  const selections: Record<string, string> = {};
  const seen: string[] = [];
  for (const line of (m?.[1] ?? '').split('\n')) {
    const i = line.indexOf(':');
    if (i < 0) continue;
    const rawKey = line.slice(0, i);
    const key = rawKey.replace(/^[\s*]+|[\s*]+$/g, '').trim();
    selections[key] = line.slice(i + 1).trim();
    if (rawKey.trimStart().startsWith('*')) seen.push(key);
  }
  const kv = parseKv(out.stdout.slice(m ? m.index + m[0].length : 0));
  return { selections, seen, passwordHash: kv.pwhash };
}

const hashOf = (salt: string, v: string) =>
  createHash('sha256')
    .update(salt + v)
    .digest('hex');

/** Does the host hold the answer? */
function converged(p: DebconfParams, prep: DebconfPrep, s: DebconfState): boolean {
  const question = p.question!;
  if (!(question in s.selections)) return false;
  const want = reveal(prep.value);
  if (p.vtype === 'password') return s.passwordHash !== undefined && s.passwordHash === hashOf(prep.salt, want);
  if (p.vtype === 'seen') return (want.toLowerCase() === 'true') === s.seen.includes(question);
  if (p.vtype === 'boolean') return want.toLowerCase() === s.selections[question].toLowerCase();
  return want === s.selections[question];
}

export function debconfPlan(p: DebconfParams, prep: DebconfPrep, s: DebconfState, ctx: ModuleContext): Planned<DebconfOp>[] {
  if (p.question === undefined || converged(p, prep, s)) return [];
  const question = p.question;
  const had = question in s.selections;
  const before = p.vtype === 'seen' ? (s.seen.includes(question) ? 'seen' : 'not seen') : s.selections[question];
  const after = p.vtype === 'seen' ? (reveal(prep.value).toLowerCase() === 'true' ? 'seen' : 'not seen') : reveal(prep.value);
  const shown = (v: string) => (prep.hidden ? '(hidden)' : JSON.stringify(v));
  const summary = !had
    ? `set ${p.name} ${question} (${p.vtype}) = ${shown(after)} (${p.name} has no such question yet)`
    : `set ${p.name} ${question} (${p.vtype}): ${p.vtype === 'password' ? '(differs)' : `${shown(before)} → ${shown(after)}`}`;
  const diff = ctx.diff
    ? contentDiff(`debconf ${p.name}`, had ? `${question}: ${before}\n` : '', `${question}: ${after}\n`, prep.hidden)
    : undefined;
  return [{ summary, diff, op: { kind: 'set' } }];
}

export function debconfApply(p: DebconfParams, prep: DebconfPrep, ops: readonly DebconfOp[]): string {
  if (!ops.some((o) => o.kind === 'set')) return 'true';
  const line = `${p.name} ${p.question} ${p.vtype} ${reveal(prep.value)}`;
  const b64 = Buffer.from(line, 'utf8').toString('base64');
  // The selection (and its value) travels base64-encoded on stdin: never in an argv.
  return [
    'set -e',
    `base64 -d <<'KILN_DEBCONF' | DEBIAN_FRONTEND=noninteractive debconf-set-selections${p.unseen ? ' -u' : ''}`,
    b64,
    'KILN_DEBCONF',
  ].join('\n');
}

export function debconfRegisterData(p: DebconfParams, prep: DebconfPrep, s: DebconfState): Record<string, unknown> {
  if (p.question === undefined || converged(p, prep, s)) return { msg: '', current: s.selections };
  const previous = { [p.question]: s.selections[p.question] ?? '' };
  return { msg: '', current: { [p.question]: prep.value ?? '' }, previous };
}

export default defineModule<DebconfParams, DebconfState, DebconfOp, DebconfPrep>({
  name: 'debconf',
  description:
    "Set (or read) an answer in the debconf database of a package (debconf-set-selections), as Ansible's debconf; passwords are secrets.",
  schema,
  prepare: (p, ctx) => debconfPrepare(p, ctx),
  probe: (p, prep) => debconfProbe(p, prep),
  parse: (out) => debconfParse(out),
  plan: (p, prep, s, ctx) => debconfPlan(p, prep, s, ctx),
  apply: (p, prep, _s, ops) => debconfApply(p, prep, ops),
  registerData: (p, prep, s) => debconfRegisterData(p, prep, s),
});
