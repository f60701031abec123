/**
 * Pending handlers survive failures. When a run fails after a handler was notified (a config
 * changed, its restart never ran), the notification is saved under `.kiln/pending-handlers.json`
 * beside the playbook; the next run restores it and the handler runs even though the config
 * task now reports ok. (Ansible loses these: ansible#10498.)
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';

export interface PendingEntry {
  play: string;
  handler: string;
}

type Store = Record<string, Record<string, PendingEntry[]>>; // playbook → host → entries

export class PendingHandlers {
  private store: Store = {};
  private readonly file: string;
  private readonly key: string;

  constructor(
    playbookDir: string,
    playbookFile: string,
    readonly readOnly = false,
  ) {
    this.file = join(playbookDir, '.kiln', 'pending-handlers.json');
    this.key = basename(playbookFile);
    if (existsSync(this.file)) {
      try {
        this.store = JSON.parse(readFileSync(this.file, 'utf8')) as Store;
      } catch {
        this.store = {};
      }
    }
  }

  get path(): string {
    return this.file;
  }

  /** Handlers saved for a host in a play. */
  forHost(host: string, play: string): string[] {
    return (this.store[this.key]?.[host] ?? []).filter((e) => e.play === play).map((e) => e.handler);
  }

  /** Replaces what is saved for a host in a play. */
  set(host: string, play: string, handlers: string[]): void {
    const book = (this.store[this.key] ??= {});
    const rest = (book[host] ?? []).filter((e) => e.play !== play);
    const next = [...rest, ...handlers.map((handler) => ({ play, handler }))];
    if (next.length) book[host] = next;
    else delete book[host];
    if (!Object.keys(book).length) delete this.store[this.key];
  }

  save(): void {
    if (this.readOnly) return;
    if (!Object.keys(this.store).length && !existsSync(this.file)) return;
    mkdirSync(join(this.file, '..'), { recursive: true });
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.store, null, 2) + '\n');
    renameSync(tmp, this.file);
  }
}
