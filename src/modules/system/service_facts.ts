/**
 * `service_facts`: the host's services as Ansible's service_facts reports them,
 * `ansible_facts.services` — one entry per service, keyed by name, `{name, state, status, source}`.
 * Read-only: it never changes the host, runs under --check, and its probe rides in the batch.
 *
 * The probe prints the raw output of the same commands Ansible runs (in the C locale, as
 * Ansible's run_command_environ_update does), and `parse` reads it with Ansible's own rules
 * (ansible-core 2.14's service_facts.py), so names, states and statuses are Ansible's:
 *  - sysv: `service --status-all` when `service` exists (and neither chkconfig nor rc-status):
 *    `[ + ] cron` → `cron: {state: running, source: sysv}` (no status);
 *  - systemd, when PID 1 is systemd: `systemctl list-units --no-pager --type service --all`
 *    (state running/stopped, status active/inactive or a bad state: not-found, masked, failed),
 *    then `systemctl list-unit-files --no-pager --type service --all` for the status of the
 *    others (and `systemctl show NAME --property=ActiveState` for a unit file that is not loaded).
 * The result becomes the host's facts (ansible_facts.services), as the setup module's does.
 */
import { defineModule, type ExecResult, type FromSchema } from '../contract.ts';

const schema = { type: 'object', additionalProperties: false, properties: {} } as const;

export type ServiceFactsParams = FromSchema<typeof schema>;

export interface ServiceFact {
  name: string;
  state: string;
  status?: string;
  source: 'systemd' | 'sysv';
}

export type Services = Record<string, ServiceFact>;

const MARK = '@@kiln-sf';

/** The probe: raw outputs of Ansible's commands, in sections. */
export function serviceFactsProbe(): string {
  return [
    'LC_ALL=C; LANG=C; export LC_ALL LANG',
    'if command -v service >/dev/null 2>&1 && ! command -v chkconfig >/dev/null 2>&1 && ! command -v rc-status >/dev/null 2>&1; then',
    `  echo '${MARK} sysv'`,
    '  service --status-all 2>/dev/null </dev/null',
    'fi',
    'if grep -q systemd /proc/1/comm 2>/dev/null && command -v systemctl >/dev/null 2>&1; then',
    '  units=$(systemctl list-units --no-pager --type service --all 2>/dev/null </dev/null)',
    '  files=$(systemctl list-unit-files --no-pager --type service --all 2>/dev/null </dev/null)',
    `  echo '${MARK} units'; printf '%s\\n' "$units"`,
    `  echo '${MARK} files'; printf '%s\\n' "$files"`,
    // A unit file whose service list-units does not name: its ActiveState, as Ansible asks for it.
    // The names list-units gives are computed as parse does (a line with a bad state starts with a bullet).
    '  known=$(printf \'%s\\n\' "$units" | awk \'/\\.service/ { n = $1; for (i = 1; i <= NF; i++) if ($i == "not-found" || $i == "masked" || $i == "failed") { n = $2; break }; print n }\')',
    `  echo '${MARK} show'`,
    "  printf '%s\\n' \"$files\" | awk '/\\.service/ { print $1 }' | while read -r n; do",
    '    if printf \'%s\\n\' "$known" | grep -qxF -- "$n"; then continue; fi',
    '    o=$(systemctl show "$n" --property=ActiveState 2>/dev/null </dev/null); rc=$?',
    '    printf \'%s %s %s\\n\' "$rc" "$n" "$(printf \'%s\' "$o" | head -n 1)"',
    '  done',
    'fi',
    'true',
  ].join('\n');
}

const BAD_STATES = ['not-found', 'masked', 'failed'];

/** Ansible's service_facts on the probe's output. */
export function parseServiceFacts(stdout: string): Services {
  const sections = new Map<string, string[]>();
  let cur: string[] | undefined;
  for (const line of stdout.split('\n')) {
    if (line.startsWith(`${MARK} `)) {
      cur = [];
      sections.set(line.slice(MARK.length + 1).trim(), cur);
    } else cur?.push(line);
  }
  const services: Services = {};
  // ServiceScanService._list_sysvinit
  const sysv = /^\s*\[ (\+|-) \]\s+(.+)$/;
  for (const line of sections.get('sysv') ?? []) {
    const m = sysv.exec(line);
    if (m) services[m[2]!] = { name: m[2]!, state: m[1] === '+' ? 'running' : 'stopped', source: 'sysv' };
  }
  // SystemctlScanService._list_from_units
  const split = (l: string) => l.split(/\s+/).filter(Boolean);
  for (const line of (sections.get('units') ?? []).filter((l) => l.includes('.service'))) {
    let fields = split(line);
    let status: string;
    const bad = BAD_STATES.find((b) => fields.includes(b));
    if (bad !== undefined) {
      status = bad;
      fields = fields.slice(1);
    } else status = fields[2] ?? 'unknown';
    const name = fields[0]!;
    services[name] = { name, state: fields[3] === 'running' ? 'running' : 'stopped', status, source: 'systemd' };
  }
  // SystemctlScanService._list_from_unit_files
  const shown = new Map<string, string>();
  for (const line of sections.get('show') ?? []) {
    const m = /^(\d+) (\S+) ?(.*)$/.exec(line);
    if (!m) continue;
    shown.set(m[2]!, m[1] === '0' && m[3] !== '' ? m[3]!.replace('ActiveState=', '').trimEnd() : 'unknown');
  }
  for (const line of (sections.get('files') ?? []).filter((l) => l.includes('.service'))) {
    const [name, status] = split(line);
    if (name === undefined || status === undefined) throw new Error(`Malformed output discovered from systemd list-unit-files: ${line}`);
    const known = services[name];
    if (!known) services[name] = { name, state: shown.get(name) ?? 'unknown', status, source: 'systemd' };
    else if (!BAD_STATES.includes(known.status ?? '')) known.status = status;
  }
  return services;
}

/** What `register` sees: Ansible's result (skipped with its message when no service was found). */
export function serviceFactsResult(services: Services): Record<string, unknown> {
  if (Object.keys(services).length === 0) {
    return { skipped: true, msg: 'Failed to find any services. This can be due to privileges or some other configuration issue.' };
  }
  return { ansible_facts: { services } };
}

const serviceFacts = defineModule<ServiceFactsParams, Services, { kind: 'none' }>({
  name: 'service_facts',
  description:
    "Gather the host's services as Ansible's service_facts does (ansible_facts.services: name, state, status, source); they become the host's facts. Never changes the host.",
  schema,
  probe: () => serviceFactsProbe(),
  parse: (out: ExecResult) => parseServiceFacts(out.stdout),
  plan: () => [],
  apply: () => '',
  registerData: (_p, _prep, services) => serviceFactsResult(services),
});

/**
 * The host variable a task defines (`services`, a fact injected under its own name): validation and
 * the probe window treat it as registered by this task, so later tasks using it are rendered after it ran.
 */
export default Object.assign(serviceFacts, { defines: (): string[] => ['services'] });
