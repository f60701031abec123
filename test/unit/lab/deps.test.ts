import { describe, expect, it } from 'vitest';
import { REQUIRED_COMMANDS, describePlan, ensureTools, installCommands, manualCommand, onPath, planTools } from '../../../src/lab/deps.ts';
import { LabError } from '../../../src/lab/errors.ts';

const allBut =
  (...absent: string[]) =>
  (cmd: string) =>
    !absent.includes(cmd);

describe('kiln lab: the Debian packages it needs', () => {
  it('plans nothing when every command is present', () => {
    const plan = planTools(() => true);
    expect(plan).toEqual({ missing: [], packages: [] });
    expect(installCommands(plan)).toEqual([]);
  });

  it('maps the missing commands of a fresh Debian machine to their packages (mmdebstrap, apt-utils)', () => {
    const plan = planTools(allBut('mmdebstrap', 'apt-ftparchive'));
    expect(plan.missing).toEqual(['mmdebstrap', 'apt-ftparchive']);
    expect(plan.packages).toEqual([
      { name: 'apt-utils', commands: ['apt-ftparchive'] },
      { name: 'mmdebstrap', commands: ['mmdebstrap'] },
    ]);
    expect(installCommands(plan)).toEqual([
      ['apt-get', '-o', 'DPkg::Lock::Timeout=300', 'update', '-q'],
      ['apt-get', '-o', 'DPkg::Lock::Timeout=300', 'install', '-y', '-q', '--no-install-recommends', 'apt-utils', 'mmdebstrap'],
    ]);
    expect(manualCommand(plan)).toBe('sudo apt-get install -y --no-install-recommends apt-utils mmdebstrap');
  });

  it('installs a package once for all the commands it provides, and says why', () => {
    const plan = planTools(allBut('ssh', 'ssh-keygen', 'unshare', 'nsenter', 'ip'));
    expect(plan.packages).toEqual([
      { name: 'iproute2', commands: ['ip'] },
      { name: 'openssh-client', commands: ['ssh-keygen', 'ssh'] },
      { name: 'util-linux', commands: ['unshare', 'nsenter'] },
    ]);
    const text = describePlan(plan);
    expect(text).toContain('missing commands: ip, unshare, nsenter, ssh-keygen, ssh');
    expect(text).toMatch(/^ {2}openssh-client +for ssh-keygen, ssh$/m);
    expect(text).toContain(
      'DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -q --no-install-recommends iproute2 openssh-client util-linux',
    );
  });

  it('every required command names a package', () => {
    for (const [cmd, pkg] of Object.entries(REQUIRED_COMMANDS)) expect(pkg, cmd).toMatch(/^[a-z0-9][a-z0-9+.-]+$/);
    expect(REQUIRED_COMMANDS).toMatchObject({ mmdebstrap: 'mmdebstrap', 'apt-ftparchive': 'apt-utils' });
  });

  it('without install permission it names the command to run instead', async () => {
    const err = await ensureTools({ log: () => {}, install: false, isPresent: allBut('mmdebstrap') }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LabError);
    expect((err as Error).message).toBe(
      'kiln lab needs these commands: mmdebstrap (apt package mmdebstrap); install them with:\n' +
        '  sudo apt-get install -y --no-install-recommends mmdebstrap\n' +
        '(or run `sudo kiln lab up`, which installs them itself)',
    );
  });

  it('refuses to install without apt-get (not a Debian machine)', async () => {
    const log: string[] = [];
    const err = await ensureTools({ log: (m) => log.push(m), install: true, isPresent: allBut('apt-get', 'mmdebstrap') }).catch(
      (e: unknown) => e,
    );
    expect((err as Error).message).toMatch(/this machine has no apt-get to install them/);
    expect(log).toEqual([]);
  });

  it('on this machine: the real PATH lookup finds sh, and not a made-up command', () => {
    expect(onPath('sh')).toBe(true);
    expect(onPath('kiln-no-such-command-xyz')).toBe(false);
  });
});
