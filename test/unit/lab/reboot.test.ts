/**
 * The lab's support for a host that reboots: the boot loop boots the host again when its init was
 * killed by SIGHUP (what the kernel does to a PID namespace's init on reboot(2) RESTART), and ends
 * on anything else (SIGINT for halt/poweroff, an exit); each boot binds its own boot id.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bootLoop, hostProcs, launchScript, REBOOT_STATUS } from '../../../src/lab/host.ts';

const dir = mkdtempSync(join(tmpdir(), 'kiln-lab-reboot-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
/** A stand-in for one boot: counts boots, dies of SIGHUP (a reboot) the first `reboots` times, then of `last`. */
function fakeBoot(reboots: number, last: string): string {
  const f = join(dir, `boot-${++n}.sh`);
  writeFileSync(
    f,
    `n=$(cat "$0.count" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "$0.count"
if [ $n -le ${reboots} ]; then kill -HUP $$; fi
${last}
`,
  );
  return f;
}

describe('lab: a host that reboots', () => {
  it('boots again after a reboot (SIGHUP) and stops after a halt (SIGINT)', () => {
    const f = fakeBoot(2, 'kill -INT $$');
    const r = spawnSync('sh', ['-c', bootLoop('h1', `sh ${f}`)], { encoding: 'utf8' });
    expect(readFileSync(`${f}.count`, 'utf8').trim()).toBe('3');
    expect(r.stdout.match(/is rebooting/g)?.length).toBe(2);
    expect(r.status).toBe(130);
  });
  it('an exit ends the host with its status; the reboot status is 129', () => {
    const f = fakeBoot(0, 'exit 7');
    const r = spawnSync('sh', ['-c', bootLoop('h1', `sh ${f}`)], { encoding: 'utf8' });
    expect(r.status).toBe(7);
    expect(REBOOT_STATUS).toBe(129);
  });
  it('the launch script joins the cgroups once and boots in the loop', () => {
    const s = launchScript('x1', '/run/kiln-lab/hosts/x1/init.sh', ['/sys/fs/cgroup/kiln/x1']);
    expect(s).toContain("echo $$ > '/sys/fs/cgroup/kiln/x1/cgroup.procs'");
    expect(s).toMatch(/while :; do\n {2}ip netns exec kiln-x1 unshare .* --kill-child .*init\.sh'\n/);
    expect(spawnSync('sh', ['-n'], { input: s }).status).toBe(0);
  });
  it("finds the host's init below the boot loop (and below a bare unshare of an earlier Kiln)", async () => {
    // This test process has no children: nothing found, nothing signalled.
    expect(hostProcs(process.pid)).toEqual({});
    const kids = (pid: number) => readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    const settle = () => new Promise((r) => setTimeout(r, 300));
    // The boot loop's layout: sh → unshare → init (here: sleep).
    const loop = spawn('sh', ['-c', 'unshare --fork sleep 30; :'], { stdio: 'ignore' });
    // An earlier Kiln's layout: unshare (recorded) → init.
    const bare = spawn('unshare', ['--fork', 'sleep', '30'], { stdio: 'ignore' });
    try {
      await settle();
      const u = kids(loop.pid!)[0];
      expect(hostProcs(loop.pid!)).toEqual({ unshare: u, init: kids(u)[0] });
      expect(hostProcs(bare.pid!)).toEqual({ unshare: bare.pid, init: kids(bare.pid!)[0] });
      expect(hostProcs(loop.pid!).init).toBeGreaterThan(0);
    } finally {
      for (const p of [loop, bare]) {
        const pid = p.pid!;
        for (const c of kids(pid).flatMap((k) => [k, ...kids(k)])) process.kill(c, 'SIGKILL');
        p.kill('SIGKILL');
      }
    }
  });
});
