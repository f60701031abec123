/**
 * SELinux file contexts (`seuser`, `serole`, `setype`, `selevel`): the options every Ansible module
 * with file attributes takes. Ansible applies them only where SELinux is enabled on the host
 * (module_utils' `selinux_enabled()`); elsewhere they are a no-op — which is every Debian host
 * unless SELinux was set up by hand. Kiln means exactly that: on a host without SELinux the
 * options change nothing; on a host where it is enabled the task fails, saying Kiln does not
 * manage SELinux contexts, rather than leave the context unset while reporting success.
 *
 * The loader renames the options to `selinux:<option>` (ansible/mapping.ts); `takeSelinux` takes
 * them out of a task's rendered parameters before the module's schema sees them, and
 * `guardSelinux` wraps the bound task: its probe (and the verify probe) also reports whether
 * selinuxfs is mounted — what libselinux's is_selinux_enabled() reads — and that line is removed
 * before the module parses its own output.
 */
import type { BoundPlan, BoundTask, ExecResult, ModuleContext } from '../contract.ts';

/** The prefix the loader gives Ansible's SELinux options. */
export const SELINUX_PARAM_PREFIX = 'selinux:';
export const SELINUX_OPTIONS = ['seuser', 'serole', 'setype', 'selevel'] as const;

const MARK = '__kiln_selinux_enabled=1';

/** Removes the SELinux options from `params`; returns those given a value (null is Ansible's unset). */
export function takeSelinux(params: Record<string, unknown>): Record<string, unknown> {
  const taken: Record<string, unknown> = {};
  for (const k of Object.keys(params)) {
    if (!k.startsWith(SELINUX_PARAM_PREFIX)) continue;
    if (params[k] !== null && params[k] !== undefined) taken[k.slice(SELINUX_PARAM_PREFIX.length)] = params[k];
    delete params[k];
  }
  return taken;
}

/** Shell that prints the marker line when SELinux is enabled (selinuxfs mounted). */
export const SELINUX_PROBE = `if [ -e /sys/fs/selinux/enforce ]; then echo '${MARK}'; fi`;

/** The probe output without the marker line, and whether it was there. */
export function splitSelinux(out: ExecResult): { enabled: boolean; out: ExecResult } {
  const lines = out.stdout.split('\n');
  const i = lines.indexOf(MARK);
  if (i < 0) return { enabled: false, out };
  lines.splice(i, 1);
  return { enabled: true, out: { ...out, stdout: lines.join('\n') } };
}

/** The task's error on a host with SELinux enabled. */
export function selinuxRefusal(given: Record<string, unknown>): string {
  const names = Object.keys(given).join(', ');
  return `SELinux is enabled on this host and Kiln does not manage SELinux file contexts (${names}); Ansible would set them here. Remove the option${Object.keys(given).length > 1 ? 's' : ''} or set the context with a command task (chcon/semanage)`;
}

/** `bound` with its probes checking SELinux: a no-op where it is disabled, a failed task where it is enabled. */
export function guardSelinux(bound: BoundTask, given: Record<string, unknown>): BoundTask {
  if (Object.keys(given).length === 0) return bound;
  const checked = (out: ExecResult): ExecResult => {
    const s = splitSelinux(out);
    if (s.enabled) throw new Error(selinuxRefusal(given));
    return s.out;
  };
  return {
    ...bound,
    probe: (ctx: ModuleContext) => `${SELINUX_PROBE}\n${bound.probe(ctx)}`,
    plan: (out: ExecResult, ctx: ModuleContext): BoundPlan => bound.plan(checked(out), ctx),
    verify: (out: ExecResult, ctx: ModuleContext) => bound.verify(checked(out), ctx),
    registerAfter: bound.registerAfter && ((out: ExecResult) => bound.registerAfter!(splitSelinux(out).out)),
  };
}
