/**
 * `uri`: an HTTP(S) request made FROM THE HOST, as Ansible's uri module makes it: same options,
 * same result for `register` (status, url, msg, redirected, elapsed, cookies, the response headers
 * as lower-cased keys with `_` for `-`, `json` for a JSON answer, `content` with return_content,
 * `path` and the file's attributes with `dest`), same failure ("Status code was 404 and not
 * [200]: …"), and `changed` as Ansible decides it: false, except when the answer was written to
 * `dest` (any answer in status_code other than 304 Not Modified: Ansible reports it changed even
 * when the file's content was already the same).
 *
 * The request runs with the host's python3 (urllib, a port of ansible-core 2.14's open_url: basic
 * and digest auth, force_basic_auth, ~/.netrc, redirects safe/all/none/urllib2, client
 * certificates, a CA file, ciphers, proxies from the environment, a unix socket, gzip). python3 is
 * on every Debian host Ansible manages; curl is not (and would need the secrets in a config file).
 * The program and its parameters travel in a heredoc on the remote shell's stdin: url_password,
 * secret headers and a secret body are never in a remote argv, and never in Kiln's output (the
 * summary shows the URL without its credentials; secrets are redacted from every report).
 *
 * What a run changes: the request is a one-shot action. A GET (or HEAD/OPTIONS) without `dest` has
 * no effect to predict; any other method may change something on the server that Kiln cannot know
 * in advance, so it is marked unpredictable (reported `ok` afterwards, as Ansible reports it).
 * `creates`/`removes` skip the request as Ansible does. Writing `dest` goes through a temp file
 * in dest's directory renamed into place: a failed or partial download never replaces the file.
 *
 * Check mode: Ansible 2.14's uri does not support check mode (it is skipped and registers
 * `skipped: true`). Kiln sends no request either and registers the same; it still shows what the
 * real run will do: a download to a missing `dest` (a change), an existing `dest` or a method
 * other than GET/HEAD (cannot predict), nothing for a GET.
 */
import { revealDeep } from '../../core/secret/secret.ts';
import { normMode } from '../files/attrs.ts';
import { displayUrl } from '../files/get_url.ts';
import { parseKv } from '../../sh/kv.ts';
import { q } from '../../sh/quote.ts';
import { defineModule, type FromSchema, type Planned } from '../contract.ts';
import { checkModeSkipped } from './wait_for.ts';
import { needPython, parsePy, pythonScript } from '../../sh/python.ts';

const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['url'],
  properties: {
    url: { type: 'string', pattern: '^(https?|ftp|file)://', description: 'the URL, http(s)://…, requested from the managed host' },
    method: {
      type: 'string',
      pattern: '^[A-Za-z]+$',
      description: 'HTTP method (default GET), one word; upper-cased as Ansible does',
    },
    body: {
      description:
        'the request body: a string sent as it is, or a structure encoded by body_format (json, form-urlencoded); a secret body never appears in output or argv',
    },
    body_format: {
      enum: ['raw', 'json', 'form-urlencoded'],
      description:
        'raw (default): body sent as given; json: a non-string body is JSON-encoded, Content-Type application/json; form-urlencoded: a dict or list of pairs is form-encoded, Content-Type application/x-www-form-urlencoded',
    },
    headers: {
      type: 'object',
      additionalProperties: { type: ['string', 'number', 'boolean'] },
      description: 'request headers; a header whose value is a secret (a token from the vault) is never shown nor put in argv',
    },
    status_code: {
      anyOf: [
        { type: ['integer', 'string'], pattern: '^[0-9]+$' },
        { type: 'array', items: { type: ['integer', 'string'], pattern: '^[0-9]+$' } },
      ],
      description: 'the status code(s) that mean success (default 200); any other fails the task',
    },
    return_content: {
      type: 'boolean',
      description: "register the answer's body as `content` (default false); a JSON answer is always registered as `json`",
    },
    dest: {
      type: 'string',
      pattern: '^/',
      description:
        'absolute path to write the answer to (a directory: the file name comes from the URL or Content-Disposition); an existing file is sent as If-Modified-Since; written through a temp file and a rename',
    },
    creates: { type: 'string', minLength: 1, description: 'path on the host: when it exists, no request is made' },
    removes: { type: 'string', minLength: 1, description: 'path on the host: when it does not exist, no request is made' },
    url_username: { type: 'string', description: 'user name for HTTP basic or digest authentication (Ansible alias user)' },
    url_password: {
      type: 'string',
      'x-secret': true,
      description: 'password for HTTP basic or digest authentication (Ansible alias password); never shown nor put in argv',
    },
    force_basic_auth: {
      type: 'boolean',
      description: 'send the basic Authorization header with the first request instead of after a 401 (default false)',
    },
    follow_redirects: {
      enum: ['safe', 'all', 'yes', 'none', 'no', 'urllib2'],
      description:
        "safe (default): follow redirects of GET and HEAD only; all/yes: all; none/no: none (the 3xx is the answer); urllib2: Python urllib's rule",
    },
    timeout: { type: 'integer', minimum: 1, description: 'socket timeout in seconds (default 30)' },
    validate_certs: { type: 'boolean', description: "verify the server's TLS certificate (default true)" },
    ca_path: {
      type: 'string',
      minLength: 1,
      description: "PEM file of CA certificates on the host to verify the server's certificate with",
    },
    client_cert: { type: 'string', minLength: 1, description: 'PEM client certificate on the host (with its key, or client_key)' },
    client_key: { type: 'string', minLength: 1, description: 'PEM private key on the host for client_cert' },
    ciphers: { type: 'array', items: { type: 'string', minLength: 1 }, description: 'OpenSSL cipher list for TLS (joined with ":")' },
    unix_socket: { type: 'string', minLength: 1, description: 'path of a unix socket to send the request through (Docker API, …)' },
    http_agent: { type: 'string', description: 'User-Agent header (default ansible-httpget, as Ansible)' },
    unredirected_headers: {
      type: 'array',
      items: { type: 'string' },
      description: 'headers not sent again after a redirect (Authorization to another host, …)',
    },
    decompress: { type: 'boolean', description: 'decompress a gzip-encoded answer (default true)' },
    use_netrc: { type: 'boolean', description: "without url_username, take credentials for the URL's host from ~/.netrc (default true)" },
    use_proxy: { type: 'boolean', description: 'use the proxy of the environment (http_proxy, https_proxy; default true)' },
    force: { type: 'boolean', description: 'send Cache-Control: no-cache and no If-Modified-Since (default false)' },
    owner: { type: 'string', minLength: 1, description: 'owner of the dest file' },
    group: { type: 'string', minLength: 1, description: 'group of the dest file' },
    mode: {
      type: ['string', 'integer'],
      pattern: '^0?[0-7]{3,4}$',
      minimum: 0,
      maximum: 0o7777,
      description: 'octal mode of the dest file, e.g. "0644" (quote it)',
    },
  },
} as const;

export type UriParams = FromSchema<typeof schema>;

export interface UriState {
  check: boolean;
  /** creates exists / removes is missing: the reason the request is skipped (Ansible's stdout). */
  skip?: string;
  /** dest exists (as a file or a directory). */
  destExists: boolean;
}

export type UriOp = { kind: 'request' };

const READ_ONLY = new Set(['GET', 'HEAD', 'OPTIONS']);

export const methodOf = (p: UriParams): string => (p.method ?? 'GET').toUpperCase();

/** The status codes as Ansible's list of ints. */
export function statusCodes(p: UriParams): number[] {
  const s = p.status_code;
  if (s === undefined) return [200];
  return (Array.isArray(s) ? s : [s]).map((x) => Number(x));
}

/** The URL as shown (no credentials; a secret URL is redacted by the output). */
const shownUrl = (p: UriParams) => displayUrl(String(p.url));

export function uriPlan(p: UriParams, s: UriState): Planned<UriOp>[] {
  normMode(p.mode);
  if (s.skip !== undefined) return [];
  const method = methodOf(p);
  const op: UriOp = { kind: 'request' };
  const url = shownUrl(p);
  if (p.dest !== undefined) {
    const target = `${method} ${url} → ${p.dest}`;
    if (!s.destExists) return [{ summary: `download ${target}`, action: true, op }];
    return [
      {
        summary: `download ${target} again (changed unless the server answers 304 Not Modified)`,
        action: true,
        unpredictable: true,
        op,
      },
    ];
  }
  if (READ_ONLY.has(method)) return s.check ? [] : [{ summary: `request ${method} ${url}`, action: true, op }];
  return [{ summary: `request ${method} ${url} (its effect on the server cannot be predicted)`, action: true, unpredictable: true, op }];
}

/** The parameters as the host program reads them (secrets revealed: they travel on stdin only). */
export function uriArgs(p: UriParams): Record<string, unknown> {
  const mode = normMode(p.mode);
  return {
    url: String(p.url),
    method: methodOf(p),
    body: p.body === undefined ? null : revealDeep(p.body),
    body_format: p.body_format ?? 'raw',
    headers: revealDeep(p.headers ?? {}),
    status_code: statusCodes(p),
    return_content: p.return_content ?? false,
    dest: p.dest ?? null,
    url_username: p.url_username ?? null,
    url_password: p.url_password === undefined ? null : revealDeep(p.url_password),
    force_basic_auth: p.force_basic_auth ?? false,
    follow_redirects: p.follow_redirects ?? 'safe',
    timeout: p.timeout ?? 30,
    validate_certs: p.validate_certs ?? true,
    ca_path: p.ca_path ?? null,
    client_cert: p.client_cert ?? null,
    client_key: p.client_key ?? null,
    ciphers: p.ciphers ?? null,
    unix_socket: p.unix_socket ?? null,
    http_agent: p.http_agent ?? 'ansible-httpget',
    unredirected_headers: p.unredirected_headers ?? [],
    decompress: p.decompress ?? true,
    use_netrc: p.use_netrc ?? true,
    use_proxy: p.use_proxy ?? true,
    force: p.force ?? false,
    owner: p.owner ?? null,
    group: p.group ?? null,
    mode: mode ?? null,
  };
}

/** ansible-core 2.14's uri main() and open_url/fetch_url, on the host's python3 (Linux). */
const PROGRAM = String.raw`
import datetime, gzip, io, netrc, os, re, shutil, socket, ssl, tempfile, hashlib, grp, pwd, stat as st
import http.client, http.cookiejar
import urllib.request as ur, urllib.error as ue
from urllib.parse import urlencode, urlsplit, urlparse, urlunparse, unquote

url, method, dest, body_format = P['url'], P['method'], P['dest'], P['body_format']
status_code, return_content = P['status_code'], P['return_content']
headers = dict((k, v if isinstance(v, str) else json.dumps(v) if isinstance(v, bool) else str(v)) for k, v in P['headers'].items())
body = P['body']
if body_format == 'json':
    if not isinstance(body, str):
        body = json.dumps(body)
    if 'content-type' not in [h.lower() for h in headers]:
        headers['Content-Type'] = 'application/json'
elif body_format == 'form-urlencoded':
    if not isinstance(body, str):
        pairs = list(body.items()) if isinstance(body, dict) else list(body or [])
        result = []
        for key, values in pairs:
            if isinstance(values, str) or not isinstance(values, (dict, list)):
                values = [values]
            for value in values:
                if value is not None:
                    result.append((str(key), value if isinstance(value, str) else json.dumps(value) if isinstance(value, bool) else str(value)))
        body = urlencode(result, doseq=True)
    if 'content-type' not in [h.lower() for h in headers]:
        headers['Content-Type'] = 'application/x-www-form-urlencoded'
elif body is not None and not isinstance(body, str):
    body = json.dumps(body)

class UnixConn(http.client.HTTPConnection):
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(P['unix_socket'])

class UnixHandler(ur.HTTPHandler):
    def http_open(self, req):
        return self.do_open(lambda host, **kw: UnixConn(host, **kw), req)

class WithMethod(ur.Request):
    def __init__(self, url, method, data=None, headers=None, origin_req_host=None, unverifiable=True):
        ur.Request.__init__(self, url, data, headers or {}, origin_req_host, unverifiable)
        self.method = method.upper()
    def get_method(self):
        return self.method

follow = P['follow_redirects']
class Redirect(ur.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, hdrs, newurl):
        if follow == 'urllib2':
            return ur.HTTPRedirectHandler.redirect_request(self, req, fp, code, msg, hdrs, newurl)
        if follow in ('no', 'none', False):
            raise ue.HTTPError(newurl, code, msg, hdrs, fp)
        m = req.get_method()
        if follow == 'safe' and m not in ('GET', 'HEAD'):
            raise ue.HTTPError(newurl, code, msg, hdrs, fp)
        if code < 300 or code >= 400:
            raise ue.HTTPError(req.get_full_url(), code, msg, hdrs, fp)
        data = req.data
        origin = req.origin_req_host
        hd = dict(req.headers)
        if code in (307, 308):
            pass
        else:
            data = None
            hd = dict((k, v) for k, v in hd.items() if k.lower() not in ('content-length', 'content-type', 'transfer-encoding'))
            if code == 303 and m != 'HEAD':
                m = 'GET'
            if code == 302 and m != 'HEAD':
                m = 'GET'
            if code == 301 and m == 'POST':
                m = 'GET'
        return WithMethod(newurl.replace(' ', '%20'), m, data, hd, origin, True)

cookies = http.cookiejar.LWPCookieJar()
info = {'url': url, 'status': -1}
r = None
start = datetime.datetime.utcnow()
try:
    handlers = []
    if P['unix_socket']:
        handlers.append(UnixHandler())
    parsed = urlparse(url)
    username, password = P['url_username'], P['url_password']
    if username:
        netloc = parsed.netloc
    elif '@' in parsed.netloc:
        credentials, netloc = parsed.netloc.split('@', 1)
        if ':' in credentials:
            username, password = credentials.split(':', 1)
        else:
            username, password = credentials, ''
        l = list(parsed)
        l[1] = netloc
        url = urlunparse(l)
    def basic(u, p):
        import base64 as b
        return 'Basic %s' % b.b64encode(('%s:%s' % (u, p or '')).encode('utf-8')).decode('ascii')
    if username and not P['force_basic_auth']:
        pm = ur.HTTPPasswordMgrWithDefaultRealm()
        pm.add_password(None, netloc, username, password)
        handlers += [ur.HTTPBasicAuthHandler(pm), ur.HTTPDigestAuthHandler(pm)]
    elif username:
        headers['Authorization'] = basic(username, password)
    elif P['use_netrc']:
        try:
            login = netrc.netrc(os.environ.get('NETRC')).authenticators(urlparse(url).hostname)
        except (IOError, netrc.NetrcParseError):
            login = None
        if login and login[0] and login[2]:
            headers['Authorization'] = basic(login[0], login[2])
    if not P['use_proxy']:
        handlers.append(ur.ProxyHandler({}))
    ctx = ssl.create_default_context(cafile=P['ca_path'])
    if P['ciphers']:
        ctx.set_ciphers(':'.join(P['ciphers']))
    if not P['validate_certs']:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if P['client_cert']:
        ctx.load_cert_chain(P['client_cert'], P['client_key'])
    handlers.append(ur.HTTPSHandler(context=ctx))
    handlers.append(Redirect())
    handlers.append(ur.HTTPCookieProcessor(cookies))
    opener = ur.build_opener(*handlers)
    data = body.encode('utf-8') if isinstance(body, str) else body
    req = WithMethod(url, method, data)
    if P['http_agent']:
        req.add_header('User-agent', P['http_agent'])
    if P['force']:
        req.add_header('cache-control', 'no-cache')
    elif dest is not None and os.path.isfile(dest):
        t = datetime.datetime.utcfromtimestamp(os.path.getmtime(dest)).timetuple()
        import email.utils
        req.add_header('If-Modified-Since', email.utils.formatdate(email.utils.mktime_tz(t[:9] + (0,)), usegmt=True))
    unred = [h.lower() for h in P['unredirected_headers']]
    for h in headers:
        if h.lower() in unred:
            req.add_unredirected_header(h, headers[h])
        else:
            req.add_header(h, headers[h])
    r = opener.open(req, None, P['timeout'])
    if P['decompress'] and r.headers.get('content-encoding', '').lower() == 'gzip':
        r.fp = gzip.GzipFile(fileobj=io.BytesIO(r.read()))
        r.length = None
    info.update(dict((k.lower(), v) for k, v in r.info().items()))
    th = {}
    for name, value in r.headers.items():
        name = name.lower()
        th[name] = ', '.join((th[name], value)) if name in th else value
    info.update(th)
    cl = []
    cd = {}
    for c in cookies:
        cd[c.name] = c.value
        cl.append((c.name, c.value))
    info['cookies_string'] = '; '.join('%s=%s' % c for c in cl)
    info['cookies'] = cd
    info.update(dict(msg='OK (%s bytes)' % r.headers.get('Content-Length', 'unknown'), url=r.geturl(), status=r.code))
except ue.HTTPError as e:
    r = e
    try:
        if e.fp is None:
            raise AttributeError
        b = e.read()
    except AttributeError:
        b = ''
    else:
        e.close()
    try:
        info.update(dict((k.lower(), v) for k, v in e.info().items()))
    except Exception:
        pass
    info.update({'msg': str(e), 'body': b, 'status': e.code})
except ue.URLError as e:
    info.update(dict(msg='Request failed: %s' % e, status=int(getattr(e, 'code', -1))))
except socket.error as e:
    info.update(dict(msg='Connection failure: %s' % e, status=-1))
except http.client.BadStatusLine as e:
    info.update(dict(msg='Connection failure: connection was closed before a valid response was received: %s' % e.line, status=-1))
except Exception as e:
    info.update(dict(msg='An unknown error occurred: %s' % e, status=-1))

elapsed = (datetime.datetime.utcnow() - start).seconds

if r is not None and dest is not None and os.path.isdir(dest):
    fn = None
    try:
        fn = r.headers.get_param('filename', header='content-disposition')
    except Exception:
        pass
    if not fn:
        fn = os.path.basename(urlparse(r.geturl()).path.rstrip('/')) or None
        fn = unquote(fn) if fn else None
    dest = os.path.join(dest, fn or 'index.html')

if r is not None and getattr(r, 'fp', None) is not None:
    content_type = r.headers.get_content_type()
    main_type, sub_type = content_type.split('/')
    charset = r.headers.get_content_charset() or 'utf-8'
else:
    content_type, main_type, sub_type, charset = 'application/octet-stream', 'application', 'octet-stream', 'utf-8'
if sub_type and '+' in sub_type:
    maybe_json = content_type and sub_type.partition('+')[2].lower() in ('json', 'javascript')
elif sub_type:
    maybe_json = content_type and sub_type.lower() in ('json', 'javascript')
else:
    maybe_json = False
maybe_output = maybe_json or return_content or info['status'] not in status_code
content = None
if maybe_output:
    try:
        if r is None or r.fp is None or r.closed:
            raise TypeError
        content = r.read()
    except (AttributeError, TypeError, ValueError):
        content = info.pop('body', b'')
elif r is not None:
    content = r

resp = {'redirected': info['url'] != url}
resp.update(info)
resp['elapsed'] = elapsed
resp['status'] = int(resp['status'])
resp['changed'] = False

def fail(msg):
    out({'failed': True, 'msg': msg})
    sys.exit(0)

if r is not None and dest is not None:
    if resp['status'] in status_code and resp['status'] != 304:
        d = os.path.dirname(dest) or '.'
        try:
            fd, tmp = tempfile.mkstemp(dir=d, prefix='.kiln.' + os.path.basename(dest) + '.')
        except Exception as e:
            fail('Failed to create temporary content file: %s %s' % (e, resp.get('msg', '')))
        try:
            with os.fdopen(fd, 'wb') as f:
                if isinstance(content, bytes):
                    f.write(content)
                elif content is not None:
                    shutil.copyfileobj(content, f)
            def sha1(p):
                if not os.path.isfile(p):
                    return None
                h = hashlib.sha1()
                with open(p, 'rb') as f:
                    for blk in iter(lambda: f.read(65536), b''):
                        h.update(blk)
                return h.hexdigest()
            if sha1(tmp) != sha1(dest):
                if os.path.isfile(dest):
                    s0 = os.stat(dest)
                    os.chmod(tmp, st.S_IMODE(s0.st_mode))
                    os.chown(tmp, s0.st_uid, s0.st_gid)
                else:
                    um = os.umask(0)
                    os.umask(um)
                    os.chmod(tmp, 0o666 & ~um)
                os.rename(tmp, dest)
        except Exception as e:
            fail('failed to copy %s to %s: %s' % (tmp, dest, e))
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
        resp['changed'] = True
        if P['owner'] or P['group']:
            shutil.chown(dest, P['owner'] or None, P['group'] or None)
        if P['mode']:
            os.chmod(dest, int(P['mode'], 8))
    resp['path'] = dest

uresp = {}
for k, v in resp.items():
    uresp[k.replace('-', '_').lower()] = v
if 'location' in uresp:
    loc = uresp['location']
    if '://' not in loc:
        if loc.startswith('/'):
            parts = urlsplit(url)
            loc = '%s%s' % (url.replace(parts[2], ''), loc)
        else:
            loc = '%s/%s' % (os.path.dirname(url), loc)
    uresp['location'] = loc
u_content = None
if isinstance(content, bytes):
    u_content = content.decode(charset, 'replace')
    if maybe_json:
        try:
            uresp['json'] = json.loads(u_content)
        except Exception:
            pass
for k, v in list(uresp.items()):
    if isinstance(v, bytes):
        uresp[k] = v.decode('utf-8', 'replace')
if 'path' in uresp and uresp['path'] is not None:
    add_path_info(uresp, uresp['path'])
if resp['status'] not in status_code:
    uresp['msg'] = 'Status code was %s and not %s: %s' % (resp['status'], status_code, uresp.get('msg', ''))
    uresp['failed'] = True
if return_content:
    uresp['content'] = u_content
out(uresp)
`;

export function uriProbe(p: UriParams, check: boolean): string {
  const lines = check ? ['echo check=1'] : [];
  if (p.creates !== undefined) lines.push(`[ -e ${q(p.creates)} ] && echo creates=1 || echo creates=0`);
  if (p.removes !== undefined) lines.push(`[ -e ${q(p.removes)} ] && echo removes=1 || echo removes=0`);
  if (p.dest !== undefined) lines.push(`[ -e ${q(p.dest)} ] && echo dest=1 || echo dest=0`);
  return lines.join('\n') || ':';
}

export function uriParse(out: string, p: UriParams): UriState {
  const kv = parseKv(out);
  let skip: string | undefined;
  if (p.creates !== undefined && kv.creates === '1') skip = `skipped, since '${p.creates}' exists`;
  else if (p.removes !== undefined && kv.removes === '0') skip = `skipped, since '${p.removes}' does not exist`;
  return { check: kv.check === '1', skip, destExists: kv.dest === '1' };
}

export default defineModule<UriParams, UriState, UriOp>({
  name: 'uri',
  description:
    "Make an HTTP(S) request from the host (python3), with Ansible's uri options and result (status, headers, json, content); optionally save the answer to dest.",
  schema,
  probe: (p, _prep, ctx) => uriProbe(p, ctx.check),
  parse: (out, p) => uriParse(out.stdout, p),
  plan: (p, _prep, s) => uriPlan(p, s),
  apply: (p) => `${needPython('uri')}\n${pythonScript(PROGRAM, uriArgs(p))}`,
  interpret(_p, _prep, out) {
    const r = parsePy(out);
    if (!r) return { failed: out.stderr.trim() || `uri: exit code ${out.code}`, changed: false };
    const { failed, changed, ...result } = r;
    if (failed) return { failed: String(r.msg), result, changed: false };
    return { result, changed: changed === true };
  },
  registerData(_p, _prep, s) {
    if (s.check) return checkModeSkipped('ansible.legacy.uri');
    if (s.skip !== undefined) return { stdout: s.skip, stdout_lines: [s.skip] };
    return {};
  },
});
