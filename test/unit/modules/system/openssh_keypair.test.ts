import { describe, expect, it } from 'vitest';
import {
  keypairApply,
  keypairParse,
  keypairPlan,
  keypairProbe,
  parseInfo,
  type OpensshKeypairParams,
} from '../../../../src/modules/system/openssh_keypair.ts';
import { outsideHeredocs, shSyntax } from '../helpers.ts';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const PUB = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEma1uvufx';
const st = (o: { info?: string; readable?: boolean; derived?: string; pub?: string; privMode?: string; pubMode?: string } = {}) =>
  keypairParse({
    stdout: [
      'parent=1',
      ...(o.info !== undefined
        ? ['priv_exists=1', `priv_mode=${o.privMode ?? '0600'}`, 'priv_owner=root', 'priv_group=root', `info=${o.info}`]
        : ['priv_exists=0']),
      o.readable !== false && o.info !== undefined ? `readable=1\nderived_b64=${b64(o.derived ?? `${PUB} kiln@x`)}` : '',
      o.pub !== undefined
        ? `pub_exists=1\npub_mode=${o.pubMode ?? '0644'}\npub_owner=root\npub_group=root\npub_b64=${b64(`${o.pub}\n`)}`
        : 'pub_exists=0',
    ].join('\n'),
    stderr: '',
    code: 0,
  });
const ED = '256 SHA256:qxIatAtEO2 kiln@x (ED25519)';
const plan = (p: Omit<OpensshKeypairParams, 'path'>, s = st()) => keypairPlan({ path: '/root/.ssh/id', ...p }, s);

describe('openssh_keypair plan', () => {
  it('reads ssh-keygen -l as Ansible does', () => {
    expect(parseInfo(ED)).toEqual({ size: 256, fingerprint: 'SHA256:qxIatAtEO2', type: 'ed25519' });
    expect(parseInfo('4096 SHA256:abc no comment (RSA)')).toEqual({ size: 4096, fingerprint: 'SHA256:abc', type: 'rsa' });
    expect(parseInfo('garbage')).toBeUndefined();
  });
  it('generates a missing pair (rsa 4096 by default) in a temp dir beside it, comment in argv but never a passphrase', () => {
    const p = plan({});
    expect(p.map((c) => c.op)).toEqual([{ kind: 'generate', size: 4096, type: 'rsa', overwrite: false }]);
    const sh = keypairApply(
      { path: '/root/.ssh/id', comment: 'me' },
      p.map((c) => c.op),
    );
    expect(sh).toContain(`ssh-keygen -q -N '' -b 4096 -t rsa -f "$t/key" -C 'me'`);
    expect(sh).toContain(`mv -f -- "$t/key" '/root/.ssh/id'`);
    expect(shSyntax(sh)).toBe('');
    expect(outsideHeredocs(sh)).toBe(sh);
  });
  it('converged: right type and size, .pub matching (comment checked only when given)', () => {
    expect(plan({ type: 'ed25519' }, st({ info: ED, pub: `${PUB} whatever` }))).toEqual([]);
    expect(plan({ type: 'ed25519', comment: 'kiln@x' }, st({ info: ED, pub: `${PUB} kiln@x` }))).toEqual([]);
  });
  it('a different comment or a missing .pub: the public key is restored, the key kept', () => {
    expect(plan({ type: 'ed25519', comment: 'new' }, st({ info: ED, pub: `${PUB} old` })).map((c) => c.op)).toEqual([
      { kind: 'restore-public', comment: 'new' },
    ]);
    const p = plan({ type: 'ed25519' }, st({ info: ED }));
    expect(p.map((c) => c.op.kind)).toEqual(['restore-public']);
    expect(shSyntax(keypairApply({ path: '/root/.ssh/id', comment: 'new' }, [{ kind: 'restore-public', comment: 'new' }]))).toBe('');
  });
  it('wrong type: regenerated (partial/full_idempotence), refused (fail), kept (never)', () => {
    const s = st({ info: '256 SHA256:x c (ECDSA)', pub: `${PUB} c` });
    expect(plan({ type: 'ed25519' }, s)[0].summary).toBe('generate ed25519 256-bit key pair /root/.ssh/id (was ecdsa 256)');
    expect(() => plan({ type: 'ed25519', regenerate: 'fail' }, s)).toThrow(/wrong type and\/or size/);
    expect(plan({ type: 'ed25519', regenerate: 'never' }, s).filter((c) => c.op.kind === 'generate')).toEqual([]);
  });
  it('an unreadable key fails unless full_idempotence/always; force regenerates every run (an action)', () => {
    const s = st({ info: ED, readable: false, pub: `${PUB} c` });
    expect(() => plan({ type: 'ed25519' }, s)).toThrow(/protected with a passphrase or broken/);
    expect(plan({ type: 'ed25519', regenerate: 'full_idempotence' }, s)[0].op.kind).toBe('generate');
    const f = plan({ type: 'ed25519', force: true }, st({ info: ED, pub: `${PUB} c` }));
    expect(f[0]).toMatchObject({ op: { kind: 'generate' }, action: true });
  });
  it('sizes as Ansible checks them', () => {
    expect(() => plan({ type: 'rsa', size: 512 })).toThrow(/minimum size is 1024/);
    expect(() => plan({ type: 'dsa', size: 2048 })).toThrow(/exactly 1024/);
    expect(() => plan({ type: 'ecdsa', size: 300 })).toThrow(/256, 384 or 521/);
    expect(plan({ type: 'ed25519', size: 4096 })[0].op).toMatchObject({ size: 256 });
  });
  it('mode/owner apply to both files; absent removes both', () => {
    const p = plan({ type: 'ed25519', mode: '0600' }, st({ info: ED, pub: `${PUB} c`, pubMode: '0644' }));
    expect(p.map((c) => c.summary)).toEqual(['mode of /root/.ssh/id.pub: 0644 → 0600']);
    expect(
      keypairApply(
        { path: '/root/.ssh/id' },
        p.map((c) => c.op),
      ),
    ).toContain("chmod 0600 '/root/.ssh/id.pub'");
    expect(plan({ state: 'absent' }, st({ info: ED, pub: PUB })).map((c) => c.op)).toEqual([{ kind: 'remove' }]);
    expect(plan({ state: 'absent' })).toEqual([]);
  });
  it('the probe parses as sh', () => {
    expect(shSyntax(keypairProbe({ path: '/root/.ssh/id' }))).toBe('');
  });
});
