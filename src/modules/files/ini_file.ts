/**
 * `ini_file`: an option (or several values of it), or a whole section, in an INI file
 * (community.general.ini_file of the ansible 7.7 collections).
 *
 * Ansible's `do_ini` ported line by line in `iniEdit`, a pure function over the file's text: the
 * file is read as Python does (UTF-8 with an optional BOM dropped, `\r\n` and `\r` read as `\n`,
 * so a file that changes is written back with `\n`); a missing final newline is added (a change);
 * options are written `option = value` (`option=value` with no_extra_spaces), after the last line
 * of the section that is not blank or a comment; a commented-out `# option = …` line counts as
 * the option (it is replaced); `section: null` is the part before the first section; exclusive
 * (default) removes the option's other lines; state: absent with no option removes the section.
 *
 * Tested against Ansible's own outputs (test/fixtures/ansible/file-edits/ini_file.json).
 */
import { compile, escape, match } from '../../template/filters/pyre.ts';
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
  refuseSymlink,
  utf8Text,
  BACKUP_PROPERTY,
} from './textedit.ts';

const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['path'],
  properties: {
    path: { type: 'string', minLength: 1, pattern: '^/', description: 'absolute path of the INI file (symlinks are followed)' },
    section: {
      type: ['string', 'null'],
      description: 'the section (without brackets); null or empty: the options before the first section',
    },
    option: {
      type: 'string',
      description: 'the option; without it, state: absent removes the whole section and present adds only the section',
    },
    value: { type: 'string', description: 'the value of option (mutually exclusive with values)' },
    values: {
      type: 'array',
      items: { type: 'string' },
      description: 'several values of option, one line each (with exclusive: false, values already there are kept)',
    },
    state: { enum: ['present', 'absent'], description: 'present (default) or absent' },
    exclusive: {
      type: 'boolean',
      description:
        'default true: present removes the lines of option with other values, absent removes every line of option; false: only the values given',
    },
    no_extra_spaces: { type: 'boolean', description: 'write option=value instead of option = value' },
    allow_no_value: { type: 'boolean', description: 'an option without a value (a line with only the option) is allowed' },
    create: { type: 'boolean', description: 'create the file when it does not exist (default true); false: a missing file fails the task' },
    ...BACKUP_PROPERTY,
    ...attrSchema,
  },
} as const;

export type IniFileParams = FromSchema<typeof schema>;

export interface IniOptions {
  section?: string | null;
  option?: string;
  value?: string;
  values?: string[];
  state?: 'present' | 'absent';
  exclusive?: boolean;
  no_extra_spaces?: boolean;
  allow_no_value?: boolean;
}

/** Ansible's parameter checks (mutually exclusive value/values; a value unless allow_no_value). */
export function iniCheck(o: IniOptions): void {
  if (o.value !== undefined && o.values !== undefined) throw new Error('parameters are mutually exclusive: value|values');
  if ((o.state ?? 'present') === 'present' && !o.allow_no_value && o.value === undefined && !o.values?.length)
    throw new Error("Parameter 'value(s)' must be defined if state=present and allow_no_value=False.");
}

const FAKE = 'ad01e11446efb704fcdbdb21f2c43757423d91c5';
const BLANK_OR_COMMENT = compile('^[ \\t]*([#;].*)?$');

/** Python's readlines() of a file opened in text mode (universal newlines), BOM dropped. */
function readlines(text: string): string[] {
  const t = (text.startsWith('\ufeff') ? text.slice(1) : text).replace(/\r\n?/g, '\n');
  const out: string[] = [];
  let start = 0;
  for (let i = 0; i < t.length; i++) {
    if (t[i] === '\n') {
      out.push(t.slice(start, i + 1));
      start = i + 1;
    }
  }
  if (start < t.length) out.push(t.slice(start));
  return out;
}

/** Pure: Ansible's ini_file on the file's text (undefined: it does not exist and is created). */
export function iniEdit(text: string | undefined, o: IniOptions): { content: string; changed: boolean; msg: string } {
  iniCheck(o);
  const state = o.state ?? 'present';
  const exclusive = o.exclusive ?? true;
  const allowNoValue = o.allow_no_value ?? false;
  const option = o.option;
  const values: string[] = [];
  for (const v of o.value !== undefined ? [o.value] : (o.values ?? [])) if (!values.includes(v)) values.push(v);
  const opt = option === undefined ? undefined : escape(option);
  const matchOpt = (line: string) => (opt === undefined ? null : match(compile(`[#;]?( |\\t)*(${opt})( |\\t)*(=|$)( |\\t)*(.*)`), line));
  const matchActiveOpt = (line: string) => (opt === undefined ? null : match(compile(`( |\\t)*(${opt})( |\\t)*(=|$)( |\\t)*(.*)`), line));

  const iniLines = text === undefined ? [] : readlines(text);
  let changed = false;
  if (!iniLines.length) iniLines.push('\n');
  const lastLine = iniLines[iniLines.length - 1]!;
  if (lastLine === '' || !lastLine.endsWith('\n')) {
    iniLines[iniLines.length - 1] = `${lastLine}\n`;
    changed = true;
  }
  iniLines.unshift(`[${FAKE}]`);
  iniLines.push('[');
  const section = o.section ? o.section : FAKE;
  let withinSection = false;
  let sectionStart = 0;
  let sectionEnd = 0;
  let msg = 'OK';
  const assignment = (k: string, v: string) => (o.no_extra_spaces ? `${k}=${v}\n` : `${k} = ${v}\n`);
  let optionNoValuePresent = false;

  for (let index = 0; index < iniLines.length; index++) {
    const line = iniLines[index]!;
    if (line.startsWith(`[${section}]`)) {
      withinSection = true;
      sectionStart = index;
    } else if (line.startsWith('[')) {
      if (withinSection) {
        sectionEnd = index;
        break;
      }
    }
  }
  const before = iniLines.slice(0, sectionStart);
  let sectionLines = iniLines.slice(sectionStart, sectionEnd);
  const after = iniLines.slice(sectionEnd);
  let changedLines = sectionLines.map(() => 0);

  const update = (index: number, newline: string) => {
    if (sectionLines[index] !== newline) {
      changed = true;
      msg = 'option changed';
    }
    sectionLines[index] = newline;
    changedLines[index] = 1;
  };

  if (state === 'present' && option) {
    for (let index = 0; index < sectionLines.length; index++) {
      const m = matchOpt(sectionLines[index]!);
      if (!m) continue;
      const matched = m.groups[6] ?? '';
      if (values.length && values.includes(matched)) {
        if (!matched && allowNoValue) {
          update(index, `${option}\n`);
          optionNoValuePresent = true;
        } else update(index, assignment(option, matched));
        values.splice(values.indexOf(matched), 1);
      } else if (!values.length && allowNoValue) {
        update(index, `${option}\n`);
        optionNoValuePresent = true;
        break;
      }
    }
  }

  if (state === 'present' && exclusive && !allowNoValue) {
    if (values.length > 0) {
      for (let index = 0; index < sectionLines.length; index++) {
        if (!changedLines[index] && matchOpt(sectionLines[index]!)) {
          update(index, assignment(option!, values.shift()!));
          if (values.length === 0) break;
        }
      }
    }
    for (let index = sectionLines.length - 1; index > 0; index--) {
      if (!changedLines[index] && matchOpt(sectionLines[index]!)) {
        sectionLines.splice(index, 1);
        changedLines.splice(index, 1);
        changed = true;
        msg = 'option changed';
      }
    }
  }

  if (state === 'present') {
    for (let index = sectionLines.length; index > 0; index--) {
      if (!match(BLANK_OR_COMMENT, sectionLines[index - 1]!)) {
        if (option && values.length) {
          for (const element of [...values].reverse()) {
            sectionLines.splice(index, 0, assignment(option, element));
            msg = 'option added';
            changed = true;
          }
        } else if (option && !values.length && allowNoValue && !optionNoValuePresent) {
          sectionLines.splice(index, 0, `${option}\n`);
          msg = 'option added';
          changed = true;
        }
        break;
      }
    }
  }

  if (state === 'absent') {
    if (option) {
      if (exclusive) {
        const kept = sectionLines.filter((l) => !matchActiveOpt(l));
        if (kept.length !== sectionLines.length) {
          changed = true;
          msg = 'option changed';
          sectionLines = kept;
        }
      } else if (values.length > 0) {
        const kept = sectionLines.filter((l) => {
          const m = matchActiveOpt(l);
          return !(m && values.includes(m.groups[6] ?? ''));
        });
        if (kept.length !== sectionLines.length) {
          changed = true;
          msg = 'option changed';
          sectionLines = kept;
        }
      }
    } else if (sectionLines.length) {
      sectionLines = [];
      changedLines = [];
      msg = 'section removed';
      changed = true;
    }
  }

  const out = [...before, ...sectionLines, ...after];
  out.shift();
  out.pop();
  if (!withinSection && state === 'present') {
    out.push(`[${section}]\n`);
    msg = 'section and option added';
    if (option && values.length) for (const v of values) out.push(assignment(option, v));
    else if (option && !values.length && allowNoValue) out.push(`${option}\n`);
    else msg = 'only section added';
    changed = true;
  }
  return { content: out.join(''), changed, msg };
}

function edit(p: IniFileParams, s: EditState) {
  const bytes = editBytes(p.path, s, 'ini_file');
  if (bytes === undefined && p.create === false) return undefined;
  const text = bytes === undefined ? undefined : utf8Text(p.path, bytes, 'ini_file');
  return { before: text ?? '', ...iniEdit(text, p) };
}

const missing = (p: IniFileParams) => `Destination ${p.path} does not exist! (create is false)`;

export default defineModule<IniFileParams, EditState, EditOp>({
  name: 'ini_file',
  description:
    "Set or remove an option, its values, or a whole section in an INI file (community.general.ini_file, with Ansible's exact formatting); computed on the controller, written atomically.",
  schema,
  prepare(p) {
    iniCheck(p);
    return undefined;
  },
  probe: (p) => editProbe(p.path),
  parse: (out, p) => editParse(out, p.path),
  plan(p, _prep, s, ctx) {
    refuseSymlink(p.path, s, 'ini_file');
    const r = edit(p, s);
    return editPlan(
      {
        path: p.path,
        state: s,
        before: r?.before ?? '',
        after: r?.changed ? r.content : undefined,
        message: r?.msg ?? '',
        failMissing: !s.stat.exists && p.create === false ? missing(p) : undefined,
        attrs: p,
      },
      ctx,
    );
  },
  apply: (p, _prep, s, ops) =>
    editApply({ path: p.path, state: s, ops, attrs: p, backup: p.backup, createParent: true, failMissing: missing(p) }),
  interpret: (_p, _prep, out) => editInterpret(out),
  registerData(p, _prep, s) {
    const r = s.stat.exists || p.create !== false ? edit(p, s) : undefined;
    return { path: p.path, msg: r?.msg ?? 'OK' };
  },
});
