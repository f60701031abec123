/**
 * `kiln apply --connect-timeout S --keepalive-interval S --keepalive-count N --command-timeout S`:
 * the SSH timeouts that win over every host's inventory settings (kiln_connect_timeout, …). Checked
 * like the inventory values (connection-keys.ts); a bad one is an input error (exit 2, no host
 * contacted), located at the option.
 */
import { Option } from 'commander';
import { type Diagnostic, InputError } from '../core/diagnostic.ts';
import { checkConnectionValue, type ConnectionKey } from '../input/inventory/connection-keys.ts';
import { DEFAULT_TIMEOUTS, type SshTimeouts, TIMEOUT_SETTINGS } from '../transport/ssh/spec.ts';

type Field = keyof SshTimeouts;

const HELP: Record<Field, string> = {
  connect: 'seconds to establish an SSH connection: TCP, handshake, authentication',
  keepaliveInterval: 'seconds between SSH keepalives when the host is silent',
  keepaliveCount: 'a host is unreachable after keepalive interval × this many seconds without an answer',
  command: 'seconds one remote script may run before its task fails (0: no limit)',
};

/** commander's key of an option: `--connect-timeout` → `connectTimeout`. */
const keyOf = (option: string) => option.slice(2).replace(/-(\w)/g, (_, c: string) => c.toUpperCase());

/** The four options, for `kiln apply`. */
export function timeoutOptions(): Option[] {
  return (Object.keys(TIMEOUT_SETTINGS) as Field[]).map((f) => {
    const { variable, option } = TIMEOUT_SETTINGS[f];
    const arg = f === 'keepaliveCount' ? '<n>' : '<seconds>';
    return new Option(`${option} ${arg}`, `${HELP[f]} (default ${DEFAULT_TIMEOUTS[f]}; per host: ${variable})`);
  });
}

/** The timeouts given on the command line (strings from commander), checked; throws InputError. */
export function parseTimeoutOptions(opts: Record<string, unknown>): Partial<SshTimeouts> {
  const out: Partial<SshTimeouts> = {};
  const errors: Diagnostic[] = [];
  for (const f of Object.keys(TIMEOUT_SETTINGS) as Field[]) {
    const { variable, option } = TIMEOUT_SETTINGS[f];
    const raw = opts[keyOf(option)];
    if (raw === undefined) continue;
    const text = String(raw).trim();
    const value = /^\d+$/.test(text) ? Number(text) : Number.NaN;
    const wrong = checkConnectionValue(variable as ConnectionKey, value);
    if (wrong) errors.push({ file: option, message: `must be ${wrong}, got ${JSON.stringify(String(raw))}` });
    else out[f] = value;
  }
  if (errors.length) throw new InputError(errors);
  return out;
}
