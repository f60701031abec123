/**
 * Shell helpers shared by module probes and applies. Everything Kiln runs remotely is POSIX sh
 * sent on stdin (never in argv), so secrets and file contents stay out of `ps`.
 */
import { createHash } from 'node:crypto';

/** Single-quotes a string for POSIX sh. */
export function q(s: string | number): string {
  return `'${String(s).replace(/'/g, `'"'"'`)}'`;
}

export function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** A heredoc that writes `data` (any bytes) to `target` through base64, keeping content out of argv. */
export function writeBytes(target: string, data: string | Buffer): string {
  const b64 = Buffer.from(data).toString('base64').replace(/.{1,76}/g, '$&\n');
  const tag = `KILN_EOF_${sha256(data).slice(0, 12)}`;
  return `base64 -d > ${target} <<'${tag}'\n${b64}${b64.endsWith('\n') ? '' : '\n'}${tag}\n`;
}

/** Parses `key=value` lines. Later keys win; values may contain '='. */
export function parseKv(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) out[line.slice(0, i).trim()] = line.slice(i + 1);
  }
  return out;
}

/**
 * Functions available to every probe and apply (sent once per remote script).
 * kiln_stat PATH      → exists=0|1, type, mode (octal, 4 digits), owner, group, size, target (links)
 * kiln_content PATH SHA MAX → sha256=…; content_b64=… when the file differs, is at most MAX bytes
 *                             and MAX > 0 (for diffs)
 * kiln_b64 STRING     → base64 on one line
 */
export const PRELUDE = String.raw`
kiln_stat() {
  if [ -L "$1" ]; then echo exists=1; echo type=link; printf 'target=%s\n' "$(readlink "$1")"
  elif [ -d "$1" ]; then echo exists=1; echo type=directory
  elif [ -f "$1" ]; then echo exists=1; echo type=file
  elif [ -e "$1" ]; then echo exists=1; echo type=other
  else echo exists=0; return 0; fi
  stat -c 'mode=%04a
owner=%U
group=%G
size=%s' -- "$1"
}
kiln_content() {
  if [ -f "$1" ] && [ ! -L "$1" ]; then
    _s=$(sha256sum -- "$1" | cut -d' ' -f1); echo "sha256=$_s"
    if [ "$_s" != "$2" ] && [ "$3" -gt 0 ] && [ "$(stat -c %s -- "$1")" -le "$3" ]; then
      printf 'content_b64='; base64 -w0 -- "$1"; echo
    fi
  fi
}
kiln_b64() { printf '%s' "$1" | base64 -w0; echo; }
kiln_has() { command -v "$1" >/dev/null 2>&1; }
`;

export function fromB64(s: string | undefined): string {
  return s ? Buffer.from(s, 'base64').toString('utf8') : '';
}
