/**
 * `replace`: every match of a Python regular expression in a file replaced (Ansible's replace).
 *
 * Ansible's module (ansible-core 2.14) ported in `replaceEdit`, a pure function over the file's
 * text: `regexp` is compiled with MULTILINE (`^`/`$` at each line), `.` does not match a newline
 * unless the pattern says `(?s)`; `replace` is a Python template (`\1`, `\g<name>`, `\n`); with
 * `after`/`before` only the text between them is edited (the pattern `after(?P<subsection>.*?)before`
 * compiled with DOTALL, as Ansible builds it; `.*` with only one of them). Patterns are Python's
 * `re` on text (Unicode `\w`), translated exactly by pyre or refused. The file is decoded with
 * `encoding` (utf-8, latin-1 or ascii) and written back in it.
 *
 * Tested against Ansible's own outputs (test/fixtures/ansible/file-edits/replace.json).
 */
import { refuseSecretInArgv } from '../../core/secret/secret.ts';
import { compile, parseTemplate, search, sub } from '../../template/filters/pyre.ts';
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

/** Python codec names Kiln decodes exactly → Node's encoding. */
const ENCODINGS: Record<string, 'utf8' | 'latin1' | 'ascii'> = {
  'utf-8': 'utf8',
  utf8: 'utf8',
  utf_8: 'utf8',
  'latin-1': 'latin1',
  latin1: 'latin1',
  latin_1: 'latin1',
  'iso-8859-1': 'latin1',
  iso8859_1: 'latin1',
  'iso8859-1': 'latin1',
  ascii: 'ascii',
  'us-ascii': 'ascii',
};

const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['path', 'regexp'],
  properties: {
    path: {
      type: 'string',
      minLength: 1,
      pattern: '^/',
      description: 'absolute path of the file to edit (symlinks are followed); it must exist',
    },
    regexp: {
      type: 'string',
      description:
        "Python regular expression (Python's re, MULTILINE: ^ and $ match at each line) whose every match is replaced; . does not match a newline unless (?s)",
      'x-python-re': true,
    },
    replace: {
      type: 'string',
      description:
        'the replacement, a Python re template: \\1 or \\g<name> insert groups of regexp, \\n a newline; default empty (matches are deleted)',
    },
    after: {
      type: 'string',
      description:
        'only replace in the text after the first match of this Python regular expression (DOTALL); the file is left alone when it does not match',
      // after and before are checked as the one pattern Ansible builds from them (replaceCheck, in prepare).
    },
    before: {
      type: 'string',
      description:
        'only replace in the text before the last match of this Python regular expression (DOTALL; with after: the first match after it); the file is left alone when it does not match',
    },
    encoding: { type: 'string', description: 'the encoding of the file: utf-8 (default), latin-1 (iso-8859-1) or ascii' },
    ...BACKUP_PROPERTY,
    ...VALIDATE_PROPERTY,
    ...attrSchema,
  },
} as const;

export type ReplaceParams = FromSchema<typeof schema>;

export interface ReplaceOptions {
  regexp: string;
  replace?: string;
  after?: string;
  before?: string;
}

function codec(encoding: string | undefined): 'utf8' | 'latin1' | 'ascii' {
  const e = ENCODINGS[(encoding ?? 'utf-8').toLowerCase()];
  if (!e) throw new Error(`encoding ${JSON.stringify(encoding)} is not supported by Kiln: use utf-8, latin-1 (iso-8859-1) or ascii`);
  return e;
}

function compiled(o: ReplaceOptions) {
  const re = (src: string, what: string, flags: { multiline?: boolean; dotall?: boolean }) => {
    try {
      return compile(src, flags);
    } catch (e) {
      throw new Error(`${what} is not a valid Python regular expression Kiln can translate exactly: ${(e as Error).message}`);
    }
  };
  let section: string | undefined;
  if (o.after && o.before) section = `${o.after}(?P<subsection>.*?)${o.before}`;
  else if (o.after) section = `${o.after}(?P<subsection>.*)`;
  else if (o.before) section = `(?P<subsection>.*)${o.before}`;
  const mre = re(o.regexp, 'regexp', { multiline: true });
  try {
    parseTemplate(mre, o.replace ?? '');
  } catch (e) {
    throw new Error(`replace is not a valid replacement for regexp: ${(e as Error).message}`);
  }
  return { mre, section, sectionRe: section === undefined ? undefined : re(section, 'after/before', { dotall: true }) };
}

/** Checks the options once (before any host is contacted). */
export function replaceCheck(o: ReplaceOptions & { encoding?: string }): void {
  codec(o.encoding);
  compiled(o);
}

/** Pure: Ansible's replace on the file's text. `msg` is Ansible's ('N replacements made', '', or the before/after miss). */
export function replaceEdit(contents: string, o: ReplaceOptions): { content: string; changed: boolean; msg: string } {
  const { mre, section: pattern, sectionRe } = compiled(o);
  let section = contents;
  let indices: [number, number] | undefined;
  if (sectionRe) {
    const m = search(sectionRe, contents);
    if (!m) return { content: contents, changed: false, msg: `Pattern for before/after params did not match the given file: ${pattern}` };
    const g = sectionRe.groupIndex.get('subsection')!;
    section = m.groups[g] ?? '';
    // The subsection's offsets: the match's start plus the length of what precedes it inside the match.
    const start = m.start + subsectionOffset(contents, m, sectionRe, g);
    indices = [start, start + section.length];
  }
  const [replaced, n] = sub(mre, o.replace ?? '', section);
  if (n > 0 && replaced !== section) {
    const content = indices ? contents.slice(0, indices[0]) + replaced + contents.slice(indices[1]) : replaced;
    return { content, changed: true, msg: `${n} replacements made` };
  }
  return { content: contents, changed: false, msg: '' };
}

/**
 * Where the `subsection` group starts inside the match: JS reports only group texts, so the
 * prefix (the `after` part) is matched again, anchored, with the `d` (indices) flag.
 */
function subsectionOffset(contents: string, m: { start: number }, sectionRe: { sticky: RegExp }, g: number): number {
  const withIndices = new RegExp(sectionRe.sticky.source, `${sectionRe.sticky.flags}d`);
  withIndices.lastIndex = m.start;
  const r = withIndices.exec(contents);
  const at = r?.indices?.[g];
  if (!at) throw new Error('after/before: cannot locate the section the pattern matched');
  return at[0] - m.start;
}

function edit(p: ReplaceParams, s: EditState) {
  const bytes = editBytes(p.path, s, 'replace');
  if (bytes === undefined) return undefined;
  const enc = codec(p.encoding);
  const text = bytes.toString(enc);
  if (!Buffer.from(text, enc).equals(bytes))
    throw new Error(`${p.path} cannot be decoded as ${p.encoding ?? 'utf-8'} without loss: set encoding to the file's encoding`);
  const r = replaceEdit(text, p);
  return { before: bytes, after: Buffer.from(r.content, enc), ...r };
}

const missing = (p: ReplaceParams) => `Path ${p.path} does not exist !`;

export default defineModule<ReplaceParams, EditState, EditOp>({
  name: 'replace',
  description:
    "Replace every match of a Python regular expression in a file, optionally only between after and before (Ansible's replace); computed on the controller, written atomically.",
  schema,
  prepare(p) {
    refuseSecretInArgv('validate', p.validate, 'validate runs a program with these arguments on the host; it cannot take a secret');
    replaceCheck(p);
    return undefined;
  },
  probe: (p) => editProbe(p.path),
  parse: (out, p) => editParse(out, p.path),
  plan(p, _prep, s, ctx) {
    const r = edit(p, s);
    return editPlan(
      {
        path: p.path,
        state: s,
        before: r?.before ?? '',
        after: r?.changed ? r.after : undefined,
        message: r?.msg ?? '',
        failMissing: s.stat.exists ? undefined : missing(p),
        attrs: p,
      },
      ctx,
    );
  },
  apply: (p, _prep, s, ops) =>
    editApply({ path: p.path, state: s, ops, attrs: p, validate: p.validate, backup: p.backup, failMissing: missing(p) }),
  interpret: (_p, _prep, out) => editInterpret(out),
  registerData(p, _prep, s) {
    return { msg: s.stat.exists ? (edit(p, s)?.msg ?? '') : '', rc: 0 };
  },
});
