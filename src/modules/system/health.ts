/**
 * The post-(re)start health check shared by `release` and `service`: poll from the host, once a
 * second until a timeout passes, an HTTP URL (curl, or wget) that must answer 2xx with a body
 * containing an expected text, and/or a shell command that must exit 0. Shell only; it runs
 * inside the module's one apply script.
 *
 * Also the failure report both print (journalTail) and read back (kilnValues, journalDetail).
 *
 * After `healthLines(...)`, the script has:
 *   healthy [VERSION]   returns 0 when healthy; otherwise 1 with the last reason in $why;
 *   hlast TEXT          prints the last lines of TEXT on one line (for kiln_*= report lines).
 * With `versioned`, `match` may contain {version}, replaced by healthy's argument (release: the
 * new release, or the previous one after a rollback).
 *
 * The command runs as `sh FILE` (its text travels in a heredoc into a 0600 temp file, never in
 * argv), with stdin from /dev/null, under `timeout` for at most the time left, and with
 * the environment of the apply script: `service` exports KILN_HEALTH_SINCE there (the host's
 * epoch time, with fraction, right before the action). A command that exits 100 says the service
 * is unhealthy for good (e.g. every HAProxy server failed its first check in the new process):
 * the gate stops waiting at once instead of polling until the timeout, so a restore comes sooner.
 */
import { writeBytes } from '../../sh/bytes.ts';
import { parseKvAll } from '../../sh/kv.ts';
import { q } from '../../sh/quote.ts';

export const DEFAULT_HEALTH_TIMEOUT = 30;
/** A health command's exit code for "unhealthy, do not wait any longer" (see the file comment). */
export const HEALTH_FINAL_EXIT = 100;

export interface HealthCheck {
  /** Polled URL: healthy = 2xx (and `match` in the body). */
  url?: string;
  match?: string;
  /** Shell command: healthy = exit 0. With `url`, both must pass in the same attempt. */
  command?: string;
  /** Seconds. */
  timeout?: number;
  /** `match` holds the {version} placeholder (release); otherwise it is literal text. */
  versioned?: boolean;
}

/** "from URL", "from its health command", or both: what a failure message says was polled. */
export function healthSources(h: HealthCheck): string {
  return [h.command !== undefined ? 'its health command' : '', h.url ?? ''].filter(Boolean).join(' and ');
}

export function healthLines(h: HealthCheck, who: string): string[] {
  if (h.url === undefined && h.command === undefined) throw new Error('healthLines: give url or command');
  const lines = [
    `htimeout=${h.timeout ?? DEFAULT_HEALTH_TIMEOUT}`,
    // hlast TEXT: its last lines on one line (a command's output in a failure message).
    `hlast() { printf '%s\\n' "$1" | tail -n 8 | awk 'NF { o = o (o == "" ? "" : " / ") $0 } END { print substr(o, 1, 600) }'; }`,
  ];
  const attempt: string[] = [];
  if (h.command !== undefined) {
    lines.push('hcmd=$(mktemp)', `trap 'rm -f "$hcmd"' EXIT`, writeBytes('"$hcmd"', `${h.command}\n`).trimEnd());
    attempt.push(
      '  hleft=$(( hend - $(date +%s) )); [ "$hleft" -ge 1 ] || hleft=1',
      '  hout=$(timeout -k 1 "$hleft" sh "$hcmd" </dev/null 2>&1); hrc=$?',
      '  if [ "$hrc" -ne 0 ]; then',
      '    if [ "$hrc" -eq 124 ]; then why="the health command did not finish within ${hleft}s"; else why="the health command exited $hrc"; fi',
      `    [ "$hrc" -ne ${HEALTH_FINAL_EXIT} ] || { hfinal=1; why="the health command found it unhealthy for good (exit ${HEALTH_FINAL_EXIT}), not waiting"; }`,
      '    [ -z "$hout" ] || why="$why: $(hlast "$hout")"',
      '    return 1',
      '  fi',
    );
    if (h.url === undefined) attempt.push('  return 0');
  }
  if (h.url !== undefined) {
    const m = h.match ?? '';
    const i = h.versioned ? m.indexOf('{version}') : -1;
    const vars =
      i < 0 ? `mpre=${q(m)}; mpost=''; mver=''` : `mpre=${q(m.slice(0, i))}; mpost=${q(m.slice(i + '{version}'.length))}; mver=1`;
    lines.push(
      `hurl=${q(h.url)}; ${vars}`,
      'if command -v curl >/dev/null 2>&1; then hfetch() { curl -fsS --max-time 3 -o - -- "$hurl" 2>&1; }',
      'elif command -v wget >/dev/null 2>&1; then hfetch() { wget -q -T 3 -O - -- "$hurl" 2>&1; }',
      `else echo ${q(`${who}: curl or wget is needed on the host to check ${h.url}`)} >&2; exit 3; fi`,
    );
    attempt.push(
      '  if body=$(hfetch); then',
      '    case "$body" in *"$match"*) return 0;; esac',
      '    why="the answer does not contain $match: $(printf %s "$body" | head -c 300)"',
      '  else why=$(printf %s "$body" | tail -n 1 | head -c 300); fi',
      '  return 1',
    );
  }
  lines.push(
    // One attempt: 0 when healthy, else 1 with the reason in $why.
    'hattempt() {',
    ...attempt,
    '}',
    'healthy() {',
    '  match="${mpre:-}${1:-}${mpost:-}"; [ -n "${mver:-}" ] || match=${mpre:-}',
    '  hend=$(( $(date +%s) + htimeout )); why="no answer"; hfinal=',
    '  while :; do',
    '    hattempt && return 0',
    '    [ -z "$hfinal" ] || return 1',
    '    [ "$(date +%s)" -ge "$hend" ] && return 1',
    '    sleep 1',
    '  done',
    '}',
  );
  return lines;
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
