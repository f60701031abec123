/**
 * The batched reads of a framed script (few processes per probe): before the first probe, ONE
 * `stat` reads the attributes of every path the script's probes name, ONE `sha256sum` hashes the
 * regular files among those whose content they compare, ONE `systemctl show` and ONE `systemctl
 * is-enabled` read their units; the results go into shell variables that the prelude's functions
 * (prelude.ts) answer from. The requests are the literal arguments of the prelude's calls in the
 * probes' text (`kiln_stat '/etc/x'`, `kiln_content …`, `kiln_lif …`, `kiln_unit …`): a probe asks
 * for nothing else, and a call with an argument known only on the host is answered by its own
 * command, as before.
 *
 * Exactness: a batch is used only when its command succeeded for every request (one answer each,
 * in order); otherwise the variables stay unset and every call runs its own command. Probes only
 * read, so a value read before the first probe is what the probe would have read, except after a
 * probe that runs the user's own command (a guard's `unless`): such a probe carries MAY_WRITE and
 * the frame stops using the batch after it (`kiln_nc=1`).
 */
import { q } from './quote.ts';

/** Marks a probe that runs a command of the user's (it may write): no batched value is used after it. */
export const MAY_WRITE = '# kiln:may-write';

/**
 * A probe with its task's `environment` (export lines, sh/env.ts): what its commands answer may
 * depend on it, so it runs its own (the frame sets `kiln_nc` in its subshell).
 */
export function ownReads(snippet: string): boolean {
  return /^export [A-Za-z_]/m.test(snippet);
}

/** A single-quoted word as `q` writes it. */
const WORD = String.raw`'[^']*'(?:"'"'[^']*')*`;

/** One statement of a probe that can run in the script's own shell (see inlineProbe). */
const STMT = [
  String.raw`kiln_(?:stat|content|lif|unit|dirname|follow)(?: (?:${WORD}|[A-Za-z0-9+/=_.-]+))*`,
  'true',
  String.raw`\[ -[edfL] (?:${WORD}|"\$kiln_d") \] && echo [a-z_]+=1(?: \|\| echo [a-z_]+=0)?`,
  String.raw`command -v ${WORD} >/dev/null 2>&1 && echo [a-z_]+=1 \|\| echo [a-z_]+=0`,
].join('|');
const INLINE_LINE = new RegExp(String.raw`^(?:${STMT})(?:; (?:${STMT}))*$`);

/**
 * A probe made only of the prelude's calls with literal arguments, tests and echoes (the probes
 * of file, copy, template, lineinfile and the command guards): it sets no variable but the
 * prelude's kiln_* ones, never exits, and reads nothing from its environment, so it runs in the
 * script's own shell (a `{ }` group) instead of a subshell: one process less per task.
 */
export function inlineProbe(snippet: string): boolean {
  const lines = snippet.trim().split('\n');
  return lines.length > 0 && lines.every((l) => INLINE_LINE.test(l));
}
const unquote = (w: string): string => w.slice(1, -1).split(`'"'"'`).join(`'`);

const STAT_FMT = '%04a\t%U\t%G\t%s';
/** The service probe's properties (service.ts prints them in the same order for one unit). */
export const UNIT_PROPS = 'LoadState,ActiveState,SubState,UnitFileState,NeedDaemonReload,CanReload,Type,RemainAfterExit';

export interface Requests {
  /** Paths to stat (in first-seen order). */
  stat: string[];
  /** Paths whose content is hashed (a subset of stat). */
  hash: string[];
  /** Paths whose content a lineinfile probe returns, with their size limit (read once when asked twice or more). */
  content: Map<string, { max: number; uses: number }>;
  units: string[];
}

/** The batched requests in the probes' text. */
export function scanRequests(snippets: readonly string[]): Requests {
  const stat = new Set<string>();
  const hash = new Set<string>();
  const content = new Map<string, { max: number; uses: number }>();
  const units = new Set<string>();
  const re = new RegExp(String.raw`\bkiln_(stat|content|lif|unit) (${WORD})(?: (\d+))?`, 'g');
  for (const s of snippets) {
    if (ownReads(s)) continue;
    for (const m of s.matchAll(re)) {
      const arg = unquote(m[2]!);
      if (m[1] === 'unit') {
        units.add(arg);
        continue;
      }
      stat.add(arg);
      if (m[1] === 'content' || m[1] === 'lif') hash.add(arg);
      if (m[1] === 'lif' && m[3]) {
        const c = content.get(arg);
        content.set(arg, { max: Math.min(c?.max ?? Infinity, Number(m[3])), uses: (c?.uses ?? 0) + 1 });
      }
    }
  }
  return { stat: [...stat], hash: [...hash], content, units: [...units] };
}

/**
 * Shell lines reading the requests in few processes into the prelude's variables (to put after
 * the prelude, with "$kiln_err" a scratch file). '' when there is nothing to batch.
 */
export function batchLines(r: Requests): string {
  const lines: string[] = [];
  if (r.stat.length) {
    const idx = new Map(r.stat.map((p, i) => [p, i]));
    lines.push(`kiln_idx() { case $1 in ${r.stat.map((p, i) => `${q(p)}) kiln_i=${i};;`).join(' ')} *) kiln_i=;; esac; }`);
    lines.push('set --; kiln_w=');
    r.stat.forEach((p, i) => lines.push(`if [ -e ${q(p)} ] || [ -L ${q(p)} ]; then set -- "$@" ${q(p)}; kiln_w="$kiln_w ${i}"; fi`));
    // One stat: exit 0 means one line for each path, in order (a format without the name).
    lines.push(
      `if [ $# -gt 0 ] && stat -c '${STAT_FMT}' -- "$@" >"$kiln_err" 2>/dev/null </dev/null; then`,
      '  set -- $kiln_w',
      `  while IFS='\t' read -r _m _o _g _z; do [ $# -gt 0 ] || break; eval "kiln_sm_$1=\\$_m; kiln_so_$1=\\$_o; kiln_sg_$1=\\$_g; kiln_sz_$1=\\$_z; kiln_s_$1=1"; shift; done <"$kiln_err"`,
      'fi',
    );
    if (r.hash.length) {
      lines.push('set --; kiln_w=');
      for (const p of r.hash) {
        const i = idx.get(p)!;
        lines.push(
          `if [ -n "\${kiln_s_${i}-}" ] && [ -f ${q(p)} ] && [ ! -L ${q(p)} ]; then set -- "$@" ${q(p)}; kiln_w="$kiln_w ${i}"; fi`,
        );
      }
      // One sha256sum: exit 0 means one line for each file (a name with a newline is escaped: the line starts with '\').
      lines.push(
        'if [ $# -gt 0 ] && sha256sum -- "$@" >"$kiln_err" 2>/dev/null </dev/null; then',
        '  set -- $kiln_w',
        `  while read -r _h _r; do [ $# -gt 0 ] || break; _h=\${_h#\\\\}; eval "kiln_h_$1=\\$_h"; shift; done <"$kiln_err"`,
        'fi',
      );
    }
    // A file that several lineinfile probes return is read once.
    for (const [p, c] of r.content) {
      if (c.uses < 2) continue;
      const i = idx.get(p)!;
      lines.push(
        `if [ -n "\${kiln_s_${i}-}" ] && [ -f ${q(p)} ] && [ ! -L ${q(p)} ] && [ "$kiln_sz_${i}" -le ${c.max} ]; then kiln_b_${i}=$(base64 -w0 < ${q(p)}) || kiln_b_${i}=; fi`,
      );
    }
  }
  if (r.units.length) {
    const n = r.units.length;
    const us = r.units.map(q).join(' ');
    lines.push(
      `kiln_uidx() { kiln_i=; [ -n "$kiln_uok" ] || return 0; case $1 in ${r.units.map((u, i) => `${q(u)}) kiln_i=${i};;`).join(' ')} esac; }`,
    );
    // One systemctl show: one block per unit, in order, separated by an empty line.
    lines.push(
      'kiln_uok=',
      `if [ -d /run/systemd/system ] && systemctl show -p ${UNIT_PROPS} -- ${us} >"$kiln_err" 2>/dev/null </dev/null; then`,
      '  _k=0; _b=',
      '  while IFS= read -r _l; do',
      '    if [ -z "$_l" ]; then eval "kiln_u_$_k=\\$_b"; _k=$((_k + 1)); _b=',
      '    else _b="${_b:+$_b\n}$_l"; fi',
      '  done <"$kiln_err"',
      '  [ -z "$_b" ] || { eval "kiln_u_$_k=\\$_b"; _k=$((_k + 1)); }',
      // One systemctl is-enabled: one line per unit, in order, when it knows them all.
      `  if [ "$_k" -eq ${n} ]; then systemctl is-enabled -- ${us} >"$kiln_err" 2>/dev/null </dev/null`,
      '    _k=0; while IFS= read -r _l; do eval "kiln_e_$_k=\\$_l"; _k=$((_k + 1)); done <"$kiln_err"',
      `    [ "$_k" -ne ${n} ] || kiln_uok=1`,
      '  fi',
      'fi',
    );
  }
  return lines.length ? `${lines.join('\n')}\nset --\n` : '';
}
