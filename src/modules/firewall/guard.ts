/**
 * The SSH guard of the single-rule firewall modules (iptables, ufw): commit-confirm.
 *
 * A rule, a policy or a flush can cut the SSH connection Kiln works through (a DROP on port 22, a
 * DROP policy without an ACCEPT for it). Before changing anything, apply saves the live rules
 * (`iptables-save` / `ip6tables-save`, every table) and arms a detached rollback on the host
 * (systemd-run, GUARD_SECONDS): unless Kiln confirms over a NEW SSH connection (the module's
 * `confirm`, run by the engine after apply and verify), the host restores the saved rules by itself
 * and the task fails saying so. A host without systemd-run is refused before anything changes.
 *
 * State in GUARD_DIR (root, 0700): prev.<id> (the saved rules, per family), rollback-<id>.sh,
 * decided.<id>/ (created atomically by whichever comes first, confirm or rollback).
 */
import { randomBytes } from 'node:crypto';
import { writeBytes } from '../../sh/bytes.ts';

export const GUARD_DIR = '/var/lib/kiln/fw-guard';
export const GUARD_SECONDS = 30;
const UNIT = 'kiln-fw-guard-';

/** A fresh transaction id (one per task instance). */
export function guardId(): string {
  return randomBytes(6).toString('hex');
}

/**
 * Shell that saves the rules and arms the rollback (set -e is on). `saves`: the save commands,
 * by restore command (`iptables-restore` ← `iptables-save`); missing tools are skipped.
 */
export function armGuard(id: string, families: readonly ('4' | '6')[] = ['4', '6']): string[] {
  const saved = families.map((f) => ({
    save: f === '4' ? 'iptables-save' : 'ip6tables-save',
    restore: f === '4' ? 'iptables-restore' : 'ip6tables-restore',
    f,
  }));
  const rollback = [
    '#!/bin/sh',
    `# Kiln firewall guard ${id}: restores the rules saved before an unconfirmed change.`,
    `D=${GUARD_DIR}`,
    `mkdir $D/decided.${id} 2>/dev/null || exit 0`,
    // Tables loaded since the save (iptables-save had nothing for them) go back to empty, with
    // ACCEPT policies; the saved ones are restored as they were.
    ...saved.flatMap((s) => {
      const prev = `$D/prev.${id}.v${s.f}`;
      const ipt = s.save.replace('-save', '');
      return [
        `for t in $(${s.save} 2>/dev/null | sed -n 's/^\\*//p'); do`,
        `  grep -qx "\\*$t" ${prev} 2>/dev/null && continue`,
        `  ${ipt} -t "$t" -F; ${ipt} -t "$t" -X`,
        `  for c in $(${s.save} -t "$t" | sed -n 's/^:\\([^ ]*\\) [A-Z][A-Z]* .*/\\1/p'); do ${ipt} -t "$t" -P "$c" ACCEPT; done`,
        'done',
        `if [ -s ${prev} ]; then ${s.restore} < ${prev}; fi`,
      ];
    }),
    // ufw keeps its own files: put them back too, then reload ufw's view of them.
    `if [ -d $D/prev.${id}.ufw ]; then cp -pR $D/prev.${id}.ufw/. /etc/ufw/ && { ufw reload >/dev/null 2>&1 || true; }; fi`,
    `echo rolled-back > $D/decided.${id}/outcome`,
    `logger -t kiln-firewall "rolled back unconfirmed firewall change ${id}" 2>/dev/null || true`,
    '',
  ].join('\n');
  return [
    '{ [ -d /run/systemd/system ] && command -v systemd-run >/dev/null 2>&1; } || { echo "the SSH guard (commit-confirm) needs systemd-run on the host; refusing to change firewall rules without it" >&2; exit 3; }',
    `D=${GUARD_DIR}`,
    'mkdir -p $D; chmod 0700 $D',
    `rm -rf $D/decided.* $D/prev.* $D/rollback-*.sh`,
    ...saved.map((s) => `if command -v ${s.save} >/dev/null 2>&1; then ${s.save} > $D/prev.${id}.v${s.f}; fi`),
    `if [ -d /etc/ufw ]; then mkdir -p $D/prev.${id}.ufw && cp -pR /etc/ufw/. $D/prev.${id}.ufw/; fi`,
    writeBytes(`$D/rollback-${id}.sh`, rollback).trimEnd(),
    `systemd-run --quiet --on-active=${GUARD_SECONDS}s --timer-property=AccuracySec=1s --unit ${UNIT}${id} --description 'Kiln firewall guard (unconfirmed change ${id})' /bin/sh $D/rollback-${id}.sh`,
    // A failure from here on: restore now, do not wait for the timer.
    `trap 'rc=$?; if [ $rc -ne 0 ]; then systemctl stop ${UNIT}${id}.timer >/dev/null 2>&1 || true; sh $D/rollback-${id}.sh; fi' EXIT`,
  ];
}

/** Run by the engine over a NEW SSH connection: disarms the rollback, unless it already fired. */
export function confirmGuard(id: string): string {
  return [
    `D=${GUARD_DIR}`,
    // nothing was armed (a change that cannot cut SSH: ufw disable, logging)
    `if [ ! -f $D/rollback-${id}.sh ]; then echo 'nothing armed'; exit 0; fi`,
    `if mkdir $D/decided.${id} 2>/dev/null; then`,
    `  systemctl stop ${UNIT}${id}.timer >/dev/null 2>&1 || true`,
    `  rm -rf $D/prev.${id}.* $D/rollback-${id}.sh`,
    '  echo confirmed',
    'else',
    `  echo "not confirmed: the host had already restored its previous firewall rules (the change was not confirmed over a new SSH connection within ${GUARD_SECONDS}s: it may cut SSH)" >&2`,
    '  exit 3',
    'fi',
  ].join('\n');
}
