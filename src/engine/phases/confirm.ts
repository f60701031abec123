/**
 * Confirm phase (commit-confirm, the module's `confirm`): after a successful apply and verify, the
 * confirm script runs over a NEW connection to the host (`openFresh`, never the cached one), which
 * is closed afterwards. A new connection that cannot be opened, or a confirm that exits non-zero,
 * fails the instance with the reason; nothing is disarmed then, so the host rolls itself back.
 */
import type { TaskInstance } from '../../plan/instance.ts';
import type { Transport, TransportFactory } from '../../transport/transport.ts';

/** Runs `script` (x's confirm) on a new connection to `host`; returns the problem, if any. */
export async function confirmInstance(
  x: TaskInstance,
  script: string,
  transports: TransportFactory,
  host: string,
): Promise<string | undefined> {
  let c: Transport;
  try {
    c = await transports.openFresh(host);
  } catch (err) {
    return `commit-confirm failed: a NEW SSH connection to the host could not be opened after apply (${(err as Error).message}); the change was not confirmed, so the host rolls itself back`;
  }
  try {
    const r = await c.run(script, { become: x.become, becomeUser: x.becomeUser });
    if (r.code !== 0) return `commit-confirm failed: ${r.stderr.trim() || r.stdout.trim() || `exit code ${r.code}`}`;
    return undefined;
  } catch (err) {
    return `commit-confirm failed on the new connection: ${(err as Error).message}; the host rolls itself back`;
  } finally {
    c.close();
  }
}
