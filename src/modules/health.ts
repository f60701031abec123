/**
 * The post-(re)start health check shared by `release` and `service`: poll an HTTP URL from the
 * host (curl, or wget) until it answers 2xx with a body containing an expected text, or a
 * timeout passes. Shell only; it runs inside the module's one apply script.
 *
 * After `healthLines(...)`, the script has:
 *   healthy [VERSION]   returns 0 when healthy; otherwise 1 with the last reason in $why.
 * With `versioned`, `match` may contain {version}, replaced by healthy's argument (release: the
 * new release, or the previous one after a rollback).
 */
import { q } from './shell.ts';

export const DEFAULT_HEALTH_TIMEOUT = 30;

export interface HealthCheck {
  url: string;
  match?: string;
  /** Seconds. */
  timeout?: number;
  /** `match` holds the {version} placeholder (release); otherwise it is literal text. */
  versioned?: boolean;
}

export function healthLines(h: HealthCheck, who: string): string[] {
  const m = h.match ?? '';
  const i = h.versioned ? m.indexOf('{version}') : -1;
  const vars = i < 0 ? `mpre=${q(m)}; mpost=''; mver=''` : `mpre=${q(m.slice(0, i))}; mpost=${q(m.slice(i + '{version}'.length))}; mver=1`;
  return [
    `hurl=${q(h.url)}; htimeout=${h.timeout ?? DEFAULT_HEALTH_TIMEOUT}; ${vars}`,
    'if command -v curl >/dev/null 2>&1; then hfetch() { curl -fsS --max-time 3 -o - -- "$hurl" 2>&1; }',
    'elif command -v wget >/dev/null 2>&1; then hfetch() { wget -q -T 3 -O - -- "$hurl" 2>&1; }',
    `else echo ${q(`${who}: curl or wget is needed on the host to check ${h.url}`)} >&2; exit 3; fi`,
    'healthy() {',
    '  match="$mpre${1:-}$mpost"; [ -n "$mver" ] || match=$mpre',
    '  hend=$(( $(date +%s) + htimeout )); why="no answer"',
    '  while :; do',
    '    if body=$(hfetch); then',
    '      case "$body" in *"$match"*) return 0;; esac',
    '      why="the answer does not contain $match: $(printf %s "$body" | head -c 300)"',
    '    else why=$(printf %s "$body" | tail -n 1 | head -c 300); fi',
    '    [ "$(date +%s)" -ge "$hend" ] && return 1',
    '    sleep 1',
    '  done',
    '}',
  ];
}
