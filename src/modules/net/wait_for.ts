/**
 * `wait_for`: wait on the host for a TCP port (started, stopped, drained), a file (present,
 * absent, holding a `search_regex` match) or just a number of seconds, as Ansible's wait_for does.
 *
 * The wait runs on the host (python3, a port of ansible-core 2.14's wait_for: same regex engine,
 * same connect/read loop, same /proc/net/tcp reading for `drained`, same messages). Ansible's
 * wait_for never reports a change: the waiting is a one-shot action whose result is `ok`.
 *
 * The probe makes ONE attempt (no sleeping) when there is no `delay`: a condition that already
 * holds costs nothing beyond the batched probe, and the task is ok with Ansible's result (elapsed
 * 0). Otherwise the plan is the wait, run by the apply, whose result (elapsed, match_groups,
 * match_groupdict, path, port, state, search_regex, and the file's attributes for a `path`) is
 * what `register` gets, or the task fails with Ansible's timeout message (or `msg`).
 *
 * Check mode: Ansible 2.14's wait_for does not support check mode and is skipped; Kiln neither
 * waits nor probes, and registers Ansible's skipped result.
 */
import { defineModule, type FromSchema, type Planned } from '../contract.ts';
import { needPython, parsePy, pythonScript } from '../../sh/python.ts';

const STATES = ['ESTABLISHED', 'FIN_WAIT1', 'FIN_WAIT2', 'SYN_RECV', 'SYN_SENT', 'TIME_WAIT'] as const;

const schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    host: {
      type: 'string',
      minLength: 1,
      description: 'host name or address to wait for (default 127.0.0.1), as seen from the managed host',
    },
    port: { type: 'integer', minimum: 1, maximum: 65535, description: 'TCP port to wait for (not with path)' },
    path: {
      type: 'string',
      minLength: 1,
      pattern: '^/',
      description: 'absolute path of a file that must exist (or be absent with state absent) before continuing (not with port)',
    },
    search_regex: {
      type: 'string',
      description:
        "Python regular expression (multiline) to find in the file (path) or in what the port's server sends (port); match_groups and match_groupdict register its groups",
    },
    state: {
      enum: ['started', 'stopped', 'present', 'absent', 'drained'],
      description:
        'started/present: the port accepts connections or the file exists (default); stopped/absent: the port refuses them or the file is gone; drained: no active connection on the port',
    },
    timeout: {
      type: 'integer',
      minimum: 0,
      description: 'seconds to wait at most (default 300); with neither port nor path, seconds to sleep',
    },
    delay: { type: 'integer', minimum: 0, description: 'seconds to wait before the first check (default 0)' },
    sleep: { type: 'integer', minimum: 0, description: 'seconds between checks (default 1)' },
    connect_timeout: { type: 'integer', minimum: 1, description: 'seconds for one connection attempt (default 5)' },
    exclude_hosts: {
      type: 'array',
      items: { type: 'string', minLength: 1 },
      description: 'with state drained: connections from these hosts (names or addresses) do not count',
    },
    active_connection_states: {
      type: 'array',
      items: { enum: STATES },
      description: `with state drained: the TCP states counted as active (default ${STATES.join(', ')})`,
    },
    msg: { type: 'string', description: 'message of the failure on a timeout, instead of the default one' },
  },
} as const;

export type WaitForParams = FromSchema<typeof schema>;

export interface WaitForState {
  /** Check mode: nothing is probed (Ansible skips wait_for). */
  check: boolean;
  /** The probe's single attempt found the condition met: Ansible's result. */
  met?: Record<string, unknown>;
}

export type WaitForOp = { kind: 'wait' };

/** Ansible's run-time argument checks, made before any host is contacted. */
export function checkWaitFor(p: WaitForParams): void {
  if (p.port !== undefined && p.path !== undefined) throw new Error('port and path parameter can not both be passed to wait_for');
  if (p.path !== undefined && p.state === 'stopped')
    throw new Error('state=stopped should only be used for checking a port in the wait_for module');
  if (p.path !== undefined && p.state === 'drained')
    throw new Error('state=drained should only be used for checking a port in the wait_for module');
  if (p.exclude_hosts !== undefined && p.state !== 'drained') throw new Error('exclude_hosts should only be with state=drained');
  if (p.state === 'drained' && p.port === undefined) throw new Error('state=drained needs port');
}

/** The parameters with Ansible's defaults, as the host program reads them. */
export function waitForArgs(p: WaitForParams, once: boolean): Record<string, unknown> {
  return {
    host: p.host ?? '127.0.0.1',
    port: p.port ?? null,
    path: p.path ?? null,
    search_regex: p.search_regex ?? null,
    state: p.state ?? 'started',
    timeout: p.timeout ?? 300,
    delay: p.delay ?? 0,
    sleep: p.sleep ?? 1,
    connect_timeout: p.connect_timeout ?? 5,
    exclude_hosts: p.exclude_hosts ?? null,
    active_connection_states: p.active_connection_states ?? [...STATES],
    msg: p.msg ?? null,
    once,
  };
}

/** A port of ansible-core 2.14's wait_for main() (Linux), with `once`: one attempt, no sleep. */
const PROGRAM = String.raw`
import binascii, datetime, errno, math, mmap, os, re, select, socket, stat as st, time, contextlib, grp, pwd

def conv_ip(host):
    addrs = []
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            for a in socket.getaddrinfo(host, None, family):
                addrs.append((family, a[4][0]))
        except socket.gaierror:
            pass
    return list(set(addrs))

def conv_hex(host):
    ips = []
    if host is not None:
        for family, ip in conv_ip(host):
            nf = binascii.b2a_hex(socket.inet_pton(family, ip))
            hf = ''
            for i in range(0, len(nf), 8):
                hf = '%s%08X' % (hf, socket.ntohl(int(nf[i:i + 8], base=16)))
            ips.append((family, hf))
    return ips

STATE_ID = {'ESTABLISHED': '01', 'SYN_SENT': '02', 'SYN_RECV': '03', 'FIN_WAIT1': '04', 'FIN_WAIT2': '05', 'TIME_WAIT': '06'}

def active_connections():
    ips = conv_hex(P['host'])
    port = '%0.4X' % int(P['port'])
    excl = []
    for h in P['exclude_hosts'] or []:
        excl.extend(conv_hex(h))
    states = [STATE_ID[s] for s in P['active_connection_states']]
    match_all = {socket.AF_INET: '00000000', socket.AF_INET6: '0' * 32}
    n = 0
    for family, src in ((socket.AF_INET, '/proc/net/tcp'), (socket.AF_INET6, '/proc/net/tcp6')):
        if not os.path.isfile(src):
            continue
        with open(src) as f:
            for line in f.readlines():
                c = line.strip().split()
                if c[1] == 'local_address' or c[3] not in states:
                    continue
                lip, lport = c[1].split(':')
                if lport != port:
                    continue
                rip = c[2].split(':')[0]
                if (family, rip) in excl:
                    continue
                if (family, lip) in ips or (family, match_all[family]) in ips or (
                        lip.startswith('0000000000000000FFFF0000') and (family, '0000000000000000FFFF000000000000') in ips):
                    n += 1
    return n

def fail(msg, elapsed):
    out({'failed': True, 'msg': msg, 'elapsed': elapsed})
    sys.exit(0)

def not_met():
    out({'met': False})
    sys.exit(0)

host, port, path, state, timeout = P['host'], P['port'], P['path'], P['state'], P['timeout']
connect_timeout, msg, once = P['connect_timeout'], P['msg'], P['once']
search_regex = P['search_regex']
try:
    rx = re.compile(search_regex.encode('utf-8'), re.MULTILINE) if search_regex is not None else None
except re.error as e:
    fail('Invalid regular expression: %s' % e, 0)
match_groupdict = {}
match_groups = ()
start = datetime.datetime.utcnow()
if P['delay'] and not once:
    time.sleep(P['delay'])
if once:
    timeout = max(connect_timeout, 1)
end = start + datetime.timedelta(seconds=timeout)
def again():
    if once:
        not_met()
    time.sleep(P['sleep'])

if not port and not path and state != 'drained':
    if once:
        not_met()
    time.sleep(timeout)
elif state in ('absent', 'stopped'):
    while datetime.datetime.utcnow() < end:
        if path:
            try:
                if not os.access(path, os.F_OK):
                    break
            except IOError:
                break
        elif port:
            try:
                s = socket.create_connection((host, port), connect_timeout)
                s.shutdown(socket.SHUT_RDWR)
                s.close()
            except Exception:
                break
        again()
    else:
        elapsed = datetime.datetime.utcnow() - start
        if once:
            not_met()
        if port:
            fail(msg or 'Timeout when waiting for %s:%s to stop.' % (host, port), elapsed.seconds)
        fail(msg or 'Timeout when waiting for %s to be absent.' % path, elapsed.seconds)
elif state in ('started', 'present'):
    while datetime.datetime.utcnow() < end:
        if path:
            try:
                os.stat(path)
            except OSError as e:
                if e.errno != 2:
                    fail(msg or 'Failed to stat %s, %s' % (path, e.strerror), (datetime.datetime.utcnow() - start).seconds)
            else:
                if not rx:
                    break
                try:
                    with open(path, 'rb') as f:
                        with contextlib.closing(mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)) as mm:
                            found = rx.search(mm)
                            if found:
                                if found.groupdict():
                                    match_groupdict = found.groupdict()
                                if found.groups():
                                    match_groups = found.groups()
                                break
                except (IOError, ValueError):
                    pass
        elif port:
            alt = math.ceil((end - datetime.datetime.utcnow()).total_seconds())
            try:
                s = socket.create_connection((host, port), min(connect_timeout, alt))
            except Exception:
                pass
            else:
                if rx:
                    data = b''
                    matched = False
                    while datetime.datetime.utcnow() < end:
                        left = math.ceil((end - datetime.datetime.utcnow()).total_seconds())
                        if not select.select([s], [], [], left)[0]:
                            continue
                        resp = s.recv(1024)
                        if not resp:
                            break
                        data += resp
                        if rx.search(data):
                            matched = True
                            break
                    try:
                        s.shutdown(socket.SHUT_RDWR)
                    except socket.error as e:
                        if e.errno != errno.ENOTCONN:
                            raise
                    else:
                        s.close()
                    if matched:
                        break
                else:
                    try:
                        s.shutdown(socket.SHUT_RDWR)
                    except socket.error as e:
                        if e.errno != errno.ENOTCONN:
                            raise
                    else:
                        s.close()
                    break
        again()
    else:
        elapsed = datetime.datetime.utcnow() - start
        if once:
            not_met()
        if port:
            if search_regex:
                fail(msg or 'Timeout when waiting for search string %s in %s:%s' % (search_regex, host, port), elapsed.seconds)
            fail(msg or 'Timeout when waiting for %s:%s' % (host, port), elapsed.seconds)
        if search_regex:
            fail(msg or 'Timeout when waiting for search string %s in %s' % (search_regex, path), elapsed.seconds)
        fail(msg or 'Timeout when waiting for file %s' % path, elapsed.seconds)
elif state == 'drained':
    while datetime.datetime.utcnow() < end:
        if active_connections() == 0:
            break
        again()
    else:
        if once:
            not_met()
        fail(msg or 'Timeout when waiting for %s:%s to drain' % (host, port), (datetime.datetime.utcnow() - start).seconds)

elapsed = datetime.datetime.utcnow() - start
def dec(b):
    return b.decode('utf-8', 'surrogateescape') if isinstance(b, bytes) else b
res = {'met': True, 'state': state, 'port': port, 'search_regex': search_regex,
       'match_groups': [dec(g) for g in match_groups], 'match_groupdict': dict((k, dec(v)) for k, v in match_groupdict.items()),
       'path': path, 'elapsed': 0 if once else elapsed.seconds}
# AnsibleModule.exit_json adds the path's attributes (add_path_info).
if path is not None:
    add_path_info(res, path)
out(res)
`;

/** The python program's Ansible result, without Kiln's `met` marker. */
function ansibleResult(r: Record<string, unknown>): Record<string, unknown> {
  const { met: _met, ...rest } = r;
  return rest;
}

/** The condition in words, for the plan's summary. */
export function describeWait(p: WaitForParams): string {
  const state = p.state ?? 'started';
  const t = p.timeout ?? 300;
  const delay = p.delay ? `, after ${p.delay} s` : '';
  const re = p.search_regex !== undefined ? ` holding /${p.search_regex}/` : '';
  if (p.port === undefined && p.path === undefined) return `sleep ${t} s${delay}`;
  const what = p.port !== undefined ? `${p.host ?? '127.0.0.1'}:${p.port}` : p.path!;
  return `wait up to ${t} s for ${what} to be ${state}${re}${delay}`;
}

export function waitForPlan(p: WaitForParams, s: WaitForState): Planned<WaitForOp>[] {
  checkWaitFor(p);
  if (s.check || s.met) return [];
  return [{ summary: describeWait(p), action: true, op: { kind: 'wait' } }];
}

/** Ansible's result when a module that does not support check mode is skipped in check mode. */
export function checkModeSkipped(module: string): Record<string, unknown> {
  return { skipped: true, msg: `remote module (${module}) does not support check mode` };
}

export default defineModule<WaitForParams, WaitForState, WaitForOp>({
  name: 'wait_for',
  description:
    "Wait on the host for a port to open, close or drain, a file to appear (holding a regex match) or go, or some seconds (Ansible's wait_for, never changed).",
  schema,
  prepare(p) {
    checkWaitFor(p);
  },
  probe(p, _prep, ctx) {
    if (ctx.check) return 'echo check=1';
    // With a delay, the first check must come after it: nothing is tried before the wait.
    if (p.delay) return 'echo met=0';
    return `${needPython('wait_for')}\n${pythonScript(PROGRAM, waitForArgs(p, true))}`;
  },
  parse(out) {
    if (/^check=1$/m.test(out.stdout)) return { check: true };
    const r = parsePy(out);
    if (!r) {
      if (/^met=0$/m.test(out.stdout)) return { check: false };
      throw new Error(`wait_for: the probe failed: ${out.stderr.trim() || `exit code ${out.code}`}`);
    }
    if (r.failed) throw new Error(String(r.msg));
    return { check: false, met: r.met ? ansibleResult(r) : undefined };
  },
  plan: (p, _prep, s) => waitForPlan(p, s),
  apply: (p) => `${needPython('wait_for')}\n${pythonScript(PROGRAM, waitForArgs(p, false))}`,
  interpret(_p, _prep, out) {
    const r = parsePy(out);
    if (!r) return { failed: out.stderr.trim() || `wait_for: exit code ${out.code}`, changed: false };
    if (r.failed) return { failed: String(r.msg), result: { msg: r.msg, elapsed: r.elapsed }, changed: false };
    return { result: ansibleResult(r), changed: false };
  },
  registerData: (_p, _prep, s) => (s.check ? checkModeSkipped('wait_for') : (s.met ?? {})),
});
