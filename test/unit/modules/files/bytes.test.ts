/**
 * copy's content as bytes (issue 15, item 4): a `src` file's bytes are what is hashed, compared and
 * written (never decoded as UTF-8); the host's current content is bytes too; `--diff` of binary
 * content (a NUL, or bytes that are not UTF-8) is one line saying the files differ, text is a
 * unified diff. The written script is run for real to check the bytes that land.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { contentApply, contentDiff, contentParse, contentPlan, type ContentPrep } from '../../../../src/modules/files/content.ts';
import { type ModuleContext, RunMemory } from '../../../../src/modules/contract.ts';
import { sha256 } from '../../../../src/sh/bytes.ts';

const ctx: ModuleContext = { run: new RunMemory(), host: 'h', check: false, diff: true, become: false, taskFile: 't.yml' };
const all256 = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
const state = (host: Buffer) =>
  contentParse({
    stdout: `exists=1\ntype=file\nmode=0644\nowner=root\ngroup=root\nsize=${host.length}\nsha256=${sha256(host)}\ncontent_b64=${host.toString('base64')}\n`,
    stderr: '',
    code: 0,
  });

describe('binary content', () => {
  it('keeps the host content as bytes and plans nothing when they are equal', () => {
    const s = state(all256);
    expect(Buffer.isBuffer(s.current) && s.current.equals(all256)).toBe(true);
    const prep: ContentPrep = { content: all256, sensitive: false };
    expect(contentPlan({ dest: '/x' }, prep, s, ctx)).toEqual([]);
  });

  it('--diff of binary content says the files differ, with none of the bytes', () => {
    const other = Buffer.from(all256);
    other[200] = 0;
    const [change] = contentPlan({ dest: '/x.bin' }, { content: all256, sensitive: false }, state(other), ctx);
    expect(change!.summary).toBe('update content of /x.bin');
    expect(change!.diff).toBe('Binary files /x.bin (host) and /x.bin (planned) differ\n');
    // Not UTF-8, no NUL: binary too. Text (str or UTF-8 bytes) is a unified diff.
    expect(contentDiff('/f', Buffer.from('caf\xe9\n', 'latin1'), 'café\n', false)).toBe('Binary files /f (host) and /f (planned) differ\n');
    expect(contentDiff('/f', Buffer.from('café\n'), 'cafe\n', false)).toContain('-café\n+cafe');
  });

  it('writes exactly the bytes (all 256 values and random data) through the apply script', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-bytes-'));
    for (const data of [all256, randomBytes(64 * 1024)]) {
      const dest = join(dir, 'out.bin');
      const script = contentApply({ dest }, { content: data, sensitive: false }, [{ kind: 'write', over: 'nothing' }]);
      const r = spawnSync('sh', ['-c', script], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      expect(sha256(readFileSync(dest))).toBe(sha256(data));
    }
  });
});
