/**
 * The real `kiln` CLI (src/cli/main.ts: the sources bin/kiln.js runs, or compiled) with faults injected into
 * its transport (./fault-transport.ts), configured from this process's environment:
 *   KILN_FAULT_KILL_BEFORE_CONFIRM=1                       SIGKILL kiln when a commit-confirm connection is about to open
 *   KILN_FAULT_SSH_CONNECTION="CLIENT CPORT SERVER SPORT"  hosts report this $SSH_CONNECTION to the firewall probe
 *   KILN_FAULT_KILL_AFTER="HOST:REGEX"                     SIGKILL kiln right after the reply of the first script on HOST matching REGEX
 *   KILN_FAULT_KILL_BEFORE="HOST:REGEX"                    SIGKILL kiln right before that script is sent
 *   KILN_FAULT_UNCAUGHT_AFTER="HOST:REGEX"                 an uncaught exception right after that reply
 * E.g. KILN_FAULT_KILL_AFTER="lb1:dest='/etc/haproxy/haproxy\.cfg'" kills kiln once the template
 * task's atomic write of that file has run on lb1 (see fault-transport.ts).
 * Run it as `node --import tsx/esm test/helpers/kiln-with-faults.ts apply …` (argv prefix:
 * KILN_WITH_FAULTS). Importing this file runs nothing. Test-only: production code has no fault
 * switches.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const SELF = fileURLToPath(import.meta.url);

/** The node arguments (after process.execPath, before kiln's own) that run this entry. */
export const KILN_WITH_FAULTS = ['--import', 'tsx/esm', SELF];

if (process.argv[1] && realpathSync(process.argv[1]) === realpathSync(SELF)) {
  const { faultsFromEnv, withFaults } = await import('./fault-transport.ts');
  const { main } = await import('../../src/cli/main.ts');
  const faults = faultsFromEnv(process.env);
  await main(process.argv, { wrapTransport: (ssh) => withFaults(ssh, faults) });
}
