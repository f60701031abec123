/**
 * Python 3 programs run on the host: uri, wait_for and unarchive do their work ON THE TARGET, as
 * Ansible's modules do, with the python3 of a minimal Debian host (curl and wget may be absent;
 * python3 is there, it is what Ansible itself needs on a target). The program travels on the
 * remote shell's stdin in a heredoc (`python3 - <<'TAG'`), and its parameters inside it as
 * base64-encoded JSON: nothing of either is in a remote argv, so a password or a secret header
 * never shows in `ps`.
 *
 * The program prints one line `kiln_py=<base64 of a JSON object>`; `parsePy` reads it back.
 */
import { sha256 } from './bytes.ts';
import { q } from './quote.ts';
import type { ExecResult } from '../core/exec.ts';

/** Shell that fails (exit 3) with a clear message when the host has no python3. */
export function needPython(module: string): string {
  return `command -v python3 >/dev/null 2>&1 || { echo ${q(`${module} runs with python3 on the host: install the python3 package first`)} >&2; exit 3; }`;
}

/**
 * Python prelude: `P` (the parameters), `out(obj)` (prints the result line) and
 * `add_path_info(res, path)`: the path's attributes AnsibleModule.exit_json adds to a result that
 * has a `path` (state, uid, gid, mode, size, owner, group; state `absent` when it does not exist).
 */
const PRELUDE = `import base64, json, sys
P = json.loads(base64.b64decode(KILN_PARAMS).decode('utf-8'))
def out(obj):
    sys.stdout.write('kiln_py=' + base64.b64encode(json.dumps(obj).encode('utf-8')).decode('ascii') + '\\n')
    sys.stdout.flush()
def add_path_info(res, path):
    import grp as _grp, os as _os, pwd as _pwd, stat as _st
    if not _os.path.exists(path):
        res['state'] = 'absent'
        return
    s = _os.lstat(path)
    res['state'] = 'link' if _os.path.islink(path) else 'directory' if _os.path.isdir(path) else 'hard' if s.st_nlink > 1 else 'file'
    res.update({'uid': s.st_uid, 'gid': s.st_gid, 'mode': '0%03o' % _st.S_IMODE(s.st_mode), 'size': s.st_size})
    try:
        res['owner'] = _pwd.getpwuid(s.st_uid).pw_name
    except KeyError:
        pass
    try:
        res['group'] = _grp.getgrgid(s.st_gid).gr_name
    except KeyError:
        pass
`;

/** Shell running `program` with python3, its parameters `params` embedded as base64 JSON (never in argv). */
export function pythonScript(program: string, params: unknown): string {
  const b64 = Buffer.from(JSON.stringify(params), 'utf8').toString('base64');
  const text = `KILN_PARAMS = '${b64}'\n${PRELUDE}${program}`;
  const tag = `KILN_PY_${sha256(text).slice(0, 12)}`;
  return `python3 - <<'${tag}'\n${text}${text.endsWith('\n') ? '' : '\n'}${tag}`;
}

/** The program's result object (the last `kiln_py=` line), or undefined when it printed none. */
export function parsePy(out: ExecResult | string): Record<string, unknown> | undefined {
  const text = typeof out === 'string' ? out : out.stdout;
  let found: string | undefined;
  for (const line of text.split('\n')) if (line.startsWith('kiln_py=')) found = line.slice('kiln_py='.length);
  if (found === undefined) return undefined;
  return JSON.parse(Buffer.from(found, 'base64').toString('utf8')) as Record<string, unknown>;
}
