/**
 * `git`: a checkout (or bare clone) of a repository at a version, as Ansible's git module.
 *
 * The probe reads the checkout (HEAD, the remote's URL, local modifications, the current branch,
 * submodules) and, read-only, the remote's refs with `git ls-remote`: the plan knows the commit the
 * run will check out, so `--check` predicts the update (before → after) honestly. The apply runs
 * Ansible's commands (clone, fetch with Ansible's refspecs, checkout/reset of the version, submodule
 * update) and prints the commit it ended at; the verify probe asks the remote again.
 */
import { createTwoFilesPatch } from 'diff';
import { fromB64 } from '../../sh/bytes.ts';
import { parseKv } from '../../sh/kv.ts';
import { q } from '../../sh/quote.ts';
import { defineModule, type ExecResult, type FromSchema, type ModuleContext, type Planned } from '../contract.ts';

const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['repo', 'dest'],
  properties: {
    repo: {
      type: 'string',
      minLength: 1,
      description: 'address of the repository (https://, ssh://, user@host:path, file://, a path); alias name',
    },
    dest: { type: 'string', pattern: '^/', description: 'absolute path of the checkout (the bare repository with bare: true)' },
    version: {
      type: 'string',
      minLength: 1,
      description:
        "what to check out: HEAD (default: the current branch's tip, the remote's default branch on clone), a branch, a tag or a commit SHA",
    },
    force: {
      type: 'boolean',
      description: 'discard local modifications of tracked files (default false: local modifications fail the task)',
    },
    depth: {
      type: 'integer',
      minimum: 1,
      description: 'shallow clone/fetch with this many commits of history (a commit SHA version fetches everything)',
    },
    update: {
      type: 'boolean',
      description: 'fetch and check out the version in an existing checkout (default true); false: leave it as it is',
    },
    clone: {
      type: 'boolean',
      description:
        'clone when dest has no repository (default true); false: only report the remote commit in `after` (Ansible then reports changed although nothing changes; Kiln reports ok)',
    },
    remote: { type: 'string', pattern: '^[A-Za-z0-9._/-]+$', description: 'name of the remote (default origin)' },
    refspec: { type: 'string', minLength: 1, description: 'an additional refspec to fetch (e.g. refs/pull/1/head, refs/meta/config)' },
    accept_hostkey: { type: 'boolean', description: "don't check the SSH host key of the git server (ssh -o StrictHostKeyChecking=no)" },
    accept_newhostkey: {
      type: 'boolean',
      description: 'accept an unknown SSH host key of the git server, never a changed one (ssh -o StrictHostKeyChecking=accept-new)',
    },
    key_file: {
      type: 'string',
      minLength: 1,
      description: 'SSH private key on the host for the git server (ssh -i KEY -o IdentitiesOnly=yes)',
    },
    ssh_opts: { type: 'string', description: 'more ssh options for the git server, split on whitespace (e.g. "-o Port=2222")' },
    umask: { type: 'string', pattern: '^[0-7]{1,4}$', description: 'umask of the git commands, a quoted octal number ("0022")' },
    recursive: { type: 'boolean', description: 'also initialise and update submodules, recursively (default true)' },
    single_branch: { type: 'boolean', description: 'clone only the history of the version (git clone --single-branch)' },
    bare: { type: 'boolean', description: 'a bare repository (no work tree) in dest' },
    executable: { type: 'string', minLength: 1, description: 'path of the git program on the host (default: git on the PATH)' },
    reference: { type: 'string', minLength: 1, description: 'a local repository to borrow objects from on clone (git clone --reference)' },
  },
} as const;

export type GitParams = FromSchema<typeof schema>;

export interface GitState {
  gitMissing: boolean;
  /** dest holds a repository (a checkout, or a bare repository with bare: true). */
  exists: boolean;
  /** dest exists, is not a repository, and is not an empty directory (git clone would fail). */
  destNotEmpty: boolean;
  head?: string;
  /** URL of the remote in the checkout; undefined: no such remote. */
  url?: string;
  /** Tracked files differ from HEAD (untracked files don't count, as in Ansible). */
  mods: boolean;
  /** The branch HEAD is on (the remote's HEAD branch when detached). */
  headBranch?: string;
  /** Submodules not initialised or not at their recorded commit. */
  subsDirty: boolean;
  /** The remote's refs asked for: name → sha (tags also with their peeled `^{}` entry). */
  refs: Record<string, string>;
  /** The remote's HEAD branch (ls-remote --symref). */
  remoteHeadBranch?: string;
  /** ls-remote failed (with its message) or was not run (undefined). */
  lsError?: string;
  lsRan: boolean;
}

export type GitRefKind = 'head' | 'branch' | 'tag' | 'sha';

export type GitOp =
  | { kind: 'clone'; ref: GitRefKind; sha: string }
  | { kind: 'reset' }
  | { kind: 'set_url' }
  | { kind: 'update'; ref: GitRefKind; sha: string }
  | { kind: 'submodules' };

const SHA_RE = /^[0-9a-fA-F]{4,40}$/;

const exe = (p: GitParams) => q(p.executable ?? 'git');
const remoteOf = (p: GitParams) => p.remote ?? 'origin';
const versionOf = (p: GitParams) => p.version ?? 'HEAD';

/** The environment of every git command: no prompts, Ansible's ssh options, the umask. */
export function gitEnv(p: GitParams): string[] {
  const ssh: string[] = ['ssh'];
  if (p.key_file) ssh.push('-i', q(p.key_file), '-o', 'IdentitiesOnly=yes');
  const opts = (p.ssh_opts ?? '').split(/\s+/).filter(Boolean);
  // Ansible adds these to ssh_opts unless they are there already.
  if (p.accept_hostkey && !opts.join(' ').includes('StrictHostKeyChecking')) opts.push('-o', 'StrictHostKeyChecking=no');
  if (p.accept_newhostkey && !opts.join(' ').includes('StrictHostKeyChecking')) opts.push('-o', 'StrictHostKeyChecking=accept-new');
  ssh.push(...opts.map(q), '-o', 'BatchMode=yes');
  const lines = ['export GIT_TERMINAL_PROMPT=0', `export GIT_SSH_COMMAND=${q(ssh.join(' '))}`];
  if (p.umask !== undefined) lines.push(`umask ${p.umask}`);
  return lines;
}

/** Probe: the checkout's state, then the remote's refs for the version (read-only ls-remote). */
export function gitProbe(p: GitParams): string {
  const v = versionOf(p);
  const r = remoteOf(p);
  const isRepo = p.bare ? `[ "$($g -C "$d" rev-parse --is-bare-repository 2>/dev/null)" = true ]` : '[ -e "$d/.git" ]';
  const patterns = ['HEAD'];
  if (v !== 'HEAD') patterns.push(`refs/heads/${v}`, `refs/tags/${v}`, `refs/tags/${v}^{}`);
  return [
    `g=${exe(p)}; d=${q(p.dest)}; r=${q(r)}`,
    ...gitEnv(p),
    'if ! command -v "$g" >/dev/null 2>&1; then echo nogit=1; else',
    `hb=''`,
    `if ${isRepo}; then`,
    '  ex=1; echo exists=1',
    '  echo "head=$($g -C "$d" rev-parse --verify -q HEAD 2>/dev/null)"',
    '  if u=$($g -C "$d" config --get "remote.$r.url" 2>/dev/null); then printf \'url_b64=%s\\n\' "$(printf %s "$u" | base64 -w0)"; fi',
    p.bare ? '' : '  $g -C "$d" status --porcelain 2>/dev/null | grep -qv \'^??\' && echo mods=1',
    // Ansible's get_head_branch: the current branch, else (detached) the remote's HEAD branch.
    '  hb=$($g -C "$d" symbolic-ref -q --short HEAD 2>/dev/null) || hb=$($g -C "$d" symbolic-ref -q --short "refs/remotes/$r/HEAD" 2>/dev/null | sed "s|^$r/||")',
    '  echo "head_branch=$hb"',
    p.recursive !== false && !p.bare
      ? '  if [ -f "$d/.gitmodules" ]; then $g -C "$d" submodule status --recursive 2>/dev/null | grep -q \'^[-+U]\' && echo subs=1; fi'
      : '',
    'else',
    '  ex=0; echo exists=0',
    '  if [ -e "$d" ] && { [ ! -d "$d" ] || [ -n "$(ls -A "$d" 2>/dev/null)" ]; }; then echo notempty=1; fi',
    'fi',
    // The remote's refs: not needed when an existing checkout is not updated.
    p.update === false ? 'if [ "$ex" = 0 ]; then' : 'if true; then',
    `  if lr=$($g ls-remote --symref ${q(p.repo)} ${patterns.map(q).join(' ')} \${hb:+"refs/heads/$hb"} 2>&1); then`,
    '    printf \'ls_b64=%s\\n\' "$(printf %s "$lr" | base64 -w0)"',
    '  else printf \'ls_err_b64=%s\\n\' "$(printf %s "$lr" | tail -n 5 | base64 -w0)"; fi',
    'fi',
    'fi',
  ]
    .filter((l) => l !== '')
    .join('\n');
}

export function gitParse(out: ExecResult, p: GitParams): GitState {
  const kv = parseKv(out.stdout);
  const refs: Record<string, string> = {};
  let remoteHeadBranch: string | undefined;
  for (const line of fromB64(kv.ls_b64).split('\n')) {
    const sym = /^ref: refs\/heads\/(\S+)\tHEAD$/.exec(line);
    if (sym) remoteHeadBranch = sym[1];
    const m = /^([0-9a-f]{40,64})\t(\S+)$/.exec(line);
    if (m) refs[m[2]] = m[1];
  }
  const state: GitState = {
    gitMissing: kv.nogit === '1',
    exists: kv.exists === '1',
    destNotEmpty: kv.notempty === '1',
    head: kv.head || undefined,
    url: kv.url_b64 !== undefined ? fromB64(kv.url_b64) : undefined,
    mods: kv.mods === '1',
    headBranch: kv.head_branch || undefined,
    subsDirty: kv.subs === '1',
    refs,
    remoteHeadBranch,
    lsError: kv.ls_err_b64 !== undefined ? fromB64(kv.ls_err_b64).trim() || 'git ls-remote failed' : undefined,
    lsRan: kv.ls_b64 !== undefined || kv.ls_err_b64 !== undefined,
  };
  void p;
  return state;
}

/**
 * The commit the version names on the remote, as Ansible's get_remote_head: HEAD is the tip of the
 * checkout's branch (the remote's HEAD on clone), a branch its tip, a tag its commit (peeled), and
 * anything else a commit SHA taken as it is.
 */
export function gitTarget(p: GitParams, s: GitState): { ref: GitRefKind; sha: string } {
  const v = versionOf(p);
  if (s.lsError) throw new Error(`git ls-remote ${p.repo} failed: ${s.lsError}`);
  if (v === 'HEAD') {
    const sha = (s.exists && s.headBranch ? s.refs[`refs/heads/${s.headBranch}`] : undefined) ?? s.refs.HEAD;
    if (!sha)
      throw new Error(
        `Could not determine remote revision for HEAD (${p.repo} has no HEAD${s.headBranch ? ` nor branch ${s.headBranch}` : ''})`,
      );
    return { ref: 'head', sha };
  }
  if (s.refs[`refs/heads/${v}`]) return { ref: 'branch', sha: s.refs[`refs/heads/${v}`]! };
  const tag = s.refs[`refs/tags/${v}^{}`] ?? s.refs[`refs/tags/${v}`];
  if (tag) return { ref: 'tag', sha: tag };
  if (SHA_RE.test(v)) return { ref: 'sha', sha: v.toLowerCase() };
  throw new Error(`version ${JSON.stringify(v)} is neither a branch nor a tag of ${p.repo}, nor a commit SHA`);
}

const short = (sha: string | undefined) => (sha ? sha.slice(0, 7) : '(none)');
const atTarget = (head: string | undefined, t: { ref: GitRefKind; sha: string }) =>
  head !== undefined && (t.ref === 'sha' ? head.startsWith(t.sha) : head === t.sha);

function shaDiff(dest: string, before: string | undefined, after: string): string {
  return createTwoFilesPatch(`${dest} (host)`, `${dest} (planned)`, before ? `${before}\n` : '', `${after}\n`, '', '', { context: 3 });
}

export function gitPlan(p: GitParams, s: GitState, ctx: ModuleContext): Planned<GitOp>[] {
  if (s.gitMissing) throw new Error(`git is not installed on the host (no ${p.executable ?? 'git'}): install the git package first`);
  const v = versionOf(p);
  if (!s.exists) {
    if (s.destNotEmpty) throw new Error(`destination path ${p.dest} already exists and is not an empty directory (nor a git repository)`);
    const t = gitTarget(p, s);
    if (p.clone === false) return [];
    return [
      {
        summary: `clone ${p.repo} into ${p.dest}${p.bare ? ' (bare)' : ''} at ${short(t.sha)}${v === 'HEAD' ? '' : ` (${v})`}`,
        diff: ctx.diff ? shaDiff(p.dest, undefined, t.sha) : undefined,
        op: { kind: 'clone', ...t },
      },
    ];
  }
  if (p.update === false) return [];
  const out: Planned<GitOp>[] = [];
  if (s.mods) {
    if (!p.force) throw new Error(`Local modifications exist in the destination: ${p.dest} (force=no).`);
    out.push({ summary: `discard local modifications in ${p.dest} (force)`, op: { kind: 'reset' } });
  }
  if (s.url === undefined) throw new Error(`${p.dest} has no remote named ${remoteOf(p)}`);
  if (s.url !== p.repo) out.push({ summary: `remote ${remoteOf(p)} of ${p.dest}: ${s.url} → ${p.repo}`, op: { kind: 'set_url' } });
  const t = gitTarget(p, s);
  if (!atTarget(s.head, t)) {
    out.push({
      summary: `update ${p.dest}: ${short(s.head)} → ${short(t.sha)}${v === 'HEAD' ? '' : ` (${v})`}`,
      diff: ctx.diff ? shaDiff(p.dest, s.head, t.sha) : undefined,
      op: { kind: 'update', ...t },
    });
  } else if (s.subsDirty) {
    out.push({ summary: `update the submodules of ${p.dest}`, op: { kind: 'submodules' } });
  }
  return out;
}

/** Ansible's fetch(): the refspecs it fetches for the version (minimal with depth, else all branches and tags). */
export function fetchArgs(p: GitParams, ref: GitRefKind): string[] {
  const r = remoteOf(p);
  const v = versionOf(p);
  const args: string[] = [];
  let refspecs: string[] = [];
  if (p.depth) {
    if (p.refspec) refspecs.push(q(p.refspec));
    else if (ref === 'head') refspecs.push('"$hb"');
    else if (ref === 'branch') {
      refspecs.push(`$([ "$hb" = ${q(v)} ] || echo ${q(`+refs/heads/${v}:refs/heads/${v}`)})`);
      refspecs.push(q(`+refs/heads/${v}:refs/remotes/${r}/${v}`));
    } else if (ref === 'tag') refspecs.push(q(`+refs/tags/${v}:refs/tags/${v}`));
    if (refspecs.length) args.push('--depth', String(p.depth));
  }
  if (!p.depth || !refspecs.length) {
    if (p.bare) refspecs = [q('+refs/heads/*:refs/heads/*'), q('+refs/tags/*:refs/tags/*')];
    else {
      args.push('--tags');
      refspecs = [q(`+refs/heads/*:refs/remotes/${r}/*`)];
    }
    if (p.refspec) refspecs.push(q(p.refspec));
  }
  if (p.force) args.push('--force');
  return [...args, q(r), ...refspecs];
}

/** Ansible's switch_version: check out the version (a branch tracked locally, reset to the remote's tip). */
function switchVersion(p: GitParams, ref: GitRefKind): string[] {
  const r = q(remoteOf(p));
  const v = q(versionOf(p));
  if (ref === 'head') {
    return [
      'hb=$($g -C "$d" symbolic-ref -q --short HEAD 2>/dev/null) || hb=$($g -C "$d" symbolic-ref -q --short "refs/remotes/$r/HEAD" | sed "s|^$r/||")',
      '$g -C "$d" checkout --force "$hb"',
      `$g -C "$d" reset --hard ${r}/"$hb" --`,
    ];
  }
  if (ref === 'branch') {
    return [
      ...(p.depth
        ? [
            `$g -C "$d" show-ref --verify -q refs/heads/${v} || $g -C "$d" fetch --depth ${p.depth} ${r} ${q(`+refs/heads/${versionOf(p)}:refs/remotes/${remoteOf(p)}/${versionOf(p)}`)}`,
          ]
        : []),
      `if $g -C "$d" show-ref --verify -q refs/heads/${v}; then`,
      `  $g -C "$d" checkout --force ${v}; $g -C "$d" reset --hard ${r}/${v}`,
      `else $g -C "$d" checkout --track -b ${v} ${r}/${v}; fi`,
    ];
  }
  return [`$g -C "$d" checkout --force ${v}`];
}

function submodules(p: GitParams): string[] {
  if (p.recursive === false || p.bare) return [];
  return ['if [ -f "$d/.gitmodules" ]; then $g -C "$d" submodule sync --recursive; $g -C "$d" submodule update --init --recursive; fi'];
}

export function gitApply(p: GitParams, ops: GitOp[]): string {
  const r = remoteOf(p);
  const v = versionOf(p);
  const lines = ['set -e', `g=${exe(p)}; d=${q(p.dest)}; r=${q(r)}`, ...gitEnv(p)];
  lines.push(
    'hb=$($g -C "$d" symbolic-ref -q --short HEAD 2>/dev/null) || hb=$($g -C "$d" symbolic-ref -q --short "refs/remotes/$r/HEAD" 2>/dev/null | sed "s|^$r/||") || true',
  );
  for (const op of ops) {
    switch (op.kind) {
      case 'clone': {
        // Ansible's clone(): --origin (or --bare), --depth with --branch for a branch or tag, --reference, --single-branch.
        const args = p.bare ? ['--bare'] : ['--origin', q(r)];
        const branchOrTag = op.ref === 'branch' || op.ref === 'tag';
        if (p.depth && (v === 'HEAD' || p.refspec)) args.push('--depth', String(p.depth));
        else if (p.depth && branchOrTag) args.push('--depth', String(p.depth), '--branch', q(v));
        if (p.reference) args.push('--reference', q(p.reference));
        if (p.single_branch) {
          args.push('--single-branch');
          if (branchOrTag) args.push('--branch', q(v));
        }
        lines.push('mkdir -p -- "$(dirname -- "$d")"', `$g clone ${args.join(' ')} ${q(p.repo)} "$d"`);
        if (p.bare && r !== 'origin') lines.push(`$g -C "$d" remote add ${q(r)} ${q(p.repo)}`);
        if (p.refspec) lines.push(`$g -C "$d" fetch ${p.depth ? `--depth ${p.depth} ` : ''}${q(r)} ${q(p.refspec)}`);
        if (!p.bare) lines.push(...switchVersion(p, op.ref));
        lines.push(...submodules(p));
        break;
      }
      case 'reset':
        lines.push('$g -C "$d" reset --hard HEAD');
        break;
      case 'set_url':
        lines.push(`$g -C "$d" remote set-url ${q(r)} ${q(p.repo)}`);
        break;
      case 'update':
        lines.push(`$g -C "$d" fetch ${fetchArgs(p, op.ref).join(' ')}`);
        if (!p.bare) lines.push(...switchVersion(p, op.ref));
        lines.push(...submodules(p));
        break;
      case 'submodules':
        lines.push(...submodules(p));
        break;
    }
  }
  lines.push('echo "after=$($g -C "$d" rev-parse HEAD)"');
  return lines.join('\n');
}

export default defineModule<GitParams, GitState, GitOp>({
  name: 'git',
  description:
    "Clone a git repository and check out a version (branch, tag or commit), as Ansible's git module; check mode asks the remote (ls-remote).",
  schema,
  probe: (p) => gitProbe(p),
  parse: (out, p) => gitParse(out, p),
  plan: (p, _prep, s, ctx) => gitPlan(p, s, ctx),
  apply: (p, _prep, _s, ops) => gitApply(p, ops),
  interpret: (_p, _prep, out) => {
    const after = parseKv(out.stdout).after;
    return after ? { result: { after } } : {};
  },
  // Ansible's result: before (null before a clone), after (the commit checked out, or the remote's in check mode), remote_url_changed.
  registerData: (p, _prep, s) => {
    if (!s.exists) return { before: null, after: s.lsRan && !s.lsError ? gitTargetOrNull(p, s) : null };
    if (p.update === false) return { before: s.head ?? null, after: s.head ?? null };
    return {
      before: s.head ?? null,
      after: s.lsRan && !s.lsError ? (gitTargetOrNull(p, s) ?? s.head ?? null) : (s.head ?? null),
      remote_url_changed: s.url !== undefined && s.url !== p.repo,
    };
  },
});

function gitTargetOrNull(p: GitParams, s: GitState): string | null {
  try {
    const t = gitTarget(p, s);
    return t.ref === 'sha' && s.head?.startsWith(t.sha) ? s.head : t.sha;
  } catch {
    return null;
  }
}
