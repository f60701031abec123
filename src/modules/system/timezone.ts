/**
 * `timezone`: the system time zone (community.general.timezone), and the hardware clock's mode.
 *
 * As Ansible on Linux: when `timedatectl` is usable (it exits 0), the zone is the one
 * `timedatectl status` reports and is set with `timedatectl set-timezone`; `hwclock` (local/UTC)
 * is "RTC in local TZ" set with `timedatectl set-local-rtc`. Without timedatectl the zone is set as
 * Debian's tzdata does: /etc/localtime a symlink to /usr/share/zoneinfo/NAME (Ansible runs
 * `ln -sf` then `dpkg-reconfigure tzdata`); `hwclock` there is refused (Kiln does not run hwclock).
 * In both cases Kiln also keeps /etc/timezone (the name Debian's tzdata records, which
 * timedatectl does not update) equal to the zone, so the host says the same thing everywhere.
 *
 * The zone must exist as /usr/share/zoneinfo/NAME on the host (Ansible: "given timezone … is not
 * available"). Verify probes again: timedatectl (or the link), /etc/localtime and /etc/timezone.
 */
import { atomicWrite } from '../../sh/atomic.ts';
import { parseKv } from '../../sh/kv.ts';
import { q } from '../../sh/quote.ts';
import { defineModule, type ExecResult, type FromSchema, type Planned } from '../contract.ts';

const schema = {
  type: 'object',
  additionalProperties: false,
  anyOf: [{ required: ['name'] }, { required: ['hwclock'] }],
  properties: {
    name: {
      type: 'string',
      pattern: '^[A-Za-z0-9_+-]+(/[A-Za-z0-9_+-]+)*$',
      description: 'time zone name under /usr/share/zoneinfo, e.g. Europe/Paris or Etc/UTC',
    },
    hwclock: {
      enum: ['local', 'UTC'],
      description: 'whether the hardware clock keeps local time or UTC (timedatectl set-local-rtc); alias rtc. Needs timedatectl',
    },
  },
} as const;

export type TimezoneParams = FromSchema<typeof schema>;

export interface TimezoneState {
  /** timedatectl exists and `timedatectl status` exits 0. */
  timedatectl: boolean;
  /** The zone as the host reports it (timedatectl, else the /etc/localtime link), '' when unknown. */
  zone: string;
  /** 'local' | 'UTC' from timedatectl; undefined without it. */
  hwclock?: 'local' | 'UTC';
  /** What /etc/localtime points to under zoneinfo/ ('' when not a link into zoneinfo). */
  link: string;
  /** /etc/timezone's first line, undefined when the file is missing. */
  timezoneFile?: string;
  timezoneFileSha?: string;
  /** /usr/share/zoneinfo/NAME exists (for the wanted name). */
  zoneExists: boolean;
}

export type TimezoneOp =
  | { kind: 'zone'; timedatectl: boolean }
  | { kind: 'timezone-file'; expect?: { sha256: string } }
  | { kind: 'hwclock'; local: boolean };

export function timezoneProbe(p: TimezoneParams): string {
  return [
    'if command -v timedatectl >/dev/null 2>&1 && st=$(timedatectl status 2>/dev/null); then echo timedatectl=1',
    `  printf '%s\\n' "$st" | sed -n -e 's/^ *Time \\{0,1\\}zone *: *\\([^ ]*\\).*/zone=\\1/p' -e 's/^ *RTC in local TZ *: *\\([^ ]*\\).*/localrtc=\\1/p'`,
    'else echo timedatectl=0; fi',
    `if [ -L /etc/localtime ]; then printf 'link=%s\\n' "$(readlink /etc/localtime)"; fi`,
    `if [ -f /etc/timezone ]; then printf 'tzfile=%s\\n' "$(head -n1 /etc/timezone)"; echo "tzsha=$(sha256sum < /etc/timezone | cut -d' ' -f1)"; fi`,
    p.name !== undefined ? `[ -f /usr/share/zoneinfo/${q(p.name)} ] && echo zone_exists=1 || echo zone_exists=0` : 'echo zone_exists=1',
  ].join('\n');
}

/** /etc/localtime's target → the zone name (…/zoneinfo/Europe/Paris → Europe/Paris), '' otherwise. */
export function zoneOfLink(link: string | undefined): string {
  const m = /(?:^|\/)zoneinfo\/(.+)$/.exec(link ?? '');
  return m ? m[1].replace(/^(posix|right)\//, '') : '';
}

export function timezoneParse(out: ExecResult): TimezoneState {
  const kv = parseKv(out.stdout);
  const timedatectl = kv.timedatectl === '1';
  const link = zoneOfLink(kv.link);
  return {
    timedatectl,
    zone: timedatectl ? (kv.zone ?? '') : link,
    hwclock: timedatectl && kv.localrtc !== undefined ? (/^(yes|true|1|on)$/i.test(kv.localrtc) ? 'local' : 'UTC') : undefined,
    link,
    timezoneFile: kv.tzfile?.trim(),
    timezoneFileSha: kv.tzsha,
    zoneExists: kv.zone_exists === '1',
  };
}

export function timezonePlan(p: TimezoneParams, s: TimezoneState): Planned<TimezoneOp>[] {
  const out: Planned<TimezoneOp>[] = [];
  if (p.name !== undefined) {
    if (!s.zoneExists)
      throw new Error(`timezone: given timezone "${p.name}" is not available (no /usr/share/zoneinfo/${p.name} on the host)`);
    if (s.zone !== p.name || s.link !== p.name)
      out.push({
        summary: `time zone ${s.zone || '(unknown)'} → ${p.name}${s.timedatectl ? ' (timedatectl set-timezone)' : ' (/etc/localtime)'}`,
        diff: `--- before\n+++ after\n@@ -1 +1 @@\n-name: ${s.zone}\n+name: ${p.name}\n`,
        op: { kind: 'zone', timedatectl: s.timedatectl },
      });
    if (s.timezoneFile !== p.name)
      out.push({
        summary: `/etc/timezone: ${s.timezoneFile === undefined ? '(missing)' : s.timezoneFile} → ${p.name}`,
        diff: `--- /etc/timezone\n+++ /etc/timezone\n@@ -1 +1 @@\n-${s.timezoneFile ?? ''}\n+${p.name}\n`,
        op: { kind: 'timezone-file', expect: s.timezoneFileSha ? { sha256: s.timezoneFileSha } : undefined },
      });
  }
  if (p.hwclock !== undefined) {
    if (!s.timedatectl)
      throw new Error('timezone: hwclock needs timedatectl, which is not usable on this host (Kiln does not run hwclock --systohc)');
    if (s.hwclock !== p.hwclock)
      out.push({
        summary: `hardware clock ${s.hwclock ?? '(unknown)'} → ${p.hwclock}`,
        op: { kind: 'hwclock', local: p.hwclock === 'local' },
      });
  }
  return out;
}

export function timezoneApply(p: TimezoneParams, ops: TimezoneOp[]): string {
  const lines = ['set -e'];
  for (const op of ops) {
    switch (op.kind) {
      case 'zone':
        if (op.timedatectl) lines.push(`timedatectl set-timezone ${q(p.name!)}`);
        // The link as tzdata makes it (timedated leaves a link it did not make alone when the zone
        // it reports is already right): a new link renamed over the old one, never missing.
        lines.push(
          `case "$(readlink /etc/localtime 2>/dev/null)" in */zoneinfo/${q(p.name!)}) ;; *) ln -sfn /usr/share/zoneinfo/${q(p.name!)} /etc/.localtime.kiln && mv -Tf /etc/.localtime.kiln /etc/localtime ;; esac`,
        );
        break;
      case 'timezone-file':
        lines.push(
          ...atomicWrite({
            dest: '/etc/timezone',
            bytes: `${p.name}\n`,
            expect: op.expect ?? 'absent',
            keepAttrs: op.expect !== undefined,
            attrs: op.expect ? undefined : { mode: '0644' },
          }),
        );
        break;
      case 'hwclock':
        lines.push(`timedatectl set-local-rtc ${op.local ? 'yes' : 'no'}`);
        break;
    }
  }
  return lines.join('\n');
}

export default defineModule<TimezoneParams, TimezoneState, TimezoneOp>({
  name: 'timezone',
  description:
    "Set the system time zone (timedatectl, or /etc/localtime as Debian's tzdata does) and /etc/timezone; the hardware clock's mode.",
  schema,
  probe: (p) => timezoneProbe(p),
  parse: (out) => timezoneParse(out),
  plan: (p, _prep, s) => timezonePlan(p, s),
  apply: (p, _prep, _s, ops) => timezoneApply(p, ops),
});
