/**
 * `modprobe`: a kernel module loaded or not, and persistently (community.general.modprobe).
 *
 * As Ansible: `state: present` loads the module (`modprobe NAME PARAMS`) unless it is loaded
 * (/proc/modules, or built into the kernel: modules.builtin of the running kernel, or — Kiln
 * also reads it — /sys/module/NAME of a built-in module on a kernel without modules.builtin);
 * `absent` unloads it (`modprobe -r NAME`). `persistent: present` writes
 * /etc/modules-load.d/NAME.conf (the name) unless a file there already lists it, and
 * /etc/modprobe.d/NAME.conf (`options NAME P=V` lines) unless the options in /etc/modprobe.d are
 * exactly `params`, commenting out other `options NAME …` lines; `absent` comments out the
 * name's lines in /etc/modules-load.d and its `options` lines in /etc/modprobe.d; `disabled`
 * (default) leaves them alone. Each file is shown as a unified diff and written atomically.
 *
 * Loading is not planned blind: a module that is neither loaded nor built in on a kernel
 * without loadable-module support (no /proc/modules) fails the plan, and built-in modules cannot
 * be unloaded. Changed params of an already-loaded module do not reload it (as Ansible).
 */
import { contentDiff } from '../files/content.ts';
import { atomicWrite } from '../../sh/atomic.ts';
import { fromB64 } from '../../sh/bytes.ts';
import { parseKvAll } from '../../sh/kv.ts';
import { q } from '../../sh/quote.ts';
import { defineModule, type ExecResult, type FromSchema, type ModuleContext, type Planned } from '../contract.ts';

const LOAD_DIR = '/etc/modules-load.d';
const PARAMS_DIR = '/etc/modprobe.d';

const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: {
    name: { type: 'string', pattern: '^[A-Za-z0-9_-]+$', description: 'kernel module name, e.g. br_netfilter' },
    state: { enum: ['present', 'absent'], description: 'present (default): loaded; absent: unloaded (modprobe -r)' },
    params: {
      type: 'string',
      pattern: '^(\\s*\\w+=\\S+)*\\s*$',
      description: 'module parameters, space-separated P=V words (passed to modprobe when loading, and written as options lines)',
    },
    persistent: {
      enum: ['disabled', 'present', 'absent'],
      description:
        'present: loaded at boot (/etc/modules-load.d/NAME.conf) with its params (/etc/modprobe.d/NAME.conf); absent: its lines there commented out; disabled (default): those files untouched',
    },
  },
} as const;

export type ModprobeParams = FromSchema<typeof schema>;

export interface ConfFile {
  path: string;
  content: string;
  sha: string;
}

export interface ModprobeState {
  /** /proc/modules is readable (the kernel loads modules). */
  procModules: boolean;
  loaded: boolean;
  builtin: boolean;
  loadFiles: ConfFile[];
  paramFiles: ConfFile[];
}

export type ModprobeOp =
  | { kind: 'load'; words: string[] }
  | { kind: 'unload' }
  | { kind: 'write'; path: string; content: string; expect: { sha256: string } | 'absent' };

const re = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const moduleLine = (name: string) => new RegExp(`^ *${re(name)} *(?:[#;].*)?$`);
const optionsLine = (name: string) => new RegExp(`^options ${re(name)} (\\w+=\\S+) *(?:[#;].*)?$`);

export function modprobeProbe(p: ModprobeParams): string {
  const n = q(p.name);
  const files = (dir: string, tag: string) =>
    `for f in ${dir}/*; do [ -f "$f" ] || continue; printf '${tag}=%s %s ' "$f" "$(sha256sum < "$f" | cut -d' ' -f1)"; base64 -w0 < "$f"; echo; done`;
  return [
    `m=$(printf %s ${n} | tr - _)`,
    'if [ -r /proc/modules ]; then echo proc=1; grep -q "^$m " /proc/modules && echo loaded=1; else echo proc=0; fi',
    `b=/lib/modules/$(uname -r)/modules.builtin`,
    `if [ -f "$b" ]; then grep -q "/"${n}".ko\$" "$b" && echo builtin=1; elif [ -d "/sys/module/$m" ] && [ ! -e "/sys/module/$m/initstate" ]; then echo builtin=1; fi`,
    files(LOAD_DIR, 'load'),
    files(PARAMS_DIR, 'param'),
    'true',
  ].join('\n');
}

export function modprobeParse(out: ExecResult): ModprobeState {
  const kv = parseKvAll(out.stdout);
  const one = (k: string) => kv.get(k)?.at(-1);
  const conf = (k: string): ConfFile[] =>
    (kv.get(k) ?? []).map((v) => {
      // "PATH SHA B64": the path may hold spaces, the other two never do.
      const parts = v.split(' ');
      const b64 = parts.pop() ?? '';
      const sha = parts.pop() ?? '';
      return { path: parts.join(' '), sha, content: fromB64(b64) };
    });
  return {
    procModules: one('proc') === '1',
    loaded: one('loaded') === '1',
    builtin: one('builtin') === '1',
    loadFiles: conf('load'),
    paramFiles: conf('param'),
  };
}

const lines = (c: string) => c.split('\n');

/** Ansible's disable_*: comment out the matching lines (it then joins readlines() with '\n'; Kiln keeps the file's own newlines). */
function commentOut(content: string, match: RegExp): string {
  return lines(content)
    .map((l) => (match.test(l) ? `#${l}` : l))
    .join('\n');
}

export function modprobePlan(p: ModprobeParams, s: ModprobeState, ctx: Pick<ModuleContext, 'diff'>): Planned<ModprobeOp>[] {
  const state = p.state ?? 'present';
  const persistent = p.persistent ?? 'disabled';
  const params = p.params ?? '';
  const words = params.split(/\s+/).filter(Boolean);
  const loaded = s.loaded || s.builtin;
  const out: Planned<ModprobeOp>[] = [];
  if (state === 'present' && !loaded) {
    if (!s.procModules)
      throw new Error(
        `modprobe: ${p.name} is not built into this kernel, and the kernel has no loadable-module support (no /proc/modules)`,
      );
    out.push({ summary: `load kernel module ${p.name}${words.length ? ` (${words.join(' ')})` : ''}`, op: { kind: 'load', words } });
  }
  if (state === 'absent' && loaded) {
    if (s.builtin) throw new Error(`modprobe: ${p.name} is built into the kernel and cannot be unloaded`);
    out.push({ summary: `unload kernel module ${p.name}`, op: { kind: 'unload' } });
  }
  const modLine = moduleLine(p.name);
  const optLine = optionsLine(p.name);
  const persistentLoad = s.loadFiles.some((f) => lines(f.content).some((l) => modLine.test(l)));
  const permanentParams = new Set(s.paramFiles.flatMap((f) => lines(f.content).flatMap((l) => optLine.exec(l)?.[1] ?? [])));
  const paramsSet = words.length === permanentParams.size && words.every((w) => permanentParams.has(w));
  const edits = new Map<string, { before?: ConfFile; after: string }>();
  const edit = (path: string, before: ConfFile | undefined, after: string) => {
    if (after !== (before?.content ?? undefined)) edits.set(path, { before, after });
  };
  if (persistent === 'present' && !(persistentLoad && paramsSet)) {
    const loadPath = `${LOAD_DIR}/${p.name}.conf`;
    if (!persistentLoad)
      edit(
        loadPath,
        s.loadFiles.find((f) => f.path === loadPath),
        `${p.name}\n`,
      );
    if (!paramsSet) {
      const optPath = `${PARAMS_DIR}/${p.name}.conf`;
      for (const f of s.paramFiles) if (f.path !== optPath) edit(f.path, f, commentOut(f.content, optLine));
      edit(
        optPath,
        s.paramFiles.find((f) => f.path === optPath),
        `${words.map((w) => `options ${p.name} ${w}`).join('\n')}\n`,
      );
    }
  } else if (persistent === 'absent' && (persistentLoad || permanentParams.size)) {
    for (const f of s.loadFiles) edit(f.path, f, commentOut(f.content, modLine));
    for (const f of s.paramFiles) edit(f.path, f, commentOut(f.content, optLine));
  }
  for (const [path, { before, after }] of edits)
    out.push({
      summary: `${before ? 'edit' : 'create'} ${path}`,
      diff: ctx.diff ? contentDiff(path, before?.content ?? '', after, false) : undefined,
      op: { kind: 'write', path, content: after, expect: before ? { sha256: before.sha } : 'absent' },
    });
  return out;
}

export function modprobeApply(p: ModprobeParams, ops: ModprobeOp[]): string {
  const out = ['set -e'];
  // Files first: a module that fails to load is still configured for the next boot, as asked.
  for (const op of ops)
    if (op.kind === 'write')
      out.push(
        ...atomicWrite({
          dest: op.path,
          bytes: op.content,
          parent: 'create',
          expect: op.expect,
          keepAttrs: op.expect !== 'absent',
          attrs: op.expect === 'absent' ? { mode: '0644' } : undefined,
        }),
      );
  for (const op of ops) {
    if (op.kind === 'load') out.push(`modprobe -- ${q(p.name)}${op.words.map((w) => ` ${q(w)}`).join('')}`);
    else if (op.kind === 'unload') out.push(`modprobe -r -- ${q(p.name)}`);
  }
  return out.join('\n');
}

export default defineModule<ModprobeParams, ModprobeState, ModprobeOp>({
  name: 'modprobe',
  description: 'Load or unload a kernel module, and configure it for boot (/etc/modules-load.d, /etc/modprobe.d).',
  schema,
  probe: (p) => modprobeProbe(p),
  parse: (out) => modprobeParse(out),
  plan: (p, _prep, s, ctx) => modprobePlan(p, s, ctx),
  apply: (p, _prep, _s, ops) => modprobeApply(p, ops),
  registerData: (p) => ({ name: p.name, params: p.params ?? '', state: p.state ?? 'present' }),
});
