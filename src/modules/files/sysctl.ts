/**
 * `sysctl`: a kernel parameter, live (/proc/sys) and persisted (a file in /etc/sysctl.d).
 *
 * Works without procps: the probe reads /proc/sys directly, and apply writes it directly.
 * Both the live value (whitespace-normalised) and the persisted line are compared; the plan
 * says which one differs. The persisted file is edited on the controller (every line setting
 * the key is replaced by one `key = value`) and written atomically (`atomicWrite`, refused if
 * the file changed since the probe).
 *
 * Contract v2: plan pairs each summary with a `SysctlOp`; apply switches on `op.kind` only and
 * writes the file before the live value.
 */
import { newFileAttrs } from './attrs.ts';
import { contentDiff } from './content.ts';
import { atomicWrite } from '../../sh/atomic.ts';
import { fromB64, fromB64Bytes } from '../../sh/bytes.ts';
import { firstInvalidUtf8 } from '../../core/text.ts';
import { parseKv } from '../../sh/kv.ts';
import { q } from '../../sh/quote.ts';
import { defineModule, type ExecResult, type FromSchema, type ModuleContext, type Planned } from '../contract.ts';

const MAX_BYTES = 256 * 1024;

/** A sysctl key: segments of [A-Za-z0-9_@:-] separated by single '.' or '/' (procps: "separators should not be repeated"). */
const NAME_PATTERN = '^[a-zA-Z0-9_@:-]+(?:[./][a-zA-Z0-9_@:-]+)*$';
const NAME_RE = new RegExp(NAME_PATTERN);

const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: {
    // procps' rule (what Ansible's sysctl module runs): separators ('.' or '/') are never repeated,
    // so no segment is '' , '.' or '..' and the path stays under /proc/sys.
    name: {
      type: 'string',
      pattern: NAME_PATTERN,
      description: "key, e.g. net.ipv4.ip_forward ('.' or '/' separated segments, none empty)",
    },
    value: { type: ['string', 'integer'], description: 'value; whitespace is normalised (e.g. "1024 65000")' },
    state: {
      enum: ['present', 'absent'],
      description: 'present (default): set and persist; absent: remove from sysctl_file (the live value is left alone)',
    },
    sysctl_file: { type: 'string', pattern: '^/', description: 'file that persists the value (default /etc/sysctl.d/99-kiln.conf)' },
    reload: { type: 'boolean', description: 'also set the live value (default true); false: only the file changes' },
  },
} as const;

export type SysctlParams = FromSchema<typeof schema>;

/**
 * What sysctl does: write the live value to /proc/sys, and/or write the persisted file's new
 * content (computed by plan; `expect` is the probed SHA-256 of an existing file).
 */
export type SysctlOp = { kind: 'live'; value: string } | { kind: 'persist'; file: string; content: string; expect?: { sha256: string } };

export interface SysctlState {
  keyExists: boolean;
  writable: boolean;
  /** Normalised live value; undefined when unreadable. */
  live?: string;
  fileExists: boolean;
  fileContent?: string;
  fileSha?: string;
  fileTooBig?: boolean;
  /** The file is not UTF-8: never rewritten (its other bytes would change). */
  fileNotText?: boolean;
}

const DEFAULT_FILE = '/etc/sysctl.d/99-kiln.conf';

/** net.ipv4.conf.eth0/1.rp_filter → /proc/sys/net/ipv4/conf/eth0.1/rp_filter (sysctl's '.'↔'/' swap). */
export function procPath(name: string): string {
  // The schema refuses such names at validate time; this guards every other way in.
  if (!NAME_RE.test(name))
    throw new Error(`sysctl name ${JSON.stringify(name)} is not a key: separators ('.' or '/') must not be repeated or trail`);
  const sep = name.includes('/') && !name.includes('.') ? '/' : '.';
  const swapped = sep === '.' ? name.replace(/[./]/g, (c) => (c === '.' ? '/' : '.')) : name;
  return `/proc/sys/${swapped}`;
}

export function norm(v: string | number | undefined): string {
  return String(v ?? '')
    .trim()
    .split(/\s+/)
    .join(' ');
}

function keyOf(name: string): string {
  return name.replace(/\//g, '.');
}

/** Lines of a sysctl.d file that set `name` ("key = value", "key=value", "-key = value"). */
function matches(line: string, name: string): RegExpExecArray | null {
  const m = /^\s*-?\s*([^=\s#;]+)\s*=\s*(.*?)\s*$/.exec(line);
  return m && keyOf(m[1]) === keyOf(name) ? m : null;
}

export function persistedValue(content: string | undefined, name: string): string | undefined {
  let v: string | undefined;
  for (const line of (content ?? '').split('\n')) {
    const m = matches(line, name);
    if (m) v = norm(m[2]);
  }
  return v;
}

/** Pure: the new file content. */
export function editSysctlFile(content: string, name: string, value: string | undefined): string {
  const lines = content === '' ? [] : content.replace(/\n$/, '').split('\n');
  const idx = lines.map((l, i) => (matches(l, name) ? i : -1)).filter((i) => i >= 0);
  if (value === undefined) return lines.filter((_, i) => !idx.includes(i)).join('\n') + (lines.length > idx.length ? '\n' : '');
  const want = `${name} = ${value}`;
  if (!idx.length) return `${[...lines, want].join('\n')}\n`;
  const last = idx[idx.length - 1];
  // A line that already has the value keeps its formatting ("key=value" is as good as "key = value").
  const keep = norm(matches(lines[last], name)![2]) === value ? lines[last] : want;
  return `${lines.flatMap((l, i) => (i === last ? [keep] : idx.includes(i) ? [] : [l])).join('\n')}\n`;
}

export function sysctlProbe(p: SysctlParams): string {
  const file = q(p.sysctl_file ?? DEFAULT_FILE);
  return [
    `f=${q(procPath(p.name))}`,
    'if [ -f "$f" ]; then echo key=1',
    '  if v=$(cat -- "$f" 2>/dev/null); then printf \'live=%s\\n\' "$(printf %s "$v" | tr \'\\t\\n\' \'  \')"; fi',
    '  [ -w "$f" ] && echo writable=1 || echo writable=0',
    'else echo key=0; fi',
    `if [ -f ${file} ]; then echo file=1; echo "sha256=$(sha256sum < ${file} | cut -d' ' -f1)"`,
    `  if [ "$(stat -c %s -- ${file})" -le ${MAX_BYTES} ]; then printf 'content_b64='; base64 -w0 < ${file}; echo; else echo too_big=1; fi`,
    'else echo file=0; fi',
    'true',
  ].join('\n');
}

export function sysctlParse(out: ExecResult): SysctlState {
  const kv = parseKv(out.stdout);
  return {
    keyExists: kv.key === '1',
    writable: kv.writable === '1',
    live: kv.live !== undefined ? norm(kv.live) : undefined,
    fileExists: kv.file === '1',
    fileContent: kv.content_b64 !== undefined ? fromB64(kv.content_b64) : kv.file === '1' && !kv.too_big ? '' : undefined,
    fileNotText: kv.content_b64 !== undefined && firstInvalidUtf8(fromB64Bytes(kv.content_b64)) >= 0,
    fileSha: kv.sha256,
    fileTooBig: kv.too_big === '1',
  };
}

function newFile(p: SysctlParams, s: SysctlState): string | undefined {
  const state = p.state ?? 'present';
  const before = s.fileContent ?? '';
  if (state === 'absent' && !s.fileExists) return undefined;
  const after = editSysctlFile(before, p.name, state === 'absent' ? undefined : norm(p.value));
  return after === before && s.fileExists ? undefined : after;
}

export function sysctlPlan(p: SysctlParams, s: SysctlState, ctx: ModuleContext): Planned<SysctlOp>[] {
  const state = p.state ?? 'present';
  const file = p.sysctl_file ?? DEFAULT_FILE;
  if (state === 'present' && p.value === undefined) throw new Error('state: present needs value');
  if (s.fileTooBig) throw new Error(`${file} is larger than ${MAX_BYTES} bytes`);
  if (s.fileNotText) throw new Error(`${file} is not UTF-8 text: Kiln does not rewrite it (its other bytes would change)`);
  const out: Planned<SysctlOp>[] = [];
  const want = norm(p.value);
  if (state === 'present' && p.reload !== false) {
    if (!s.keyExists) throw new Error(`sysctl ${p.name} does not exist on this host (${procPath(p.name)}); is the kernel module loaded?`);
    if (s.live !== want) {
      if (!s.writable) {
        throw new Error(
          `cannot set ${p.name}: ${procPath(p.name)} is read-only here (read-only /proc/sys, e.g. in a container; only network namespace keys such as net.* may be writable)`,
        );
      }
      out.push({ summary: `${p.name} (live): ${s.live ?? '(unreadable)'} → ${want}`, op: { kind: 'live', value: want } });
    }
  }
  const after = newFile(p, s);
  if (after !== undefined) {
    const had = persistedValue(s.fileContent, p.name);
    const summary =
      state === 'absent'
        ? `remove ${p.name} from ${file}`
        : had === undefined
          ? `${s.fileExists ? 'add' : 'create ' + file + ' with'} ${p.name} = ${want}${s.fileExists ? ` to ${file}` : ''}`
          : had === want
            ? `${p.name} in ${file}: remove duplicate lines`
            : `${p.name} in ${file}: ${had} → ${want}`;
    out.push({
      summary,
      diff: ctx.diff ? contentDiff(file, s.fileContent ?? '', after, false) : undefined,
      op: { kind: 'persist', file, content: after, expect: s.fileExists ? { sha256: s.fileSha ?? '' } : undefined },
    });
  }
  return out;
}

export function sysctlApply(p: SysctlParams, ops: SysctlOp[]): string {
  const lines = ['set -e'];
  // The file first, then the live value (a failed write leaves the kernel as it was).
  for (const op of ops) {
    if (op.kind !== 'persist') continue;
    // An existing file keeps its owner and mode; a new one is 0644. Refused if it changed since the probe.
    lines.push(
      ...atomicWrite({
        dest: op.file,
        bytes: op.content,
        parent: 'create',
        expect: op.expect,
        ...newFileAttrs({}, op.expect !== undefined),
      }),
    );
  }
  for (const op of ops) {
    if (op.kind === 'live') lines.push(`printf '%s\\n' ${q(op.value)} > ${q(procPath(p.name))}`);
  }
  return lines.join('\n');
}

export default defineModule<SysctlParams, SysctlState, SysctlOp>({
  name: 'sysctl',
  description: 'Set a kernel parameter live (/proc/sys) and persist it in /etc/sysctl.d.',
  schema,
  probe: (p) => sysctlProbe(p),
  parse: (out) => sysctlParse(out),
  plan: (p, _prep, s, ctx) => sysctlPlan(p, s, ctx),
  apply: (p, _prep, _s, ops) => sysctlApply(p, ops),
  registerAfterApply: true,
  registerData: (p, _prep, s) => ({ name: p.name, live: s.live ?? null, persisted: persistedValue(s.fileContent, p.name) ?? null }),
});
