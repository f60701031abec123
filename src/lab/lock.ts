/**
 * One `kiln lab` command changing the lab at a time, machine-wide: LOCK_FILE is created
 * exclusively and holds `<pid> <start time>` of its holder. A lock whose holder is gone (lock
 * unreadable, no such process, a recycled PID with another start time, or a zombie) is stale and
 * removed; a live holder is waited for (15 minutes by default), never signalled. The lock is
 * removed when the command settles, success or error. It lives outside RUN_DIR, which `down`
 * deletes while holding it.
 */
import { readFileSync } from 'node:fs';
import { mkdir, open, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { LabError } from './errors.ts';
import { sleep } from './exec.ts';
import { procStat } from './state.ts';

/** One `kiln lab` command changing the lab at a time (machine-wide). */
export const LOCK_FILE = '/run/kiln-lab.lock';

function holder(): { pid: number; start: number } | undefined {
  try {
    const [pid, start] = readFileSync(LOCK_FILE, 'utf8').trim().split(' ').map(Number);
    return { pid, start };
  } catch {
    return undefined;
  }
}

export async function withLabLock<T>(fn: () => Promise<T>, waitMs = 15 * 60 * 1000, onWait?: (pid: number) => void): Promise<T> {
  await mkdir(dirname(LOCK_FILE), { recursive: true });
  const me = procStat(process.pid);
  const deadline = Date.now() + waitMs;
  let told = false;
  for (;;) {
    try {
      const fh = await open(LOCK_FILE, 'wx');
      await fh.writeFile(`${process.pid} ${me?.startTime ?? 0}\n`);
      await fh.close();
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const h = holder();
      const st = h ? procStat(h.pid) : undefined;
      if (!h || !st || st.startTime !== h.start || st.state === 'Z') {
        await rm(LOCK_FILE, { force: true }); // stale: its process is gone
        continue;
      }
      if (Date.now() > deadline) throw new LabError(`another kiln lab command (pid ${h.pid}) is still running; ${LOCK_FILE} is held`);
      if (!told) {
        onWait?.(h.pid);
        told = true;
      }
      await sleep(250);
    }
  }
  try {
    return await fn();
  } finally {
    await rm(LOCK_FILE, { force: true });
  }
}
