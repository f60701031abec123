/**
 * `fetch`: copy a file from the host to the CONTROLLER (Ansible's fetch, ansible-core 2.14).
 *
 * The local path is Ansible's: `dest/<inventory_hostname>/<src>` (normalized), or with `flat`
 * `dest` itself (`dest/` + src's basename when dest ends with '/'). `prepare` reads the local
 * copy's SHA-1 on the controller; the probe (in the host's batched script) sends the remote
 * file's SHA-1, and its content (base64) only when it differs from the local copy: a converged
 * fetch costs no transfer. The plan is a write on the controller (with a unified diff of the
 * local copy against the host's file under --diff, unless the task is no_log); `controllerApply`
 * writes it atomically (temp file in the same directory, renamed into place), after checking the
 * received bytes against the host's SHA-1 (`validate_checksum`). The host is never changed.
 *
 * Differences from Ansible, said here and in the reference: under --check Ansible skips fetch,
 * Kiln predicts it (the same path minus the write). A relative `dest` and a `src` starting with
 * `~` are refused (the schema says why). A `src` whose `..` would leave `dest/<host>/` is refused.
 *
 * The fetched content is data from the host: it is never printed, except in the --diff.
 */
import { refuseSecretInArgv } from '../../core/secret/secret.ts';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, normalize } from 'node:path';
import { createTwoFilesPatch } from 'diff';
import { parseKv } from '../../sh/kv.ts';
import { q } from '../../sh/quote.ts';
import { defineModule, type FromSchema, type ModuleContext, type Planned } from '../contract.ts';
import { DIFF_MAX_BYTES } from '../files/content.ts';

const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['src', 'dest'],
  properties: {
    src: {
      type: 'string',
      minLength: 1,
      pattern: '^[^~]',
      description: 'the file to fetch from the host (a file, not a directory; `~` paths are refused: the local path is built from src)',
    },
    dest: {
      type: 'string',
      minLength: 1,
      pattern: '^/',
      description:
        "absolute directory on the controller: the file is saved as dest/<inventory_hostname>/<src> (or dest itself with flat); a relative dest is refused (write '{{ playbook_dir }}/…')",
    },
    flat: {
      type: 'boolean',
      description: "save as dest itself (dest/ + src's basename when dest ends with '/') instead of dest/<host>/<src> (default false)",
    },
    fail_on_missing: {
      type: 'boolean',
      description: 'a missing or unreadable src, or a directory, fails the task (default true); false: the task is ok and says why',
    },
    validate_checksum: {
      type: 'boolean',
      description: "check the received bytes against the host's SHA-1 before they replace the local copy (default true)",
    },
  },
} as const;

export type FetchParams = FromSchema<typeof schema>;

export interface LocalCopy {
  sha1: string;
  md5: string;
  /** For the diff: the local copy when --diff is on and it is small enough. */
  content?: Buffer;
}

export interface FetchPrep {
  /** The local path the file is saved at. */
  local: string;
  /** The local copy as it is now (undefined: none, or not a regular file). */
  copy?: LocalCopy;
  /** The local path is a directory (the write would fail). */
  localIsDir: boolean;
  sensitive: boolean;
}

export type FetchState = { kind: 'file'; sha1: string; content?: Buffer } | { kind: 'missing' | 'dir' | 'unreadable'; message: string };

export type FetchOp = { kind: 'write'; content: Buffer; sha1: string };

const hash = (algo: 'sha1' | 'md5', b: Buffer) => createHash(algo).update(b).digest('hex');

/** Ansible's local path for `src` fetched from `host` (throws for a flat dest that is a directory, or a src leaving dest/host). */
export function localPath(p: FetchParams, host: string, isDir: (path: string) => boolean): string {
  if (p.flat) {
    if (isDir(p.dest) && !p.dest.endsWith('/'))
      throw new Error('dest is an existing directory, use a trailing slash if you want to fetch src into that directory');
    return normalize(p.dest.endsWith('/') ? `${p.dest}${basename(p.src)}` : p.dest);
  }
  const root = normalize(`${p.dest}/${host}`);
  const local = normalize(`${root}/${p.src}`);
  if (!local.startsWith(`${root}/`))
    throw new Error(`Detected directory traversal, expected to be contained in '${root}' but got '${local}'`);
  return local;
}

const isDir = (path: string) => existsSync(path) && statSync(path).isDirectory();

/** Errors of a controller-side write, by host and local path, reported by verify (RunMemory: one run). */
const writeErrors = (ctx: ModuleContext) => ctx.run.get('fetch:errors', () => new Map<string, string>());

const fetchModule = defineModule<FetchParams, FetchState, FetchOp, FetchPrep>({
  name: 'fetch',
  description:
    "Copy a file from the host to the controller (Ansible's fetch): dest/<host>/<src>, or flat. Never changes the host; --check predicts.",
  schema,
  prepare(p, ctx) {
    refuseSecretInArgv('src', p.src, 'it is an argument of the programs that read it on the host');
    const local = localPath(p, ctx.host, isDir);
    const localIsDir = isDir(local);
    let copy: LocalCopy | undefined;
    if (!localIsDir && existsSync(local) && statSync(local).isFile()) {
      const b = readFileSync(local);
      copy = { sha1: hash('sha1', b), md5: hash('md5', b), content: ctx.diff && b.length <= DIFF_MAX_BYTES ? b : undefined };
    }
    return { local, copy, localIsDir, sensitive: ctx.sensitive };
  },
  probe: (p, prep) =>
    [
      `_kp=${q(p.src)}\n`,
      `if [ -d "$_kp" ]; then echo state=dir\n`,
      `elif [ ! -e "$_kp" ]; then echo state=missing\n`,
      `elif [ ! -r "$_kp" ]; then echo state=unreadable\n`,
      `else _ks=$(sha1sum < "$_kp" | cut -d' ' -f1); echo state=file; echo "sha1=$_ks"\n`,
      `  if [ "$_ks" != ${q(prep.copy?.sha1 ?? '-')} ]; then printf 'content_b64='; base64 -w0 < "$_kp"; echo; fi\n`,
      `fi\n`,
    ].join(''),
  parse(out, p) {
    const kv = parseKv(out.stdout);
    const ignored = p.fail_on_missing === false;
    const fail = (kind: 'missing' | 'dir' | 'unreadable', message: string): FetchState => {
      if (!ignored) throw new Error(message);
      return { kind, message: kind === 'dir' ? `${message}, not transferring, ignored` : message };
    };
    // Ansible's messages (its action plugin overwrites slurp's "file not found" with this one).
    if (kv.state === 'missing') return fail('missing', 'the remote file does not exist, not transferring, ignored');
    if (kv.state === 'dir') return fail('dir', 'remote file is a directory, fetch cannot work on directories');
    if (kv.state === 'unreadable') return fail('unreadable', `file is not readable: ${p.src}`);
    if (kv.state !== 'file' || !kv.sha1) throw new Error(`fetch ${p.src}: the probe failed: ${out.stderr.trim() || `exit ${out.code}`}`);
    return { kind: 'file', sha1: kv.sha1, content: kv.content_b64 !== undefined ? Buffer.from(kv.content_b64, 'base64') : undefined };
  },
  plan(p, prep, s, ctx): Planned<FetchOp>[] {
    if (s.kind !== 'file' || s.sha1 === prep.copy?.sha1) return [];
    if (!s.content) throw new Error(`fetch ${p.src}: the host's file differs from ${prep.local} but its content was not sent`);
    const what = prep.copy ? 'update' : 'create';
    let diff: string | undefined;
    if (ctx.diff) {
      const text = (b: Buffer) => (b.includes(0) ? undefined : b.toString('utf8'));
      const before = prep.copy ? (prep.copy.content ? text(prep.copy.content) : undefined) : '';
      const after = text(s.content);
      if (prep.sensitive) diff = `(diff of ${prep.local} hidden: the task is no_log)\n`;
      else if (before === undefined || after === undefined || s.content.length > DIFF_MAX_BYTES)
        diff = `Binary or large files ${prep.local} (controller) and ${p.src} (host) differ\n`;
      else diff = createTwoFilesPatch(`${prep.local} (controller)`, `${ctx.host}:${p.src}`, before, after, '', '', { context: 3 });
    }
    return [
      {
        op: { kind: 'write', content: s.content, sha1: s.sha1 },
        summary: `${what} ${prep.local} on the controller from ${ctx.host}:${p.src} (${s.content.length} bytes)`,
        diff,
      },
    ];
  },
  controllerApply(p, prep, _s, ops, ctx) {
    const errors = writeErrors(ctx);
    const key = `${ctx.host}\0${prep.local}`;
    errors.delete(key);
    for (const op of ops) {
      if (p.validate_checksum !== false && hash('sha1', op.content) !== op.sha1) {
        errors.set(key, `checksum mismatch: the bytes received hash to ${hash('sha1', op.content)}, the host's file to ${op.sha1}`);
        continue;
      }
      const tmp = `${dirname(prep.local)}/.${basename(prep.local)}.kiln-${randomBytes(6).toString('hex')}`;
      try {
        mkdirSync(dirname(prep.local), { recursive: true });
        writeFileSync(tmp, op.content, { mode: 0o644 });
        renameSync(tmp, prep.local);
      } catch (err) {
        rmSync(tmp, { force: true });
        errors.set(key, `Failed to fetch the file: ${(err as Error).message}`);
      }
    }
  },
  apply: () => '',
  verify(p, prep, s, ctx) {
    const error = writeErrors(ctx).get(`${ctx.host}\0${prep.local}`);
    if (error) return [error];
    if (s.kind !== 'file') return [`${ctx.host}:${p.src} is gone`];
    if (!existsSync(prep.local) || !statSync(prep.local).isFile()) return [`${prep.local} was not written`];
    const now = hash('sha1', readFileSync(prep.local));
    return now === s.sha1 ? [] : [`${prep.local} (sha1 ${now}) does not hold ${ctx.host}:${p.src} (sha1 ${s.sha1})`];
  },
  registerData(p, prep, s) {
    // Ansible leaves `file` out for a directory.
    if (s.kind !== 'file') return s.kind === 'dir' ? { msg: s.message } : { file: p.src, msg: s.message };
    if (s.sha1 === prep.copy?.sha1) return { md5sum: prep.copy.md5, file: p.src, dest: prep.local, checksum: prep.copy.sha1 };
    const c = s.content ?? Buffer.alloc(0);
    return { md5sum: hash('md5', c), dest: prep.local, remote_md5sum: null, checksum: hash('sha1', c), remote_checksum: s.sha1 };
  },
  note: (_p, _prep, s) => (s.kind === 'file' ? undefined : s.message),
});

export default fetchModule;
