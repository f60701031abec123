import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { invokingUser, renderInventory, renderKnownHosts, renderSshConfig, writeLabFiles } from '../../../src/lab/files.ts';
import { hostsBlock, initScript, launchScript } from '../../../src/lab/host.ts';
import { aptListName, missingFromPolicy } from '../../../src/lab/mirror.ts';
import { hostMac, peerMac, prefixesOverlap, vethName } from '../../../src/lab/network.ts';
import { DEFAULT_TOPOLOGY, parseTopology } from '../../../src/lab/topology.ts';

describe('lab files', () => {
  it('writes the default inventory with nested db children and connection vars', () => {
    const inv = parse(renderInventory(DEFAULT_TOPOLOGY));
    expect(inv).toEqual({
      all: {
        vars: { user: 'deploy', become: true, identity_file: 'id_ed25519', known_hosts: 'known_hosts', controller_address: '10.77.0.1' },
        children: {
          lb: { hosts: { lb1: { address: '10.77.0.11' }, lb2: { address: '10.77.0.12' } } },
          web: { hosts: { web1: { address: '10.77.0.21' }, web2: { address: '10.77.0.22' } } },
          db: {
            children: {
              db_primary: { hosts: { db1: { address: '10.77.0.31' } } },
              db_replica: { hosts: { db2: { address: '10.77.0.32' } } },
            },
          },
          monitoring: { hosts: { mon1: { address: '10.77.0.41' } } },
        },
      },
    });
  });

  it('puts ungrouped hosts under all.hosts and a host in several groups in each', () => {
    const t = parseTopology('hosts:\n  a: { address: 10.77.0.5 }\n  b: { address: 10.77.0.6, groups: [x, y] }\n');
    const inv = parse(renderInventory(t));
    expect(inv.all.hosts).toEqual({ a: { address: '10.77.0.5' } });
    expect(inv.all.children).toEqual({ x: { hosts: { b: { address: '10.77.0.6' } } }, y: { hosts: { b: { address: '10.77.0.6' } } } });
  });

  it('writes ssh_config entries with absolute key and known_hosts paths and strict checking', () => {
    const cfg = renderSshConfig(DEFAULT_TOPOLOGY, '/srv/proj/.lab');
    const web1 = cfg.split('\n\n').find((b) => b.startsWith('Host web1\n'));
    expect(web1).toBe(
      [
        'Host web1',
        '  HostName 10.77.0.21',
        '  User deploy',
        '  IdentityFile /srv/proj/.lab/id_ed25519',
        '  IdentitiesOnly yes',
        '  UserKnownHostsFile /srv/proj/.lab/known_hosts',
        '  GlobalKnownHostsFile /dev/null',
        '  StrictHostKeyChecking yes',
        '  HostKeyAlgorithms ssh-ed25519',
        '  BatchMode yes',
        '  ConnectTimeout 10',
      ].join('\n'),
    );
    expect(cfg.match(/^Host /gm)).toHaveLength(7);
    expect(renderSshConfig(DEFAULT_TOPOLOGY, '/srv/my proj/.lab')).toContain('IdentityFile "/srv/my proj/.lab/id_ed25519"');
  });

  const tmp: string[] = [];
  afterAll(async () => {
    for (const d of tmp) await rm(d, { recursive: true, force: true });
  });

  it('writes inventory.yml, ssh_config and known_hosts into the lab dir', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-lab-files-'));
    tmp.push(dir);
    const lines = ['10.77.0.11 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA', '10.77.0.12 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB'];
    await writeLabFiles(dir, DEFAULT_TOPOLOGY, lines);
    expect(await readFile(path.join(dir, 'known_hosts'), 'utf8')).toBe(renderKnownHosts(lines));
    expect(await readFile(path.join(dir, 'known_hosts'), 'utf8')).toBe(`${lines.join('\n')}\n`);
    expect(parse(await readFile(path.join(dir, 'inventory.yml'), 'utf8')).all.vars.known_hosts).toBe('known_hosts');
    expect(await readFile(path.join(dir, 'ssh_config'), 'utf8')).toContain(`UserKnownHostsFile ${path.join(dir, 'known_hosts')}`);
  });
});

describe('lab host plumbing', () => {
  it('derives fixed names and MACs from the address', () => {
    expect(vethName('10.77.0.11')).toBe('kvh11');
    expect(hostMac('10.77.0.11')).toBe('02:6b:6c:01:00:0b');
    expect(peerMac('10.77.0.149')).toBe('02:6b:6c:02:00:95');
    expect(() => vethName('10.78.0.1')).toThrow('outside the lab subnet');
  });

  it('detects overlapping prefixes', () => {
    expect(prefixesOverlap('10.0.0.0/8', '10.77.0.0/24')).toBe(true);
    expect(prefixesOverlap('10.77.0.200/32', '10.77.0.0/24')).toBe(true);
    expect(prefixesOverlap('10.77.1.0/24', '10.77.0.0/24')).toBe(false);
    expect(prefixesOverlap('192.0.2.0/24', '10.77.0.0/24')).toBe(false);
  });

  it('names apt list files like apt does for the mirror', () => {
    expect(aptListName('/opt/kiln-mirror', 'Packages')).toBe('_opt_kiln-mirror_._Packages');
  });

  it('finds packages without a candidate in apt-cache policy output', () => {
    const out =
      'tree:\n  Installed: (none)\n  Candidate: 2.1.0-1\n  Version table:\nmail-transport-agent:\n  Installed: (none)\n  Candidate: (none)\n';
    expect(missingFromPolicy(['tree', 'mail-transport-agent', 'no-such-pkg'], out)).toEqual(['mail-transport-agent', 'no-such-pkg']);
  });

  it('generates init and launch scripts that quote paths and exec systemd', () => {
    const ctx = {
      labDir: "/tmp/it's/.lab",
      topology: DEFAULT_TOPOLOGY,
      rootfs: { key: 'k', root: '/var/cache/kiln/lab/rootfs-k/root', deployUid: 1000, deployGid: 1000 },
      mirror: { key: 'm', repo: '/var/cache/kiln/lab/mirror-m/repo', lists: '/var/cache/kiln/lab/mirror-m/lists' },
      authorizedKey: 'ssh-ed25519 AAAA kiln-lab',
    };
    const init = initScript(ctx, DEFAULT_TOPOLOGY.hosts[0]);
    expect(init).toContain(`UPPER='/tmp/it'\\''s/.lab/disks/lb1/upper'`);
    expect(init).toContain('exec /lib/systemd/systemd');
    expect(init).toContain('mknod -m 600 "$ROOT/dev/console" c 1 3');
    expect(init).not.toContain('--bind /dev/null');
    const launch = launchScript('lb1', '/run/kiln-lab/hosts/lb1/init.sh', ['/sys/fs/cgroup/pids/kiln-lab/lb1']);
    expect(launch).toContain("echo $$ > '/sys/fs/cgroup/pids/kiln-lab/lb1/cgroup.procs'");
    // Each boot (again after a reboot: test/unit/lab/reboot.test.ts) runs in the boot loop, not exec'd.
    expect(launch).toContain('\n  ip netns exec kiln-lb1 unshare --mount --uts --ipc --pid --cgroup --fork --kill-child');
    expect(init).toContain('mount --bind "$BOOT_ID" "$ROOT/proc/sys/kernel/random/boot_id"');
    expect(init).toContain("BOOT_ID='/run/kiln-lab/hosts/lb1/boot_id'");
    expect(hostsBlock(DEFAULT_TOPOLOGY)).toContain('10.77.0.41\tmon1\n# END kiln-lab hosts');
  });
});

describe('lab machine limits', async () => {
  const { neededInotifyInstances } = await import('../../../src/lab/limits.ts');
  it('needs more inotify instances than the default 128 only past 9 hosts', () => {
    expect(neededInotifyInstances(7)).toBeLessThanOrEqual(128);
    expect(neededInotifyInstances(9)).toBeLessThanOrEqual(128);
    expect(neededInotifyInstances(10)).toBeGreaterThan(128);
    expect(neededInotifyInstances(50)).toBe(532);
  });
});

describe('invokingUser (sudo kiln lab up: the lab files go to the sudo user)', () => {
  it('is the sudo user when root runs for one', () => {
    expect(invokingUser({ SUDO_UID: '1000', SUDO_GID: '1001' }, 0)).toEqual({ uid: 1000, gid: 1001 });
  });
  it('is nobody without sudo, for sudo from root, or when not root', () => {
    expect(invokingUser({}, 0)).toBeUndefined();
    expect(invokingUser({ SUDO_UID: '0', SUDO_GID: '0' }, 0)).toBeUndefined();
    expect(invokingUser({ SUDO_UID: '1000', SUDO_GID: '1000' }, 1000)).toBeUndefined();
    expect(invokingUser({ SUDO_UID: 'x', SUDO_GID: '1000' }, 0)).toBeUndefined();
  });
});
