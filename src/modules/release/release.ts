/**
 * `release`: deploy an application directory as an immutable, versioned release with an atomic
 * switch, a health check and automatic rollback.
 *
 * Layout on the host (`root`):
 *   releases/<version>/   one directory per deployed version (the files of `src`)
 *   current -> releases/<version>   relative symlink, switched atomically (ln -s tmp + mv -T)
 *
 * `src` is a directory on the controller (the role's files/, or an absolute path). Its files
 * travel inside the ONE remote apply script (base64 heredocs), are written to a temp directory
 * beside the releases, checked against the controller's content hash, and only then renamed to
 * releases/<version>. The probe reads the current link, the releases present (with their deploy
 * time) and the content hash of releases/<version>, so a converged host costs nothing and a
 * release whose files changed under the same version is noticed: it is refused (releases are
 * immutable) unless `force: true` replaces it. It also reads which release the service's main
 * process runs (its cwd): when `current` already points to the wanted release but the service
 * still runs another one (a deploy stopped between the switch and the restart), the plan is to
 * finish that deploy: restart, health check, and roll back to the running release on failure.
 *
 * Apply: upload (unless the same content is already there), switch `current`, restart the
 * service, poll `health_url` for up to `timeout` seconds. If the check fails, `current` is
 * switched back to the previous release, the service restarted and checked again, and the task
 * FAILS saying it rolled back. On success, releases beyond `keep` are pruned, oldest first, never
 * the current, the previous or the running one. The plan predicts all of it, so `--check` says exactly
 * "deploy release X (current Y)" and which releases a successful deploy prunes.
 *
 * `prepare` reads `src` once on the controller into the typed prepared data (the files and their
 * content hash); plan pairs each summary with a typed op (deploy / finish / prune, carrying
 * whether to upload and what to prune) and apply builds its one script from the ops alone.
 *
 * No file is written in place: the files go into a fresh temp directory renamed to
 * releases/<version> as a whole (mv -T), and `current` is a symlink replaced by rename, so
 * sh/atomic.ts's atomicWrite (one regular file, content replaced) does not apply here.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { DEFAULT_HEALTH_TIMEOUT, healthLines, journalDetail, journalTail, kilnValues } from '../system/health.ts';
import { q } from '../../sh/quote.ts';
import { sha256, writeBytes } from '../../sh/bytes.ts';
import {
  type ApplyResult,
  defineModule,
  type ExecResult,
  type FromSchema,
  type ModuleContext,
  type Planned,
  type PrepareContext,
} from '../contract.ts';

const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['root', 'version', 'src', 'service', 'health_url'],
  properties: {
    root: {
      type: 'string',
      pattern: '^/.+[^/]$',
      description: 'absolute application directory on the host: holds releases/ and the current symlink',
    },
    version: {
      type: 'string',
      pattern: '^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$',
      description: 'release name (directory under releases/): letters, digits, . _ + -',
    },
    src: {
      type: 'string',
      minLength: 1,
      description:
        "directory on the controller with the release's files and directories only (any UTF-8 file names): in the role's files/ (or the role dir), or an absolute path",
    },
    owner: {
      type: 'string',
      pattern: '^[a-z_][a-z0-9_-]*$',
      description: 'owner of the release files (default root: the app user can read, not modify, its code)',
    },
    group: { type: 'string', pattern: '^[a-z_][a-z0-9_-]*$', description: 'group of the release files (default root)' },
    service: {
      type: 'string',
      pattern: '^[A-Za-z0-9@_.:-]+$',
      description: 'systemd unit restarted after the switch (it must run the code under <root>/current)',
    },
    health_url: {
      type: 'string',
      pattern: '^https?://[^\\s]+$',
      description: 'URL polled after the restart (curl or wget on the host); healthy = HTTP 2xx',
    },
    health_match: {
      type: 'string',
      minLength: 1,
      description:
        'the health response body must also contain this text; {version} stands for the release checked (the new one, or the previous one after a rollback), e.g. \'"release":"{version}"\' proves the right code answers',
    },
    timeout: {
      type: 'integer',
      minimum: 1,
      maximum: 600,
      description: 'seconds to wait for a healthy answer after a restart (default 30)',
    },
    keep: {
      type: 'integer',
      minimum: 2,
      maximum: 100,
      description: 'releases kept on the host, the current and previous included (default 5)',
    },
    force: {
      type: 'boolean',
      description:
        'replace a release whose files on the host differ from src under the same version (default false: refuse, releases are immutable)',
    },
  },
} as const;

export interface ReleaseFile {
  /** Path relative to the release directory ("lib/db.js"). */
  path: string;
  data: Buffer;
  exec: boolean;
}

export type ReleaseParams = FromSchema<typeof schema>;

/** What `prepare` read on the controller: the files of `src` and their content hash (releaseHash). */
export interface ReleasePrep {
  files: ReleaseFile[];
  hash: string;
}

/** What apply does. `upload`: the files are not on the host yet (or differ) and travel in the script. */
export type ReleaseOp =
  /** Switch `current` to the release (a deploy, or a forced redeploy), restart, check, roll back on failure. */
  | { kind: 'deploy'; upload: boolean }
  /** `current` already points to the release but the service runs another: restart, check, roll back. */
  | { kind: 'finish'; upload: boolean }
  /** Remove these old releases after a successful deploy (or at once when nothing is deployed). */
  | { kind: 'prune'; releases: string[] };

export interface ReleaseState {
  /** Raw target of <root>/current, if it is a symlink. */
  link?: string;
  /** `current` exists but is not a symlink. */
  currentNotLink: boolean;
  /** Release name `current` points to (basename of the link target). */
  current?: string;
  /** Releases present: name and deploy time (directory mtime, seconds with fraction). */
  releases: { name: string; mtime: number }[];
  /** Content hash of releases/<version>, when it exists. */
  hash?: string;
  /**
   * The release the service's running process was started from (its working directory, which
   * systemd resolved through `current` at start), when it runs from <root>/releases/<name>.
   * Differs from `current` after a deploy interrupted between the switch and the restart.
   */
  running?: string;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });
const DEFAULT_KEEP = 5;

/**
 * The content hash both sides compute, safe for any file name (a `\`, a newline, any UTF-8): the
 * sha256 of every regular file's path ("./<path>"), each ended by a NUL, sorted bytewise
 * (LC_ALL=C sort -z), followed by the files' content digests in that order, one hex per line.
 * Paths never reach a line-based format: `sha256sum` escapes a name holding `\` or a newline
 * (its line then starts with `\`), so the host side keeps only the digest of each line.
 */
export function releaseHash(files: readonly { path: string; data: Buffer }[]): string {
  const sorted = files.map((f) => ({ key: Buffer.from(`./${f.path}`), hex: sha256(f.data) })).sort((a, b) => Buffer.compare(a.key, b.key));
  const names = sorted.map((x) => Buffer.concat([x.key, Buffer.from([0])]));
  return sha256(Buffer.concat([...names, Buffer.from(sorted.map((x) => `${x.hex}\n`).join(''))]));
}

/**
 * The same hash on the host, of the directory in "$1" (prints the hex digest): the sorted
 * NUL-ended path list, then `sha256sum` over the same list (NUL-separated through xargs -0), of
 * whose lines only the digest is kept (the leading `\` of an escaped name's line dropped).
 */
export const HOST_HASH =
  `(cd "$1" && { find . -type f -print0 | LC_ALL=C sort -z; ` +
  `find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum -- | sed -e 's/^\\\\//' | cut -c1-64; } | sha256sum | cut -d' ' -f1)`;

/** Where `src` is: the role's files/ or dir (from the task file's role), the task file's dir, or absolute. */
export function resolveSrcDir(src: string, taskFile: string): string | undefined {
  if (isAbsolute(src)) return existsSync(src) ? src : undefined;
  const taskDir = dirname(resolve(taskFile));
  const candidates: string[] = [];
  // roles/<name>/tasks/main.yml → roles/<name>
  if (taskDir.split(/[\\/]/).at(-1) === 'tasks') candidates.push(join(dirname(taskDir), 'files', src), join(dirname(taskDir), src));
  candidates.push(join(taskDir, 'files', src), join(taskDir, src));
  return candidates.find((c) => existsSync(c) && statSync(c).isDirectory());
}

/**
 * Reads every regular file under `dir` (symlinks and special files are refused). Any file name
 * is accepted (a `\`, a newline, any UTF-8: the hash and the upload are safe for them) except
 * one that is not valid UTF-8, which could not be named exactly on the host.
 */
export function readTree(dir: string): ReleaseFile[] {
  const out: ReleaseFile[] = [];
  const walk = (rel: string) => {
    for (const e of readdirSync(join(dir, rel), { withFileTypes: true, encoding: 'buffer' })) {
      let name: string;
      try {
        name = UTF8.decode(e.name);
      } catch {
        const shown = JSON.stringify(rel ? `${rel}/${e.name.toString('utf8')}` : e.name.toString('utf8'));
        throw new Error(`unsupported file name in the release source: ${shown} is not valid UTF-8`);
      }
      const path = rel ? `${rel}/${name}` : name;
      if (e.isDirectory()) walk(path);
      else if (e.isFile()) {
        const full = join(dir, path);
        out.push({ path, data: readFileSync(full), exec: (statSync(full).mode & 0o111) !== 0 });
      } else throw new Error(`the release source may hold only files and directories: ${JSON.stringify(path)} is not`);
    }
  };
  walk('');
  return out;
}

export function releaseProbe(p: ReleaseParams): string {
  const root = q(p.root);
  return [
    `root=${root}`,
    'if [ -L "$root/current" ]; then printf \'link=%s\\n\' "$(readlink "$root/current")"; elif [ -e "$root/current" ]; then echo current_not_link=1; fi',
    'if [ -d "$root/releases" ]; then find "$root/releases" -mindepth 1 -maxdepth 1 -type d ! -name \'.*\' -printf \'release=%T@ %f\\n\'; fi',
    `kiln_release_hash() ${HOST_HASH}`,
    `if [ -d "$root/releases/"${q(p.version)} ]; then echo "hash=$(kiln_release_hash "$root/releases/"${q(p.version)})"; fi`,
    // The running code: the main process's cwd (the release directory systemd chdir'ed into).
    `pid=$(systemctl show -p MainPID --value -- ${q(p.service)} 2>/dev/null </dev/null)`,
    'if [ -n "$pid" ] && [ "$pid" != 0 ]; then printf \'running_cwd=%s\\n\' "$(readlink "/proc/$pid/cwd" 2>/dev/null)"; fi',
    'true',
  ].join('\n');
}

/**
 * The release name in a process's cwd ("/opt/app/releases/1.2.0", or "… (deleted)" once pruned),
 * when it is a directory directly under a releases/ directory.
 */
export function runningRelease(cwd: string): string | undefined {
  const parts = cwd
    .replace(/ \(deleted\)$/, '')
    .replace(/\/+$/, '')
    .split('/');
  return parts.length >= 3 && parts.at(-2) === 'releases' && parts.at(-1) ? parts.at(-1) : undefined;
}

export function releaseParse(out: ExecResult): ReleaseState {
  const s: ReleaseState = { currentNotLink: false, releases: [] };
  for (const line of out.stdout.split('\n')) {
    const i = line.indexOf('=');
    if (i < 0) continue;
    const k = line.slice(0, i);
    const v = line.slice(i + 1);
    if (k === 'link') s.link = v;
    else if (k === 'current_not_link') s.currentNotLink = true;
    else if (k === 'hash') s.hash = v.trim();
    else if (k === 'running_cwd') s.running = runningRelease(v);
    else if (k === 'release') {
      const m = /^(\d+(?:\.\d+)?) (.+)$/.exec(v);
      if (m) s.releases.push({ name: m[2]!, mtime: Number(m[1]) });
    }
  }
  if (s.link !== undefined) s.current = s.link.replace(/\/+$/, '').split('/').at(-1);
  return s;
}

/** Releases a successful deploy removes: beyond `keep`, oldest first, never current/previous. */
export function releasesToPrune(p: ReleaseParams, s: ReleaseState, deploying: boolean): string[] {
  const keep = p.keep ?? DEFAULT_KEEP;
  const others = s.releases.filter((r) => r.name !== p.version).sort((a, b) => a.mtime - b.mtime || a.name.localeCompare(b.name));
  const after = others.length + 1; // + the release being (or already) deployed
  if (after <= keep) return [];
  // The previous release: the one current points to now when deploying; otherwise the newest other.
  const previous = deploying ? s.current : others.at(-1)?.name;
  // The running release too: a rollback may need it, and its process runs from that directory.
  const protectedNames = new Set([p.version, s.current, previous, s.running].filter((x): x is string => x !== undefined));
  return others
    .filter((r) => !protectedNames.has(r.name))
    .slice(0, after - keep)
    .map((r) => r.name);
}

export function releasePlan(p: ReleaseParams, prep: ReleasePrep, s: ReleaseState, _ctx?: ModuleContext): Planned<ReleaseOp>[] {
  if (s.currentNotLink)
    throw new Error(`${p.root}/current exists and is not a symlink; move it away (the release module manages it as a symlink)`);
  const present = s.releases.some((r) => r.name === p.version);
  const want = prep.hash;
  const differs = present && s.hash !== want;
  if (differs && !p.force) {
    throw new Error(
      `release ${p.version} is already on the host with different files (host ${String(s.hash).slice(0, 12)}…, wanted ${want.slice(0, 12)}…): ` +
        'a release is immutable; deploy the new files under a new version (e.g. -e app_version=…), or set force: true to replace it',
    );
  }
  const out: Planned<ReleaseOp>[] = [];
  const cur = s.current ?? 'none';
  const deploying = differs || s.current !== p.version;
  const upload = !present || s.hash !== want;
  if (differs) out.push({ summary: `redeploy release ${p.version} with changed files (current ${cur})`, op: { kind: 'deploy', upload } });
  else if (deploying) out.push({ summary: `deploy release ${p.version} (current ${cur})`, op: { kind: 'deploy', upload } });
  else if (s.running !== undefined && s.running !== p.version) {
    // current already points to the release, but the service still runs an older one: a deploy
    // was interrupted between the switch and the restart. Finish it, health check included.
    out.push({
      summary: `restart ${p.service} on release ${p.version}: it still runs release ${s.running} (a deploy stopped before its restart)`,
      op: { kind: 'finish', upload },
    });
  }
  const prune = releasesToPrune(p, s, deploying);
  if (prune.length)
    out.push({
      summary: `prune old releases ${prune.join(', ')} (keep ${p.keep ?? DEFAULT_KEEP})`,
      op: { kind: 'prune', releases: prune },
    });
  return out;
}

/** The shell that writes the release's files into "$tmp" (one heredoc per file). */
function uploadScript(files: readonly ReleaseFile[]): string[] {
  const lines: string[] = [];
  const dirs = [...new Set(files.map((f) => f.path.split('/').slice(0, -1).join('/')).filter(Boolean))].sort();
  for (const d of dirs) lines.push(`mkdir -p "$tmp"/${q(d)}`);
  for (const f of files) lines.push(writeBytes(`"$tmp"/${q(f.path)}`, f.data).trimEnd());
  const exec = files.filter((f) => f.exec).map((f) => `"$tmp"/${q(f.path)}`);
  lines.push('find "$tmp" -type d -exec chmod 0755 {} + && find "$tmp" -type f -exec chmod 0644 {} +');
  if (exec.length) lines.push(`chmod 0755 ${exec.join(' ')}`);
  return lines;
}

export function releaseApply(p: ReleaseParams, prep: ReleasePrep, s: ReleaseState, ops: readonly ReleaseOp[]): string {
  let restart: { upload: boolean } | undefined;
  const prune: string[] = [];
  for (const op of ops) {
    switch (op.kind) {
      case 'deploy':
      case 'finish':
        restart = { upload: op.upload };
        break;
      case 'prune':
        prune.push(...op.releases);
        break;
    }
  }
  const owner = `${p.owner ?? 'root'}:${p.group ?? 'root'}`;
  const lines = [
    'set -u',
    'umask 022',
    `root=${q(p.root)}; version=${q(p.version)}; svc=${q(p.service)}`,
    'rel="$root/releases/$version"',
    'die() { printf \'%s\\n\' "$*" >&2; exit 3; }',
    `kiln_release_hash() ${HOST_HASH}`,
    'prune() {',
    ...prune.map((n) => `  rm -rf -- "$root/releases/"${q(n)} && echo ${q(`kiln_pruned=${n}`)}`),
    '  :',
    '}',
  ];
  if (!restart) {
    lines.push('prune', 'exit 0');
    return lines.join('\n');
  }
  lines.push(
    ...healthLines({ url: p.health_url, match: p.health_match, timeout: p.timeout, versioned: true }, 'release'),
    // reset-failed: a crash-looping release may have hit the unit's start limit.
    'restart() { systemctl daemon-reload </dev/null; systemctl reset-failed -- "$svc" </dev/null 2>/dev/null; systemctl restart -- "$svc" </dev/null || echo "systemctl restart $svc failed" >&2; }',
    'switch() { ln -sfn "$1" "$root/.current.kiln.$$" && mv -T "$root/.current.kiln.$$" "$root/current"; }',
    'mkdir -p "$root/releases" || die "cannot create $root/releases"',
    '[ -L "$root/current" ] || [ ! -e "$root/current" ] || die "$root/current exists and is not a symlink"',
    'prev=$(readlink "$root/current" 2>/dev/null || true)',
    // Finishing an interrupted deploy: the release to fall back to is the one still running.
    `running=${q(s.running ?? '')}`,
    'if [ -n "$running" ] && [ "$prev" = "releases/$version" ] && [ -d "$root/releases/$running" ]; then prev="releases/$running"; fi',
    'replaced=',
  );
  if (restart.upload) {
    lines.push(
      'tmp=$(mktemp -d "$root/releases/.kiln-upload.XXXXXX") || die "cannot create a temp directory in $root/releases"',
      'trap \'rm -rf "$tmp"\' EXIT',
      ...uploadScript(prep.files),
      `chown -R ${q(owner)} "$tmp" || die "chown ${owner} failed"`,
      `got=$(kiln_release_hash "$tmp"); [ "$got" = ${q(prep.hash)} ] || die "uploaded files of release $version do not match (hash $got)"`,
      // A same-version replacement (force): the old directory is kept aside until the check passes.
      'if [ -d "$rel" ]; then replaced="$root/releases/.kiln-replaced.$version.$$"; mv -T "$rel" "$replaced" || die "cannot move the old $rel aside"; fi',
      'mv -T "$tmp" "$rel" || die "cannot rename the upload to $rel"',
      'trap - EXIT',
    );
  }
  lines.push(
    // Deploy time = the release directory's mtime (the probe orders releases by it for pruning).
    'touch "$rel"',
    'switch "releases/$version" || die "cannot switch $root/current to releases/$version"',
    'echo "kiln_switched=releases/$version"',
    'restart',
    'if healthy "$version"; then',
    '  [ -n "$replaced" ] && rm -rf -- "$replaced"',
    '  prune',
    '  echo kiln_release=deployed',
    '  exit 0',
    'fi',
    'echo "kiln_health=$why"',
    journalTail('"$svc"', 8),
    // Roll back: the previous target (or the replaced directory of the same version). An
    // absolute link target (made by hand) works too.
    'case "$prev" in /*) pdir=$prev;; *) pdir="$root/$prev";; esac',
    'if [ -n "$replaced" ]; then',
    '  failed="$root/releases/.kiln-failed.$version.$$"',
    '  mv -T "$rel" "$failed" && mv -T "$replaced" "$rel" && rm -rf -- "$failed" || { echo kiln_release=rollback_failed; exit 4; }',
    '  back="releases/$version"',
    'elif [ -n "$prev" ] && [ "$prev" != "releases/$version" ] && [ -d "$pdir" ]; then',
    '  back=$prev',
    'else',
    '  echo kiln_release=no_previous',
    '  exit 4',
    'fi',
    'switch "$back" || { echo kiln_release=rollback_failed; exit 4; }',
    'case "$back" in /*) touch "$back";; *) touch "$root/$back";; esac',
    'restart',
    'if healthy "${back##*/}"; then echo "kiln_release=rolled_back"; else echo "kiln_release=rollback_unhealthy"; echo "kiln_health_back=$why"; fi',
    'echo "kiln_back=${back##*/}"',
    'exit 4',
  );
  return lines.join('\n');
}

export function releaseInterpret(p: ReleaseParams, out: ExecResult): ApplyResult {
  const kv = kilnValues(out.stdout);
  const one = (k: string) => kv.get(k)?.[0];
  const result = one('kiln_release');
  const pruned = kv.get('kiln_pruned') ?? [];
  const detail = journalDetail(p.service, kv);
  const failedCheck = `release ${p.version} failed its health check: no healthy answer from ${p.health_url} within ${p.timeout ?? DEFAULT_HEALTH_TIMEOUT}s (last: ${one('kiln_health') ?? 'no answer'})`;
  switch (result) {
    case 'rolled_back':
      return {
        failed: `${failedCheck}; ROLLED BACK to release ${one('kiln_back')}, which is healthy and serving${detail}`,
        result: { rolled_back: true, release: one('kiln_back') },
      };
    case 'rollback_unhealthy':
      return {
        failed: `${failedCheck}; rolled back to release ${one('kiln_back')}, but it is not healthy either (${one('kiln_health_back')})${detail}`,
        result: { rolled_back: true, release: one('kiln_back') },
      };
    case 'no_previous':
      return {
        failed: `${failedCheck}; there is no previous release to roll back to (current stays ${p.version})${detail}`,
        result: { rolled_back: false },
      };
    case 'rollback_failed':
      return { failed: `${failedCheck}; switching back to the previous release FAILED: check ${p.root}/current by hand${detail}` };
    case 'deployed':
      return { result: { release: p.version, pruned } };
    default:
      if (out.code !== 0) return { failed: out.stderr.trim() || out.stdout.trim() || `exit code ${out.code}` };
      return { result: { release: p.version, pruned } };
  }
}

export default defineModule<ReleaseParams, ReleaseState, ReleaseOp, ReleasePrep>({
  name: 'release',
  description:
    'Deploy a directory as releases/<version> with an atomic current symlink, a health check and automatic rollback; keep N releases.',
  schema,
  prepare(p: ReleaseParams, ctx: PrepareContext): ReleasePrep {
    const dir = resolveSrcDir(p.src, ctx.taskFile);
    if (!dir) throw new Error(`src directory not found: ${p.src} (looked in the role's files/ and the task file's directory)`);
    const files = readTree(dir);
    if (!files.length) throw new Error(`src directory ${dir} holds no files`);
    return { files, hash: releaseHash(files) };
  },
  probe: (p) => releaseProbe(p),
  parse: (out) => releaseParse(out),
  plan: (p, prep, s, ctx) => releasePlan(p, prep, s, ctx),
  apply: (p, prep, s, ops) => releaseApply(p, prep, s, ops),
  interpret: (p, _prep, out) => releaseInterpret(p, out),
  registerData: (p, _prep, s) => ({ release: s.current ?? null, releases: s.releases.map((r) => r.name), version: p.version }),
});
