/**
 * `locale_gen`: a locale generated (or not) on the host (community.general.locale_gen), the
 * Debian way: its line in /etc/locale.gen is enabled (uncommented) or commented, and
 * `locale-gen` rebuilds the locale archive from that file.
 *
 * As Ansible: the locale must be listed in /etc/locale.gen (commented or not: "The locale you've
 * entered is not available on your system"); whether it is present is read from `locale -a`
 * (en_US.utf8 and en_US.UTF-8 are the same). The line is edited as Ansible's set_locale does
 * (`#{0,1}\s*NAME (charset)` → `NAME charset`, or `# NAME charset` for absent). Ubuntu's
 * /var/lib/locales/supported.d is refused (Kiln manages Debian).
 *
 * Kiln also converges the file when `locale -a` already agrees (someone commented the line of a
 * generated locale: the next locale-gen would drop it): the plan shows the file's diff, then
 * regenerates. Verify probes again: the line and `locale -a`.
 */
import { contentDiff } from '../files/content.ts';
import { atomicWrite } from '../../sh/atomic.ts';
import { fromB64 } from '../../sh/bytes.ts';
import { parseKv } from '../../sh/kv.ts';
import { defineModule, type ExecResult, type FromSchema, type ModuleContext, type Planned } from '../contract.ts';

const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: {
    name: {
      type: 'string',
      pattern: '^[A-Za-z0-9_.@-]+$',
      description: 'locale name with its encoding as /etc/locale.gen lists it, e.g. en_US.UTF-8 or de_CH.UTF-8',
    },
    state: {
      enum: ['present', 'absent'],
      description: 'present (default): generated; absent: its line commented and the archive rebuilt without it',
    },
  },
} as const;

export type LocaleGenParams = FromSchema<typeof schema>;

export interface LocaleGenState {
  /** Ubuntu's /var/lib/locales/supported.d exists. */
  ubuntu: boolean;
  /** /etc/locale.gen exists. */
  fileExists: boolean;
  content: string;
  sha?: string;
  /** `locale -a`. */
  installed: string[];
}

export type LocaleGenOp = { kind: 'edit'; content: string; sha: string } | { kind: 'generate' };

const NORMALIZATION: [string, string][] = [
  ['.utf8', '.UTF-8'],
  ['.eucjp', '.EUC-JP'],
  ['.iso885915', '.ISO-8859-15'],
  ['.cp1251', '.CP1251'],
  ['.koi8r', '.KOI8-R'],
  ['.armscii8', '.ARMSCII-8'],
  ['.euckr', '.EUC-KR'],
  ['.gbk', '.GBK'],
  ['.gb18030', '.GB18030'],
  ['.euctw', '.EUC-TW'],
];

/** Ansible's fix_case: `locale -a` spells encodings in lower case (en_US.utf8). */
export function fixCase(name: string): string {
  let n = name;
  for (const [s, r] of NORMALIZATION) n = n.split(s).join(r);
  return n;
}

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The locale is listed in /etc/locale.gen (commented or not). */
export function isAvailable(content: string, name: string): boolean {
  return content.split('\n').some((l) => {
    const m = /^#?\s*(\S+_\S+) (\S+)\s*$/.exec(l);
    return m !== null && m[1] === name;
  });
}

/** Ansible's set_locale on the file's content. */
export function setLocale(content: string, name: string, enabled: boolean): string {
  const re = new RegExp(`#?\\s*${esc(name)} (.+)`, 'g');
  return content
    .split('\n')
    .map((l) => l.replace(re, (_m, charset: string) => (enabled ? `${name} ${charset}` : `# ${name} ${charset}`)))
    .join('\n');
}

export function localeGenProbe(): string {
  return [
    '[ -d /var/lib/locales/supported.d ] && echo ubuntu=1',
    "if [ -f /etc/locale.gen ]; then echo file=1; echo \"sha=$(sha256sum < /etc/locale.gen | cut -d' ' -f1)\"; printf 'content_b64='; base64 -w0 < /etc/locale.gen; echo",
    'else echo file=0; fi',
    "printf 'installed=%s\\n' \"$(locale -a 2>/dev/null | tr '\\n' ' ')\"",
  ].join('\n');
}

export function localeGenParse(out: ExecResult): LocaleGenState {
  const kv = parseKv(out.stdout);
  return {
    ubuntu: kv.ubuntu === '1',
    fileExists: kv.file === '1',
    content: fromB64(kv.content_b64),
    sha: kv.sha,
    installed: (kv.installed ?? '').split(' ').filter(Boolean),
  };
}

export function localeGenPlan(p: LocaleGenParams, s: LocaleGenState, ctx: Pick<ModuleContext, 'diff'>): Planned<LocaleGenOp>[] {
  if (s.ubuntu)
    throw new Error("locale_gen: /var/lib/locales/supported.d exists (Ubuntu's locales): Kiln manages Debian's /etc/locale.gen");
  if (!s.fileExists) throw new Error('locale_gen: /etc/locale.gen is missing. Is the package "locales" installed?');
  if (!isAvailable(s.content, p.name))
    throw new Error(`locale_gen: the locale ${p.name} is not available on this system (not listed in /etc/locale.gen)`);
  const present = (p.state ?? 'present') === 'present';
  const installed = s.installed.some((l) => fixCase(l) === fixCase(p.name));
  const after = setLocale(s.content, p.name, present);
  const out: Planned<LocaleGenOp>[] = [];
  if (after !== s.content)
    out.push({
      summary: `${present ? 'enable' : 'comment out'} ${p.name} in /etc/locale.gen`,
      diff: ctx.diff ? contentDiff('/etc/locale.gen', s.content, after, false) : undefined,
      op: { kind: 'edit', content: after, sha: s.sha ?? '' },
    });
  if (out.length || installed !== present)
    out.push({
      summary: `locale-gen: ${p.name} ${present ? (installed ? 'kept' : 'generated') : installed ? 'removed' : 'stays absent'}`,
      op: { kind: 'generate' },
    });
  return out;
}

export function localeGenApply(ops: LocaleGenOp[]): string {
  const lines = ['set -e'];
  for (const op of ops) {
    if (op.kind === 'edit')
      lines.push(...atomicWrite({ dest: '/etc/locale.gen', bytes: op.content, expect: { sha256: op.sha }, keepAttrs: true }));
    else lines.push('out=$(locale-gen 2>&1) || { printf "locale-gen failed:\\n%s\\n" "$out" >&2; exit 3; }');
  }
  return lines.join('\n');
}

export default defineModule<LocaleGenParams, LocaleGenState, LocaleGenOp>({
  name: 'locale_gen',
  description: 'Generate a locale (or remove it): its line in /etc/locale.gen, then locale-gen.',
  schema,
  probe: () => localeGenProbe(),
  parse: (out) => localeGenParse(out),
  plan: (p, _prep, s, ctx) => localeGenPlan(p, s, ctx),
  apply: (_p, _prep, _s, ops) => localeGenApply(ops),
  // Ansible's result: name and msg "OK" (besides changed).
  registerData: (p) => ({ name: p.name, msg: 'OK' }),
});
