/**
 * Pending handlers survive any death of the controller. A handler notification is written ahead:
 * before the apply of a task (or handler) that notifies is sent to a host, the notification is
 * recorded durably in `.kiln/pending-handlers.json` beside the playbook. It is withdrawn if the task
 * then reports not changed (unless the same notification was already made for real), and cleared
 * only once the handler ran successfully on that host. So whenever the controller dies (SIGKILL, a
 * crash, a power cut) after a change could have reached a host, the next run restores the
 * notification and the handler runs even though the config task now reports ok. (Ansible loses
 * these: ansible#10498.) The runner's side of this is notifications.ts.
 *
 * Every change of the store is written at once and durably (temp file, fsync, rename, fsync of the
 * directory); the writes are synchronous, so the hosts of a run, which share the file, are
 * serialized by the event loop. Nothing is written when nothing changes (a converged run writes
 * nothing), and nothing ever in check mode.
 *
 * Format, unchanged since the first version (which wrote it at the end of a run only):
 * `{ "<playbook file name>": { "<host>": [ { "play": "<play name>", "handler": "<name>" } ] } }`;
 * an entry may add `"included": true`: the name is one of a handler of a role included at run
 * time (include_role), which the next run knows only once that role is included again.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

export interface PendingEntry {
  play: string;
  handler: string;
  /** A handler of a role included at run time (include_role): not one of the play's own. */
  included?: true;
}

type Store = Record<string, Record<string, PendingEntry[]>>; // playbook → host → entries

const entryKey = (e: PendingEntry) => JSON.stringify([e.play, e.handler, e.included === true]);

const entry = (play: string, handler: string, included: ReadonlySet<string>): PendingEntry =>
  included.has(handler) ? { play, handler, included: true } : { play, handler };

function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export class PendingHandlers {
  private store: Store = {};
  private readonly file: string;
  private readonly key: string;
  /** Durable writes made by this instance (each: an fsync of the file and one of its directory). */
  writes = 0;
  /** Why an existing file could not be read (it was then ignored and is replaced by the next write). */
  readonly problem?: string;

  /**
   * Under `--shard i/n` (`shard`), the controllers of a run may share the directory: each keeps its
   * own file, `pending-handlers.shard-<i>-of-<n>.json`, so that none overwrites another's
   * notifications. Notifications for this playbook in the directory's other pending files (of an
   * unsharded run, or of shards of another n; of sharded runs when this one is not) are not
   * restored: `foreign` names those files (the runner warns).
   */
  readonly foreign: string[] = [];

  constructor(
    playbookDir: string,
    playbookFile: string,
    readonly readOnly = false,
    shard?: { index: number; count: number },
  ) {
    const name = shard ? `pending-handlers.shard-${shard.index}-of-${shard.count}.json` : 'pending-handlers.json';
    this.file = join(playbookDir, '.kiln', name);
    this.key = basename(playbookFile);
    this.foreign = foreignPending(join(playbookDir, '.kiln'), name, this.key, shard?.count);
    if (existsSync(this.file)) {
      try {
        this.store = JSON.parse(readFileSync(this.file, 'utf8')) as Store;
      } catch (err) {
        this.problem = `${this.file} could not be read (${(err as Error).message}); its pending handlers are lost`;
        this.store = {};
      }
    }
  }

  get path(): string {
    return this.file;
  }

  /** Handlers saved for a host in a play. */
  forHost(host: string, play: string): string[] {
    return this.entries(host)
      .filter((e) => e.play === play)
      .map((e) => e.handler);
  }

  /** The names saved for a host in a play that are handlers of roles included at run time. */
  includedFor(host: string, play: string): string[] {
    return this.entries(host)
      .filter((e) => e.play === play && e.included)
      .map((e) => e.handler);
  }

  /**
   * Records the notifications not recorded yet (durably, before it returns); returns the names it
   * added. `included`: those of them that are handlers of roles included at run time.
   */
  record(host: string, play: string, names: readonly string[], included: ReadonlySet<string> = new Set()): string[] {
    const have = new Set(this.forHost(host, play));
    const added = [...new Set(names)].filter((n) => !have.has(n));
    if (added.length) this.update(host, [...this.entries(host), ...added.map((handler) => entry(play, handler, included))]);
    return added;
  }

  /** Removes notifications (durably, before it returns, when one was recorded). */
  withdraw(host: string, play: string, names: readonly string[]): void {
    const drop = new Set(names);
    this.update(
      host,
      this.entries(host).filter((e) => !(e.play === play && drop.has(e.handler))),
    );
  }

  /** Replaces what is saved for a host in a play (durably, when that changes anything). */
  set(host: string, play: string, handlers: readonly string[], included: ReadonlySet<string> = new Set()): void {
    const rest = this.entries(host).filter((e) => e.play !== play);
    this.update(host, [...rest, ...[...new Set(handlers)].map((handler) => entry(play, handler, included))]);
  }

  private entries(host: string): PendingEntry[] {
    return this.store[this.key]?.[host] ?? [];
  }

  /** Sets a host's entries; writes the file when they differ from what it holds. */
  private update(host: string, next: PendingEntry[]): void {
    const before = this.entries(host).map(entryKey).sort();
    const after = next.map(entryKey).sort();
    if (before.length === after.length && before.every((k, i) => k === after[i])) return;
    const book = (this.store[this.key] ??= {});
    if (next.length) book[host] = next;
    else delete book[host];
    if (!Object.keys(book).length) delete this.store[this.key];
    this.persist();
  }

  /** Temp file, fsync, rename over the file, fsync of the directory (and of its parent when it is new). */
  private persist(): void {
    if (this.readOnly) return;
    const dir = dirname(this.file);
    if (!existsSync(dir)) {
      mkdirSync(dir, { recursive: true });
      fsyncPath(dirname(dir));
    }
    const tmp = `${this.file}.${process.pid}.tmp`;
    const fd = openSync(tmp, 'w', 0o644);
    try {
      writeSync(fd, JSON.stringify(this.store, null, 2) + '\n');
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.file);
    fsyncPath(dir);
    this.writes++;
  }
}

/**
 * The other pending-handlers files of a directory that hold notifications for this playbook and
 * were not written by a shard of the same n (whose hosts are disjoint from this shard's).
 */
function foreignPending(dir: string, own: string, key: string, count: number | undefined): string[] {
  if (!existsSync(dir)) return [];
  const sameN = count === undefined ? /^$/ : new RegExp(`^pending-handlers\\.shard-\\d+-of-${count}\\.json$`);
  const out: string[] = [];
  for (const f of readdirSync(dir)) {
    if (f === own || sameN.test(f) || !/^pending-handlers(\.shard-\d+-of-\d+)?\.json$/.test(f)) continue;
    try {
      const store = JSON.parse(readFileSync(join(dir, f), 'utf8')) as Store;
      if (Object.values(store[key] ?? {}).some((es) => es.length)) out.push(join(dir, f));
    } catch {
      out.push(join(dir, f));
    }
  }
  return out;
}
