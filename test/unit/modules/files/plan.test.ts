import { describe, expect, it } from 'vitest';
import { contentParse, contentPlan, type ContentPrep, contentProbe } from '../../../../src/modules/files/content.ts';
import file from '../../../../src/modules/files/file.ts';
import { sha256 } from '../../../../src/sh/bytes.ts';
import { type ModuleContext, RunMemory } from '../../../../src/modules/contract.ts';
import { Secret } from '../../../../src/core/secret/secret.ts';

const ctx: ModuleContext = { run: new RunMemory(), host: 'h', check: false, diff: true, become: false, taskFile: 't.yml' };
const b64 = (s: string) => Buffer.from(s).toString('base64');
const prep = (content: string, sensitive = false): ContentPrep => ({ content, sensitive });

describe('file plan', () => {
  it('is empty when the directory is converged', () => {
    const st = file.parse(
      { stdout: 'exists=1\ntype=directory\nmode=0755\nowner=root\ngroup=root\nsize=4096\n', stderr: '', code: 0 },
      { path: '/x' },
      undefined,
    );
    expect(file.plan({ path: '/x', state: 'directory', mode: '0755', owner: 'root' }, undefined, st, ctx)).toEqual([]);
  });

  it('lists each attribute that differs', () => {
    const st = file.parse(
      { stdout: 'exists=1\ntype=directory\nmode=0700\nowner=root\ngroup=root\n', stderr: '', code: 0 },
      { path: '/x' },
      undefined,
    );
    expect(file.plan({ path: '/x', state: 'directory', mode: '0755', group: 'adm' }, undefined, st, ctx).map((c) => c.summary)).toEqual([
      'group of /x: root → adm',
      'mode of /x: 0700 → 0755',
    ]);
  });

  it('creates, retargets and refuses to clobber links', () => {
    const none = { exists: false };
    expect(file.plan({ path: '/l', state: 'link', src: '/a' }, undefined, none, ctx)[0]!.summary).toBe('create link /l → /a');
    expect(
      file.plan({ path: '/l', state: 'link', src: '/b' }, undefined, { exists: true, type: 'link', target: '/a' }, ctx)[0]!.summary,
    ).toBe('retarget link /l: /a → /b');
    expect(() => file.plan({ path: '/l', state: 'link', src: '/b' }, undefined, { exists: true, type: 'file' }, ctx)).toThrow(/force/);
  });

  it('absent removes only what exists', () => {
    expect(file.plan({ path: '/x', state: 'absent' }, undefined, { exists: false }, ctx)).toEqual([]);
    expect(file.plan({ path: '/x', state: 'absent' }, undefined, { exists: true, type: 'file' }, ctx)[0]!.summary).toBe('remove file /x');
  });
});

describe('content plan (copy/template)', () => {
  const probe = (content: string | undefined, mode = '0644') =>
    contentParse({
      stdout:
        content === undefined
          ? 'exists=0\nparent=1\n'
          : `exists=1\ntype=file\nmode=${mode}\nowner=root\ngroup=root\nsize=${content.length}\nsha256=${sha256(content)}\ncontent_b64=${b64(content)}\nparent=1\n`,
      stderr: '',
      code: 0,
    });

  it('converged content and attributes → no change', () => {
    expect(contentPlan({ dest: '/etc/a', mode: '0644' }, prep('x\n'), probe('x\n'), ctx)).toEqual([]);
  });

  it('shows a unified diff with context for changed content', () => {
    const before = 'a\nb\nc\nd\n';
    const changes = contentPlan({ dest: '/etc/a' }, prep('a\nb\nC\nd\n'), probe(before), ctx);
    expect(changes.map((c) => c.summary)).toEqual(['update content of /etc/a']);
    expect(changes[0]!.diff).toContain('-c\n+C\n');
    expect(changes[0]!.diff).toContain(' b\n');
  });

  it('hides diffs of content that contains a secret, before and after', () => {
    const s = new Secret('hunter2-very-secret');
    const changes = contentPlan({ dest: '/etc/s' }, prep(`pw=${s.reveal()}\n`), probe('pw=old\n'), ctx);
    expect(changes[0]!.diff).toContain('hidden');
    expect(changes[0]!.diff).not.toContain('hunter2');
    const sensitive = contentPlan({ dest: '/etc/s' }, prep('x\n', true), probe('old-token\n'), ctx);
    expect(sensitive[0]!.diff).not.toContain('old-token');
  });

  it('a new file is one change; mode-only drift is one change', () => {
    expect(contentPlan({ dest: '/n', mode: '0600' }, prep('hi\n'), probe(undefined), ctx).map((c) => c.summary)).toEqual([
      'create file /n (0600), 3 bytes',
    ]);
    expect(contentPlan({ dest: '/n', mode: '0600' }, prep('hi\n'), probe('hi\n', '0644'), ctx).map((c) => c.summary)).toEqual([
      'mode of /n: 0644 → 0600',
    ]);
  });

  it('a dry run cannot tell "create" from "update" when the parent directory is still missing', () => {
    const noParent = contentParse({ stdout: 'exists=0\nparent=0\n', stderr: '', code: 0 });
    const [c] = contentPlan({ dest: '/etc/haproxy/haproxy.cfg' }, prep('x\n'), noParent, { ...ctx, check: true });
    expect(c).toMatchObject({ summary: 'create file /etc/haproxy/haproxy.cfg, 2 bytes', unpredictable: true });
    expect(contentPlan({ dest: '/n' }, prep('x\n'), probe(undefined), { ...ctx, check: true })[0]!.unpredictable).toBeUndefined();
    expect(contentPlan({ dest: '/n' }, prep('x\n'), noParent, ctx)[0]!.unpredictable).toBeUndefined();
  });

  it('a dry run cannot tell either when the program that validates the file is not installed yet', () => {
    const p = { dest: '/etc/nftables.conf', validate: 'nft -c -f %s' };
    const x = prep('x\n');
    expect(contentProbe(p, x, ctx)).toContain("command -v 'nft' >/dev/null 2>&1 && echo validator=1 || echo validator=0");
    const noNft = contentParse({ stdout: 'exists=0\nparent=1\nvalidator=0\n', stderr: '', code: 0 });
    expect(contentPlan(p, x, noNft, { ...ctx, check: true })[0]).toMatchObject({
      summary: 'create file /etc/nftables.conf, 2 bytes',
      unpredictable: true,
    });
    const withNft = contentParse({ stdout: 'exists=0\nparent=1\nvalidator=1\n', stderr: '', code: 0 });
    expect(contentPlan(p, x, withNft, { ...ctx, check: true })[0]!.unpredictable).toBeUndefined();
    // A real run plans the same change, without the flag.
    expect(contentPlan(p, x, noNft, ctx)[0]!.unpredictable).toBeUndefined();
  });
});
