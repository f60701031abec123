/**
 * `pip`: Python packages in a virtualenv (or the system's Python), as Ansible's pip module.
 *
 * The probe finds pip as Ansible does (the venv's bin/pip3 or bin/pip, `executable`, else pip3 on
 * the PATH), whether the venv exists, the installed distributions (`pip list --format=freeze`) and
 * whether the interpreter is externally managed (PEP 668, Debian 12's system Python). The plan
 * decides per package as Ansible's check mode does (name canonicalised, version specifiers with
 * PEP 440 comparisons): present/absent are predicted exactly. What Ansible itself cannot predict
 * (state latest, requirements files, extra_args, URLs/paths/VCS names) is an unpredictable action:
 * it runs every time and is `changed` by Ansible's rule ("Successfully installed/uninstalled" in
 * pip's output; for requirements and VCS names the `pip freeze` before and after differ).
 *
 * Secrets: extra_args is a secret param. Index and find-links options (--index-url/-i,
 * --extra-index-url, --find-links/-f) never go into the remote argv: they are passed in pip's
 * environment variables (PIP_INDEX_URL, …), exported in the script text that travels on stdin,
 * and the password of any URL in them is registered with the redactor.
 */
import { REDACTED, registerSecretValue, type Secret } from '../../core/secret/secret.ts';
import { fromB64 } from '../../sh/bytes.ts';
import { parseKv } from '../../sh/kv.ts';
import { q } from '../../sh/quote.ts';
import { type ApplyResult, defineModule, type ExecResult, type FromSchema, type ModuleContext, type Planned } from '../contract.ts';
import { revealParam } from '../mysql/sql.ts';
import { splitArgs } from '../system/command.ts';

const schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    name: {
      type: ['string', 'array'],
      items: { type: 'string', minLength: 1 },
      description:
        'distributions to manage: names with optional version specifiers ("flask>=2,<3"), or URLs/paths/VCS URLs; a string is split on commas as Ansible does',
    },
    version: {
      type: 'string',
      minLength: 1,
      description: 'the version of the single package in name ("1.2.3" means ==1.2.3, or a specifier)',
    },
    requirements: { type: 'string', minLength: 1, description: 'a requirements file on the host (relative to chdir)' },
    virtualenv: {
      type: 'string',
      minLength: 1,
      description: 'the virtualenv to install into, created when it has no bin/activate (relative to chdir)',
    },
    virtualenv_command: {
      type: 'string',
      minLength: 1,
      description:
        "command that creates the virtualenv (default virtualenv; '/usr/bin/python3 -m venv' or 'python3 -m venv' for the venv module)",
    },
    virtualenv_python: {
      type: 'string',
      minLength: 1,
      description: "the Python the virtualenv is made with (virtualenv's -p; not with venv)",
    },
    virtualenv_site_packages: { type: 'boolean', description: "the virtualenv sees the system's site-packages (--system-site-packages)" },
    state: {
      enum: ['present', 'absent', 'latest', 'forcereinstall'],
      description: 'present (default), absent, latest (upgrade: unpredictable, runs every time), forcereinstall (reinstalls every time)',
    },
    extra_args: {
      type: 'string',
      'x-secret': true,
      description:
        'more pip arguments (a secret: index URLs with credentials are passed in PIP_* environment variables, never in a command line); makes the task unpredictable, as in Ansible',
    },
    chdir: { type: 'string', pattern: '^/', description: 'directory pip runs in (default: the temp dir)' },
    executable: { type: 'string', minLength: 1, description: 'the pip to run (pip3.11, /opt/py/bin/pip); not with virtualenv' },
    editable: { type: 'boolean', description: 'install in editable mode (pip -e): unpredictable, as in Ansible' },
    umask: { type: 'string', pattern: '^[0-7]{1,4}$', description: 'umask of the commands, a quoted octal number ("0022")' },
  },
} as const;

export type PipParams = FromSchema<typeof schema>;

/** A package of `name` as Ansible's Package class sees it. */
export interface PipPackage {
  /** What pip is given. */
  text: string;
  /** Canonical distribution name (lowercase, runs of -_. as -); undefined for URLs, paths, VCS. */
  name?: string;
  /** Version specifiers (">=1,<2"); '' for none. */
  spec: string;
}

export interface PipPrep {
  packages: PipPackage[];
  /** extra_args words for pip's command line (secret-free). */
  argv: string[];
  /** extra_args options moved to pip's environment (PIP_INDEX_URL, …). */
  env: Record<string, string>;
  /** extra_args as shown (URL passwords masked). */
  shown: string[];
  hasExtra: boolean;
  breakSystem: boolean;
}

export interface PipState {
  venvExists: boolean;
  pip?: string;
  pipMissing?: string;
  /** canonical name → version. */
  installed: Record<string, string>;
  externallyManaged: boolean;
  freeze: string;
}

export type PipOp =
  | { kind: 'venv' }
  | { kind: 'install'; packages: string[] }
  | { kind: 'uninstall'; packages: string[] }
  /** pip run that Ansible cannot predict either: changed is decided from its output. */
  | { kind: 'run'; freeze: boolean };

export const canonicalName = (n: string) => n.toLowerCase().replace(/[-_.]+/g, '-');

const OPS = '(?:===|~=|==|!=|<=|>=|<|>)';
const REQ_RE = new RegExp(
  `^\\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\\s*(\\[[^\\]]*\\])?\\s*((?:${OPS}\\s*[A-Za-z0-9.*+!_-]+\\s*,?\\s*)*)\\s*(;.*)?$`,
);

/** Ansible's _recover_package_name: a list split on commas is joined back where a part is a specifier. */
export function recoverNames(name: string | string[]): string[] {
  const parts = (typeof name === 'string' ? name.split(',') : name).map((s) => s.trim()).filter(Boolean);
  const out: string[] = [];
  for (const p of parts) {
    if (out.length && new RegExp(`^${OPS}`).test(p)) out[out.length - 1] += `,${p}`;
    else out.push(p);
  }
  return out;
}

export function parsePackage(text: string, version?: string): PipPackage {
  let t = text.trim();
  if (version !== undefined) {
    const v = version.trim();
    t = /^\d/.test(v) ? `${t}==${v}` : `${t} ${v}`;
  }
  const m = REQ_RE.exec(t);
  if (!m || /^(?:git|hg|svn|bzr)\+|:\/\/|^[./~]/.test(t)) return { text: t, spec: '' };
  return { text: t, name: canonicalName(m[1]!), spec: (m[3] ?? '').replace(/\s+/g, '').replace(/,$/, '') };
}

// ── PEP 440 versions, enough for specifiers ───────────────────────────────────────────────

interface Ver {
  release: number[];
  /** [-3 dev-only, -2 a, -1 b, 0 rc, 1 final] with its number. */
  pre: [number, number];
  post: number;
  dev: number;
  local: string;
}

const VER_RE =
  /^\s*v?(?:\d+!)?(\d+(?:\.\d+)*)(?:[-_.]?(a|b|c|rc|alpha|beta|pre|preview)[-_.]?(\d*))?(?:-(\d+)|[-_.]?(?:post|rev|r)[-_.]?(\d*))?(?:[-_.]?dev[-_.]?(\d*))?(?:\+([a-z0-9._-]+))?\s*$/i;

export function parseVersion(s: string): Ver | undefined {
  const m = VER_RE.exec(s);
  if (!m) return undefined;
  const preTag = m[2]?.toLowerCase();
  const preRank = preTag === undefined ? 1 : preTag.startsWith('a') ? -2 : preTag.startsWith('b') ? -1 : 0;
  const post = m[4] !== undefined ? Number(m[4]) : m[5] !== undefined ? Number(m[5] || 0) : -1;
  const dev = m[6] !== undefined ? Number(m[6] || 0) : Number.POSITIVE_INFINITY;
  // 1.0.dev1 sorts before 1.0a1: a dev release of a final (no pre, no post) ranks lowest.
  const pre: [number, number] = preRank === 1 && post < 0 && dev !== Number.POSITIVE_INFINITY ? [-3, 0] : [preRank, Number(m[3] || 0)];
  return { release: m[1]!.split('.').map(Number), pre, post, dev, local: m[7] ?? '' };
}

function cmpNum(a: number[], b: number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d) return Math.sign(d);
  }
  return 0;
}

export function compareVersions(a: Ver, b: Ver): number {
  return (
    cmpNum(a.release, b.release) || cmpNum(a.pre, b.pre) || Math.sign(a.post - b.post) || (a.dev === b.dev ? 0 : a.dev < b.dev ? -1 : 1)
  );
}

/** Does `version` satisfy every specifier of `spec` ("" = any)? Pre-releases count, as Ansible asks. */
export function satisfies(version: string, spec: string): boolean {
  if (!spec) return true;
  const v = parseVersion(version);
  for (const clause of spec.split(',').filter(Boolean)) {
    const m = /^(===|~=|==|!=|<=|>=|<|>)(.+)$/.exec(clause);
    if (!m) return false;
    const [, op, target] = m as unknown as [string, string, string];
    if (op === '===') {
      if (version !== target) return false;
      continue;
    }
    if (!v) return false;
    if ((op === '==' || op === '!=') && target.endsWith('.*')) {
      const prefix = target.slice(0, -2).split('.').map(Number);
      const match = prefix.every((n, i) => (v.release[i] ?? 0) === n);
      if (match !== (op === '==')) return false;
      continue;
    }
    const t = parseVersion(target);
    if (!t) return false;
    const c = compareVersions(v, t);
    const ok =
      op === '=='
        ? c === 0 && (!t.local || t.local === v.local)
        : op === '!='
          ? !(c === 0 && (!t.local || t.local === v.local))
          : op === '<='
            ? c <= 0
            : op === '>='
              ? c >= 0
              : op === '<'
                ? c < 0
                : op === '>'
                  ? c > 0
                  : // ~=: >= target and == target's release without its last part
                    c >= 0 && t.release.slice(0, -1).every((n, i) => (v.release[i] ?? 0) === n);
    if (!ok) return false;
  }
  return true;
}

// ── extra_args ────────────────────────────────────────────────────────────────────────────

/** pip options whose values are URLs: passed in pip's environment, never in argv. */
const URL_OPTIONS: Record<string, string> = {
  '--index-url': 'PIP_INDEX_URL',
  '-i': 'PIP_INDEX_URL',
  '--extra-index-url': 'PIP_EXTRA_INDEX_URL',
  '--find-links': 'PIP_FIND_LINKS',
  '-f': 'PIP_FIND_LINKS',
};

const maskUrl = (s: string) => s.replace(/(:\/\/[^/@\s:]*:)[^/@\s]*@/g, `$1${REDACTED}@`);

/** Splits extra_args; URL options go to env (space-joined when repeated, as pip reads them). */
export function splitExtraArgs(extra: string, editable: boolean): Pick<PipPrep, 'argv' | 'env' | 'shown' | 'breakSystem'> {
  const words = splitArgs(extra);
  if (editable && !words.includes('-e')) words.push('-e');
  const argv: string[] = [];
  const env: Record<string, string> = {};
  const shown: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    const eq = w.indexOf('=');
    const opt = w.startsWith('--') && eq > 0 ? w.slice(0, eq) : w;
    const envName = URL_OPTIONS[opt];
    if (envName) {
      const value = w !== opt ? w.slice(eq + 1) : words[++i];
      if (value === undefined) throw new Error(`extra_args: ${opt} needs a value`);
      const pw = /:\/\/[^/@\s:]*:([^/@\s]*)@/.exec(value)?.[1];
      if (pw) registerSecretValue(pw);
      env[envName] = env[envName] ? `${env[envName]} ${value}` : value;
      shown.push(opt, maskUrl(value));
      continue;
    }
    if (/:\/\/[^/@\s]*@/.test(w)) {
      throw new Error(
        'extra_args: a URL with credentials can only be given to --index-url/-i, --extra-index-url or --find-links/-f (Kiln passes those in the environment, never in a command line)',
      );
    }
    argv.push(w);
    shown.push(w);
  }
  return { argv, env, shown, breakSystem: words.includes('--break-system-packages') };
}

export function pipPrepare(p: PipParams): PipPrep {
  if (p.name === undefined && p.requirements === undefined) throw new Error('one of name or requirements is required');
  if (p.name !== undefined && p.requirements !== undefined) throw new Error('name and requirements are mutually exclusive');
  if (p.executable !== undefined && p.virtualenv !== undefined) throw new Error('executable and virtualenv are mutually exclusive');
  if (p.state === 'latest' && p.version !== undefined) throw new Error('version is incompatible with state=latest');
  const names = p.name === undefined ? [] : recoverNames(p.name);
  if (p.name !== undefined && !names.length) throw new Error('name: no package');
  let packages = names.map((n) => parsePackage(n));
  if (p.version !== undefined) {
    if (packages.length > 1) {
      throw new Error(
        "'version' argument is ambiguous when installing multiple package distributions. Please specify version restrictions next to each package in 'name' argument.",
      );
    }
    if (packages[0]!.spec) {
      throw new Error(
        "The 'version' argument conflicts with any version specifier provided along with a package name. Please keep the version specifier, but remove the 'version' argument.",
      );
    }
    packages = [parsePackage(names[0]!, p.version)];
  }
  const extra = revealParam(p.extra_args as string | Secret | undefined);
  const split = splitExtraArgs(extra ?? '', p.editable === true);
  return { packages, ...split, hasExtra: split.argv.length + split.shown.length > 0 };
}

// ── probe, plan, apply ────────────────────────────────────────────────────────────────────

const venvPath = (p: PipParams) =>
  p.virtualenv === undefined ? undefined : p.virtualenv.startsWith('/') ? p.virtualenv : `${p.chdir ?? '/tmp'}/${p.virtualenv}`;

function envLines(p: PipParams, prep: PipPrep): string[] {
  const lines = Object.entries(prep.env).map(([k, v]) => `export ${k}=${q(v)}`);
  lines.push('export PIP_DISABLE_PIP_VERSION_CHECK=1');
  if (p.umask !== undefined) lines.push(`umask ${p.umask}`);
  const venv = venvPath(p);
  if (venv) lines.push(`PATH=${q(`${venv}/bin`)}:"$PATH"; export PATH`);
  return lines;
}

/** Ansible's _get_pip, in sh: sets $pip or prints pip_missing. */
function findPip(p: PipParams): string[] {
  const venv = venvPath(p);
  if (p.executable?.startsWith('/')) return [`pip=${q(p.executable)}`];
  if (p.executable) return [`pip=$(command -v ${q(p.executable)}) || pip=''`];
  if (venv) return [`pip=''; for c in ${q(`${venv}/bin/pip3`)} ${q(`${venv}/bin/pip`)}; do [ -x "$c" ] && { pip=$c; break; }; done`];
  return ["pip=$(command -v pip3) || pip=''"];
}

export function pipProbe(p: PipParams, prep: PipPrep): string {
  const venv = venvPath(p);
  return [
    ...envLines(p, prep),
    venv ? `[ -e ${q(`${venv}/bin/activate`)} ] && echo venv=1 || echo venv=0` : 'echo venv=0',
    ...findPip(p),
    'if [ -z "$pip" ] || [ ! -x "$pip" ]; then echo pip_missing=1; else',
    '  echo "pip=$pip"',
    `  cd ${q(p.chdir ?? '/tmp')} 2>/dev/null || true`,
    '  printf \'freeze_b64=%s\\n\' "$("$pip" list --format=freeze 2>/dev/null | base64 -w0)"',
    // PEP 668: the interpreter pip runs under is externally managed (and not a venv).
    "  py=$(head -n1 \"$pip\" | sed -e 's/^#! *//' -e 's/ .*//')",
    `  [ -x "$py" ] && "$py" -c 'import os,sys,sysconfig; print("em=%d" % (sys.prefix == sys.base_prefix and os.path.isfile(os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED"))))' 2>/dev/null`,
    '  [ -n "$PIP_BREAK_SYSTEM_PACKAGES" ] && echo bsp=1',
    '  "$pip" config list 2>/dev/null | grep -qi "break-system-packages=.\\(true\\|1\\|yes\\|on\\)" && echo bsp=1',
    'fi',
  ].join('\n');
}

export function pipParse(out: ExecResult): PipState {
  const kv = parseKv(out.stdout);
  const freeze = fromB64(kv.freeze_b64);
  const installed: Record<string, string> = {};
  for (const line of freeze.split('\n')) {
    const i = line.indexOf('==');
    if (i > 0) installed[canonicalName(line.slice(0, i).trim())] = line.slice(i + 2).trim();
  }
  return {
    venvExists: kv.venv === '1',
    pip: kv.pip,
    pipMissing: kv.pip_missing === '1' ? 'missing' : undefined,
    installed,
    externallyManaged: kv.em === '1' && kv.bsp !== '1',
    freeze,
  };
}

export function isPresent(pkg: PipPackage, s: PipState): boolean {
  if (!pkg.name) return false;
  const v = s.installed[pkg.name];
  return v !== undefined && satisfies(v, pkg.spec);
}

export function pipPlan(p: PipParams, prep: PipPrep, s: PipState, ctx: ModuleContext): Planned<PipOp>[] {
  void ctx;
  const state = p.state ?? 'present';
  const venv = venvPath(p);
  const out: Planned<PipOp>[] = [];
  const newVenv = venv !== undefined && !s.venvExists;
  if (newVenv) out.push({ summary: `create virtualenv ${venv} (${p.virtualenv_command ?? 'virtualenv'})`, op: { kind: 'venv' } });
  else if (s.pipMissing) {
    throw new Error(
      venv
        ? `Unable to find pip in the virtualenv, ${venv}, under any of these names: pip3, pip. Make sure pip is present in the virtualenv.`
        : `Unable to find ${p.executable ?? 'pip3'} to use. pip needs to be installed (the python3-pip package).`,
    );
  }
  const where = venv ? ` in ${venv}` : '';
  const texts = prep.packages.map((k) => k.text);
  const predictable = p.requirements === undefined && !prep.hasExtra && prep.packages.every((k) => k.name) && state !== 'latest';
  let op: Planned<PipOp> | undefined;
  if (!predictable) {
    const what = p.requirements !== undefined ? `-r ${p.requirements}` : texts.join(' ');
    const verb =
      state === 'absent' ? 'uninstall' : state === 'latest' ? 'install --upgrade' : state === 'forcereinstall' ? 'reinstall' : 'install';
    op = {
      summary: `pip ${verb} ${what}${where}${prep.shown.length ? ` (${prep.shown.join(' ')})` : ''}`,
      action: true,
      unpredictable: true,
      op: { kind: 'run', freeze: p.requirements !== undefined || prep.packages.some((k) => /^(?:git|hg|svn|bzr)\+/.test(k.text)) },
    };
  } else if (state === 'forcereinstall') {
    op = { summary: `pip reinstall ${texts.join(' ')}${where}`, action: true, op: { kind: 'install', packages: texts } };
  } else if (state === 'absent') {
    const there = newVenv ? [] : prep.packages.filter((k) => k.name && s.installed[k.name] !== undefined && isPresent(k, s));
    if (there.length)
      op = {
        summary: `pip uninstall ${there.map((k) => `${k.name} ${s.installed[k.name!]}`).join(', ')}${where}`,
        op: { kind: 'uninstall', packages: texts },
      };
  } else {
    const missing = newVenv ? prep.packages : prep.packages.filter((k) => !isPresent(k, s));
    if (missing.length) {
      const desc = missing.map((k) => (s.installed[k.name!] ? `${k.text} (installed: ${s.installed[k.name!]})` : k.text));
      op = { summary: `pip install ${desc.join(', ')}${where}`, op: { kind: 'install', packages: texts } };
    }
  }
  if (op && state !== 'absent' && !venv && s.externallyManaged && !prep.breakSystem) {
    throw new Error(
      `pip refuses to install into this host's system Python: it is externally managed (PEP 668, error: externally-managed-environment). Install into a virtualenv (virtualenv: …), use the Debian package (python3-…), or pass extra_args: --break-system-packages`,
    );
  }
  if (op) out.push(op);
  return out;
}

function venvCommand(p: PipParams, venv: string): string {
  const vc = p.virtualenv_command ?? 'virtualenv';
  const words = splitArgs(vc);
  const isVenvModule = vc.includes('pyvenv') || vc.includes('-m venv');
  if (isVenvModule && p.virtualenv_python !== undefined) {
    throw new Error('virtualenv_python should not be used when using the venv module or pyvenv as virtualenv_command');
  }
  const lines = [`vc=${q(words[0]!)}`];
  // Ansible resolves a bare command name on the PATH (and fails if it is not there).
  if (!words[0]!.includes('/'))
    lines.push(`vc=$(command -v "$vc") || { echo "Failed to find required executable ${words[0]} in paths" >&2; exit 1; }`);
  const args = words.slice(1).map(q);
  if (p.virtualenv_site_packages) args.push('--system-site-packages');
  if (!isVenvModule) args.push(p.virtualenv_python !== undefined ? q(`-p${p.virtualenv_python}`) : '"-p$(command -v python3)"');
  lines.push(`"$vc" ${args.join(' ')} ${q(venv)}`);
  return lines.join('\n');
}

const STATE_ARGS: Record<string, string[]> = {
  present: ['install'],
  absent: ['uninstall', '-y'],
  latest: ['install', '-U'],
  forcereinstall: ['install', '-U', '--force-reinstall'],
};

export function pipApply(p: PipParams, prep: PipPrep, ops: PipOp[]): string {
  const venv = venvPath(p);
  const state = p.state ?? 'present';
  const lines = ['set -e', ...envLines(p, prep), `cd ${q(p.chdir ?? '/tmp')}`];
  for (const op of ops) if (op.kind === 'venv') lines.push(venvCommand(p, venv!), 'echo venv_made=1');
  const run = ops.find((o) => o.kind !== 'venv');
  if (!run) return lines.join('\n');
  // Markers for interpret: an unpredictable run is `changed` by what pip printed (or the freeze diff).
  if (run.kind === 'run') lines.push(`echo mode=${run.freeze ? 'freeze' : 'output'}`);
  lines.push(...findPip(p), '[ -n "$pip" ] || { echo "pip not found" >&2; exit 1; }');
  const what = p.requirements !== undefined ? ['-r', p.requirements] : prep.packages.map((k) => k.text);
  const cmd = [...STATE_ARGS[state]!, ...prep.argv, ...what].map(q).join(' ');
  if (run.kind === 'run' && run.freeze)
    lines.push('printf \'freeze_before_b64=%s\\n\' "$("$pip" list --format=freeze 2>/dev/null | base64 -w0)"');
  lines.push(
    'echo "pip=$pip"',
    `set +e; out=$("$pip" ${cmd} 2>&1); rc=$?; set -e`,
    'printf \'out_b64=%s\\n\' "$(printf %s "$out" | base64 -w0)"',
  );
  if (run.kind === 'run' && run.freeze)
    lines.push('printf \'freeze_after_b64=%s\\n\' "$("$pip" list --format=freeze 2>/dev/null | base64 -w0)"');
  // pip uninstall of a package that is not installed exits 1 with "not installed": not a failure (Ansible).
  lines.push(state === 'absent' ? 'if [ "$rc" -ne 0 ] && ! printf %s "$out" | grep -q "not installed"; then exit "$rc"; fi' : 'exit "$rc"');
  return lines.join('\n');
}

export function pipInterpret(p: PipParams, prep: PipPrep, out: ExecResult): ApplyResult {
  const kv = parseKv(out.stdout);
  const stdout = fromB64(kv.out_b64);
  const state = p.state ?? 'present';
  const what = p.requirements !== undefined ? ['-r', p.requirements] : prep.packages.map((k) => k.text);
  const cmd = [kv.pip ?? 'pip', ...STATE_ARGS[state]!, ...prep.shown, ...what];
  const result = {
    cmd,
    name: p.name === undefined ? null : recoverNames(p.name),
    version: p.version ?? null,
    state,
    requirements: p.requirements ?? null,
    virtualenv: venvPath(p) ?? null,
    stdout,
    stdout_lines: stdout ? stdout.replace(/\n$/, '').split('\n') : [],
    stderr: '',
    stderr_lines: [],
  };
  if (out.code !== 0) {
    return {
      result,
      failed: `pip ${STATE_ARGS[state]!.join(' ')} failed (exit ${out.code}): ${stdout.trim().split('\n').slice(-4).join(' | ')}`,
    };
  }
  if (kv.mode === undefined) return { result };
  const changed =
    kv.venv_made === '1' ||
    (state === 'absent'
      ? stdout.includes('Successfully uninstalled')
      : kv.mode === 'freeze'
        ? kv.freeze_before_b64 !== kv.freeze_after_b64
        : stdout.includes('Successfully installed'));
  return { result, changed };
}

export default defineModule<PipParams, PipState, PipOp, PipPrep>({
  name: 'pip',
  description:
    "Install Python packages with pip, into a virtualenv (created when missing) or the system's Python, as Ansible's pip module.",
  schema,
  prepare: (p) => pipPrepare(p),
  probe: (p, prep) => pipProbe(p, prep),
  parse: (out) => pipParse(out),
  plan: (p, prep, s, ctx) => pipPlan(p, prep, s, ctx),
  apply: (p, prep, _s, ops) => pipApply(p, prep, ops),
  interpret: (p, prep, out) => pipInterpret(p, prep, out),
  registerData: (p, prep, s) => ({
    cmd: [
      s.pip ?? 'pip',
      ...STATE_ARGS[p.state ?? 'present']!,
      ...prep.shown,
      ...(p.requirements !== undefined ? ['-r', p.requirements] : prep.packages.map((k) => k.text)),
    ],
    name: p.name === undefined ? null : recoverNames(p.name),
    version: p.version ?? null,
    state: p.state ?? 'present',
    requirements: p.requirements ?? null,
    virtualenv: venvPath(p) ?? null,
    stdout: '',
    stdout_lines: [],
    stderr: '',
    stderr_lines: [],
  }),
});
