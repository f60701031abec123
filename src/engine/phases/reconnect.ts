/**
 * Reconnect phase: after the apply of a module that takes its host away (reboot), wait for the
 * host to come back. The host's cached connection is dropped (it is dead or about to be); NEW
 * connections are opened through the same factory (so with the same host-key checks and keys)
 * until the module's script says the host is back (a new boot id, the test command passing), or
 * the timeout passes (per stage: not rebooted yet, rebooted but not ready). Each attempt is bounded
 * by the module's connect timeout; the post-delay comes first. The next task's `open` connects
 * afresh.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Reconnect } from '../../modules/contract.ts';
import type { TaskInstance } from '../../plan/instance.ts';
import type { Transport, TransportFactory } from '../../transport/transport.ts';

/** Pause between two attempts. */
const RETRY_MS = 1000;

/** Opens a new connection, giving up after `ms` (a late connection is closed when it arrives). */
async function openWithin(transports: TransportFactory, host: string, ms: number | undefined): Promise<Transport> {
  const p = transports.openFresh(host);
  if (ms === undefined) return p;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no connection within ${ms / 1000} s`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } catch (err) {
    p.then((c) => c.close()).catch(() => undefined);
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

/** Waits for the host to come back; the problem if it did not, else the registered result. */
export async function reconnectInstance(
  x: TaskInstance,
  r: Reconnect,
  transports: TransportFactory,
  host: string,
  /** When the apply ended (elapsed counts from there, as Ansible's from the reboot command). */
  started: number,
): Promise<{ failed: string } | { result: Record<string, unknown> }> {
  await transports.reset?.(host);
  if (r.postDelayMs > 0) await sleep(r.postDelayMs);
  let stage = 1;
  let deadline = Date.now() + r.timeoutMs;
  let last = 'the host did not answer yet';
  while (Date.now() < deadline) {
    let c: Transport | undefined;
    try {
      c = await openWithin(transports, host, r.connectTimeoutMs);
      const out = await c.run(r.script, { become: x.become, becomeUser: x.becomeUser });
      const missing = r.back(out);
      if (missing === undefined) return { result: r.result(Math.floor((Date.now() - started) / 1000)) };
      if (missing.stage > stage) {
        // A new stage (rebooted, not ready yet) gets its own timeout.
        stage = missing.stage;
        deadline = Date.now() + r.timeoutMs;
      }
      last = missing.why;
    } catch (err) {
      last = (err as Error).message;
    } finally {
      c?.close();
    }
    await sleep(Math.min(RETRY_MS, Math.max(0, deadline - Date.now())));
  }
  return { failed: `the host did not come back within ${r.timeoutMs / 1000} s: ${last}` };
}
