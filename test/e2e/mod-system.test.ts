/**
 * hostname, timezone, locale_gen, alternatives, modprobe and openssh_keypair on two lab hosts of
 * their own (x17e1 10.77.0.203, x17e2 10.77.0.204, added to the running lab with `kiln lab add`),
 * through the converge cycle (test/helpers/converge-cycle.ts), with the running state checked
 * from the hosts: the kernel's host name and hostnamectl, timedatectl and /etc/localtime,
 * `locale -a`, `update-alternatives --query`, the persistent modprobe files, the key pair.
 *
 * The lab hosts share this machine's kernel. Two consequences, handled here:
 * - No kernel module is ever loaded or unloaded: modprobe is exercised on `loop`, which is built
 *   into the kernel (the plan sees it loaded and plans only the persistent files).
 * - The kernel's first settimeofday() with a time zone after boot shifts the system clock by the
 *   zone's offset ("warp clock", meant for a hardware clock kept in local time); systemd makes a
 *   dummy call at boot, but when the kernel is not booted by systemd the first `timedatectl
 *   set-timezone` in a lab host moves the clock of the whole machine. The suite makes that
 *   dummy call first (zone offset 0: no shift) and checks that the clock did not jump. `hwclock`
 *   (timedatectl set-local-rtc) is not exercised here for the same reason (unit tests only).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convergeCycle } from '../helpers/converge-cycle.ts';
import { runPlaybook } from '../helpers/run-playbook.ts';
import { ensureLab, kiln, labSkipReason, SHARED_LAB_CWD } from './lab-setup.ts';

const skip = labSkipReason();
if (skip) console.warn(`SKIPPED modules (system) suite: ${skip}`);

const HOSTS = ['x17e1', 'x17e2'];
/** The wall clock minus the monotonic clock, in ms: changes only when the system clock is set. */
const clockOffset = () => Date.now() - Number(process.hrtime.bigint() / 1_000_000n);

/** The dummy settimeofday(NULL, {0, 0}) systemd makes at boot: seals the kernel's one-time clock warp. */
function sealClockWarp(): void {
  execFileSync('python3', [
    '-c',
    [
      'import ctypes',
      'class TZ(ctypes.Structure): _fields_ = [("minuteswest", ctypes.c_int), ("dsttime", ctypes.c_int)]',
      'libc = ctypes.CDLL(None, use_errno=True)',
      'if libc.settimeofday(None, ctypes.byref(TZ(0, 0))) != 0: raise OSError(ctypes.get_errno(), "settimeofday")',
    ].join('\n'),
  ]);
}

describe.skipIf(skip)('system modules on lab hosts: hostname, timezone, locale_gen, alternatives, modprobe, openssh_keypair', () => {
  let lab: { dir: string; inventory: string };
  let work: string;
  let inv: string;
  let offset0: number;
  /** Runs a script as root on a lab host (on ssh's stdin, so no quoting layer in between). */
  const sh = (host: string, script: string) =>
    execFileSync('ssh', ['-F', join(lab.dir, 'ssh_config'), host, 'sudo sh -e'], { input: script, encoding: 'utf8' });
  const onAll = (cmd: string) => Object.fromEntries(HOSTS.map((h) => [h, sh(h, cmd).trim()]));

  beforeAll(async () => {
    lab = await ensureLab();
    work = mkdtempSync(join(tmpdir(), 'kiln-e2e-modsystem-'));
    inv = join(work, 'private', 'inventory.yml');
    await kiln(['lab', 'remove', ...HOSTS], SHARED_LAB_CWD); // leftovers of an interrupted run
    const r = await kiln(['lab', 'add', 'x17e', '--count', '2', '--address', '10.77.0.203', '--inventory', inv], SHARED_LAB_CWD);
    if (r.code !== 0) throw new Error(`kiln lab add failed (${r.code}):\n${r.stderr}${r.stdout}`);
    sealClockWarp();
    offset0 = clockOffset();
  }, 600_000);

  afterAll(async () => {
    if (skip) return;
    await kiln(['lab', 'remove', ...HOSTS], SHARED_LAB_CWD);
    rmSync(work, { recursive: true, force: true });
  });

  it('converges, changes nothing again, finds drifts with --check --diff, fixes them; the running state agrees', async () => {
    const playbook = join(work, 'system.yml');
    writeFileSync(
      playbook,
      `- hosts: all
  gather_facts: false
  tasks:
    - package: { name: locales }
    - hostname: { name: "{{ inventory_hostname }}-k17" }
    - timezone: { name: Europe/Paris }
    - locale_gen: { name: fr_FR.UTF-8 }
    - alternatives:
        name: kiln-e17
        link: /usr/local/bin/kiln-e17
        path: /usr/bin/true
        priority: 20
        subcommands: [{ name: kiln-e17-aux, link: /usr/local/bin/kiln-e17-aux, path: /usr/bin/false }]
    - modprobe: { name: loop, persistent: present, params: max_loop=8 }
    - openssh_keypair: { path: /root/kiln_e17_key, type: ed25519, comment: e17 }
`,
    );
    const verify = () => {
      for (const h of HOSTS) {
        const got = sh(
          h,
          [
            'echo "kernel=$(cat /proc/sys/kernel/hostname)"',
            'echo "static=$(hostnamectl --static status)"',
            'echo "tz=$(timedatectl show -p Timezone --value)"',
            'echo "link=$(readlink /etc/localtime)"',
            'echo "tzfile=$(cat /etc/timezone)"',
            'echo "locale=$(locale -a | grep -x fr_FR.utf8)"',
            "echo \"alt=$(update-alternatives --query kiln-e17 | grep -E '^(Status|Value):' | tr '\\n' ' ')\"",
            'echo "aux=$(readlink -f /usr/local/bin/kiln-e17-aux)"',
            'echo "load=$(cat /etc/modules-load.d/loop.conf)"',
            'echo "opts=$(cat /etc/modprobe.d/loop.conf)"',
            'echo "key=$(ssh-keygen -l -f /root/kiln_e17_key | cut -d" " -f1,3,4)"',
          ].join('; '),
        );
        expect(got).toBe(
          [
            `kernel=${h}-k17`,
            `static=${h}-k17`,
            'tz=Europe/Paris',
            'link=../usr/share/zoneinfo/Europe/Paris',
            'tzfile=Europe/Paris',
            'locale=fr_FR.utf8',
            'alt=Status: manual Value: /usr/bin/true ',
            'aux=/usr/bin/false',
            'load=loop',
            'opts=options loop max_loop=8',
            'key=256 e17 (ED25519)',
            '',
          ].join('\n'),
        );
      }
    };
    const r = await convergeCycle({
      playbook,
      inventory: inv,
      verify,
      tamper: () => {
        sh(
          'x17e1',
          'hostname drifted; timedatectl set-timezone Asia/Tokyo\nupdate-alternatives --install /usr/local/bin/kiln-e17 kiln-e17 /usr/bin/false 90 >/dev/null; update-alternatives --auto kiln-e17 >/dev/null',
        );
        sh(
          'x17e2',
          "sed -i 's/^fr_FR.UTF-8 UTF-8/# fr_FR.UTF-8 UTF-8/' /etc/locale.gen && locale-gen >/dev/null; echo 'options loop max_loop=4' > /etc/modprobe.d/loop.conf; echo 'Etc/UTC' > /etc/timezone",
        );
      },
    });
    const drift = (host: string, task: string) =>
      r.check.tasks.find((t) => t.host === host && t.task.startsWith(task) && t.status === 'changed');
    expect(drift('x17e1', 'hostname')?.changes.map((c) => c.summary)).toEqual([
      'running hostname drifted → x17e1-k17 (hostnamectl --transient)',
    ]);
    expect(drift('x17e1', 'timezone')?.changes.map((c) => c.summary)).toEqual([
      'time zone Asia/Tokyo → Europe/Paris (timedatectl set-timezone)',
    ]);
    expect(drift('x17e1', 'alternatives')?.changes.map((c) => c.summary)).toEqual([
      'select /usr/bin/true for kiln-e17 (was /usr/bin/false; manual mode)',
    ]);
    expect(drift('x17e2', 'locale_gen')?.diff).toContain('-# fr_FR.UTF-8 UTF-8\n+fr_FR.UTF-8 UTF-8');
    expect(drift('x17e2', 'modprobe')?.diff).toContain('-options loop max_loop=4\n+options loop max_loop=8');
    expect(drift('x17e2', 'timezone')?.changes.map((c) => c.summary)).toEqual(['/etc/timezone: Etc/UTC → Europe/Paris']);
    expect(drift('x17e1', 'openssh_keypair')).toBeUndefined();
    expect(Math.abs(clockOffset() - offset0), 'the machine clock did not jump').toBeLessThan(5000);
  }, 600_000);

  it('check mode against the built-in, already loaded loop module plans only files; absent states converge too', async () => {
    const check = join(work, 'check.yml');
    writeFileSync(check, '- hosts: all\n  gather_facts: false\n  tasks:\n    - modprobe: { name: loop, params: max_loop=8 }\n');
    const c = await runPlaybook(check, inv, { check: true });
    expect(c.tasks.map((t) => [t.host, t.status])).toEqual(HOSTS.map((h) => [h, 'ok']));

    const absent = join(work, 'absent.yml');
    writeFileSync(
      absent,
      `- hosts: all
  gather_facts: false
  tasks:
    - locale_gen: { name: fr_FR.UTF-8, state: absent }
    - alternatives: { name: kiln-e17, path: /usr/bin/true, state: absent }
    - alternatives: { name: kiln-e17, path: /usr/bin/false, state: absent }
    - modprobe: { name: loop, persistent: absent }
    - openssh_keypair: { path: /root/kiln_e17_key, state: absent }
    - timezone: { name: Etc/UTC }
`,
    );
    const a = await runPlaybook(absent, inv);
    expect(a.tasks.filter((t) => t.status === 'failed').map((t) => `${t.host} ${t.task} ${t.message ?? ''}`)).toEqual([]);
    expect(
      a.tasks.filter((t) => t.status === 'changed').length,
      'every absent task changed each host (false is an alternative on x17e1 only)',
    ).toBe(2 * 6 - 1);
    const again = await runPlaybook(absent, inv);
    expect(again.tasks.filter((t) => t.status !== 'ok').map((t) => `${t.host} ${t.task} ${t.status}`)).toEqual([]);
    expect(
      onAll(
        'locale -a | grep -c fr_FR || true; update-alternatives --query kiln-e17 >/dev/null 2>&1 && echo alt || echo noalt; cat /etc/modules-load.d/loop.conf /etc/modprobe.d/loop.conf; ls /root/kiln_e17_key* 2>/dev/null | wc -l; timedatectl show -p Timezone --value',
      ),
    ).toEqual(Object.fromEntries(HOSTS.map((h) => [h, '0\nnoalt\n#loop\n#options loop max_loop=8\n0\nEtc/UTC'])));
    expect(Math.abs(clockOffset() - offset0), 'the machine clock did not jump').toBeLessThan(5000);
  }, 600_000);
  it('timezone without a usable timedatectl: the /etc/localtime link and /etc/timezone, as Debian does', async () => {
    // systemd-timedated masked: `timedatectl status` fails, as on a host without it.
    sh('x17e2', 'systemctl stop systemd-timedated 2>/dev/null || true; systemctl mask --runtime systemd-timedated >/dev/null 2>&1');
    try {
      expect(() => sh('x17e2', 'timedatectl status >/dev/null 2>&1')).toThrow();
      const playbook = join(work, 'tz-link.yml');
      writeFileSync(playbook, '- hosts: x17e2\n  gather_facts: false\n  tasks:\n    - timezone: { name: Asia/Tokyo }\n');
      const verify = () =>
        expect(sh('x17e2', 'readlink /etc/localtime; cat /etc/timezone')).toBe('/usr/share/zoneinfo/Asia/Tokyo\nAsia/Tokyo\n');
      const r = await convergeCycle({
        playbook,
        inventory: inv,
        verify,
        tamper: () => {
          sh('x17e2', 'ln -sfn /usr/share/zoneinfo/Etc/UTC /etc/localtime');
        },
      });
      expect(r.first.tasks[0].changes.map((c) => c.summary)).toContain('time zone Etc/UTC → Asia/Tokyo (/etc/localtime)');
      expect(r.check.tasks[0].changes.map((c) => c.summary)).toEqual(['time zone Etc/UTC → Asia/Tokyo (/etc/localtime)']);
    } finally {
      sh('x17e2', 'systemctl unmask --runtime systemd-timedated >/dev/null 2>&1 || true');
    }
    expect(Math.abs(clockOffset() - offset0), 'the machine clock did not jump').toBeLessThan(5000);
  }, 600_000);
});
