/**
 * `pam_limits`: one limit (domain, type, item, value) in limits.conf or a file under
 * /etc/security/limits.d (community.general.pam_limits of the ansible 7.7 collections).
 *
 * Ansible's module ported line by line in `pamLimitsEdit`, a pure function over the file's text,
 * quirks included, so a run means what it means in Ansible: the line of the same domain, type and
 * item gets the value (use_max / use_min keep the larger / smaller one, `unlimited`, `infinity`
 * and `-1` being no limit), written `domain<TAB>type<TAB>item<TAB>value[<TAB>#comment]`; without
 * one the line is appended (to the last line when the file does not end with a newline, as
 * Ansible does); `comment` empty takes the comment of the first limit line that has one; a limit
 * line with an invalid value fails the task. A missing `dest` is created (its directory must exist).
 *
 * Tested against Ansible's own outputs (test/fixtures/ansible/file-edits/pam_limits.json).
 */
import { defineModule, type FromSchema } from '../contract.ts';
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
} from './textedit.ts';

const ITEMS = [
  'core',
  'data',
  'fsize',
  'memlock',
  'nofile',
  'rss',
  'stack',
  'cpu',
  'nproc',
  'as',
  'maxlogins',
  'maxsyslogins',
  'priority',
  'locks',
  'sigpending',
  'msgqueue',
  'nice',
  'rtprio',
  'chroot',
] as const;

const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['domain', 'limit_type', 'limit_item', 'value'],
  properties: {
    domain: { type: 'string', description: 'who the limit applies to: a user, @group, * (everyone), a uid or gid range' },
    limit_type: { enum: ['soft', 'hard', '-'], description: 'soft, hard, or - (both)' },
    limit_item: { enum: ITEMS, description: 'the resource limited (nofile, nproc, memlock, core, …; see limits.conf(5))' },
    value: {
      type: 'string',
      description: 'the limit: a number, or unlimited, infinity or -1 (no limit); nice and priority: -20 to 19',
    },
    use_max: { type: 'boolean', description: 'keep the existing value when it is larger (or no limit)' },
    use_min: { type: 'boolean', description: 'keep the existing value when it is smaller' },
    dest: {
      type: 'string',
      minLength: 1,
      pattern: '^/',
      description: 'the limits file (default /etc/security/limits.conf); created when missing, its directory must exist',
    },
    comment: { type: 'string', description: 'a comment written after the limit (#comment)' },
    backup: {
      type: 'boolean',
      description:
        'keep a copy of the file before changing it, named as Ansible names it (dest.PID.YYYY-MM-DD@HH:MM:SS~), its path registered as backup_file',
    },
  },
} as const;

export type PamLimitsParams = FromSchema<typeof schema>;

export interface PamLimitsOptions {
  domain: string;
  limit_type: string;
  limit_item: string;
  value: string;
  use_max?: boolean;
  use_min?: boolean;
  comment?: string;
}

const UNLIMITED = ['unlimited', 'infinity', '-1'];
const pyRepr = (s: string) => (s.includes("'") && !s.includes('"') ? `"${s}"` : `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`);

/** Python's int() of a string (surrounding whitespace, sign, underscores between digits). */
function pyInt(s: string): number | undefined {
  const t = s.trim();
  return /^[-+]?\d+(_\d+)*$/.test(t) ? Number(t.replace(/_/g, '')) : undefined;
}

function assertValid(item: string, value: string, prefix = ''): void {
  if (item === 'nice' || item === 'priority') {
    const n = pyInt(value);
    if (n === undefined || n < -20 || n > 19)
      throw new Error(
        `${prefix} Value of ${pyRepr(value)} for item ${pyRepr(item)} is invalid. Value must be a number in the range -20 to 19 inclusive. Refer to the limits.conf(5) manual pages for more details.`,
      );
  } else if (!(UNLIMITED.includes(value) || /^\d+$/.test(value))) {
    throw new Error(
      `${prefix} Value of ${pyRepr(value)} for item ${pyRepr(item)} is invalid. Value must either be 'unlimited', 'infinity' or -1, all of which indicate no limit, or a limit of 0 or larger. Refer to the limits.conf(5) manual pages for more details.`,
    );
  }
}

/** Ansible's checks of the parameters (before any host is contacted). */
export function pamLimitsCheck(o: PamLimitsOptions): void {
  if (o.use_max && o.use_min) throw new Error('Cannot use use_min and use_max at the same time.');
  assertValid(o.limit_item, o.value);
}

/** Python's str.split('\n')-free line iteration of a binary file: lines with their '\n'. */
function lines(text: string): string[] {
  const out: string[] = [];
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '\n') {
      out.push(text.slice(start, i + 1));
      start = i + 1;
    }
  }
  if (start < text.length) out.push(text.slice(start));
  return out;
}

/** Pure: Ansible's pam_limits on the file's text. `msg` is Ansible's: the limit's line as it is now. */
export function pamLimitsEdit(
  text: string,
  o: PamLimitsOptions,
  dest = '/etc/security/limits.conf',
): { content: string; changed: boolean; msg: string } {
  pamLimitsCheck(o);
  const { domain, limit_type: limitType, limit_item: limitItem, value } = o;
  let newComment = o.comment ?? '';
  let message = '';
  let found = false;
  let newValue = value;
  let out = '';
  let changed = false;
  for (const line of lines(text)) {
    if (line.startsWith('#')) {
      out += line;
      continue;
    }
    let newline = line.replace(/\s+/gu, ' ').trim();
    if (!newline) {
      out += line;
      continue;
    }
    newline = newline.split('#')[0]!;
    const hash = line.indexOf('#');
    const oldComment = hash < 0 ? '' : line.slice(hash + 1);
    newline = newline.trimEnd();
    if (!newComment) newComment = oldComment;
    const fields = newline.split(' ');
    if (fields.length !== 4) {
      out += line;
      continue;
    }
    const [lineDomain, lineType, lineItem, actual] = fields as [string, string, string, string];
    assertValid(lineItem, actual, `Invalid configuration found in '${dest}'.`);
    if (lineDomain === domain && lineType === limitType && lineItem === limitItem) {
      found = true;
      if (value === actual) {
        message = line;
        out += line;
        continue;
      }
      // Ansible compares the TYPE with nice/priority here (so the unlimited words always count).
      const typeIsNice = lineType === 'nice' || lineType === 'priority';
      const actualUnlimited = !typeIsNice && UNLIMITED.includes(actual);
      const valueUnlimited = !typeIsNice && UNLIMITED.includes(value);
      if (o.use_max) {
        if (actualUnlimited) newValue = actual;
        else if (valueUnlimited) newValue = value;
        else newValue = String(Math.max(pyIntOrThrow(value), pyIntOrThrow(actual)));
      }
      if (o.use_min) {
        if (actualUnlimited && valueUnlimited) newValue = actual;
        else if (actualUnlimited) newValue = value;
        else if (valueUnlimited) newValue = actual;
        else newValue = String(Math.min(pyIntOrThrow(value), pyIntOrThrow(actual)));
      }
      if (newValue !== actual) {
        changed = true;
        if (newComment) newComment = `\t#${newComment}`;
        const limit = `${domain}\t${limitType}\t${limitItem}\t${newValue}${newComment}\n`;
        message = limit;
        out += limit;
      } else {
        message = line;
        out += line;
      }
    } else out += line;
  }
  if (!found) {
    changed = true;
    if (newComment) newComment = `\t#${newComment}`;
    const limit = `${domain}\t${limitType}\t${limitItem}\t${newValue}${newComment}\n`;
    message = limit;
    out += limit;
  }
  return { content: out, changed, msg: message };
}

function pyIntOrThrow(s: string): number {
  const n = pyInt(s);
  if (n === undefined) throw new Error(`invalid literal for int() with base 10: ${pyRepr(s)}`);
  return n;
}

const destOf = (p: PamLimitsParams) => p.dest ?? '/etc/security/limits.conf';

function edit(p: PamLimitsParams, s: EditState) {
  const dest = destOf(p);
  const bytes = editBytes(dest, s, 'pam_limits');
  const text = bytes === undefined ? '' : utf8Text(dest, bytes, 'pam_limits');
  const r = pamLimitsEdit(text, p, dest);
  // A missing file is created (Ansible creates it empty, then writes the limit).
  return { before: text, ...r, changed: r.changed || bytes === undefined };
}

export default defineModule<PamLimitsParams, EditState, EditOp>({
  name: 'pam_limits',
  description:
    'Set one PAM limit (domain, type, item, value) in /etc/security/limits.conf or a limits.d file (community.general.pam_limits); computed on the controller, written atomically.',
  schema,
  prepare(p) {
    pamLimitsCheck(p);
    return undefined;
  },
  probe: (p) => editProbe(destOf(p)),
  parse: (out, p) => editParse(out, destOf(p)),
  plan(p, _prep, s, ctx) {
    const dest = destOf(p);
    refuseSymlink(dest, s, 'pam_limits');
    if (!s.stat.exists && !s.parent && !ctx.check) throw new Error(`directory of ${dest} does not exist`);
    const r = edit(p, s);
    return editPlan(
      { path: dest, state: s, before: r.before, after: r.changed ? r.content : undefined, message: `limit ${r.msg.trimEnd()}`, attrs: {} },
      ctx,
    );
  },
  apply: (p, _prep, s, ops) => editApply({ path: destOf(p), state: s, ops, attrs: {}, backup: p.backup }),
  interpret: (_p, _prep, out) => editInterpret(out),
  registerData(p, _prep, s) {
    return { msg: edit(p, s).msg };
  },
});
