/**
 * Python's urllib.parse (3.11) pieces Ansible's URL filters and tests use: urlsplit with the
 * SplitResult attributes (hostname, port, username, password), and unquote_plus.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { PyError, pyRepr } from '../jinja/value.ts';

export interface SplitResult {
  scheme: string;
  netloc: string;
  path: string;
  query: string;
  fragment: string;
}

const SCHEME_CHARS = /^[A-Za-z0-9+\-.]*$/;

function checkBracketedNetloc(netloc: string): void {
  const hostPort = netloc.slice(netloc.lastIndexOf('@') + 1);
  const open = hostPort.indexOf('[');
  let hostname: string;
  if (open >= 0) {
    if (open > 0) throw new PyError('ValueError', 'Invalid IPv6 URL');
    const bracketed = hostPort.slice(open + 1);
    const close = bracketed.indexOf(']');
    hostname = close < 0 ? bracketed : bracketed.slice(0, close);
    const port = close < 0 ? '' : bracketed.slice(close + 1);
    if (port && !port.startsWith(':')) throw new PyError('ValueError', 'Invalid IPv6 URL');
  } else hostname = hostPort.split(':')[0]!;
  if (hostname.startsWith('v')) {
    if (!/^v[a-fA-F0-9]+\..+$/s.test(hostname)) throw new PyError('ValueError', 'IPvFuture address is invalid');
  } else if (isIPv4(hostname)) throw new PyError('ValueError', 'An IPv4 address cannot be in brackets');
  else if (!isIPv6(hostname)) throw new PyError('ValueError', `${pyRepr(hostname)} does not appear to be an IPv4 or IPv6 address`);
}

function checkNetloc(netloc: string): void {
  if (!netloc || /^[\x00-\x7f]*$/.test(netloc)) return;
  const n = netloc.replace(/[@:#?]/g, '');
  const n2 = n.normalize('NFKC');
  if (n === n2) return;
  for (const c of '/?#@:') {
    if (n2.includes(c)) throw new PyError('ValueError', `netloc '${netloc}' contains invalid characters under NFKC normalization`);
  }
}

/** urllib.parse.urlsplit(url). */
export function urlsplit(input: string): SplitResult {
  let url = input.replace(/^[\x00-\x20]+/, '').replace(/[\t\r\n]/g, '');
  let scheme = '';
  let netloc = '';
  let query = '';
  let fragment = '';
  const i = url.indexOf(':');
  if (i > 0 && /^[A-Za-z]/.test(url) && SCHEME_CHARS.test(url.slice(0, i))) {
    scheme = url.slice(0, i).toLowerCase();
    url = url.slice(i + 1);
  }
  if (url.startsWith('//')) {
    let delim = url.length;
    for (const c of '/?#') {
      const w = url.indexOf(c, 2);
      if (w >= 0) delim = Math.min(delim, w);
    }
    netloc = url.slice(2, delim);
    url = url.slice(delim);
    if (netloc.includes('[') !== netloc.includes(']')) throw new PyError('ValueError', 'Invalid IPv6 URL');
    if (netloc.includes('[') && netloc.includes(']')) checkBracketedNetloc(netloc);
  }
  const hash = url.indexOf('#');
  if (hash >= 0) {
    fragment = url.slice(hash + 1);
    url = url.slice(0, hash);
  }
  const q = url.indexOf('?');
  if (q >= 0) {
    query = url.slice(q + 1);
    url = url.slice(0, q);
  }
  checkNetloc(netloc);
  return { scheme, netloc, path: url, query, fragment };
}

function userinfo(r: SplitResult): [string | null, string | null] {
  const at = r.netloc.lastIndexOf('@');
  if (at < 0) return [null, null];
  const info = r.netloc.slice(0, at);
  const colon = info.indexOf(':');
  return colon < 0 ? [info, null] : [info.slice(0, colon), info.slice(colon + 1)];
}

function hostinfo(r: SplitResult): [string, string | null] {
  const hostPart = r.netloc.slice(r.netloc.lastIndexOf('@') + 1);
  const open = hostPart.indexOf('[');
  let hostname: string;
  let port: string;
  if (open >= 0) {
    const bracketed = hostPart.slice(open + 1);
    const close = bracketed.indexOf(']');
    hostname = close < 0 ? bracketed : bracketed.slice(0, close);
    const after = close < 0 ? '' : bracketed.slice(close + 1);
    const colon = after.indexOf(':');
    port = colon < 0 ? '' : after.slice(colon + 1);
  } else {
    const colon = hostPart.indexOf(':');
    hostname = colon < 0 ? hostPart : hostPart.slice(0, colon);
    port = colon < 0 ? '' : hostPart.slice(colon + 1);
  }
  return [hostname, port || null];
}

/** The SplitResult's attributes, as Ansible's urlsplit filter returns them (sorted by name, like dir()). */
export function splitAttributes(r: SplitResult): Map<string, unknown> {
  const [username, password] = userinfo(r);
  const [host, portText] = hostinfo(r);
  let hostname: string | null = null;
  if (host) {
    const pct = host.indexOf('%');
    hostname = pct < 0 ? host.toLowerCase() : host.slice(0, pct).toLowerCase() + host.slice(pct);
  }
  let port: number | null = null;
  if (portText !== null) {
    if (!/^[0-9]+$/.test(portText)) throw new PyError('ValueError', `Port could not be cast to integer value as ${pyRepr(portText)}`);
    port = Number(portText);
    if (port > 65535) throw new PyError('ValueError', 'Port out of range 0-65535');
  }
  return new Map<string, unknown>([
    ['fragment', r.fragment],
    ['hostname', hostname],
    ['netloc', r.netloc],
    ['password', password],
    ['path', r.path],
    ['port', port],
    ['query', r.query],
    ['scheme', r.scheme],
    ['username', username],
  ]);
}

/** urllib.parse.unquote_plus. */
export function unquotePlus(s: string): string {
  const t = s.replace(/\+/g, ' ');
  if (!t.includes('%')) return t;
  // Each ASCII run is %-decoded to bytes and decoded as UTF-8 with replacement, like Python.
  return t.replace(/[\x00-\x7f]+/g, (run) => {
    const bytes: number[] = [];
    for (let i = 0; i < run.length; i++) {
      if (run[i] === '%' && /^[0-9a-fA-F]{2}$/.test(run.slice(i + 1, i + 3))) {
        bytes.push(Number.parseInt(run.slice(i + 1, i + 3), 16));
        i += 2;
      } else bytes.push(run.charCodeAt(i));
    }
    return new TextDecoder('utf-8').decode(Uint8Array.from(bytes));
  });
}
