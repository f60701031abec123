/**
 * Shell functions available to every probe and apply (sent once per remote script).
 * kiln_stat PATH      → exists=0|1, type, mode (octal, 4 digits), owner, group, size, target_b64 (links: the
 *                       target base64-encoded, as a target may hold a newline)
 * kiln_content PATH SHA MAX → sha256=…; content_b64=… when the file differs, is at most MAX bytes
 *                             and MAX > 0 (for diffs)
 * kiln_b64 STRING     → base64 on one line
 */
export const PRELUDE = String.raw`
kiln_stat() {
  if [ -L "$1" ]; then echo exists=1; echo type=link; printf 'target_b64='; readlink -- "$1" | head -c -1 | base64 -w0; echo
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
    _s=$(sha256sum < "$1" | cut -d' ' -f1); echo "sha256=$_s"
    if [ "$_s" != "$2" ] && [ "$3" -gt 0 ] && [ "$(stat -c %s -- "$1")" -le "$3" ]; then
      printf 'content_b64='; base64 -w0 -- "$1"; echo
    fi
  fi
}
kiln_b64() { printf '%s' "$1" | base64 -w0; echo; }
kiln_has() { command -v "$1" >/dev/null 2>&1; }
`;
