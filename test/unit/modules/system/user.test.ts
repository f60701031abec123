import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import group, { type GroupParams } from '../../../../src/modules/system/group.ts';
import user, { type UserParams } from '../../../../src/modules/system/user.ts';
import { sha256 } from '../../../../src/sh/bytes.ts';
import { Secret } from '../../../../src/core/secret/secret.ts';
import { ctx, runProbe, shSyntax, outsideHeredocs } from '../helpers.ts';
import { expectApplyFromOpsOnly } from './ops-only.ts';

const out = (stdout: string) => ({ stdout, stderr: '', code: 0 });
const HASH = '$y$j9T$kilnSaltkilnSalt$Wq0d1n3sCwnN8k7b0pDq7m5n2bV9xLq3aQ1tR0uY5h6';
const DEPLOY = (shadow = HASH) =>
  out(
    `passwd=deploy:x:1001:1001:Deploy User,,,:/home/deploy:/bin/bash\nprimary=deploy\ngroups=deploy sudo adm\nshadow_sha=${sha256(shadow)}\n`,
  );
const plan = (p: UserParams, o = DEPLOY()) => user.plan(p, undefined, user.parse(o, p, undefined), ctx());
const sums = (p: UserParams, o = DEPLOY()) => plan(p, o).map((c) => c.summary);
const ops = <Op>(planned: readonly { op: Op }[]) => planned.map((c) => c.op);
/** Secret params reach modules as Secret objects (plan/instance.ts) although their schema type is string. */
const secretParam = (s: Secret) => s as unknown as string;

describe('user plan', () => {
  it('converged → []', () => {
    const pw = new Secret(HASH);
    expect(
      plan({
        name: 'deploy',
        uid: 1001,
        group: 'deploy',
        groups: ['adm', 'sudo'],
        shell: '/bin/bash',
        home: '/home/deploy',
        comment: 'Deploy User,,,',
        password: secretParam(pw),
      }),
    ).toEqual([]);
    expect(plan({ name: 'deploy', group: '1001', groups: ['sudo'], append: true })).toEqual([]);
    expect(plan({ name: 'gone', state: 'absent' }, out(''))).toEqual([]);
  });
  it('each kind of drift', () => {
    expect(sums({ name: 'deploy', uid: 2000, group: 'users', shell: '/bin/sh', home: '/srv/deploy', comment: 'x' })).toEqual([
      'uid of deploy: 1001 → 2000',
      'primary group of deploy: deploy → users',
      'shell of deploy: /bin/bash → /bin/sh',
      'home of deploy: /home/deploy → /srv/deploy (files are not moved)',
      'comment of deploy: "Deploy User,,," → "x"',
    ]);
    expect(sums({ name: 'deploy', groups: ['sudo', 'docker'] })).toEqual(['groups of deploy: adm,sudo → docker,sudo']);
    expect(sums({ name: 'deploy', groups: [] })).toEqual(['groups of deploy: adm,sudo → (none)']);
    expect(sums({ name: 'deploy', groups: ['docker', 'sudo'], append: true })).toEqual(['add deploy to groups docker']);
    expect(sums({ name: 'deploy', password: secretParam(new Secret('$6$other$abcdefghijklmnop')) })).toEqual(['password of deploy']);
    expect(sums({ name: 'deploy', state: 'absent', remove: true })).toEqual(['remove user deploy and its home directory']);
  });
  it('apply: usermod with exactly the drifted fields', () => {
    const p: UserParams = { name: 'deploy', groups: ['docker', 'sudo'], append: true, shell: '/bin/zsh' };
    const s = user.parse(DEPLOY(), p, undefined);
    const script = user.apply(p, undefined, s, ops(user.plan(p, undefined, s, ctx())), ctx());
    expect(script).toBe("set -e\nusermod -a -G 'docker' -s '/bin/zsh' -- 'deploy'");
    const p2: UserParams = { name: 'deploy', groups: [] };
    expect(user.apply(p2, undefined, s, ops(user.plan(p2, undefined, s, ctx())), ctx())).toContain("usermod -G '' -- 'deploy'");
  });
  it('creates with useradd (home by default)', () => {
    const p: UserParams = { name: 'app', system: true, shell: '/usr/sbin/nologin', home: '/srv/app', groups: ['www-data'] };
    const s = user.parse(out(''), p, undefined);
    expect(sums(p, out(''))).toEqual(['create user app (groups www-data, shell /usr/sbin/nologin, home /srv/app, system)']);
    const script = user.apply(p, undefined, s, ops(user.plan(p, undefined, s, ctx())), ctx());
    expect(script).toBe("set -e\nuseradd -G 'www-data' -s '/usr/sbin/nologin' -d '/srv/app' -m -r -- 'app'");
    expect(shSyntax(script)).toBe('');
  });
  it('the password hash never appears in summaries, probe, or argv; only base64 inside a heredoc for chpasswd -e', () => {
    const secret = new Secret('$y$j9T$secretSALT$secretHASHsecretHASHsecretHASH');
    const p: UserParams = { name: 'deploy', password: secretParam(secret) };
    const s = user.parse(DEPLOY(), p, undefined);
    const changes = user.plan(p, undefined, s, ctx());
    const raw = secret.reveal();
    expect(JSON.stringify(changes)).not.toContain(raw);
    expect(user.probe(p, undefined, ctx())).not.toContain(raw);
    const script = user.apply(p, undefined, s, ops(changes), ctx());
    expect(script).not.toContain(raw);
    expect(outsideHeredocs(script)).not.toContain(Buffer.from(`deploy:${raw}\n`).toString('base64'));
    expect(outsideHeredocs(script)).toMatch(/\| chpasswd -e$/m);
    expect(shSyntax(script)).toBe('');
    const created = user.apply(
      { name: 'n', password: secretParam(secret) },
      undefined,
      { exists: false },
      ops(user.plan({ name: 'n', password: secretParam(secret) }, undefined, { exists: false }, ctx())),
      ctx(),
    );
    expect(created).toContain('chpasswd -e');
    expect(JSON.stringify(user.plan({ name: 'n', password: secretParam(secret) }, undefined, { exists: false }, ctx()))).not.toContain(raw);
  });
  it('apply depends only on the planned ops, never on summary text', () => {
    const p: UserParams = {
      name: 'deploy',
      uid: 2000,
      group: 'users',
      groups: ['docker'],
      append: true,
      shell: '/bin/sh',
      home: '/srv/deploy',
      comment: 'x',
      password: HASH,
    };
    const script = expectApplyFromOpsOnly(user, p, undefined, user.parse(DEPLOY('old'), p, undefined));
    expect(outsideHeredocs(script)).toBe(
      "set -e\nusermod -u 2000 -g 'users' -a -G 'docker' -s '/bin/sh' -d '/srv/deploy' -c 'x' -- 'deploy'\nbase64 -d <<'" +
        /KILN_PW_[0-9a-f]+/.exec(script)![0] +
        "' | chpasswd -e",
    );
    expect(
      expectApplyFromOpsOnly(
        user,
        { name: 'deploy', groups: ['sudo', 'sudo'] },
        undefined,
        user.parse(DEPLOY(), { name: 'deploy' }, undefined),
      ),
    ).toBe("set -e\nusermod -G 'sudo' -- 'deploy'");
    expect(
      expectApplyFromOpsOnly(
        user,
        { name: 'deploy', state: 'absent', remove: true },
        undefined,
        user.parse(DEPLOY(), { name: 'deploy' }, undefined),
      ),
    ).toBe("set -e\nuserdel -r -- 'deploy'");
    expect(expectApplyFromOpsOnly(user, { name: 'app', uid: 900 }, undefined, { exists: false })).toBe(
      "set -e\nuseradd -u 900 -m -- 'app'",
    );
  });
  it('refuses plaintext passwords, without echoing them', () => {
    const err = (() => {
      try {
        plan({ name: 'deploy', password: secretParam(new Secret('hunter2hunter2')) });
      } catch (e) {
        return (e as Error).message;
      }
    })();
    expect(err).toMatch(/crypt hash/);
    expect(err).not.toContain('hunter2');
  });
  it('unreadable /etc/shadow: the password change is unpredictable, not silently skipped', () => {
    const o = out('passwd=deploy:x:1001:1001::/home/deploy:/bin/bash\nprimary=deploy\ngroups=deploy\nshadow=unreadable\n');
    expect(plan({ name: 'deploy', password: HASH }, o)).toEqual([
      {
        summary: 'password of deploy (cannot compare: /etc/shadow is not readable; use become)',
        unpredictable: true,
        op: { kind: 'set-password' },
      },
    ]);
  });
  it('probe runs for real on this host (read-only): root', () => {
    const p: UserParams = { name: 'root' };
    const script = user.probe(p, undefined, ctx());
    expect(shSyntax(script)).toBe('');
    const r = runProbe(script);
    expect(r.stdout).not.toMatch(/\$[0-9a-z]+\$/); // no hash in clear
    const s = user.parse(r, p, undefined);
    expect(s).toMatchObject({ exists: true, uid: 0, gid: 0, primary: 'root', home: '/root' });
    if (s.shadowReadable) {
      const field = readFileSync('/etc/shadow', 'utf8')
        .split('\n')
        .find((l) => l.startsWith('root:'))!
        .split(':')[1];
      expect(s.shadowSha).toBe(sha256(field));
    }
    expect(user.parse(runProbe(user.probe({ name: 'kiln-nobody-here' }, undefined, ctx())), p, undefined)).toEqual({ exists: false });
  });
});

describe('group', () => {
  const g = (p: GroupParams, line: string) => group.plan(p, undefined, group.parse(out(line), p, undefined), ctx());
  it('plans create, gid change, removal; converged → []', () => {
    expect(g({ name: 'adm', gid: 4 }, 'adm:x:4:syslog\n')).toEqual([]);
    expect(g({ name: 'adm', gid: 5 }, 'adm:x:4:\n')).toEqual([{ summary: 'gid of group adm: 4 → 5', op: { kind: 'set-gid', gid: 5 } }]);
    expect(g({ name: 'app', system: true }, '')).toEqual([{ summary: 'create group app (system)', op: { kind: 'create' } }]);
    expect(g({ name: 'app', state: 'absent' }, '')).toEqual([]);
    expect(g({ name: 'app', state: 'absent' }, 'app:x:998:\n')).toEqual([
      { summary: 'remove group app (gid 998)', op: { kind: 'remove' } },
    ]);
    const s = group.parse(out(''), { name: 'app' }, undefined);
    expect(group.apply({ name: 'app', gid: 950, system: true }, undefined, s, [{ kind: 'create' }], ctx())).toBe(
      "set -e\ngroupadd -g 950 -r -- 'app'",
    );
  });
  it('apply depends only on the planned ops, never on summary text', () => {
    const none = group.parse(out(''), { name: 'app' }, undefined);
    expect(expectApplyFromOpsOnly(group, { name: 'app', gid: 950, system: true }, undefined, none)).toBe(
      "set -e\ngroupadd -g 950 -r -- 'app'",
    );
    expect(
      expectApplyFromOpsOnly(group, { name: 'adm', gid: 5 }, undefined, group.parse(out('adm:x:4:\n'), { name: 'adm' }, undefined)),
    ).toBe("set -e\ngroupmod -g 5 -- 'adm'");
    expect(
      expectApplyFromOpsOnly(
        group,
        { name: 'app', state: 'absent' },
        undefined,
        group.parse(out('app:x:998:\n'), { name: 'app' }, undefined),
      ),
    ).toBe("set -e\ngroupdel -- 'app'");
  });
  it('probe runs for real (read-only)', () => {
    expect(shSyntax(group.probe({ name: 'adm' }, undefined, ctx()))).toBe('');
    expect(group.parse(runProbe(group.probe({ name: 'adm' }, undefined, ctx())), { name: 'adm' }, undefined)).toMatchObject({
      exists: true,
      gid: 4,
    });
    expect(group.parse(runProbe(group.probe({ name: 'kiln-nogroup' }, undefined, ctx())), { name: 'x' }, undefined)).toEqual({
      exists: false,
    });
  });
});
