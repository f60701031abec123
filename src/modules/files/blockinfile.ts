/**
 * `blockinfile`: a block of lines between two marker lines, inserted, updated or removed.
 *
 * Ansible's module (ansible-core 2.14) ported line by line in `blockinfileEdit`, a pure function
 * over the file's bytes: the markers are `marker` with `{mark}` replaced by `marker_begin` /
 * `marker_end`; an existing block (both marker lines found, each the LAST line equal to it) is
 * replaced in place; otherwise the block goes after the last line matching `insertafter` (EOF by
 * default) or before the last line matching `insertbefore` (BOF = first line); a pattern with the
 * MULTILINE flag `(?m)` is searched in the whole file. Patterns are Python's `re` on bytes (ASCII
 * `\w`, `\d`, `\s`), translated exactly by pyre or refused. The file is worked on as bytes, like
 * Ansible does, so a file that is not UTF-8 keeps every byte the edit does not touch.
 *
 * Tested against Ansible's own outputs (test/fixtures/ansible/file-edits/blockinfile.json).
 */
import { refuseSecretInArgv } from '../../core/secret/secret.ts';
import { compile, escape, search, sub } from '../../template/filters/pyre.ts';
import { defineModule, type FromSchema } from '../contract.ts';
import { attrSchema } from './attrs.ts';
import {
  type EditOp,
  type EditState,
  editApply,
  editBytes,
  editParse,
  editInterpret,
  editPlan,
  editProbe,
  BACKUP_PROPERTY,
  VALIDATE_PROPERTY,
} from './textedit.ts';

const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['path'],
  properties: {
    path: { type: 'string', minLength: 1, pattern: '^/', description: 'absolute path of the file to edit (symlinks are followed)' },
    state: {
      enum: ['present', 'absent'],
      description: 'present (default): the block is in the file; absent: the block and its markers are removed',
    },
    block: {
      type: 'string',
      description: 'the text between the markers (a newline is added at its end when missing); empty removes the block, as state: absent',
    },
    marker: {
      type: 'string',
      description:
        'the marker line, with {mark} replaced by marker_begin or marker_end (default "# {mark} ANSIBLE MANAGED BLOCK"); give each block of a file its own marker',
    },
    marker_begin: { type: 'string', description: 'what replaces {mark} in the first marker line (default BEGIN)' },
    marker_end: { type: 'string', description: 'what replaces {mark} in the last marker line (default END)' },
    insertafter: {
      type: 'string',
      minLength: 1,
      description:
        'when the markers are not found: insert the block after the last line matching this Python regular expression, or EOF (the default); no match = EOF',
      'x-python-re': true,
    },
    insertbefore: {
      type: 'string',
      minLength: 1,
      description:
        'when the markers are not found: insert the block before the last line matching this Python regular expression, or BOF; no match = EOF',
      'x-python-re': true,
    },
    create: {
      type: 'boolean',
      description: 'create the file (and its directory) when it does not exist; default false: a missing file fails the task',
    },
    ...BACKUP_PROPERTY,
    ...VALIDATE_PROPERTY,
    ...attrSchema,
  },
} as const;

export type BlockinfileParams = FromSchema<typeof schema>;

/** Python's bytes.splitlines(True): lines with their ending (\n, \r\n or \r). */
export function splitlinesKeep(s: string): string[] {
  const out: string[] = [];
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '\n' || c === '\r') {
      if (c === '\r' && s[i + 1] === '\n') i++;
      out.push(s.slice(start, i + 1));
      start = i + 1;
    }
  }
  if (start < s.length) out.push(s.slice(start));
  return out;
}

/** A binary string (one char per byte) of UTF-8 text: how Python's module sees `to_bytes(text)`. */
const bin = (text: string): string => Buffer.from(text, 'utf8').toString('latin1');

const MULTILINE_FLAG = /^\(\?[aiLmsux]*m[aiLmsux]*\)/;

function compileBytesRe(src: string, what: string) {
  if (!MULTILINE_FLAG.test(src) && /\(\?[aiLsux]*m/.test(src))
    throw new Error(`${what}: Kiln takes the MULTILINE flag (?m) only at the start of the pattern`);
  try {
    // A bytes pattern: ASCII classes; non-ASCII characters are their UTF-8 bytes.
    return compile(bin(src), { ascii: true });
  } catch (e) {
    throw new Error(`${what} is not a valid Python regular expression Kiln can translate exactly: ${(e as Error).message}`);
  }
}

export interface BlockOptions {
  state?: 'present' | 'absent';
  block?: string;
  marker?: string;
  marker_begin?: string;
  marker_end?: string;
  insertafter?: string;
  insertbefore?: string;
}

/** Checks the options once (before any host is contacted): patterns and markers. */
export function blockinfileCheck(o: BlockOptions): void {
  if (o.insertafter !== undefined && o.insertbefore !== undefined)
    throw new Error('parameters are mutually exclusive: insertbefore|insertafter');
  if (o.insertafter !== undefined && o.insertafter !== 'EOF') compileBytesRe(o.insertafter, 'insertafter');
  if (o.insertbefore !== undefined && o.insertbefore !== 'BOF') compileBytesRe(o.insertbefore, 'insertbefore');
  markers(o);
}

function markers(o: BlockOptions): [string, string] {
  const marker = bin(o.marker ?? '# {mark} ANSIBLE MANAGED BLOCK');
  const mark = compile(escape('{mark}'));
  try {
    // re.sub(b'{mark}', marker_begin, marker): marker_begin is a replacement template (\\ and \n are escapes).
    return [`${sub(mark, bin(o.marker_begin ?? 'BEGIN'), marker)[0]}\n`, `${sub(mark, bin(o.marker_end ?? 'END'), marker)[0]}\n`];
  } catch (e) {
    throw new Error(`marker_begin/marker_end: ${(e as Error).message}`);
  }
}

/**
 * Pure: Ansible's blockinfile on the file's bytes (undefined: the file does not exist and is
 * created). `msg` is Ansible's: '' (unchanged), 'File created', 'Block removed', 'Block inserted'.
 */
export function blockinfileEdit(original: Buffer | undefined, o: BlockOptions): { content: Buffer; changed: boolean; msg: string } {
  const orig = original?.toString('latin1');
  const lines = orig === undefined ? [] : splitlinesKeep(orig);
  const present = (o.state ?? 'present') === 'present';
  let insertafter = o.insertafter;
  const insertbefore = o.insertbefore;
  if (insertbefore === undefined && insertafter === undefined) insertafter = 'EOF';
  const insertre =
    insertafter !== undefined && insertafter !== 'EOF'
      ? compileBytesRe(insertafter, 'insertafter')
      : insertbefore !== undefined && insertbefore !== 'BOF'
        ? compileBytesRe(insertbefore, 'insertbefore')
        : undefined;
  const [marker0, marker1] = markers(o);
  let block = bin(o.block ?? '');
  let blocklines: string[] = [];
  if (present && block) {
    if (!block.endsWith('\n')) block += '\n';
    blocklines = [marker0, ...splitlinesKeep(block), marker1];
  }
  let n0: number | undefined;
  let n1: number | undefined;
  lines.forEach((line, i) => {
    if (line === marker0) n0 = i;
    if (line === marker1) n1 = i;
  });
  if (n0 === undefined || n1 === undefined) {
    n0 = undefined;
    if (insertre) {
      const src = insertafter !== undefined && insertafter !== 'EOF' ? insertafter : insertbefore!;
      if (MULTILINE_FLAG.test(src)) {
        const m = orig === undefined ? null : search(insertre, orig);
        if (m) {
          if (insertafter) n0 = countNl(orig!, m.end);
          else if (insertbefore) n0 = countNl(orig!, m.start);
        }
      } else {
        lines.forEach((line, i) => {
          if (search(insertre, line)) n0 = i;
        });
      }
      if (n0 === undefined) n0 = lines.length;
      else if (insertafter !== undefined) n0 += 1;
    } else if (insertbefore !== undefined) n0 = 0;
    else n0 = lines.length;
  } else if (n0 < n1) lines.splice(n0, n1 - n0 + 1);
  else {
    lines.splice(n1, n0 - n1 + 1);
    n0 = n1;
  }
  // A line separator before the block (Ansible adds it even when nothing else changes).
  if (n0 > 0 && !lines[n0 - 1]!.endsWith('\n')) lines[n0 - 1] += '\n';
  lines.splice(n0, 0, ...blocklines);
  const result = lines.join('');
  let msg: string;
  if (orig === result) msg = '';
  else if (orig === undefined) msg = 'File created';
  else if (!blocklines.length) msg = 'Block removed';
  else msg = 'Block inserted';
  return { content: Buffer.from(result, 'latin1'), changed: msg !== '', msg };
}

function countNl(s: string, end: number): number {
  let n = 0;
  for (let i = 0; i < end; i++) if (s[i] === '\n') n++;
  return n;
}

function edit(p: BlockinfileParams, s: EditState) {
  const bytes = editBytes(p.path, s, 'blockinfile');
  if (bytes === undefined && (!p.create || (p.state ?? 'present') === 'absent')) return undefined;
  return { before: bytes, ...blockinfileEdit(bytes, p) };
}

const missing = (p: BlockinfileParams) => `Path ${p.path} does not exist ! (set create: true to create it)`;

export default defineModule<BlockinfileParams, EditState, EditOp>({
  name: 'blockinfile',
  description:
    "Insert, update or remove a block of lines surrounded by marker lines in a text file (Ansible's blockinfile); computed on the controller, written atomically.",
  schema,
  prepare(p) {
    refuseSecretInArgv('validate', p.validate, 'validate runs a program with these arguments on the host; it cannot take a secret');
    blockinfileCheck(p);
    return undefined;
  },
  probe: (p) => editProbe(p.path),
  parse: (out, p) => editParse(out, p.path),
  plan(p, _prep, s, ctx) {
    const r = edit(p, s);
    // Ansible fails on a missing file without create, also with state: absent.
    const failMissing = !s.stat.exists && !p.create ? missing(p) : undefined;
    return editPlan(
      {
        path: p.path,
        state: s,
        before: r?.before ?? '',
        after: r?.changed ? r.content : undefined,
        message: r?.msg ?? '',
        failMissing,
        attrs: p,
      },
      ctx,
    );
  },
  apply: (p, _prep, s, ops) =>
    editApply({
      path: p.path,
      state: s,
      ops,
      attrs: p,
      validate: p.validate,
      backup: p.backup,
      createParent: true,
      failMissing: missing(p),
    }),
  interpret: (_p, _prep, out) => editInterpret(out),
  registerData(p, _prep, s) {
    const r = s.stat.exists || p.create ? edit(p, s) : undefined;
    return { msg: r?.msg ?? '' };
  },
});
