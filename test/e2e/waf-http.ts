/**
 * Requests of the application-firewall suite (test/e2e/waf.test.ts): the CRS regression payloads
 * (test/fixtures/crs/attacks.json) and the benign corpus (test/fixtures/crs/benign.json), sent
 * over HTTPS through a load balancer with curl exactly as written: `--path-as-is` (no ../
 * folding), `--globoff` (brackets and braces are the payload's, not curl's globs), the payload's
 * own headers and body.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './lab-setup.ts';

export interface WafRequest {
  method: string;
  uri: string;
  headers?: Record<string, string>;
  data?: string;
}
export interface Attack extends WafRequest {
  family: string;
  rule: number;
  source: string;
  title: string;
  desc: string;
}
export interface Benign extends WafRequest {
  name: string;
  status: number;
}

const FIXTURES = join(REPO_ROOT, 'test/fixtures/crs');
export const ATTACKS = (JSON.parse(readFileSync(join(FIXTURES, 'attacks.json'), 'utf8')) as { attacks: Attack[] }).attacks;
export const BENIGN = (JSON.parse(readFileSync(join(FIXTURES, 'benign.json'), 'utf8')) as { requests: Benign[] }).requests;

/** Sends `req` to https://<ip><uri>, trusting `ca`; resolves the status (0 when curl failed) and the body. */
export function send(ip: string, req: WafRequest, ca: string): Promise<{ status: number; body: string }> {
  const args = [
    '-sS',
    '--globoff',
    '--max-time',
    '10',
    '--path-as-is',
    '--cacert',
    ca,
    '-X',
    req.method,
    '-o',
    '-',
    '-w',
    '\n%{http_code}',
  ];
  for (const [k, v] of Object.entries(req.headers ?? {})) args.push('-H', v === '' ? `${k};` : `${k}: ${v}`);
  if (req.data !== undefined) args.push('--data-binary', '@-');
  args.push(`https://${ip}${req.uri}`);
  return new Promise((resolve) => {
    const child = execFile('curl', args, { maxBuffer: 4 << 20 }, (err, stdout) => {
      const out = String(stdout);
      const i = out.lastIndexOf('\n');
      const status = Number(out.slice(i + 1)) || 0;
      resolve({ status: err && !status ? 0 : status, body: out.slice(0, i) });
    });
    // curl reads stdin only for a body; one that exits early must not crash the writer (EPIPE).
    child.stdin?.on('error', () => {});
    if (req.data !== undefined) child.stdin?.end(req.data);
    else child.stdin?.end();
  });
}

/** One request in ModSecurity's log (the WAF log, `waf_log`): its unique_id, the rule ids it matched, blocked or not. */
export interface LoggedRequest {
  uniqueId: string;
  rules: number[];
  blocked: boolean;
  /** 949110 logged as a Warning (detection_only: over the threshold, passed). */
  detected: boolean;
  request: string;
}

/** Groups ModSecurity's log lines by `[unique_id "…"]`, in order of first appearance. */
export function parseModsecLog(text: string): LoggedRequest[] {
  const byId = new Map<string, LoggedRequest>();
  for (const line of text.split('\n')) {
    if (!line.includes('ModSecurity: ')) continue;
    const uid = /\[unique_id "([^"]+)"\]/.exec(line)?.[1];
    const id = /\[id "(\d+)"\]/.exec(line)?.[1];
    if (!uid || !id) continue;
    let r = byId.get(uid);
    if (!r) {
      r = { uniqueId: uid, rules: [], blocked: false, detected: false, request: /request: "([^"]*)"/.exec(line)?.[1] ?? '' };
      byId.set(uid, r);
    }
    r.rules.push(Number(id));
    if (line.includes('ModSecurity: Access denied with code 403')) r.blocked = true;
    if (line.includes('ModSecurity: Warning.') && id === '949110') r.detected = true;
  }
  return [...byId.values()];
}

/**
 * Pairs each attack with a distinct blocked request of the log that matched the attack's own rule
 * (and 949110) — a maximum bipartite matching (augmenting paths), since the requests of two web
 * hosts interleave and one request often matches several payloads' rules, so a first-fit pairing
 * in log order can miss a pairing that exists; returns the attacks left without one.
 */
export function unloggedAttacks(attacks: readonly Attack[], logged: readonly LoggedRequest[]): Attack[] {
  const fits = attacks.map((a) => logged.flatMap((l, j) => (l.blocked && l.rules.includes(a.rule) && l.rules.includes(949110) ? [j] : [])));
  const owner = new Map<number, number>(); // logged index → attack index
  const augment = (i: number, seen: Set<number>): boolean => {
    for (const j of fits[i]!) {
      if (seen.has(j)) continue;
      seen.add(j);
      const k = owner.get(j);
      if (k === undefined || augment(k, seen)) {
        owner.set(j, i);
        return true;
      }
    }
    return false;
  };
  const matched = new Set<number>();
  for (let i = 0; i < attacks.length; i++) if (augment(i, new Set())) matched.add(i);
  return attacks.filter((_, i) => !matched.has(i));
}
