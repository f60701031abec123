/**
 * Remote shell for the firewall module: probe, commit-confirm apply, rollback and confirm.
 *
 * State on the host, in /var/lib/kiln/firewall (root, 0700):
 *   applied            "<desired sha>" of the last load Kiln made
 *   live               the live listing recorded right after that load (drift = live now ≠ this)
 *   pending            the transaction id of an applied but not yet confirmed change
 *   prev.<id>/         the state before that change (live rules, persisted files, applied/live)
 *   rollback-<id>.sh   restores prev.<id>; run by the transient timer kiln-fw-rollback-<id>
 *   decided.<id>/      created atomically (mkdir) by whichever comes first: confirm or rollback
 *
 * The live listing is `nft list table inet kiln` (nftables) or, for iptables, `iptables-save -t
 * filter` and `ip6tables-save -t filter` reduced to Kiln's chains and the jumps to them (with
 * their positions): a rule added by hand to Kiln's table/chains changes it.
 *
 * The persisted rulesets and the live record are written with `atomicWrite` (temp file beside the
 * destination, then rename): a reboot or a concurrent reader never sees half a file. Rules and
 * files travel in base64 heredocs, never in argv. Kiln's nftables table is always `NFT_TABLE`.
 */
import { atomicWrite } from '../../sh/atomic.ts';
import { q } from '../../sh/quote.ts';
import { writeBytes } from '../../sh/bytes.ts';
import { IPT_CHAINS, type Backend, NFT_TABLE } from './render.ts';

export const STATE_DIR = '/var/lib/kiln/firewall';
export const NFT_PERSIST = '/etc/kiln/firewall.nft';
export const IPT_PERSIST = { 4: '/etc/iptables/rules.v4', 6: '/etc/iptables/rules.v6' } as const;
export const UNIT_PREFIX = 'kiln-fw-rollback-';

/** Shell functions shared by probe, apply and rollback. */
export const FW_FUNCS = String.raw`
kiln_fw_ipt() {
  "$1" -t filter 2>/dev/null | awk '
    /^:KILN-/ { print $1; next }
    /^-A KILN-/ { print; next }
    /^-A (INPUT|OUTPUT) / { n[$2]++; if ($0 ~ /-j KILN-/) print "jump " $2 " at " n[$2] ": " $0 }'
}
kiln_fw_live() {
  if [ "$1" = nftables ]; then nft list table ${NFT_TABLE} 2>/dev/null || true
  else echo "# IPv4"; kiln_fw_ipt iptables-save; echo "# IPv6"; kiln_fw_ipt ip6tables-save; fi
}
kiln_fw_ipt_own() {
  # $1 = iptables-save or ip6tables-save: Kiln's chains, their rules and the jumps to them, as an
  # iptables-restore --noflush file (jumps inserted at the top, in their order); empty without them.
  command -v "$1" >/dev/null 2>&1 || return 0
  "$1" -t filter 2>/dev/null | awk '
    /^:KILN-/ { c[++nc] = $1 " - [0:0]"; next }
    /^-A KILN-/ { r[++nr] = $0; next }
    /^-A (INPUT|OUTPUT) .*-j KILN-/ { j[++nj] = "-I " $2 " 1" substr($0, length($1 " " $2) + 1); next }
    END { if (!nc) exit; print "*filter"; for (i = 1; i <= nc; i++) print c[i]; for (i = 1; i <= nr; i++) print r[i]; for (i = nj; i >= 1; i--) print j[i]; print "COMMIT" }'
}
kiln_fw_ipt_remove() {
  command -v "$1" >/dev/null 2>&1 || return 0
  while "$1" -D INPUT -j ${IPT_CHAINS.INPUT} 2>/dev/null; do :; done
  while "$1" -D OUTPUT -j ${IPT_CHAINS.OUTPUT} 2>/dev/null; do :; done
  for c in ${IPT_CHAINS.INPUT} ${IPT_CHAINS.OUTPUT}; do "$1" -F "$c" 2>/dev/null; "$1" -X "$c" 2>/dev/null; done
  return 0
}
`;

/** Files Kiln persists for a backend (restored by a rollback). */
export function persistPaths(backend: Backend): string[] {
  return backend === 'nftables' ? [NFT_PERSIST] : [IPT_PERSIST[4], IPT_PERSIST[6]];
}

/** Every file a rollback restores (both backends' files: a backend switch is rolled back too). */
const ROLLBACK_FILES = [NFT_PERSIST, IPT_PERSIST[4], IPT_PERSIST[6], `${STATE_DIR}/applied`, `${STATE_DIR}/live`];

export function probeScript(persisted: Record<string, string>, diff: boolean): string {
  const lines = [
    FW_FUNCS,
    `D=${STATE_DIR}`,
    'kiln_has nft && echo has_nft=1',
    'kiln_has iptables-restore && kiln_has ip6tables-restore && echo has_iptables=1',
    '[ -d /run/systemd/system ] && kiln_has systemd-run && echo has_systemd_run=1',
    // $SSH_CONNECTION of this session ("client_ip client_port server_ip server_port"): sudo resets
    // the environment, so look for it in the ancestors (sudo, the login shell).
    'p=$$; sc=',
    'while [ -n "$p" ] && [ "$p" -gt 1 ] 2>/dev/null; do',
    `  sc=$(tr '\\0' '\\n' < /proc/$p/environ 2>/dev/null | sed -n 's/^SSH_CONNECTION=//p')`,
    '  [ -n "$sc" ] && break',
    `  p=$(sed 's/^.*) //' /proc/$p/stat 2>/dev/null | cut -d' ' -f2)`,
    'done',
    'echo "ssh_connection=$sc"',
    `if kiln_has nft && nft list table ${NFT_TABLE} >/dev/null 2>&1; then echo nft_table=1; fi`,
    'printf "nft_live_b64="; kiln_fw_live nftables | base64 -w0; echo',
    'if kiln_has iptables-save; then printf "ipt_live_b64="; kiln_fw_live iptables | base64 -w0; echo; fi',
    '[ -f $D/applied ] && echo "applied=$(cat $D/applied)"',
    '[ -f $D/live ] && { printf "recorded_b64="; base64 -w0 $D/live; echo; }',
    '[ -f $D/pending ] && echo "pending=$(cat $D/pending)"',
  ];
  Object.entries(persisted).forEach(([path, sha], i) => {
    lines.push(
      `echo "persist_path_${i}=${path}"`,
      `kiln_content ${q(path)} ${sha} ${diff ? 262144 : 0} | sed 's/^/persist_${i}_/'`,
      `grep -qs 'Managed by Kiln' ${q(path)} && echo persist_${i}_kiln=1`,
    );
  });
  lines.push('true');
  return lines.join('\n');
}

export interface ApplyInputs {
  backend: Backend;
  id: string;
  rollbackSeconds: number;
  /** Persisted files: path → content. */
  persist: Record<string, string>;
  /** nftables: the file loaded with nft -f. */
  nft?: string;
  /** iptables: the live --noflush loads. */
  ipt?: { 4: string; 6: string };
  /** Remove the other backend's live rules. */
  cleanupOther: boolean;
  /** The other backend's persisted files (only those Kiln wrote are removed). */
  removeFiles?: string[];
  desiredSha: string;
}

export function rollbackScript(id: string): string {
  const P = `${STATE_DIR}/prev.${id}`;
  const lines = [
    '#!/bin/sh',
    `# Kiln firewall rollback for transaction ${id}: restores the rules and files saved before it.`,
    FW_FUNCS,
    `D=${STATE_DIR}`,
    `mkdir $D/decided.${id} 2>/dev/null || exit 0`,
    `P=${P}`,
    'if command -v nft >/dev/null 2>&1 && [ -f $P/live.nft ]; then nft -f $P/live.nft || echo "kiln rollback: nft -f failed" >&2; fi',
    // iptables: only Kiln's chains and jumps go back to what they were; rules other tools added
    // meanwhile (Docker's) stay.
    'for f in 4 6; do',
    '  [ $f = 4 ] && b=iptables || b=ip6tables',
    '  [ -f $P/v$f ] || continue',
    '  kiln_fw_ipt_remove $b',
    '  if [ -s $P/v$f ]; then $b-restore --noflush < $P/v$f || echo "kiln rollback: $b-restore failed" >&2; fi',
    'done',
  ];
  ROLLBACK_FILES.forEach((f, i) => {
    lines.push(`if [ -f $P/file${i} ]; then cp -p $P/file${i} ${q(f)}; elif [ -f $P/nofile${i} ]; then rm -f ${q(f)}; fi`);
  });
  lines.push(
    'rm -f $D/pending',
    `echo rolled-back > $D/decided.${id}/outcome`,
    `logger -t kiln-firewall "rolled back unconfirmed firewall change ${id}" 2>/dev/null || true`,
    '',
  );
  return lines.join('\n');
}

/**
 * A persisted ruleset file, written atomically (atomicWrite). The apply script runs under
 * `umask 077`: the parent is created if missing and the file is made world-readable explicitly.
 */
function installFile(path: string, content: string): string {
  return atomicWrite({ dest: path, bytes: content, parent: 'create', attrs: { mode: '0644' } }).join('\n');
}

export function applyScript(a: ApplyInputs): string {
  const id = a.id;
  const unit = `${UNIT_PREFIX}${id}`;
  const L: string[] = [
    'set -e',
    'umask 077',
    FW_FUNCS,
    `D=${STATE_DIR}; P=$D/prev.${id}`,
    'mkdir -p $D; chmod 0700 $D',
    a.backend === 'nftables'
      ? 'kiln_has nft || { echo "nft is not installed (install the nftables package first)" >&2; exit 3; }'
      : 'kiln_has iptables-restore && kiln_has ip6tables-restore || { echo "iptables-restore/ip6tables-restore are not installed (install the iptables package first)" >&2; exit 3; }',
    '{ [ -d /run/systemd/system ] && kiln_has systemd-run; } || { echo "commit-confirm needs systemd-run on the host (the rollback timer); refusing to load firewall rules without it" >&2; exit 3; }',
    // An earlier change that was never confirmed: restore its previous state now, then go on.
    'if [ -f $D/pending ]; then old=$(cat $D/pending); systemctl stop "' +
      UNIT_PREFIX +
      '$old.timer" >/dev/null 2>&1 || true; [ -f "$D/rollback-$old.sh" ] && sh "$D/rollback-$old.sh"; rm -f $D/pending; fi',
    'rm -rf $D/decided.* $D/prev.* $D/rollback-*.sh $D/new.*',
  ];
  // Stage and validate.
  if (a.backend === 'nftables') {
    L.push(writeBytes('$D/new.nft', a.nft!).trimEnd());
    L.push('if ! out=$(nft -c -f $D/new.nft 2>&1); then echo "nft -c -f rejected the ruleset:" >&2; printf "%s\\n" "$out" >&2; exit 3; fi');
  } else {
    L.push(writeBytes('$D/new.v4', a.ipt![4]).trimEnd(), writeBytes('$D/new.v6', a.ipt![6]).trimEnd());
    L.push(
      'if ! out=$(iptables-restore --test --noflush < $D/new.v4 2>&1); then echo "iptables-restore --test rejected the IPv4 rules:" >&2; printf "%s\\n" "$out" >&2; exit 3; fi',
    );
    L.push(
      'if ! out=$(ip6tables-restore --test --noflush < $D/new.v6 2>&1); then echo "ip6tables-restore --test rejected the IPv6 rules:" >&2; printf "%s\\n" "$out" >&2; exit 3; fi',
    );
  }
  // Save the previous state.
  L.push('mkdir -p $P');
  L.push(
    `if kiln_has nft; then { echo 'table ${NFT_TABLE} {}'; echo 'delete table ${NFT_TABLE}'; nft list table ${NFT_TABLE} 2>/dev/null || true; } > $P/live.nft; fi`,
  );
  L.push('if kiln_has iptables-save; then kiln_fw_ipt_own iptables-save > $P/v4; kiln_fw_ipt_own ip6tables-save > $P/v6; fi');
  ROLLBACK_FILES.forEach((f, i) => L.push(`if [ -f ${q(f)} ]; then cp -p ${q(f)} $P/file${i}; else : > $P/nofile${i}; fi`));
  L.push(writeBytes(`$D/rollback-${id}.sh`, rollbackScript(id)).trimEnd());
  // Arm the detached rollback timer BEFORE loading: if Kiln or the connection dies from here on,
  // the host restores the previous state by itself.
  L.push(
    `systemctl stop ${unit}.timer ${unit}.service >/dev/null 2>&1 || true`,
    `systemctl reset-failed ${unit}.timer ${unit}.service >/dev/null 2>&1 || true`,
    `systemd-run --quiet --on-active=${a.rollbackSeconds}s --unit ${unit} --description 'Kiln firewall rollback (unconfirmed change ${id})' /bin/sh $D/rollback-${id}.sh`,
    `echo ${id} > $D/pending`,
    `disarm() { systemctl stop ${unit}.timer >/dev/null 2>&1 || true; sh $D/rollback-${id}.sh; }`,
  );
  // Load: one atomic transaction per family.
  if (a.backend === 'nftables') {
    L.push(
      'if ! out=$(nft -f $D/new.nft 2>&1); then disarm; echo "nft -f failed (previous rules restored):" >&2; printf "%s\\n" "$out" >&2; exit 3; fi',
    );
    if (a.cleanupOther) L.push('kiln_fw_ipt_remove iptables; kiln_fw_ipt_remove ip6tables');
  } else {
    L.push(
      'if ! out=$(iptables-restore --noflush < $D/new.v4 2>&1); then disarm; echo "iptables-restore failed (previous rules restored):" >&2; printf "%s\\n" "$out" >&2; exit 3; fi',
    );
    L.push(
      'if ! out=$(ip6tables-restore --noflush < $D/new.v6 2>&1); then disarm; echo "ip6tables-restore failed (previous rules restored):" >&2; printf "%s\\n" "$out" >&2; exit 3; fi',
    );
    if (a.cleanupOther) L.push(`if kiln_has nft; then nft delete table ${NFT_TABLE} 2>/dev/null || true; fi`);
  }
  if (a.removeFiles?.length)
    L.push(`for f in ${a.removeFiles.map((f) => q(f)).join(' ')}; do grep -qs 'Managed by Kiln' "$f" && rm -f "$f"; done; true`);
  // Persist and record (rolled back with the rest if the change is not confirmed).
  for (const [path, content] of Object.entries(a.persist)) L.push(installFile(path, content));
  L.push(...atomicWrite({ dest: `${STATE_DIR}/live`, fill: `kiln_fw_live ${a.backend} > "$tmp"` }));
  L.push(`echo ${a.desiredSha} > $D/applied`);
  L.push('rm -f $D/new.*');
  return L.join('\n');
}

/** Run over a NEW connection: disarms the rollback, unless it already fired. */
export function confirmScript(id: string): string {
  return [
    `D=${STATE_DIR}`,
    `if mkdir $D/decided.${id} 2>/dev/null; then`,
    `  systemctl stop ${UNIT_PREFIX}${id}.timer >/dev/null 2>&1 || true`,
    `  rm -rf $D/pending $D/prev.${id} $D/rollback-${id}.sh`,
    '  echo confirmed',
    'else',
    `  echo "not confirmed: the host had already rolled back to its previous rules (the ${UNIT_PREFIX}${id} timer fired before the new connection confirmed)" >&2`,
    '  exit 3',
    'fi',
  ].join('\n');
}

/** state: absent — removes Kiln's live rules (both backends), persisted files, record and timers. */
export function removeScript(): string {
  return [
    FW_FUNCS,
    `D=${STATE_DIR}`,
    `if [ -f $D/pending ]; then systemctl stop "${UNIT_PREFIX}$(cat $D/pending).timer" >/dev/null 2>&1 || true; fi`,
    `if command -v nft >/dev/null 2>&1 && nft list table ${NFT_TABLE} >/dev/null 2>&1; then nft delete table ${NFT_TABLE}; fi`,
    'kiln_fw_ipt_remove iptables',
    'kiln_fw_ipt_remove ip6tables',
    // Only files Kiln wrote (iptables-persistent's own rules.v4, say, stays).
    `for f in ${[NFT_PERSIST, IPT_PERSIST[4], IPT_PERSIST[6]].map((f) => q(f)).join(' ')}; do grep -qs 'Managed by Kiln' "$f" && rm -f "$f"; done`,
    'rm -rf $D',
  ].join('\n');
}
