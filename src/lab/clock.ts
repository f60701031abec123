/**
 * The kernel's one-time clock warp. The first settimeofday() with a time zone after boot shifts
 * the system clock by that zone's offset (meant for a hardware clock kept in local time); systemd
 * makes a harmless first call at boot (time zone 0: no shift) to seal it. A machine not booted by
 * systemd (a container, some VMs: the machines the lab runs on) may still have it armed, and lab
 * hosts share the machine's kernel: the first `timedatectl set-timezone Europe/Paris` inside a lab
 * host would move the clock of the whole machine by an hour (seen here). `kiln lab up` and
 * `kiln lab add` seal it first, as systemd would have: with the kernel's time zone 0 (nobody set
 * one, so the warp may still be armed), the same zero is written back, which shifts nothing. A
 * non-zero kernel time zone means the first call already happened (the warp is spent): nothing to do.
 */
import { tryRun } from './exec.ts';

/** Python, with ctypes: reads the kernel's time zone and, when it is 0, writes 0 back. Prints what it did. */
export const SEAL_CLOCK_WARP = [
  'import ctypes',
  'class TZ(ctypes.Structure): _fields_ = [("minuteswest", ctypes.c_int), ("dsttime", ctypes.c_int)]',
  'class TV(ctypes.Structure): _fields_ = [("sec", ctypes.c_long), ("usec", ctypes.c_long)]',
  'libc = ctypes.CDLL(None, use_errno=True)',
  'tv, tz = TV(), TZ()',
  'if libc.gettimeofday(ctypes.byref(tv), ctypes.byref(tz)) != 0: raise OSError(ctypes.get_errno(), "gettimeofday")',
  'if tz.minuteswest != 0 or tz.dsttime != 0:',
  '    print("spent")',
  'else:',
  '    if libc.settimeofday(None, ctypes.byref(TZ(0, 0))) != 0: raise OSError(ctypes.get_errno(), "settimeofday")',
  '    print("sealed")',
].join('\n');

/**
 * Seals the clock warp (root; python3 is on every Debian machine the lab runs on). Where the call
 * is not permitted (no CAP_SYS_TIME), no host can set the kernel's time zone either: nothing to seal.
 */
export async function sealClockWarp(): Promise<'sealed' | 'spent' | 'not permitted'> {
  const r = await tryRun('python3', ['-c', SEAL_CLOCK_WARP]);
  if (r.code !== 0) return 'not permitted';
  return r.stdout.trim() === 'spent' ? 'spent' : 'sealed';
}
