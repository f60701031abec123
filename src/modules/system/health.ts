/**
 * The post-(re)start health check shared by `release` and `service`: poll an HTTP URL from the
 * host (curl, or wget) until it answers 2xx with a body containing an expected text, or a
 * timeout passes. Shell only; it runs inside the module's one apply script.
 *
 * Also the failure report both print (journalTail) and read back (kilnValues, journalDetail).
 *
 * After `healthLines(...)`, the script has:
 *   healthy [VERSION]   returns 0 when healthy; otherwise 1 with the last reason in $why.
 * With `versioned`, `match` may contain {version}, replaced by healthy's argument (release: the
 * new release, or the previous one after a rollback).
 */
import { parseKvAll } from '../../sh/kv.ts';
import { q } from '../../sh/quote.ts';

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

/**
 * Shell: the last `n` lines of a unit's journal as `kiln_journal=` lines (the failure report of a
 * health check). `unit` is a shell word: quoted, or a variable like "$svc".
 */
export function journalTail(unit: string, n: number): string {
  return `journalctl -u ${unit} -n ${n} --no-pager -o cat </dev/null 2>/dev/null | sed "s/^/kiln_journal=/"`;
}

/** `kiln_KEY=value` lines of an apply script's output: every value of each key, in order. */
export function kilnValues(stdout: string): Map<string, string[]> {
  return parseKvAll(stdout, 'kiln_');
}

/** The journal lines (from journalTail) for a failure message: "\nlast lines of NAME's journal:\n…", or ''. */
export function journalDetail(name: string, kv: Map<string, string[]>): string {
  const journal = (kv.get('kiln_journal') ?? []).join('\n');
  return journal ? `\nlast lines of ${name}'s journal:\n${journal}` : '';
}
