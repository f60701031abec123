/**
 * The local transport (src/transport/local.ts) and the per-host cache (TransportCache): scripts on
 * stdin, one counted round trip per run, sudo only to become another user, a shell that cannot
 * start is "unreachable"; `open` cached per host (a failed open too), `openFresh` never.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalTransport, localTransport } from '../../../src/transport/local.ts';
import { type Transport, TransportCache, type TransportFactory, UnreachableError } from '../../../src/transport/transport.ts';

const dir = mkdtempSync(join(tmpdir(), 'kiln-local-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('LocalTransport', () => {
  it('runs the script from stdin with /bin/sh, in its cwd, and counts round trips', async () => {
    const t = new LocalTransport('here', { cwd: dir });
    const r = await t.run('printf "%s|" "$(pwd)"; echo err >&2; exit 7');
    expect(r).toEqual({ stdout: `${dir}|`, stderr: 'err\n', code: 7 });
    await t.run('true');
    expect(t.roundTrips).toBe(2);
  });

  // Becoming another user needs a passwordless sudo: root has one (the tests run as root in CI).
  it.runIf(userInfo().uid === 0)(
    'become_user: nobody runs as nobody; 65534 (the text, as in Ansible) is a user named 65534: sudo fails',
    async () => {
      const t = new LocalTransport('here');
      expect((await t.run('id -un', { become: true, becomeUser: 'nobody' })).stdout).toBe('nobody\n');
      const r = await t.run('id -un', { become: true, becomeUser: '65534' });
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain('unknown user');
    },
  );

  it('a become_user that is not a user name runs nothing (no shell injection)', async () => {
    const t = new LocalTransport('here');
    const pwned = join(dir, 'pwned');
    for (const bad of [`root; touch ${pwned}; echo`, '$(touch ' + pwned + ')', '-u', '#0', 'a b', '']) {
      const r = await t.run(`touch ${pwned}`, { become: true, becomeUser: bad });
      expect(r.code, bad).toBe(1);
      expect(r.stderr).toContain('become_user: not a valid user name');
    }
    expect(existsSync(pwned)).toBe(false);
  });

  it('a long script that exits before reading all of it is not an error', async () => {
    const t = new LocalTransport('here');
    const r = await t.run(`exit 0\n${'# padding\n'.repeat(200000)}`);
    expect(r.code).toBe(0);
  });

  it.each([
    { opts: {}, argv: ['/bin/sh', '-s'] },
    { opts: { become: false, becomeUser: 'nobody' }, argv: ['/bin/sh', '-s'] },
    { opts: { become: true, becomeUser: userInfo().username }, argv: ['/bin/sh', '-s'] },
    { opts: { become: true, becomeUser: 'kiln-nobody' }, argv: ['sudo', '-n', '-u', 'kiln-nobody', '--', '/bin/sh', '-s'] },
  ])('become $opts → $argv', ({ opts, argv }) => {
    expect(new LocalTransport('here').argv(opts)).toEqual(argv);
  });

  it('a shell that cannot be started: UnreachableError', async () => {
    const t = new LocalTransport('here', { cwd: join(dir, 'missing') });
    await expect(t.run('true')).rejects.toBeInstanceOf(UnreachableError);
  });

  it('localTransport: open and openFresh give new connections, the fresh one named "(confirm)"', async () => {
    const f = localTransport();
    const [a, b, c] = await Promise.all([f.open('h1'), f.open('h1'), f.openFresh('h1')]);
    expect([a.name, b.name, c.name]).toEqual(['h1', 'h1', 'h1 (confirm)']);
    expect(a).not.toBe(b);
  });
});

describe('TransportCache', () => {
  /** Counts opens; host "down" fails to open. */
  function counting(): TransportFactory & { opens: string[] } {
    const opens: string[] = [];
    const open = async (name: string): Promise<Transport> => {
      opens.push(name);
      if (name.startsWith('down')) throw new UnreachableError(`cannot connect to ${name}`);
      return new LocalTransport(name);
    };
    return { opens, open: (h) => open(h), openFresh: (h) => open(`${h} (confirm)`) };
  }

  it('opens a host once (concurrent callers share it); openFresh always opens anew', async () => {
    const inner = counting();
    const cache = new TransportCache(inner);
    const [a, b] = await Promise.all([cache.open('h1'), cache.open('h1')]);
    expect(a).toBe(b);
    await cache.openFresh('h1');
    await cache.openFresh('h1');
    expect(await cache.open('h1')).toBe(a);
    expect(inner.opens).toEqual(['h1', 'h1 (confirm)', 'h1 (confirm)']);
  });

  it('a host that failed to open fails the same way again, without a new attempt; opened() lists only the others', async () => {
    const inner = counting();
    const cache = new TransportCache(inner);
    await expect(cache.open('down1')).rejects.toThrow('cannot connect to down1');
    await expect(cache.open('down1')).rejects.toThrow('cannot connect to down1');
    const h2 = await cache.open('h2');
    await h2.run('true');
    expect(inner.opens).toEqual(['down1', 'h2']);
    const opened = await cache.opened();
    expect(opened.map(([h, t]) => [h, t.roundTrips])).toEqual([['h2', 1]]);
  });

  it('reset (reset_connection, a reboot) closes and forgets the connection: the next open connects again; its round trips are kept', async () => {
    const inner = counting();
    const cache = new TransportCache(inner);
    const a = await cache.open('h1');
    await a.run('true');
    await a.run('true');
    expect(await cache.reset('h1')).toBe(2);
    const b = await cache.open('h1');
    expect(b).not.toBe(a);
    await b.run('true');
    expect(inner.opens).toEqual(['h1', 'h1']);
    expect(cache.closedRoundTrips('h1')).toBe(2);
    expect(await cache.reset('never-opened')).toBe(0);
    expect(cache.closedRoundTrips('never-opened')).toBe(0);
  });
});
