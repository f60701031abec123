/**
 * `unarchive`: unpack a tar (plain, gz, bz2, xz) or zip archive into an existing directory on the
 * host, as Ansible's unarchive does, changed only when the archive's members differ from what is
 * in dest.
 *
 * The work is done on the host with python3's tarfile/zipfile (no tar, unzip or zipinfo needed):
 * - the archive comes from the controller (`src`, the default: its bytes travel base64-encoded in
 *   the script's heredoc and their SHA-256 is checked on the host), from the host (`remote_src`)
 *   or from a URL downloaded by the host (`remote_src` with a `src` URL; `validate_certs`);
 * - the probe compares every selected member (include/exclude, `--strip-components`) with dest,
 *   as Ansible's `tar --diff` / zipinfo comparison does: type, size, content (SHA-256), mode,
 *   modification time, owner (as root) and a link's target; owner/group/mode given in the task are
 *   compared with the task's values instead; `keep_newer` leaves newer files alone;
 * - the apply extracts the whole selection into a temp directory INSIDE dest (same filesystem),
 *   and only when every member was extracted (and checked against the archive's SHA-256) moves
 *   them into place, each with an atomic rename; a corrupt archive, a full disk or a dropped
 *   connection during extraction leaves dest as it was (the temp directory is removed);
 * - verify is the probe again: the archive and dest must no longer differ.
 *
 * The registered result is Ansible's (dest, src, handler, files with list_files, extract_results,
 * and dest's uid/gid/owner/group/mode/size/state); `extract_results.cmd` names Kiln's extractor
 * instead of the tar/unzip command line Ansible would have run.
 */
import { isVaultText } from '../../core/secret/vault.ts';
import { sha256 } from '../../sh/bytes.ts';
import { defineModule, type FromSchema, type Planned } from '../contract.ts';
import { needPython, parsePy, pythonScript } from '../../sh/python.ts';
import { normMode } from './attrs.ts';

const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['src', 'dest'],
  properties: {
    src: {
      type: 'string',
      minLength: 1,
      description:
        "the archive: a file in the role's files/ (or relative to the playbook) copied from the controller; with remote_src, a path on the host or an http(s):// URL the host downloads",
    },
    dest: { type: 'string', pattern: '^/', description: 'absolute path of an existing directory on the host to unpack into' },
    remote_src: {
      type: 'boolean',
      description: 'src is on the host (or a URL fetched by the host) rather than on the controller (default false)',
    },
    creates: { type: 'string', minLength: 1, description: 'path on the host: when it exists, nothing is unpacked' },
    list_files: { type: 'boolean', description: "register the archive's member names as `files` (default false)" },
    include: {
      type: 'array',
      items: { type: 'string', minLength: 1 },
      description: 'only the members matching one of these shell patterns (fnmatch) are unpacked',
    },
    exclude: {
      type: 'array',
      items: { type: 'string', minLength: 1 },
      description: 'members matching one of these shell patterns (fnmatch) are not unpacked',
    },
    extra_opts: {
      type: 'array',
      items: { type: 'string', minLength: 1 },
      description:
        'only --strip-components=N (or "--strip-components", "N"): drop the first N path components of every member; other tar/unzip options are refused (Kiln does not run tar or unzip)',
    },
    keep_newer: { type: 'boolean', description: "do not replace files in dest that are newer than the archive's (default false)" },
    validate_certs: { type: 'boolean', description: "with a URL src: verify the server's TLS certificate (default true)" },
    owner: { type: 'string', minLength: 1, description: 'owner of every unpacked path' },
    group: { type: 'string', minLength: 1, description: 'group of every unpacked path' },
    mode: {
      type: ['string', 'integer'],
      pattern: '^0?[0-7]{3,4}$',
      minimum: 0,
      maximum: 0o7777,
      description: 'octal mode of every unpacked path, e.g. "0755" (quote it)',
    },
  },
} as const;

export type UnarchiveParams = FromSchema<typeof schema>;

export interface UnarchivePrep {
  /** The controller's archive (not with remote_src). */
  bytes?: Buffer;
  strip: number;
}

export interface UnarchiveState {
  /** creates exists: Ansible's skip message. */
  skip?: string;
  /** Members that differ from dest, each "name: reason". */
  differences: string[];
  /** Ansible's result fields (dest, src, handler, files, dest's attributes). */
  result: Record<string, unknown>;
}

export type UnarchiveOp = { kind: 'extract' };

/** The N of `--strip-components`, from extra_opts (refusing anything else). */
export function stripComponents(opts: readonly string[] | undefined): number {
  if (!opts?.length) return 0;
  let n: number | undefined;
  for (let i = 0; i < opts.length; i++) {
    const o = opts[i]!;
    const m = /^--strip-components(?:=([0-9]+))?$/.exec(o);
    if (m?.[1] !== undefined) n = Number(m[1]);
    else if (m && /^[0-9]+$/.test(opts[i + 1] ?? '')) n = Number(opts[++i]);
    else
      throw new Error(
        `extra_opts ${JSON.stringify(o)}: Kiln unpacks with python3 on the host, not tar or unzip; only --strip-components=N is supported`,
      );
  }
  return n ?? 0;
}

export function unarchivePlan(p: UnarchiveParams, s: UnarchiveState): Planned<UnarchiveOp>[] {
  normMode(p.mode);
  if (s.skip !== undefined || !s.differences.length) return [];
  const n = s.differences.length;
  const shown = s.differences.slice(0, 5).join('; ');
  return [
    {
      summary: `unpack ${p.src} into ${p.dest}: ${n} member${n === 1 ? '' : 's'} differ (${shown}${n > 5 ? '; …' : ''})`,
      diff: `--- ${p.dest} (host)\n+++ ${p.dest} (planned)\n${s.differences.map((d) => `~ ${d}`).join('\n')}\n`,
      op: { kind: 'extract' },
    },
  ];
}

/** The program: compare (probe) or extract (apply); see the file comment. */
const PROGRAM = String.raw`
import base64 as b64, bz2, fnmatch, grp, gzip, hashlib, io, lzma, os, pwd, shutil, ssl, stat as st, tarfile, tempfile, time, zipfile
import urllib.request as ur

dest, mode_s, extract = P['dest'], P['mode'], P['extract']
want_mode = int(mode_s, 8) if mode_s else None
def uid_of(n):
    if n is None: return None
    try: return pwd.getpwnam(n).pw_uid
    except KeyError: return int(n) if str(n).isdigit() else fail('unknown owner %s' % n)
def gid_of(n):
    if n is None: return None
    try: return grp.getgrnam(n).gr_gid
    except KeyError: return int(n) if str(n).isdigit() else fail('unknown group %s' % n)
def fail(msg):
    out({'failed': True, 'msg': msg})
    sys.exit(0)
want_uid, want_gid = uid_of(P['owner']), gid_of(P['group'])
root = os.geteuid() == 0

if P['creates'] and os.path.exists(P['creates']):
    out({'skip': 'skipped, since %s exists' % P['creates']})
    sys.exit(0)
if not os.path.isdir(dest):
    fail("dest '%s' must be an existing dir" % dest)

tmpfiles = []
src = P['src']
if P['b64'] is not None:
    data = b64.b64decode(P['b64'])
    if hashlib.sha256(data).hexdigest() != P['sha256']:
        fail('the archive %s arrived damaged (SHA-256 differs from the controller\'s)' % src)
    fd, path = tempfile.mkstemp(prefix='.kiln-archive.')
    with os.fdopen(fd, 'wb') as f: f.write(data)
    tmpfiles.append(path)
elif '://' in src:
    ctx = ssl.create_default_context()
    if not P['validate_certs']:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    fd, path = tempfile.mkstemp(prefix='.kiln-archive.')
    try:
        with ur.urlopen(ur.Request(src, headers={'User-agent': 'ansible-httpget'}), timeout=30, context=ctx) as r, os.fdopen(fd, 'wb') as f:
            shutil.copyfileobj(r, f)
    except Exception as e:
        os.remove(path)
        fail('Failure downloading %s, %s' % (src, e))
    tmpfiles.append(path)
else:
    path = src
    if not os.path.exists(path):
        fail("Source '%s' does not exist" % src)
    if not os.access(path, os.R_OK):
        fail("Source '%s' not readable" % src)
def cleanup():
    for t in tmpfiles:
        try: os.remove(t)
        except OSError: pass

with open(path, 'rb') as f:
    magic = f.read(6)
if zipfile.is_zipfile(path):
    handler = 'ZipArchive'
elif tarfile.is_tarfile(path):
    handler = 'TgzArchive' if magic[:2] == b'\x1f\x8b' else 'TarBzipArchive' if magic[:3] == b'BZh' else 'TarXzArchive' if magic[:6] == b'\xfd7zXZ\x00' else 'TarArchive'
else:
    cleanup()
    fail('Failed to find handler for "%s". Make sure the required command to extract the file is installed.' % src)

strip = P['strip']
def transformed(name):
    parts = [x for x in name.split('/') if x not in ('', '.')]
    if len(parts) < strip: return None
    return '/'.join(parts[strip:])
def selected(name):
    if P['include'] and not any(fnmatch.fnmatch(name, pat) for pat in P['include']): return False
    if any(fnmatch.fnmatch(name, pat) for pat in P['exclude']): return False
    return True

# Members: (listed name, relative path, kind, size, mode, mtime, uid, gid, link, reader)
members = []
if handler == 'ZipArchive':
    z = zipfile.ZipFile(path)
    for zi in z.infolist():
        rel = transformed(zi.filename)
        if rel is None: continue
        isdir = zi.is_dir()
        listed = rel + ('/' if isdir and rel else '')
        if not selected(listed): continue
        m = (zi.external_attr >> 16) & 0o7777
        if not m:
            um = os.umask(0); os.umask(um)
            m = (0o777 if isdir else 0o666) & ~um
        kind = 'dir' if isdir else 'link' if st.S_ISLNK(zi.external_attr >> 16) else 'file'
        mt = int(time.mktime(zi.date_time + (0, 0, -1)))
        link = z.read(zi).decode('utf-8') if kind == 'link' else None
        members.append((listed, rel, kind, zi.file_size, m, mt, None, None, link, (lambda zi=zi: z.read(zi))))
else:
    t = tarfile.open(path)
    for ti in t.getmembers():
        rel = transformed(ti.name)
        if rel is None: continue
        listed = rel + ('/' if ti.isdir() and rel else '')
        if not selected(listed): continue
        kind = 'dir' if ti.isdir() else 'file' if ti.isreg() else 'link' if ti.issym() else 'hard' if ti.islnk() else 'other'
        u = g = None
        if root:
            try: u = pwd.getpwnam(ti.uname).pw_uid
            except KeyError: u = ti.uid
            try: g = grp.getgrnam(ti.gname).gr_gid
            except KeyError: g = ti.gid
        members.append((listed, rel, kind, ti.size, ti.mode & 0o7777, int(ti.mtime), u, g,
                        ti.linkname if kind in ('link', 'hard') else None, (lambda ti=ti: t.extractfile(ti).read())))

for m in members:
    parts = m[1].split('/')
    if '..' in parts or m[1].startswith('/'):
        cleanup()
        fail('unsafe member %s in %s: it would be unpacked outside dest' % (m[0], src))

def sha(b): return hashlib.sha256(b).hexdigest()
def file_sha(p):
    h = hashlib.sha256()
    with open(p, 'rb') as f:
        for blk in iter(lambda: f.read(65536), b''): h.update(blk)
    return h.hexdigest()

def differs(m):
    listed, rel, kind, size, mode, mtime, u, g, link, read = m
    p = os.path.join(dest, rel) if rel else dest
    if not os.path.lexists(p): return 'missing'
    s = os.lstat(p)
    if kind == 'dir':
        if not st.S_ISDIR(s.st_mode): return 'not a directory'
    elif kind == 'link':
        if not st.S_ISLNK(s.st_mode): return 'not a symlink'
        if os.readlink(p) != link: return 'link target differs'
        return None
    elif kind == 'file':
        if not st.S_ISREG(s.st_mode): return 'not a regular file'
        if P['keep_newer'] and s.st_mtime > mtime: return None
        if s.st_size != size: return 'size differs'
        if file_sha(p) != sha(read()): return 'contents differ'
        if int(s.st_mtime) != mtime: return 'mod time differs'
    else:
        return None
    wm = want_mode if want_mode is not None else mode
    if st.S_IMODE(s.st_mode) != wm: return 'mode %04o, wanted %04o' % (st.S_IMODE(s.st_mode), wm)
    wu = want_uid if want_uid is not None else u
    if wu is not None and s.st_uid != wu: return 'owner differs'
    wg = want_gid if want_gid is not None else g
    if wg is not None and s.st_gid != wg: return 'group differs'
    return None

diffs = []
for m in members:
    try:
        d = differs(m)
    except Exception as e:
        cleanup()
        fail('cannot read %s from %s: %s' % (m[0], src, e))
    if d: diffs.append('%s: %s' % (m[0] or './', d))

res = {'dest': dest, 'src': src, 'handler': handler}
if P['list_files']:
    res['files'] = [m[0] for m in members]

if extract and diffs:
    work = tempfile.mkdtemp(prefix='.kiln-unarchive.', dir=dest)
    try:
        # 1. Everything into the temp dir, each file checked against the archive's bytes.
        for listed, rel, kind, size, mode, mtime, u, g, link, read in members:
            tp = os.path.join(work, rel) if rel else work
            if kind == 'dir':
                os.makedirs(tp, exist_ok=True)
            elif kind in ('file', 'link', 'hard'):
                os.makedirs(os.path.dirname(tp), exist_ok=True)
                if kind == 'link':
                    os.symlink(link, tp)
                elif kind == 'hard':
                    shutil.copyfile(os.path.join(work, transformed(link) or ''), tp)
                else:
                    data = read()
                    with open(tp, 'wb') as f: f.write(data)
                    if file_sha(tp) != sha(data):
                        raise Exception('checksum of the unpacked %s differs from the archive' % listed)
            if kind in ('file', 'hard', 'dir'):
                os.chmod(tp, want_mode if want_mode is not None else mode)
            if kind != 'dir':
                os.utime(tp, (mtime, mtime), follow_symlinks=False)
            if root or want_uid is not None or want_gid is not None:
                cu = want_uid if want_uid is not None else u if u is not None else -1
                cg = want_gid if want_gid is not None else g if g is not None else -1
                os.lchown(tp, cu, cg)
        # 2. Nothing can fail on the archive now: move into place (an atomic rename per path).
        for listed, rel, kind, size, mode, mtime, u, g, link, read in members:
            tp = os.path.join(work, rel) if rel else work
            dp = os.path.join(dest, rel) if rel else dest
            if kind == 'dir':
                if os.path.lexists(dp) and not os.path.isdir(dp) or os.path.islink(dp):
                    os.remove(dp)
                if not os.path.isdir(dp):
                    os.mkdir(dp)
                s = os.stat(tp)
                os.chmod(dp, st.S_IMODE(s.st_mode))
                if root or want_uid is not None or want_gid is not None:
                    os.chown(dp, s.st_uid, s.st_gid)
            elif kind in ('file', 'link', 'hard'):
                if P['keep_newer'] and os.path.isfile(dp) and not os.path.islink(dp) and os.stat(dp).st_mtime > mtime:
                    continue
                if os.path.isdir(dp) and not os.path.islink(dp):
                    shutil.rmtree(dp)
                os.replace(tp, dp)
        # 3. Directory dates last (moving into a directory changes its date).
        for listed, rel, kind, size, mode, mtime, u, g, link, read in reversed(members):
            if kind == 'dir':
                os.utime(os.path.join(dest, rel) if rel else dest, (mtime, mtime))
    except Exception as e:
        shutil.rmtree(work, ignore_errors=True)
        cleanup()
        fail('failed to unpack %s into %s: %s (dest left as it was)' % (src, dest, e))
    shutil.rmtree(work, ignore_errors=True)
    res['extract_results'] = {'cmd': ['python3', 'kiln-unarchive', handler, src, dest], 'rc': 0, 'out': '', 'err': ''}
    res['changed'] = True
cleanup()
s = os.stat(dest)
res.update({'uid': s.st_uid, 'gid': s.st_gid, 'mode': '0%03o' % st.S_IMODE(s.st_mode), 'size': s.st_size, 'state': 'directory'})
try: res['owner'] = pwd.getpwuid(s.st_uid).pw_name
except KeyError: pass
try: res['group'] = grp.getgrgid(s.st_gid).gr_name
except KeyError: pass
res['differences'] = diffs
out(res)
`;

export function unarchiveArgs(p: UnarchiveParams, prep: UnarchivePrep, extract: boolean): Record<string, unknown> {
  return {
    src: p.src,
    dest: p.dest,
    b64: prep.bytes ? prep.bytes.toString('base64') : null,
    sha256: prep.bytes ? sha256(prep.bytes) : null,
    creates: p.creates ?? null,
    list_files: p.list_files ?? false,
    include: p.include ?? [],
    exclude: p.exclude ?? [],
    strip: prep.strip,
    keep_newer: p.keep_newer ?? false,
    validate_certs: p.validate_certs ?? true,
    owner: p.owner ?? null,
    group: p.group ?? null,
    mode: normMode(p.mode) ?? null,
    extract,
  };
}

const script = (p: UnarchiveParams, prep: UnarchivePrep, extract: boolean) =>
  `${needPython('unarchive')}\n${pythonScript(PROGRAM, unarchiveArgs(p, prep, extract))}`;

export function unarchiveParse(r: Record<string, unknown> | undefined, stderr: string): UnarchiveState {
  if (!r) throw new Error(`unarchive: the probe failed: ${stderr.trim()}`);
  if (r.failed) throw new Error(String(r.msg));
  if (r.skip !== undefined) return { skip: String(r.skip), differences: [], result: {} };
  const { differences, ...result } = r;
  return { differences: differences as string[], result };
}

export default defineModule<UnarchiveParams, UnarchiveState, UnarchiveOp, UnarchivePrep>({
  name: 'unarchive',
  description:
    'Unpack a tar (gz, bz2, xz) or zip archive into a directory on the host, only when its members differ, never leaving a half-unpacked tree.',
  schema,
  prepare(p, ctx) {
    const strip = stripComponents(p.extra_opts);
    normMode(p.mode);
    if (p.remote_src) return { strip };
    if (/^[a-z]+:\/\//i.test(p.src))
      throw new Error(`src ${p.src} is a URL: set remote_src: true (the host downloads it), as Ansible requires`);
    const bytes = ctx.readFile(p.src);
    if (isVaultText(bytes.subarray(0, 64).toString('latin1')))
      throw new Error(`src ${p.src} is vault-encrypted: Ansible's unarchive would decrypt it (decrypt), Kiln does not`);
    return { bytes, strip };
  },
  probe: (p, prep) => script(p, prep, false),
  parse: (out) => unarchiveParse(parsePy(out), out.stderr),
  plan: (p, _prep, s) => unarchivePlan(p, s),
  apply: (p, prep) => script(p, prep, true),
  interpret(_p, _prep, out) {
    const r = parsePy(out);
    if (!r) return { failed: out.stderr.trim() || `unarchive: exit code ${out.code}` };
    if (r.failed) return { failed: String(r.msg) };
    const { differences: _d, changed, ...result } = r;
    return { result, changed: changed === true };
  },
  registerData: (_p, _prep, s) => (s.skip !== undefined ? { skipped: true, msg: s.skip } : s.result),
});
