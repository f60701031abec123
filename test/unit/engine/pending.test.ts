/**
 * Write-ahead handler notifications: the pending-handlers file (src/engine/pending.ts) and a
 * batch's notifications kept in step with it (src/engine/notifications.ts). Real files in a temp
 * dir; the play comes from a real playbook through validation.
 *
 * Promises: a notification is on disk before `beforeApply` returns; a task that did not change
 * withdraws only what it recorded; a host that stopped keeps it; a notification is cleared only
 * once every handler it runs has run; nothing is written when nothing changes, nor in check mode;
 * the file format is the first version's (an old file is read as is).
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PlayDef } from '../../../src/input/playbook/types.ts';
import { BatchNotifications } from '../../../src/engine/notifications.ts';
import { PendingHandlers } from '../../../src/engine/pending.ts';
import { validateRun } from '../../../src/plan/validate.ts';

let work: string;
let n = 0;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'kiln-pending-'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A fresh playbook directory: the store's file lives in its .kiln/. */
function place(): { dir: string; file: string; onDisk: () => unknown } {
  const dir = join(work, `pb-${++n}`);
  mkdirSync(dir);
  const file = join(dir, '.kiln', 'pending-handlers.json');
  return { dir, file, onDisk: () => (existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : undefined) };
}

describe('PendingHandlers', () => {
  it('records durably and at once, adds only what is missing, and writes nothing when nothing changes', () => {
    const p = place();
    const store = new PendingHandlers(p.dir, join(p.dir, 'site.yml'));
    expect(store.record('web1', 'web', ['reload nginx', 'reload nginx'])).toEqual(['reload nginx']);
    expect(p.onDisk()).toEqual({ 'site.yml': { web1: [{ play: 'web', handler: 'reload nginx' }] } });
    expect(store.writes).toBe(1);
    expect(store.record('web1', 'web', ['reload nginx'])).toEqual([]);
    store.withdraw('web1', 'web', ['not recorded']);
    store.set('web1', 'web', ['reload nginx']);
    expect(store.writes).toBe(1);
    store.withdraw('web1', 'web', ['reload nginx']);
    expect(p.onDisk()).toEqual({});
    expect(store.writes).toBe(2);
    // No temp file is left beside it.
    expect(readdirSync(join(p.dir, '.kiln'))).toEqual(['pending-handlers.json']);
  });

  it('keeps other hosts, plays and playbooks; set replaces one play of one host', () => {
    const p = place();
    mkdirSync(join(p.dir, '.kiln'));
    const old = { 'other.yml': { db1: [{ play: 'db', handler: 'restart mariadb' }] } };
    writeFileSync(p.file, JSON.stringify(old));
    const store = new PendingHandlers(p.dir, join(p.dir, 'site.yml'));
    store.record('web1', 'web', ['reload nginx']);
    store.record('web1', 'lb', ['reload haproxy']);
    store.set('web1', 'web', []);
    expect(p.onDisk()).toEqual({ ...old, 'site.yml': { web1: [{ play: 'lb', handler: 'reload haproxy' }] } });
  });

  it('reads a file of the first version (written at the end of a run) as it is', () => {
    const p = place();
    mkdirSync(join(p.dir, '.kiln'));
    writeFileSync(p.file, JSON.stringify({ 'site.yml': { web1: [{ play: 'web', handler: 'reload nginx' }] } }, null, 2) + '\n');
    const store = new PendingHandlers(p.dir, join(p.dir, 'site.yml'));
    expect(store.forHost('web1', 'web')).toEqual(['reload nginx']);
    expect(store.forHost('web1', 'lb')).toEqual([]);
    expect(store.problem).toBeUndefined();
  });

  it('says when an existing file cannot be read, and replaces it on the next write', () => {
    const p = place();
    mkdirSync(join(p.dir, '.kiln'));
    writeFileSync(p.file, '{ not json');
    const store = new PendingHandlers(p.dir, join(p.dir, 'site.yml'));
    expect(store.problem).toMatch(/pending-handlers\.json could not be read .*; its pending handlers are lost$/);
    store.record('web1', 'web', ['reload nginx']);
    expect(p.onDisk()).toEqual({ 'site.yml': { web1: [{ play: 'web', handler: 'reload nginx' }] } });
  });

  it('never writes in check mode (read-only)', () => {
    const p = place();
    const store = new PendingHandlers(p.dir, join(p.dir, 'site.yml'), true);
    store.record('web1', 'web', ['reload nginx']);
    expect(store.forHost('web1', 'web')).toEqual(['reload nginx']);
    expect(existsSync(join(p.dir, '.kiln'))).toBe(false);
    expect(store.writes).toBe(0);
  });
});

describe('BatchNotifications', () => {
  const PLAYBOOK = `- name: web
  hosts: all
  tasks:
    - name: config
      command: "true"
      notify: [restart app, web changed]
  handlers:
    - name: restart app
      command: "true"
    - name: log change
      command: "true"
      listen: web changed
    - name: warm cache
      command: "true"
      listen: web changed
`;

  function setup(readOnly = false): {
    p: ReturnType<typeof place>;
    play: PlayDef;
    notes: () => BatchNotifications;
    store: PendingHandlers;
  } {
    const p = place();
    writeFileSync(join(p.dir, 'site.yml'), PLAYBOOK);
    writeFileSync(join(p.dir, 'hosts.yml'), 'all:\n  hosts:\n    h1: {}\n    h2: {}\n');
    const v = validateRun({
      playbook: join(p.dir, 'site.yml'),
      inventory: [join(p.dir, 'hosts.yml')],
      extraVars: {},
      tags: [],
      skipTags: [],
    });
    const play = v.playbook.plays[0]!;
    const store = new PendingHandlers(p.dir, join(p.dir, 'site.yml'), readOnly);
    return { p, play, store, notes: () => new BatchNotifications(store, play, ['h1', 'h2']) };
  }
  const handler = (play: PlayDef, name: string) => play.handlers.find((h) => h.name === name)!;
  const recorded = (p: ReturnType<typeof place>, host: string) =>
    ((p.onDisk() as Record<string, Record<string, { handler: string }[]>> | undefined)?.['site.yml']?.[host] ?? []).map((e) => e.handler);

  it('writes ahead of the apply; a task that did not change withdraws what it recorded', () => {
    const { p, notes } = setup();
    const b = notes();
    b.beforeApply('h1', ['restart app', 'web changed']);
    expect(recorded(p, 'h1')).toEqual(['restart app', 'web changed']);
    b.afterTask('h1', ['restart app', 'web changed'], false, false);
    expect(recorded(p, 'h1')).toEqual([]);
    expect([...b.of('h1')]).toEqual([]);
  });

  it('does not withdraw a notification already made for real in this run', () => {
    const { p, notes } = setup();
    const b = notes();
    b.beforeApply('h1', ['restart app']);
    b.afterTask('h1', ['restart app'], true, false);
    b.beforeApply('h1', ['restart app', 'web changed']);
    b.afterTask('h1', ['restart app', 'web changed'], false, false);
    expect(recorded(p, 'h1')).toEqual(['restart app']);
    expect([...b.of('h1')]).toEqual(['restart app']);
  });

  it('a host that stopped after the apply was sent keeps the notification, for the next run', () => {
    const { p, notes } = setup();
    const b = notes();
    b.beforeApply('h2', ['restart app']);
    b.afterTask('h2', ['restart app'], false, true);
    b.finish('h2', true);
    expect(recorded(p, 'h2')).toEqual(['restart app']);
    // The next run restores it.
    const again = notes();
    expect(again.restored('h2')).toEqual(['restart app']);
    expect([...again.of('h2')]).toEqual(['restart app']);
  });

  it('clears a notification only once every handler it runs has run (a topic with two listeners)', () => {
    const { p, play, notes } = setup();
    const b = notes();
    b.beforeApply('h1', ['restart app', 'web changed']);
    b.afterTask('h1', ['restart app', 'web changed'], true, false);
    b.handlerRan('h1', handler(play, 'restart app'));
    expect(recorded(p, 'h1')).toEqual(['web changed']);
    b.handlerRan('h1', handler(play, 'log change'));
    expect(recorded(p, 'h1')).toEqual(['web changed']);
    b.handlerRan('h1', handler(play, 'warm cache'));
    expect(recorded(p, 'h1')).toEqual([]);
    b.finish('h1', false);
    expect(recorded(p, 'h1')).toEqual([]);
  });

  it('in check mode nothing is written, yet the notifications are followed', () => {
    const { p, notes } = setup(true);
    const b = notes();
    b.beforeApply('h1', ['restart app']);
    b.afterTask('h1', ['restart app'], true, false);
    expect([...b.of('h1')]).toEqual(['restart app']);
    expect(p.onDisk()).toBeUndefined();
  });

  it('a notification that cannot be recorded stops the apply, saying nothing was applied', () => {
    const { p, notes } = setup();
    writeFileSync(join(p.dir, '.kiln'), 'a file where the directory should be');
    expect(() => notes().beforeApply('h1', ['restart app'])).toThrow(/^cannot record the handler notification in .*; nothing was applied$/);
  });
});

describe('PendingHandlers under --shard', () => {
  it('each shard writes its own file; notifications of a run sharded otherwise are named, not restored', () => {
    const p = place();
    const pb = join(p.dir, 'site.yml');
    const s0 = new PendingHandlers(p.dir, pb, false, { index: 0, count: 2 });
    const s1 = new PendingHandlers(p.dir, pb, false, { index: 1, count: 2 });
    s0.record('web1', 'web', ['reload nginx']);
    s1.record('web2', 'web', ['reload nginx']);
    // Two stores side by side: neither overwrote the other.
    const kiln = join(p.dir, '.kiln');
    expect(readdirSync(kiln).sort()).toEqual(['pending-handlers.shard-0-of-2.json', 'pending-handlers.shard-1-of-2.json']);
    expect(new PendingHandlers(p.dir, pb, false, { index: 0, count: 2 }).forHost('web1', 'web')).toEqual(['reload nginx']);
    expect(new PendingHandlers(p.dir, pb, false, { index: 1, count: 2 }).forHost('web2', 'web')).toEqual(['reload nginx']);
    // Shards of the same N are not foreign to each other; another N, or no shard, sees them and says so.
    expect(new PendingHandlers(p.dir, pb, false, { index: 0, count: 2 }).foreign).toEqual([]);
    const three = new PendingHandlers(p.dir, pb, false, { index: 0, count: 3 });
    expect(three.forHost('web1', 'web')).toEqual([]);
    expect(three.foreign.sort()).toEqual([
      join(kiln, 'pending-handlers.shard-0-of-2.json'),
      join(kiln, 'pending-handlers.shard-1-of-2.json'),
    ]);
    expect(new PendingHandlers(p.dir, pb, true).foreign.length).toBe(2);
    // Another playbook's notifications are not this one's concern.
    expect(new PendingHandlers(p.dir, join(p.dir, 'other.yml'), false, { index: 0, count: 3 }).foreign).toEqual([]);
    // Once flushed (the handler ran), nothing is foreign any more.
    const again0 = new PendingHandlers(p.dir, pb, false, { index: 0, count: 2 });
    again0.set('web1', 'web', []);
    const again1 = new PendingHandlers(p.dir, pb, false, { index: 1, count: 2 });
    again1.set('web2', 'web', []);
    expect(new PendingHandlers(p.dir, pb, false, { index: 0, count: 3 }).foreign).toEqual([]);
  });
});
