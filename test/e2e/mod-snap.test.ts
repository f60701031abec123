/**
 * snap (community.general.snap) on a lab host of its own (x27s1, 10.77.0.223, added to the running
 * lab with `kiln lab add`): snapd 2.57.6 from the lab's offline mirror, really running, with local
 * snaps side-loaded (`snap install --dangerous`: the lab has no snap store), driven through the
 * converge cycle (test/helpers/converge-cycle.ts) and checked from the host (`snap list`,
 * `snap get -d`). The registered results are compared with what community.general.snap returned
 * on the same host prepared the same way (test/fixtures/ansible/snap/).
 *
 * What the lab host lacks for snapd, and `prepareHost` gives it (on this host only; all of it is
 * what a booted Debian machine has):
 * - `/` with shared mount propagation: systemd makes it rshared at boot outside containers; the
 *   lab's init leaves it private, and snap-confine then bind-mounts /snap over itself to make it
 *   shared, after which systemd can no longer unmount a snap's squashfs (removal hangs retrying).
 * - loop device nodes (/dev/loop-control, /dev/loop0..63): the host's /dev is a small private tmpfs
 *   without them, and snapd mounts each snap (a squashfs file) through a loop device.
 * - udevd running: snapd reloads udev rules when it installs a snap; the unit's condition
 *   (a writable /sys) is lifted by a runtime drop-in (/run/systemd/system/...).
 * - the snaps the store would provide: `snapd` (the distribution's own snapd packed as a snap),
 *   a tiny base `kiln-base` (a shell and libc), and two apps with a configure hook
 *   (`kiln-one`, `kiln-two`: `snap set` needs one), all packed on the host with `snap pack`.
 * - snapd pinned to a CPU where new mount namespaces can be preserved (PIN_SNAPD: a kernel 6.18
 *   quirk of namespace ids, explained there).
 * Installing from the store (state present on a snap that is not installed) can only fail here:
 * the suite checks that it fails loudly, after --check predicted the install.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convergeCycle } from '../helpers/converge-cycle.ts';
import { runPlaybook } from '../helpers/run-playbook.ts';
import { ensureLab, kiln, labSkipReason, SHARED_LAB_CWD } from './lab-setup.ts';

const skip = labSkipReason();
if (skip) console.warn(`SKIPPED snap module suite: ${skip}`);

const HOST = 'x27s1';
const FIXTURES = join(import.meta.dirname, '../fixtures/ansible/snap');
const oracle = (file: string) => JSON.parse(readFileSync(join(FIXTURES, file), 'utf8')) as Record<string, Record<string, unknown>>;

/** Side-loads one of the test snaps (built by PREPARE). */
const SIDELOAD = (snap: string) => `snap install --dangerous /root/kiln-snaps/${snap}_1.0_all.snap >/dev/null`;

/**
 * Pins snapd (and so snap-confine, which it spawns for hooks) to a CPU on which a new mount
 * namespace gets a higher id than the host's own. Kernel 6.18 gives mount namespaces ids from
 * per-CPU batches (ns_tree_gen_id), so a namespace made later on another CPU can have a LOWER id
 * than the host's, and the loop check of a bind mount of its /proc/PID/ns/mnt (mnt_ns_loop: the
 * current namespace's id >= the target's) then refuses it with EINVAL: snap-confine's "cannot
 * preserve mount namespace … Invalid argument" at a snap's first hook. Shown on a lab host:
 * `taskset -c 0 unshare --mount` made a namespace that could not be bind-mounted, `taskset -c 1`
 * one that could. The probe tries each CPU the same way, in a private tmpfs, and pins snapd to the
 * first that works (a runtime drop-in, this host only).
 */
const PIN_SNAPD = String.raw`P=/run/kiln-nsprobe; mkdir -p $P; mount -t tmpfs kiln-nsprobe $P; mount --make-private $P; touch $P/ns
cpu=
for c in $(seq 0 $(($(nproc) - 1))); do
  taskset -c $c unshare --mount sleep 30 & p=$!
  for i in 1 2 3 4 5 6 7 8 9 10; do [ "$(readlink /proc/$p/ns/mnt)" != "$(readlink /proc/self/ns/mnt)" ] && break; sleep 0.1; done
  if mount --bind /proc/$p/ns/mnt $P/ns 2>/dev/null; then umount $P/ns; cpu=$c; fi
  kill $p; wait $p 2>/dev/null || true
  [ -z "$cpu" ] || break
done
umount $P; rmdir $P
[ -n "$cpu" ] || { echo "no CPU makes a mount namespace that can be bind-mounted here" >&2; exit 1; }
mkdir -p /run/systemd/system/snapd.service.d
printf '[Service]\nCPUAffinity=%s\n' $cpu > /run/systemd/system/snapd.service.d/kiln-cpu.conf
systemctl daemon-reload`;

const PREPARE = String.raw`
mount --make-rshared /
for i in $(seq 0 63); do [ -e /dev/loop$i ] || mknod -m 660 /dev/loop$i b 7 $i; done
[ -e /dev/loop-control ] || mknod -m 660 /dev/loop-control c 10 237
DEBIAN_FRONTEND=noninteractive apt-get install -y -q snapd squashfs-tools udev >/dev/null
mkdir -p /run/systemd/system/systemd-udevd.service.d
printf '[Unit]\nConditionPathIsReadWrite=\n' > /run/systemd/system/systemd-udevd.service.d/lab.conf
systemctl daemon-reload
systemctl start systemd-udevd
${PIN_SNAPD}
systemctl restart snapd.socket snapd
W=/root/kiln-snaps; rm -rf $W; mkdir -p $W
mkdir -p $W/snapd/meta $W/snapd/usr/lib $W/snapd/usr/bin
cp -a /usr/lib/snapd $W/snapd/usr/lib/; cp /usr/bin/snap $W/snapd/usr/bin/
printf 'name: snapd\nversion: "2.57.6"\nsummary: snapd\ndescription: the distribution snapd as a local snap\ntype: snapd\n' > $W/snapd/meta/snap.yaml
B=$W/kiln-base
for d in bin dev etc home root proc sys tmp var/snap var/lib/snapd var/tmp run lib/modules usr/src var/log media snap mnt usr/lib/snapd lib64 lib/x86_64-linux-gnu usr/bin; do mkdir -p $B/$d; done
mkdir -p $B/meta; cp /bin/dash $B/bin/sh; cp /lib64/ld-linux-x86-64.so.2 $B/lib64/; cp /lib/x86_64-linux-gnu/libc.so.6 $B/lib/x86_64-linux-gnu/
printf 'name: kiln-base\nversion: "1"\nsummary: base\ndescription: a tiny base for tests\ntype: base\n' > $B/meta/snap.yaml
for n in kiln-one kiln-two; do
  A=$W/$n; mkdir -p $A/meta/hooks $A/bin
  printf 'name: %s\nversion: "1.0"\nsummary: test\ndescription: test snap\nconfinement: strict\nbase: kiln-base\napps:\n  %s:\n    command: bin/hello\n' $n $n > $A/meta/snap.yaml
  printf '#!/bin/sh\necho hello\n' > $A/bin/hello; printf '#!/bin/sh\nexit 0\n' > $A/meta/hooks/configure
  chmod +x $A/bin/hello $A/meta/hooks/configure
done
cd $W
for s in snapd kiln-base kiln-one kiln-two; do snap pack $W/$s $W >/dev/null; done
snap install --dangerous $W/snapd_2.57.6_all.snap
snap install --dangerous $W/kiln-base_1_all.snap
${SIDELOAD('kiln-one')}
${SIDELOAD('kiln-two')}
snap run kiln-one; snap run kiln-two
`;

describe.skipIf(skip)('snap on a lab host: snapd running, local snaps, the converge cycle', () => {
  let lab: { dir: string; inventory: string };
  let work: string;
  let inv: string;
  /** Runs a script as root on the lab host (on ssh's stdin, so no quoting layer in between). */
  const sh = (script: string) =>
    execFileSync('ssh', ['-F', join(lab.dir, 'ssh_config'), HOST, 'sudo sh -e'], { input: script, encoding: 'utf8', timeout: 300_000 });
  const playbook = (name: string, tasks: string) => {
    const file = join(work, `${name}.yml`);
    writeFileSync(file, `- hosts: all\n  gather_facts: false\n  tasks:\n${tasks}`);
    return file;
  };
  /** `snap list` as name → notes, and the configuration of a snap. */
  const snaps = () =>
    Object.fromEntries(
      sh('snap list')
        .trim()
        .split('\n')
        .slice(1)
        .map((l) => l.split(/\s+/))
        .map((f) => [f[0], f[5]]),
    );
  const config = (snap: string) => JSON.parse(sh(`snap get -d ${snap} 2>/dev/null || echo '{}'`)) as Record<string, unknown>;

  beforeAll(async () => {
    lab = await ensureLab();
    work = mkdtempSync(join(tmpdir(), 'kiln-e2e-modsnap-'));
    inv = join(work, 'private', 'inventory.yml');
    await kiln(['lab', 'remove', HOST], SHARED_LAB_CWD); // leftovers of an interrupted run
    const r = await kiln(['lab', 'add', HOST, '--address', '10.77.0.223', '--inventory', inv], SHARED_LAB_CWD);
    if (r.code !== 0) throw new Error(`kiln lab add failed (${r.code}):\n${r.stderr}${r.stdout}`);
    sh(PREPARE);
  }, 900_000);

  afterAll(async () => {
    if (skip) return;
    await kiln(['lab', 'remove', HOST], SHARED_LAB_CWD);
    rmSync(work, { recursive: true, force: true });
  });

  it('options (snap set) and state disabled: converge, 0 changed, drift found by --check --diff, fixed', async () => {
    expect(snaps()).toEqual({ snapd: 'snapd', 'kiln-base': 'base', 'kiln-one': '-', 'kiln-two': '-' });
    const pb = playbook(
      'options',
      `    - snap:
        name: [kiln-one, kiln-two]
        options: [greeting=hello, "kiln-two:port=8080", tls.enabled=true]
    - snap: { name: kiln-two, state: disabled }
`,
    );
    const verify = () => {
      expect(config('kiln-one')).toEqual({ greeting: 'hello', tls: { enabled: true } });
      expect(config('kiln-two')).toEqual({ greeting: 'hello', port: 8080, tls: { enabled: true } });
      expect(snaps()['kiln-two']).toBe('disabled');
    };
    const r = await convergeCycle({
      playbook: pb,
      inventory: inv,
      verify,
      tamper: () => {
        sh('snap set kiln-one greeting=bye\nsnap enable kiln-two >/dev/null');
      },
    });
    expect(r.first.tasks.map((t) => t.changes.map((c) => c.summary))).toEqual([
      [
        'snap set kiln-one: greeting: unset → hello, tls.enabled: unset → true',
        'snap set kiln-two: greeting: unset → hello, port: unset → 8080, tls.enabled: unset → true',
      ],
      ['disable snap kiln-two'],
    ]);
    expect(r.check.tasks.map((t) => t.changes.map((c) => c.summary))).toEqual([
      ['snap set kiln-one: greeting: "bye" → hello'],
      ['disable snap kiln-two'],
    ]);
  }, 600_000);

  it('the registered results have the keys and values community.general.snap returned on this host', async () => {
    sh('snap enable kiln-two >/dev/null; snap unset kiln-one greeting tls; snap unset kiln-two greeting port tls');
    const out = '/root/kiln-snap-results.json';
    const pb = playbook(
      'register',
      `    - snap: { name: [kiln-one, kiln-two], options: [greeting=hello, "kiln-two:port=8080"] }
      register: options_set
    - snap: { name: [kiln-one, kiln-two], options: [greeting=hello, "kiln-two:port=8080"] }
      register: options_again
    - snap: { name: kiln-two, state: disabled }
      register: disabled
    - snap: { name: kiln-two, state: disabled }
      register: disabled_again
    - snap: { name: kiln-nope, state: disabled }
      register: disabled_missing
    - snap: { name: kiln-two, state: enabled }
      register: enabled
    - copy:
        dest: ${out}
        content: "{{ {'options_set': options_set, 'options_again': options_again, 'disabled': disabled, 'disabled_again': disabled_again, 'disabled_missing': disabled_missing, 'enabled': enabled} | to_json }}"
`,
    );
    const r = await runPlaybook(pb, inv);
    expect(r.tasks.filter((t) => t.status === 'failed').map((t) => t.message)).toEqual([]);
    const got = JSON.parse(sh(`cat ${out}`)) as Record<string, Record<string, unknown>>;
    // The first fixture's snap was kiln-plain; the same commands on kiln-two.
    const first = JSON.parse(JSON.stringify(oracle('results-x27s1.json')).replaceAll('kiln-plain', 'kiln-two')) as Record<
      string,
      Record<string, unknown>
    >;
    const want = { ...first, ...oracle('results-x27s1-2.json') };
    const keys = (o: Record<string, unknown>) => Object.keys(o).sort();
    for (const name of ['options_set', 'options_again', 'disabled', 'disabled_again', 'disabled_missing', 'enabled']) {
      const g = got[name]!;
      const w = want[name]!;
      expect(keys(g), name).toEqual(keys(w));
      for (const k of [
        'changed',
        'failed',
        'rc',
        'cmd',
        'cmd_args',
        'channel',
        'classic',
        'force_lang',
        'options_changed',
        'snaps_disabled',
        'snaps_enabled',
      ])
        if (k in w) expect([name, k, g[k]]).toEqual([name, k, w[k]]);
    }
    // The last `snap get -d` Ansible ran, as it printed it.
    expect(got.options_again!.stdout).toBe(want.options_again!.stdout);
  }, 600_000);

  it('state absent: removes, 0 changed, a reinstalled snap is found by --check and removed again', async () => {
    const pb = playbook('absent', '    - snap: { name: [kiln-two, kiln-nope], state: absent }\n');
    const r = await convergeCycle({
      playbook: pb,
      inventory: inv,
      verify: () => expect(Object.keys(snaps()).sort()).toEqual(['kiln-base', 'kiln-one', 'snapd']),
      tamper: () => {
        sh(SIDELOAD('kiln-two'));
      },
    });
    expect(r.check.tasks[0]!.changes.map((c) => c.summary)).toEqual(['remove snap kiln-two']);
  }, 600_000);

  it('without a store: --check predicts the install, the real run fails loudly with snap’s error; enabled on a missing snap fails at plan', async () => {
    const pb = playbook('store', '    - snap: { name: kiln-two, classic: true }\n');
    const c = await runPlaybook(pb, inv, { check: true });
    expect(c.tasks.map((t) => [t.status, t.changes.map((x) => x.summary)])).toEqual([
      ['changed', ['install snap kiln-two (classic confinement)']],
    ]);
    const a = await runPlaybook(pb, inv);
    expect(a.tasks[0]!.status).toBe('failed');
    expect(a.tasks[0]!.message).toMatch(
      /Snap installation failed while executing 'snap install --classic kiln-two':[\s\S]*cannot install "kiln-two"/,
    );
    const e = await runPlaybook(playbook('enable', '    - snap: { name: kiln-two, state: enabled }\n'), inv, { check: true });
    expect(e.tasks[0]!.status).toBe('failed');
    expect(e.tasks[0]!.message).toContain('cannot enable kiln-two: not installed');
  }, 600_000);
});
