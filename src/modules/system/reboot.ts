/**
 * `reboot`: reboots the host and waits for it to come back, as ansible.builtin.reboot (2.14) does
 * on Linux.
 *
 * The probe reads the boot id (`boot_time_command`, default `cat /proc/sys/kernel/random/boot_id`)
 * and finds `shutdown` in `search_paths`. The plan is one action (it always reboots; check mode
 * reports that it would, as Ansible's `changed: true, rebooted: true`). The apply runs the reboot
 * command (`shutdown -r <pre_reboot_delay in whole minutes> "<msg>"`, or `reboot_command`); the
 * connection may drop under it. Then the engine drops the connection and opens NEW ones (same
 * known_hosts checks and keys) until `boot_time_command` prints another boot id and
 * `test_command` succeeds (after `post_reboot_delay`; `reboot_timeout` for each of the two, each
 * attempt within `connect_timeout`; `Reconnect` in contract.ts, phases/reconnect.ts). Result:
 * `rebooted`, `elapsed` (seconds since the reboot command), as Ansible's.
 */
import { fromB64 } from '../../sh/bytes.ts';
import { parseKv } from '../../sh/kv.ts';
import { q } from '../../sh/quote.ts';
import { defineModule, type ExecResult, type FromSchema, type Planned, type Reconnect } from '../contract.ts';

const SEARCH_PATHS = ['/sbin', '/bin', '/usr/sbin', '/usr/bin', '/usr/local/sbin'];
const BOOT_ID = 'cat /proc/sys/kernel/random/boot_id';

const schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    reboot_timeout: {
      type: 'integer',
      minimum: 1,
      description:
        'seconds to wait for the host to come back: for its new boot id, then again for test_command to pass (as Ansible); default 600',
    },
    connect_timeout: {
      type: 'integer',
      minimum: 1,
      description: "seconds one connection attempt may take while waiting (default: the host's connect timeout)",
    },
    pre_reboot_delay: {
      type: 'integer',
      minimum: 0,
      description:
        'seconds before the reboot; as in Ansible on Linux, passed to shutdown in whole minutes (rounded down: under 60 reboots at once)',
    },
    post_reboot_delay: {
      type: 'integer',
      minimum: 0,
      description: 'seconds to wait once the host is back, before the next task (default 0)',
    },
    test_command: { type: 'string', minLength: 1, description: 'command that must succeed on the rebooted host (default whoami)' },
    msg: { type: 'string', description: 'message given to shutdown (default "Reboot initiated by Ansible")' },
    boot_time_command: {
      type: 'string',
      minLength: 1,
      description: 'command printing something that changes at every boot (default cat /proc/sys/kernel/random/boot_id)',
    },
    search_paths: {
      type: 'array',
      items: { type: 'string', pattern: '^/' },
      description: 'directories searched for shutdown (and for a reboot_command given without a path)',
    },
    reboot_command: {
      type: 'string',
      minLength: 1,
      description: 'command that reboots, instead of shutdown -r; its first word is looked up in search_paths unless it is a path',
    },
  },
} as const;

export type RebootParams = FromSchema<typeof schema>;

export interface RebootState {
  /** What boot_time_command printed. */
  bootId: string;
  bootOk: boolean;
  bootErr: string;
  /** The reboot command's binary found in search_paths. */
  bin?: string;
}

export type RebootOp = { kind: 'reboot' };

/** The command (first word) that reboots, and its arguments (Ansible's get_shutdown_command[_args]). */
export function rebootCommand(p: RebootParams): { cmd: string; args: string } {
  if (p.reboot_command) {
    const [cmd, ...rest] = p.reboot_command.trim().split(/\s+/);
    return { cmd, args: rest.join(' ') };
  }
  const delayMin = Math.floor((p.pre_reboot_delay ?? 0) / 60);
  return { cmd: 'shutdown', args: `-r ${delayMin} ${q(p.msg ?? 'Reboot initiated by Ansible')}` };
}

export function rebootProbe(p: RebootParams): string {
  const { cmd } = rebootCommand(p);
  const paths = (p.search_paths ?? SEARCH_PATHS).map(q).join(' ');
  return [
    `if out=$( { ${p.boot_time_command ?? BOOT_ID} ; } 2>&1 ); then echo boot_ok=1; else echo boot_ok=0; fi`,
    'printf \'boot_b64=\'; printf %s "$out" | base64 -w0; echo',
    cmd.startsWith('/')
      ? `[ -x ${q(cmd)} ] && echo bin_b64=$(printf %s ${q(cmd)} | base64 -w0)`
      : `for d in ${paths}; do if [ -x "$d"/${q(cmd)} ] && [ ! -d "$d"/${q(cmd)} ]; then printf 'bin_b64='; printf %s "$d"/${q(cmd)} | base64 -w0; echo; break; fi; done`,
    'true',
  ].join('\n');
}

export function rebootParse(out: ExecResult): RebootState {
  const kv = parseKv(out.stdout);
  const text = fromB64(kv.boot_b64);
  return { bootOk: kv.boot_ok === '1', bootId: text.trim(), bootErr: text.trim(), bin: kv.bin_b64 ? fromB64(kv.bin_b64) : undefined };
}

export function rebootPlan(p: RebootParams, s: RebootState): Planned<RebootOp>[] {
  if (!s.bootOk) throw new Error(`Failed to determine system last boot time: ${s.bootErr}`);
  const { cmd } = rebootCommand(p);
  if (!s.bin) throw new Error(`Unable to find command "${cmd}" in search paths: ${(p.search_paths ?? SEARCH_PATHS).join(', ')}`);
  return [
    { summary: `reboot the host (${rebootCommand(p).args || cmd}) and wait for it to come back`, action: true, op: { kind: 'reboot' } },
  ];
}

export function rebootApply(p: RebootParams, s: RebootState): string {
  const { args } = rebootCommand(p);
  // The connection may be cut under the command: the engine expects that.
  return `${q(s.bin ?? '')} ${args}`;
}

/** How the engine knows the host is back: another boot id, then test_command passing. */
export function rebootReconnect(p: RebootParams, s: RebootState): Reconnect {
  return {
    timeoutMs: (p.reboot_timeout ?? 600) * 1000,
    connectTimeoutMs: p.connect_timeout !== undefined ? p.connect_timeout * 1000 : undefined,
    postDelayMs: (p.post_reboot_delay ?? 0) * 1000,
    script: [
      `if out=$( { ${p.boot_time_command ?? BOOT_ID} ; } 2>&1 ); then echo boot_ok=1; else echo boot_ok=0; fi`,
      'printf \'boot_b64=\'; printf %s "$out" | base64 -w0; echo',
      `if t=$( { ${p.test_command ?? 'whoami'} ; } 2>&1 ); then echo test_ok=1; else echo test_ok=0; fi`,
      'printf \'test_b64=\'; printf %s "$t" | tail -c 2000 | base64 -w0; echo',
    ].join('\n'),
    back(out) {
      const kv = parseKv(out.stdout);
      const boot = fromB64(kv.boot_b64).trim();
      if (kv.boot_ok !== '1') return { stage: 1, why: `boot_time_command failed: ${boot}` };
      if (boot === s.bootId) return { stage: 1, why: 'the boot id has not changed yet (the host has not rebooted)' };
      if (kv.test_ok !== '1') return { stage: 2, why: `test_command failed: ${fromB64(kv.test_b64).trim()}` };
      return undefined;
    },
    result: (elapsed) => ({ rebooted: true, elapsed }),
  };
}

export default defineModule<RebootParams, RebootState, RebootOp, undefined>({
  name: 'reboot',
  description: 'Reboot the host and wait until it is back (a new boot id, test_command passing), then reconnect.',
  schema,
  probe: (p) => rebootProbe(p),
  parse: (out) => rebootParse(out),
  plan: (p, _prep, s) => rebootPlan(p, s),
  apply: (p, _prep, s) => rebootApply(p, s),
  reconnect: (p, _prep, s) => rebootReconnect(p, s),
  interpret: (_p, _prep, out) =>
    out.code === 0
      ? {}
      : { failed: `Reboot command failed. Error was: '${out.stdout.trim()}, ${out.stderr.trim()}'`, result: { rebooted: false } },
  // Check mode (Ansible): changed, rebooted, elapsed 0; a real run overrides them with what happened.
  registerData: () => ({ rebooted: true, elapsed: 0 }),
});
