/**
 * `hostname`: the host's name, running and permanent (Ansible's ansible.builtin.hostname).
 *
 * As Ansible on Debian: when systemd runs the host (/run/systemd/system) and hostnamectl is there
 * (the `systemd` strategy; `use: debian` is the same strategy in Ansible 2.14), the running name
 * is `hostnamectl --transient status` and the permanent one `hostnamectl --static status`; they
 * are set with `hostnamectl --pretty --static set-hostname` then `--transient set-hostname`.
 * Without systemd (Ansible's Debian FileStrategy) the permanent name is /etc/hostname, and Kiln
 * also sets the kernel's running name (`hostname NAME`), which Ansible's FileStrategy leaves
 * alone: the plan says so. Strategies of other systems (`use: redhat`, `alpine`, …) are refused.
 *
 * Verify probes again: the running name (the kernel's, /proc/sys/kernel/hostname) and the
 * permanent one must both be the name.
 */
import { newFileAttrs } from '../files/attrs.ts';
import { atomicWrite } from '../../sh/atomic.ts';
import { parseKv } from '../../sh/kv.ts';
import { q } from '../../sh/quote.ts';
import { defineModule, type ExecResult, type FromSchema, type Planned } from '../contract.ts';

const OTHER_OS = ['alpine', 'freebsd', 'generic', 'macos', 'macosx', 'darwin', 'openbsd', 'openrc', 'redhat', 'sles', 'solaris'] as const;

const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: {
    name: {
      type: 'string',
      minLength: 1,
      maxLength: 64,
      pattern: '^[A-Za-z0-9]([A-Za-z0-9-]{0,62}[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}[A-Za-z0-9])?)*$',
      description: 'the host name (letters, digits, hyphens, dot-separated labels; at most 64 characters, as hostnamectl requires)',
    },
    use: {
      enum: ['systemd', 'debian', ...OTHER_OS],
      description:
        "strategy: systemd or debian (both hostnamectl, as in Ansible 2.14); unset: hostnamectl when systemd runs the host, else /etc/hostname. Other systems' strategies are refused",
    },
  },
} as const;

export type HostnameParams = FromSchema<typeof schema>;

export interface HostnameState {
  /** systemd runs the host and hostnamectl is installed. */
  systemd: boolean;
  /** The running (transient) name. */
  current: string;
  /** The permanent name: hostnamectl --static, or /etc/hostname. */
  permanent: string;
  /** /etc/hostname's first line ('' when missing). */
  file: string;
  /** The kernel's name (/proc/sys/kernel/hostname). */
  kernel: string;
  /** /etc/hostname exists. */
  fileExists: boolean;
}

export type HostnameOp = { kind: 'permanent'; systemd: boolean; fileExists: boolean } | { kind: 'current'; systemd: boolean };

export function hostnameProbe(): string {
  return [
    'if [ -d /run/systemd/system ] && command -v hostnamectl >/dev/null 2>&1; then echo systemd=1',
    '  t=$(hostnamectl --transient status 2>&1) || { echo "hostnamectl --transient status failed: $t" >&2; exit 3; }',
    '  s=$(hostnamectl --static status 2>&1) || { echo "hostnamectl --static status failed: $s" >&2; exit 3; }',
    '  printf "current=%s\\npermanent=%s\\n" "$t" "$s"',
    'else echo systemd=0; fi',
    'printf "kernel=%s\\n" "$(cat /proc/sys/kernel/hostname)"',
    'if [ -f /etc/hostname ]; then echo file_exists=1; printf "file=%s\\n" "$(head -n1 /etc/hostname | tr -d "[:space:]")"; else echo file=; fi',
  ].join('\n');
}

export function hostnameParse(out: ExecResult): HostnameState {
  const kv = parseKv(out.stdout);
  const systemd = kv.systemd === '1';
  const file = kv.file ?? '';
  const kernel = kv.kernel ?? '';
  return {
    systemd,
    current: systemd ? (kv.current ?? '').trim() : kernel,
    permanent: systemd ? (kv.permanent ?? '').trim() : file,
    file,
    kernel,
    fileExists: kv.file_exists === '1',
  };
}

export function hostnamePlan(p: HostnameParams, s: HostnameState): Planned<HostnameOp>[] {
  if (p.use && (OTHER_OS as readonly string[]).includes(p.use))
    throw new Error(
      `hostname: use: ${p.use} is the strategy of another system; Kiln manages Debian (use systemd or debian, or leave it unset)`,
    );
  if ((p.use === 'systemd' || p.use === 'debian') && !s.systemd)
    throw new Error(`hostname: use: ${p.use} runs hostnamectl, but systemd does not run this host (or hostnamectl is missing)`);
  const out: Planned<HostnameOp>[] = [];
  // Permanent before current, as Ansible's systemd strategy does.
  if (s.permanent !== p.name)
    out.push({
      summary: `permanent hostname ${s.permanent || '(none)'} → ${p.name}${s.systemd ? ' (hostnamectl --static)' : ' (/etc/hostname)'}`,
      diff: `--- before\n+++ after\n@@ -1 +1 @@\n-hostname = ${s.permanent}\n+hostname = ${p.name}\n`,
      op: { kind: 'permanent', systemd: s.systemd, fileExists: s.fileExists },
    });
  if (s.current !== p.name || s.kernel !== p.name)
    out.push({
      summary: `running hostname ${s.current} → ${p.name}${s.systemd ? ' (hostnamectl --transient)' : ' (hostname; Ansible leaves it to the next boot without systemd)'}`,
      op: { kind: 'current', systemd: s.systemd },
    });
  return out;
}

export function hostnameApply(p: HostnameParams, ops: HostnameOp[]): string {
  const n = q(p.name);
  const lines = ['set -e'];
  for (const op of ops) {
    if (op.kind === 'permanent')
      lines.push(
        ...(op.systemd
          ? [`hostnamectl --pretty --static set-hostname ${n}`]
          : atomicWrite({ dest: '/etc/hostname', bytes: `${p.name}\n`, ...newFileAttrs({}, op.fileExists) })),
      );
    else lines.push(op.systemd ? `hostnamectl --transient set-hostname ${n}` : `hostname ${n}`);
  }
  return lines.join('\n');
}

export default defineModule<HostnameParams, HostnameState, HostnameOp>({
  name: 'hostname',
  description: "Set the host's running and permanent name (hostnamectl under systemd, else /etc/hostname).",
  schema,
  probe: () => hostnameProbe(),
  parse: (out) => hostnameParse(out),
  plan: (p, _prep, s) => hostnamePlan(p, s),
  apply: (p, _prep, _s, ops) => hostnameApply(p, ops),
  registerData: (p) => ({
    name: p.name,
    ansible_facts: { ansible_hostname: p.name.split('.')[0], ansible_nodename: p.name },
  }),
});
