/**
 * `lineinfile`: ensure one line is present (or lines are absent) in a text file.
 *
 * Matching happens on the controller: the probe returns the file (base64, up to MAX_BYTES),
 * the plan computes the new content with `editLines` (pure, JavaScript regular expressions;
 * Python's (?P<name>…) and (?P=name) are accepted), and apply writes the whole new content
 * atomically (temp file in the same directory, owner/mode kept, optional validate, rename) —
 * but only if the file still has the content that was planned from.
 *
 * Semantics follow Ansible's lineinfile: with regexp, the LAST matching line is replaced;
 * without a match the line is inserted (insertafter/insertbefore: after/before the last
 * matching line, or the first with firstmatch; EOF by default), unless the exact line is
 * already there. backrefs without a match changes nothing. absent removes every matching line.
 *
 * Contract v2: the new content travels in the `write` op that plan returns; apply switches on
 * `op.kind` and writes through `atomicWrite` (an expected-content guard: the SHA-256 probed, or
 * "absent" for a file being created).
 */
import { createHash } from 'node:crypto';
import { refuseSecretInArgv } from '../../core/secret/secret.ts';
import {
  type AttrOp,
  applyAttrOps,
  attrSchema,
  describeAttrs,
  newFileAttrs,
  normMode,
  planAttrs,
  type StatState,
  statFromKv,
} from './attrs.ts';
import { contentDiff } from './content.ts';
import { atomicWrite } from '../../sh/atomic.ts';
import { fromB64, fromB64Bytes } from '../../sh/bytes.ts';
import { firstInvalidUtf8 } from '../../core/text.ts';
import { parseKv } from '../../sh/kv.ts';
import { q } from '../../sh/quote.ts';
import { defineModule, type ExecResult, type FromSchema, type ModuleContext, type Planned } from '../contract.ts';
import { ACCOUNTS, parentPath, pathResource } from '../resources.ts';
import { compile } from '../../template/filters/pyre.ts';

export const MAX_BYTES = 1024 * 1024;

const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['path'],
  properties: {
    path: { type: 'string', minLength: 1, pattern: '^/', description: 'absolute path of the file (symlinks are followed)' },
    line: { type: 'string', description: 'the line (without newline); required for state: present' },
    regexp: {
      type: 'string',
      minLength: 1,
      description:
        "Python regular expression (Python's re, as in Ansible) searched in each line: present replaces the last matching line, absent removes all matching lines",
      'x-python-re': true,
    },
    state: { enum: ['present', 'absent'], description: 'present (default) or absent' },
    insertafter: {
      type: 'string',
      minLength: 1,
      description: 'when no line matches: insert after the last line matching this regexp, or EOF (default)',
      'x-python-re': true,
    },
    insertbefore: {
      type: 'string',
      minLength: 1,
      description: 'when no line matches: insert before the last line matching this regexp, or BOF',
      'x-python-re': true,
    },
    firstmatch: { type: 'boolean', description: 'insertafter/insertbefore use the first matching line instead of the last' },
    backrefs: {
      type: 'boolean',
      description: 'line may use \\1 or \\g<name> groups of regexp; when regexp matches nothing the file is left unchanged',
    },
    create: {
      type: 'boolean',
      description: 'create the file (mode 0644 unless set) when it does not exist; default false: a missing file fails the task',
    },
    validate: {
      type: 'string',
      pattern: '%s',
      description: 'command run on the temp file before it replaces path; %s is the temp file path',
    },
    ...attrSchema,
  },
} as const;

export type LineinfileParams = FromSchema<typeof schema>;

/**
 * What lineinfile does: write the whole new content (computed by plan, guarded by what the file
 * was when planned), set attributes, or fail because the file is missing and create is false.
 */
export type LineinfileOp = AttrOp | { kind: 'write'; content: string; expect: { sha256: string } | 'absent' } | { kind: 'fail-missing' };

export interface LineinfileState {
  stat: StatState;
  /** The real path (symlinks resolved). */
  real: string;
  /** Text, or the bytes of a file that is not UTF-8 (refused by plan). */
  content?: string | Buffer;
  sha256?: string;
  tooBig?: boolean;
  parent: boolean;
}

/** Translates Python-only regex syntax to JavaScript and compiles, with a clear error. */
export function compileRe(src: string, what: string): RegExp {
  // Python's re, as Ansible's lineinfile compiles it (a bytes pattern: \w, \d, \s are ASCII), translated by pyre.
  try {
    const p = compile(src, { ascii: true });
    return new RegExp(p.global.source, p.global.flags.replace('g', ''));
  } catch (e) {
    throw new Error(`${what} is not a valid Python regular expression: ${(e as Error).message}`);
  }
}

/** Python re.expand-style template: \1, \g<1>, \g<name>, \\, \n, \t. */
export function expandBackrefs(template: string, m: RegExpExecArray): string {
  return template.replace(/\\(?:g<(\w+)>|(\d{1,2})|(.))/g, (all, g: string | undefined, d: string | undefined, ch: string | undefined) => {
    if (g !== undefined) return /^\d+$/.test(g) ? (m[Number(g)] ?? '') : (m.groups?.[g] ?? '');
    if (d !== undefined) return m[Number(d)] ?? '';
    if (ch === '\\') return '\\';
    if (ch === 'n') return '\n';
    if (ch === 't') return '\t';
    return all;
  });
}

interface Line {
  text: string;
  eol: string; // '\n', '\r\n' or '' (last line without newline)
}

function toLines(content: string): Line[] {
  const out: Line[] = [];
  const re = /([^\n]*?)(\r?\n|$)/gy;
  let m: RegExpExecArray | null;
  while (re.lastIndex < content.length && (m = re.exec(content))) out.push({ text: m[1], eol: m[2] });
  return out;
}

export interface EditOptions {
  line?: string;
  regexp?: string;
  state?: 'present' | 'absent';
  insertafter?: string;
  insertbefore?: string;
  firstmatch?: boolean;
  backrefs?: boolean;
}

/** Pure: the new content and what happened. `content` undefined = the file does not exist (create). */
export function editLines(content: string, o: EditOptions): { content: string; message: string } {
  const lines = toLines(content);
  const eol = lines[0]?.eol === '\r\n' ? '\r\n' : '\n';
  const re = o.regexp !== undefined ? compileRe(o.regexp, 'regexp') : undefined;
  const render = () => lines.map((l) => l.text + l.eol).join('');
  if ((o.state ?? 'present') === 'absent') {
    if (!re && o.line === undefined) throw new Error('state: absent needs regexp or line');
    const before = lines.length;
    const kept = lines.filter((l) => !(re ? re.test(l.text) : l.text === o.line));
    const removed = before - kept.length;
    if (!removed) return { content, message: '' };
    // A removed last line may have been the one without a newline; the new last line keeps its own.
    lines.splice(0, lines.length, ...kept);
    return { content: render(), message: `${removed} line${removed > 1 ? 's' : ''} removed` };
  }
  if (o.line === undefined) throw new Error('state: present needs line');
  const line = o.line;
  if (re) {
    let idx = -1;
    let match: RegExpExecArray | null = null;
    lines.forEach((l, i) => {
      const m = re.exec(l.text);
      if (m) {
        idx = i;
        match = m;
      }
    });
    if (idx >= 0) {
      const text = o.backrefs ? expandBackrefs(line, match!) : line;
      if (lines[idx].text === text) return { content, message: '' };
      lines[idx] = { text, eol: lines[idx].eol || eol };
      return { content: render(), message: 'line replaced' };
    }
    if (o.backrefs) return { content, message: '' };
  }
  if (lines.some((l) => l.text === line)) return { content, message: '' };
  // Insert.
  const add: Line = { text: line, eol };
  const anchor = o.insertafter ?? o.insertbefore;
  let at = lines.length;
  if (anchor === 'BOF') at = 0;
  else if (anchor !== undefined && anchor !== 'EOF') {
    const are = compileRe(anchor, o.insertafter !== undefined ? 'insertafter' : 'insertbefore');
    let found = -1;
    for (let i = 0; i < lines.length; i++) {
      if (are.test(lines[i].text)) {
        found = i;
        if (o.firstmatch) break;
      }
    }
    if (found >= 0) at = o.insertafter !== undefined ? found + 1 : found;
  }
  if (at === lines.length && at > 0 && lines[at - 1].eol === '') lines[at - 1].eol = eol;
  lines.splice(at, 0, add);
  return { content: render(), message: 'line added' };
}

export function lineinfileProbe(p: LineinfileParams): string {
  // kiln_lif (sh/prelude.ts): real_b64 (symlinks followed: the target is edited, like an editor
  // would; the name base64-encoded, it may hold a newline), kiln_stat of it, parent=0|1, and for a
  // regular file sha256 and content_b64 (at most MAX_BYTES, else too_big=1).
  return `kiln_lif ${q(p.path)} ${MAX_BYTES} ${Buffer.from(p.path, 'utf8').toString('base64')}\ntrue`;
}

/** The host file's text; a file that is not UTF-8 is kept as bytes (never edited: see lineinfilePlan). */
function textOrBinary(bytes: Buffer): string | Buffer {
  return firstInvalidUtf8(bytes) < 0 ? bytes.toString('utf8') : bytes;
}

export function lineinfileParse(out: ExecResult, p: LineinfileParams): LineinfileState {
  const kv = parseKv(out.stdout);
  return {
    stat: statFromKv(kv),
    real: kv.real_b64 ? fromB64(kv.real_b64) : p.path,
    content: kv.content_b64 !== undefined ? textOrBinary(fromB64Bytes(kv.content_b64)) : undefined,
    sha256: kv.sha256,
    tooBig: kv.too_big === '1',
    parent: kv.parent === '1',
  };
}

/** The content the file will have, or undefined when the content does not change. */
export function plannedContent(p: LineinfileParams, s: LineinfileState): { content: string; message: string } | undefined {
  if (!s.stat.exists) {
    if ((p.state ?? 'present') === 'absent') return undefined;
    const r = editLines('', p);
    return r.message ? r : undefined;
  }
  if (typeof s.content !== 'string' && s.content !== undefined) throw new Error(`${p.path} is not UTF-8 text`);
  const r = editLines(s.content ?? '', p);
  return r.message ? r : undefined;
}

export function lineinfilePlan(p: LineinfileParams, s: LineinfileState, ctx: ModuleContext): Planned<LineinfileOp>[] {
  const state = p.state ?? 'present';
  if (state === 'present' && p.line === undefined) throw new Error('state: present needs line');
  if (state === 'absent' && p.line === undefined && p.regexp === undefined) throw new Error('state: absent needs regexp or line');
  if (p.backrefs && !p.regexp) throw new Error('backrefs needs regexp');
  if (p.insertafter && p.insertbefore) throw new Error('use insertafter or insertbefore, not both');
  const via = s.real !== p.path ? ` (via symlink to ${s.real})` : '';
  if (!s.stat.exists) {
    if (state === 'absent') return [];
    if (!p.create) {
      // Never a plan failure: in a dry run an earlier task may only have predicted the file.
      return [
        {
          summary: `edit ${p.path}: it does not exist${ctx.check ? ' yet' : ''} and create is false (the task fails unless an earlier task creates it)`,
          unpredictable: true,
          op: { kind: 'fail-missing' },
        },
      ];
    }
    const r = plannedContent(p, s);
    if (!r) return [];
    return [
      {
        summary: `create file ${p.path}${describeAttrs(p)} with 1 line${s.parent ? '' : ' (its directory does not exist yet)'}`,
        diff: ctx.diff ? contentDiff(p.path, '', r.content, false) : undefined,
        op: { kind: 'write', content: r.content, expect: 'absent' },
      },
    ];
  }
  if (s.stat.type !== 'file') throw new Error(`${p.path} is a ${s.stat.type}, not a regular file`);
  if (s.tooBig) throw new Error(`${p.path} is larger than ${MAX_BYTES} bytes: lineinfile reads whole files; use template or copy`);
  if (typeof s.content !== 'string' && s.content !== undefined)
    throw new Error(
      `${p.path} is not UTF-8 text: lineinfile edits text lines, and would change bytes it does not edit; use copy or template`,
    );
  if ((s.content ?? '').includes('\u0000')) throw new Error(`${p.path} is a binary file`);
  const out: Planned<LineinfileOp>[] = [];
  const r = plannedContent(p, s);
  if (r) {
    out.push({
      summary: `${p.path}${via}: ${r.message}`,
      diff: ctx.diff ? contentDiff(p.path, s.content ?? '', r.content, false) : undefined,
      // Planned from this exact content: the write is refused if the file changed since the probe.
      op: { kind: 'write', content: r.content, expect: { sha256: s.sha256 ?? '' } },
    });
  }
  return [...out, ...planAttrs(p.path, p, s.stat)];
}

export function lineinfileApply(p: LineinfileParams, s: LineinfileState, ops: LineinfileOp[]): string {
  const write = ops.find((o) => o.kind === 'write');
  if (write) {
    // The whole file is replaced: the task's attributes go on the temp file, the attribute ops are included.
    const lines = atomicWrite({
      dest: s.real,
      bytes: write.content,
      expect: write.expect,
      ...newFileAttrs(p, write.expect !== 'absent'),
      validate: p.validate,
    });
    return ['set -e', ...lines].join('\n');
  }
  const lines = ['set -e', `dest=${q(s.real)}`];
  if (ops.some((o) => o.kind === 'fail-missing')) {
    lines.push(`[ -e "$dest" ] || { echo ${q(`${p.path} does not exist (set create: true to create it)`)} >&2; exit 3; }`);
    lines.push(`echo ${q(`${p.path} appeared after it was probed; run again`)} >&2; exit 3`);
    return lines.join('\n');
  }
  lines.push(applyAttrOps('"$dest"', ops));
  return lines.filter(Boolean).join('\n');
}

/**
 * What `kiln_lif` prints right after a successful apply of `ops` (batching, see the contract's
 * predictProbe): the real path, the file's stat, its parent, SHA-256 and content, all known on the
 * controller once the new content is. Undefined where a value is not known exactly (an owner or
 * group that is not given and the file is new, a numeric owner stat prints as a name, a file too
 * big to carry, a path that is not there): the instance after it is then planned at its own turn.
 */
export function lineinfilePredict(p: LineinfileParams, s: LineinfileState, ops: readonly LineinfileOp[]): string | undefined {
  if (ops.some((o) => o.kind === 'fail-missing')) return undefined;
  const write = ops.find((o) => o.kind === 'write');
  const exists = s.stat.exists && s.stat.type === 'file';
  if (!write && !exists) return undefined;
  const content = write ? write.content : s.content;
  if (typeof content !== 'string') return undefined;
  const bytes = Buffer.from(content, 'utf8');
  if (bytes.length > MAX_BYTES) return undefined;
  // An existing file keeps its owner, group and mode (newFileAttrs), the task's own win; a new one
  // is 0644 unless given, and its owner and group are only known when given. (An invalid mode
  // never gets here: plan already refused it.)
  const mode = normMode(p.mode) ?? (exists ? s.stat.mode : '0644');
  const owner = p.owner ?? (exists ? s.stat.owner : undefined);
  const group = p.group ?? (exists ? s.stat.group : undefined);
  // stat prints names (%U/%G) and the mode as 4 octal digits (%04a): a numeric id would not match.
  if (!mode || !/^[0-7]{4}$/.test(mode) || !owner || !group || /^\d+$/.test(owner) || /^\d+$/.test(group)) return undefined;
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  return [
    `real_b64=${Buffer.from(s.real, 'utf8').toString('base64')}`,
    'exists=1',
    'type=file',
    `mode=${mode}`,
    `owner=${owner}`,
    `group=${group}`,
    `size=${bytes.length}`,
    'parent=1',
    `sha256=${sha256}`,
    `content_b64=${bytes.toString('base64')}`,
    '',
  ].join('\n');
}

export default defineModule<LineinfileParams, LineinfileState, LineinfileOp>({
  name: 'lineinfile',
  description:
    'Ensure a line is present (replacing a matching line) or lines are absent in a text file; edits are computed on the controller and written atomically.',
  schema,
  // `validate` is a program and its arguments: a secret there would be in its argv (ps).
  prepare(p) {
    refuseSecretInArgv('validate', p.validate, 'validate runs a program with these arguments on the host; it cannot take a secret');
    return undefined;
  },
  probe: (p) => lineinfileProbe(p),
  // The probe reads the file, whether its directory exists (the plan's summary says so) and the
  // owner and group names; the apply writes the file.
  footprint: (p) => ({
    reads: [pathResource(p.path), pathResource(parentPath(p.path)), ...ACCOUNTS],
    writes: [pathResource(p.path)],
    exitStatusFails: true,
  }),
  parse: (out, p) => lineinfileParse(out, p),
  plan: (p, _prep, s, ctx) => lineinfilePlan(p, s, ctx),
  apply: (p, _prep, s, ops) => lineinfileApply(p, s, ops),
  registerAfterApply: true,
  registerData: (p, _prep, s) => ({ path: p.path, real_path: s.real, ...s.stat, sha256: s.sha256 ?? null }),
  predictProbe: (p, _prep, s, ops) => lineinfilePredict(p, s, ops),
});
