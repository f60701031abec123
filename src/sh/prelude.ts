/**
 * Shell functions available to every probe and apply (sent once per remote script).
 * kiln_stat PATH      → exists=0|1, type, mode (octal, 4 digits), owner, group, size, target_b64 (links: the
 *                       target base64-encoded, as a target may hold a newline)
 * kiln_content PATH SHA MAX → sha256=…; content_b64=… when the file differs, is at most MAX bytes
 *                             and MAX > 0 (for diffs)
 * kiln_lif PATH MAX PATH_B64 → lineinfile's probe: real_b64 (the path with symlinks resolved), its
 *                       kiln_stat, parent=0|1, sha256 and content_b64 (or too_big=1) of a regular file
 * kiln_unit UNIT      → `systemctl show` of the service probe's properties, then is_enabled=…
 * kiln_follow PATH    → for a symlink: real_b64 (its target, followed) and the target's kiln_stat prefixed r_
 * kiln_dirname PATH   → sets kiln_d to `dirname -- PATH`'s answer, with shell built-ins only
 * kiln_b64 STRING     → base64 on one line
 *
 * Few processes: a framed script (frame.ts) reads the attributes of every path its probes name
 * in ONE `stat`, their contents' hashes in ONE `sha256sum`, its units in ONE `systemctl show` and
 * ONE `systemctl is-enabled` before the first probe (batch.ts), into shell variables; the functions
 * answer from them (`kiln_look`), and run their own command only for what the batch does not hold
 * (a path known only on the host, a batch that failed as a whole, or after a probe that may have
 * written: `kiln_nc`). Either way they print the same lines.
 */
// Written with `$[` for the shell's `${` (a template literal would read `${` as its own).
export const PRELUDE = String.raw`
kiln_idx() { kiln_i=; }
kiln_uidx() { kiln_i=; }
kiln_look() {
  kiln_v=; [ -z "$kiln_nc" ] || return 0; kiln_idx "$1"; [ -n "$kiln_i" ] || return 0
  eval "kiln_v=\$[kiln_s_$kiln_i-}"
}
kiln_stat() {
  if [ -L "$1" ]; then echo exists=1; echo type=link; printf 'target_b64='; readlink -- "$1" | head -c -1 | base64 -w0; echo
  elif [ -d "$1" ]; then echo exists=1; echo type=directory
  elif [ -f "$1" ]; then echo exists=1; echo type=file
  elif [ -e "$1" ]; then echo exists=1; echo type=other
  else echo exists=0; return 0; fi
  kiln_look "$1"
  if [ -n "$kiln_v" ]; then
    eval "printf 'mode=%s\nowner=%s\ngroup=%s\nsize=%s\n' \"\$kiln_sm_$kiln_i\" \"\$kiln_so_$kiln_i\" \"\$kiln_sg_$kiln_i\" \"\$kiln_sz_$kiln_i\""
    return 0
  fi
  stat -c 'mode=%04a
owner=%U
group=%G
size=%s' -- "$1"
}
kiln_size() {
  kiln_look "$1"
  if [ -n "$kiln_v" ]; then eval "kiln_z=\$kiln_sz_$kiln_i"; else kiln_z=$(stat -c %s -- "$1"); fi
}
kiln_hash() {
  kiln_look "$1"; kiln_h=
  [ -z "$kiln_v" ] || eval "kiln_h=\$[kiln_h_$kiln_i-}"
  [ -n "$kiln_h" ] || kiln_h=$(sha256sum < "$1" | cut -d' ' -f1)
}
kiln_content() {
  if [ -f "$1" ] && [ ! -L "$1" ]; then
    kiln_hash "$1"; echo "sha256=$kiln_h"
    if [ "$kiln_h" != "$2" ] && [ "$3" -gt 0 ] && kiln_size "$1" && [ "$kiln_z" -le "$3" ]; then
      printf 'content_b64='; base64 -w0 -- "$1"; echo
    fi
  fi
}
kiln_dirname() {
  kiln_d=$1
  case $kiln_d in
    '') kiln_d=.; return 0;;
    *[!/]*) ;;
    *) kiln_d=/; return 0;;
  esac
  while :; do case $kiln_d in */) kiln_d=$[kiln_d%/};; *) break;; esac; done
  case $kiln_d in */*) kiln_d=$[kiln_d%/*};; *) kiln_d=.; return 0;; esac
  case $kiln_d in *[!/]*) ;; *) kiln_d=/; return 0;; esac
  while :; do case $kiln_d in */) kiln_d=$[kiln_d%/};; *) break;; esac; done
}
kiln_canonical() {
  case $1 in /) return 0;; /*) ;; *) return 1;; esac
  case $1 in *//*|*/./*|*/../*|*/.|*/..|*/) return 1;; esac
  kiln_p=$1
  while [ -n "$kiln_p" ]; do [ ! -L "$kiln_p" ] || return 1; kiln_p=$[kiln_p%/*}; done
}
kiln_lif() {
  if kiln_canonical "$1"; then kiln_r=$1; printf 'real_b64=%s\n' "$3"
  else
    if kiln_r=$(readlink -f -- "$1" 2>/dev/null && printf x); then kiln_r=$[kiln_r%x}; kiln_r=$[kiln_r%?}; else kiln_r=$1; fi; [ -n "$kiln_r" ] || kiln_r=$1
    printf 'real_b64=%s\n' "$(printf %s "$kiln_r" | base64 -w0)"
  fi
  kiln_stat "$kiln_r"
  kiln_dirname "$kiln_r"; [ -d "$kiln_d" ] && echo parent=1 || echo parent=0
  if [ -f "$kiln_r" ]; then
    kiln_hash "$kiln_r"; echo "sha256=$kiln_h"
    kiln_size "$kiln_r"
    if [ "$kiln_z" -le "$2" ]; then
      kiln_look "$kiln_r"; kiln_b=
      [ -z "$kiln_v" ] || eval "kiln_b=\$[kiln_b_$kiln_i-}"
      if [ -n "$kiln_b" ]; then printf 'content_b64=%s\n' "$kiln_b"; else printf 'content_b64='; base64 -w0 < "$kiln_r"; echo; fi
    else echo too_big=1; fi
  fi
}
kiln_unit() {
  kiln_v=; [ -n "$kiln_nc" ] || { kiln_uidx "$1"; [ -z "$kiln_i" ] || eval "kiln_v=\$[kiln_u_$kiln_i-}"; }
  if [ -n "$kiln_v" ]; then
    eval "printf '%s\n' \"\$kiln_u_$kiln_i\"; echo \"is_enabled=\$kiln_e_$kiln_i\""
    return 0
  fi
  kiln_o=$(systemctl show -p LoadState,ActiveState,SubState,UnitFileState,NeedDaemonReload,CanReload,Type,RemainAfterExit -- "$1" 2>/dev/null </dev/null)
  printf '%s\n' "$kiln_o"
  echo "is_enabled=$(systemctl is-enabled -- "$1" 2>/dev/null </dev/null)"
}
kiln_follow() {
  if [ -L "$1" ]; then kiln_r=$(readlink -f -- "$1") && { printf 'real_b64=%s\n' "$(printf %s "$kiln_r" | base64 -w0)"; kiln_stat "$kiln_r" | sed 's/^/r_/'; }; fi
}
kiln_b64() { printf '%s' "$1" | base64 -w0; echo; }
kiln_has() { command -v "$1" >/dev/null 2>&1; }
`.replaceAll('$[', '${');
// The functions set no variable but kiln_* ones: a probe made only of their calls runs in the
// script's own shell, without a subshell (frame.ts, batch.ts's inlineProbe).
