import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import lif, { editLines, expandBackrefs, type LineinfileParams, MAX_BYTES } from '../../../../src/modules/files/lineinfile.ts';
import { PRELUDE } from '../../../../src/sh/prelude.ts';
import { ctx, runProbe, shSyntax } from '../helpers.ts';

const SSHD = '#Port 22\nPermitRootLogin yes\n#PasswordAuthentication yes\nUsePAM yes\n';

describe('editLines: present', () => {
  it('replaces the last line matching regexp', () => {
    expect(editLines(SSHD, { regexp: '^#?PermitRootLogin', line: 'PermitRootLogin no' })).toEqual({
      content: '#Port 22\nPermitRootLogin no\n#PasswordAuthentication yes\nUsePAM yes\n',
      message: 'line replaced',
    });
    expect(editLines('a=1\nb=2\na=3\n', { regexp: '^a=', line: 'a=9' }).content).toBe('a=1\nb=2\na=9\n');
  });
  it('is idempotent when regexp matches the wanted line too', () => {
    const once = editLines(SSHD, { regexp: '^#?PermitRootLogin', line: 'PermitRootLogin no' }).content;
    expect(editLines(once, { regexp: '^#?PermitRootLogin', line: 'PermitRootLogin no' })).toEqual({ content: once, message: '' });
  });
  it('appends at EOF when nothing matches, adding a missing final newline first', () => {
    expect(editLines('a\nb\n', { line: 'c' }).content).toBe('a\nb\nc\n');
    expect(editLines('a\nb', { line: 'c' }).content).toBe('a\nb\nc\n');
    expect(editLines('a\nb\n', { regexp: '^x', line: 'c' }).content).toBe('a\nb\nc\n');
    expect(editLines('', { line: 'c' }).content).toBe('c\n');
  });
  it('does not add a line that is already there (with or without regexp)', () => {
    expect(editLines('a\nc\nb\n', { line: 'c' }).message).toBe('');
    expect(editLines('a\nc\nb\n', { regexp: '^nomatch', line: 'c', insertafter: '^b' }).message).toBe('');
  });
  it('insertafter / insertbefore: last match by default, first with firstmatch, EOF when nothing matches', () => {
    const f = '[a]\nx=1\n[b]\ny=2\n[a]\n';
    expect(editLines(f, { line: 'z=3', insertafter: '^\\[a\\]' }).content).toBe('[a]\nx=1\n[b]\ny=2\n[a]\nz=3\n');
    expect(editLines(f, { line: 'z=3', insertafter: '^\\[a\\]', firstmatch: true }).content).toBe('[a]\nz=3\nx=1\n[b]\ny=2\n[a]\n');
    expect(editLines(f, { line: 'z=3', insertbefore: '^\\[b\\]' }).content).toBe('[a]\nx=1\nz=3\n[b]\ny=2\n[a]\n');
    expect(editLines(f, { line: 'z=3', insertbefore: 'BOF' }).content).toBe('z=3\n[a]\nx=1\n[b]\ny=2\n[a]\n');
    expect(editLines(f, { line: 'z=3', insertafter: 'EOF' }).content).toBe(`${f}z=3\n`);
    expect(editLines(f, { line: 'z=3', insertafter: '^\\[nope\\]' }).content).toBe(`${f}z=3\n`);
  });
  it('regexp wins over insertafter when it matches', () => {
    expect(editLines('a\nk=1\nb\n', { regexp: '^k=', line: 'k=2', insertafter: '^b' }).content).toBe('a\nk=2\nb\n');
  });
  it('backrefs: expands groups; leaves the file alone when nothing matches', () => {
    expect(
      editLines('GRUB_CMDLINE="quiet"\n', { regexp: '^(GRUB_CMDLINE=")(.*)"$', line: '\\1\\2 net.ifnames=0"', backrefs: true }).content,
    ).toBe('GRUB_CMDLINE="quiet net.ifnames=0"\n');
    expect(editLines('x\n', { regexp: '^(nomatch)', line: '\\1', backrefs: true })).toEqual({ content: 'x\n', message: '' });
    // Python named groups are accepted
    expect(editLines('port = 80\n', { regexp: '^port = (?P<n>\\d+)$', line: 'port = \\g<n>0', backrefs: true }).content).toBe(
      'port = 800\n',
    );
    // without backrefs, \1 is literal
    expect(editLines('k=1\n', { regexp: '^k=(\\d)', line: 'k=\\1' }).content).toBe('k=\\1\n');
  });
  it('expandBackrefs handles \\g<1>, escapes and missing groups', () => {
    const m = /(a)(b)?/.exec('a')!;
    expect(expandBackrefs('\\g<1>-\\2-\\\\-\\tX', m)).toBe('a--\\-\tX');
  });
  it('keeps CRLF line endings', () => {
    expect(editLines('a\r\nk=1\r\n', { regexp: '^k=', line: 'k=2' }).content).toBe('a\r\nk=2\r\n');
    expect(editLines('a\r\n', { line: 'b' }).content).toBe('a\r\nb\r\n');
  });
  it('reports invalid regular expressions clearly', () => {
    expect(() => editLines('a\n', { regexp: '(', line: 'x' })).toThrow(/regexp is not a valid Python regular expression/);
    expect(() => editLines('a\n', { line: 'x', insertafter: '[' })).toThrow(/insertafter is not a valid Python regular expression/);
  });
});

describe('editLines: absent', () => {
  it('removes every matching line, or the exact line', () => {
    expect(editLines('a\n#x\nb\n#y\n', { state: 'absent', regexp: '^#' })).toEqual({ content: 'a\nb\n', message: '2 lines removed' });
    expect(editLines('a\nb\na\n', { state: 'absent', line: 'a' }).content).toBe('b\n');
    expect(editLines('a\nb\n', { state: 'absent', line: 'c' })).toEqual({ content: 'a\nb\n', message: '' });
    expect(editLines('a\nb', { state: 'absent', line: 'b' }).content).toBe('a\n');
  });
});

const st = (content: string | undefined, extra = '') => {
  const b64 =
    content === undefined
      ? ''
      : `type=file\nmode=0640\nowner=root\ngroup=adm\nsize=${content.length}\nsha256=abc\ncontent_b64=${Buffer.from(content).toString('base64')}\n`;
  return lif.parse(
    {
      stdout: `real_b64=${Buffer.from('/etc/x.conf').toString('base64')}\nexists=${content === undefined ? 0 : 1}\n${b64}parent=1\n${extra}`,
      stderr: '',
      code: 0,
    },
    { path: '/etc/x.conf' },
    undefined,
  );
};

describe('lineinfile plan/apply', () => {
  it('converged → []', () => {
    expect(lif.plan({ path: '/etc/x.conf', line: 'a' }, undefined, st('a\n'), ctx())).toEqual([]);
    expect(lif.plan({ path: '/etc/x.conf', line: 'a', mode: '0640', owner: 'root' }, undefined, st('a\n'), ctx())).toEqual([]);
  });
  it('content and attribute drift, with a unified diff', () => {
    const c = lif.plan({ path: '/etc/x.conf', regexp: '^k=', line: 'k=2', mode: '0644' }, undefined, st('a\nk=1\n'), ctx());
    expect(c.map((x) => x.summary)).toEqual(['/etc/x.conf: line replaced', 'mode of /etc/x.conf: 0640 → 0644']);
    expect(c[0].diff).toContain('-k=1\n+k=2');
    expect(c[0].diff).toContain('/etc/x.conf (host)');
  });
  it('missing file: create, or an unpredictable change whose apply fails clearly', () => {
    expect(lif.plan({ path: '/etc/x.conf', line: 'a', state: 'absent' }, undefined, st(undefined), ctx())).toEqual([]);
    const created = lif.plan({ path: '/etc/x.conf', line: 'a', create: true }, undefined, st(undefined), ctx());
    expect(created[0].summary).toBe('create file /etc/x.conf with 1 line');
    const p: LineinfileParams = { path: '/etc/x.conf', line: 'a' };
    const c = lif.plan(p, undefined, st(undefined), ctx({ check: true }));
    expect(c[0]).toMatchObject({ unpredictable: true });
    expect(c[0].summary).toMatch(/does not exist yet and create is false/);
    const script = lif.apply(
      p,
      undefined,
      st(undefined),
      c.map((x) => x.op),
      ctx(),
    );
    expect(script).toContain('does not exist (set create: true to create it)');
    expect(script).not.toContain('base64 -d');
  });
  it('fails clearly on too big, binary, non-files and bad params', () => {
    expect(() => lif.plan({ path: '/etc/x.conf', line: 'a' }, undefined, st('', 'too_big=1\n'), ctx())).toThrow(
      new RegExp(`larger than ${MAX_BYTES}`),
    );
    expect(() => lif.plan({ path: '/etc/x.conf', line: 'a' }, undefined, st('a\u0000b'), ctx())).toThrow(/binary/);
    expect(() => lif.plan({ path: '/etc/x.conf' }, undefined, st('a\n'), ctx())).toThrow(/needs line/);
    expect(() => lif.plan({ path: '/etc/x.conf', line: 'x', backrefs: true }, undefined, st('a\n'), ctx())).toThrow(
      /backrefs needs regexp/,
    );
  });
  it('apply script is valid sh and writes exactly the planned content — run on a temp file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-lif-'));
    const real = join(dir, 'sshd_config');
    writeFileSync(real, SSHD, { mode: 0o600 });
    symlinkSync(real, join(dir, 'link'));
    const p: LineinfileParams = {
      path: join(dir, 'link'),
      regexp: '^#?PermitRootLogin',
      line: 'PermitRootLogin no',
      validate: 'grep -q PermitRootLogin %s',
    };
    const probe = lif.probe(p, undefined, ctx());
    expect(shSyntax(probe)).toBe('');
    const s = lif.parse(runProbe(probe), p, undefined);
    expect(s.real).toBe(real);
    expect(s.stat).toMatchObject({ exists: true, type: 'file', mode: '0600' });
    expect(s.content).toBe(SSHD);
    const changes = lif.plan(p, undefined, s, ctx());
    expect(changes.map((c) => c.summary)).toEqual([`${p.path} (via symlink to ${real}): line replaced`]);
    const script = lif.apply(
      p,
      undefined,
      s,
      changes.map((x) => x.op),
      ctx(),
    );
    expect(shSyntax(script)).toBe('');
    // Only touches the temp dir: safe to run here.
    const r = spawnSync('sh', [], { input: `${PRELUDE}\n${script}\n`, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(readFileSync(real, 'utf8')).toBe(SSHD.replace('PermitRootLogin yes', 'PermitRootLogin no'));
    const s2 = lif.parse(runProbe(probe), p, undefined);
    expect(s2.stat.mode).toBe('0600');
    expect(lif.plan(p, undefined, s2, ctx())).toEqual([]);
    // stale plan: the file changed since the probe → refuse
    const r2 = spawnSync('sh', [], { input: `${PRELUDE}\n${script}\n`, encoding: 'utf8' });
    expect(r2.status).toBe(3);
    expect(r2.stderr).toMatch(/changed since it was read/);
    // failed validation leaves the file alone
    const p3 = { ...p, line: 'Nope', regexp: '^PermitRootLogin', validate: 'grep -q PermitRootLogin %s' };
    const s3 = lif.parse(runProbe(lif.probe(p3, undefined, ctx())), p3, undefined);
    const r3 = spawnSync('sh', [], {
      input: `${PRELUDE}\n${lif.apply(
        p3,
        undefined,
        s3,
        lif.plan(p3, undefined, s3, ctx()).map((x) => x.op),
        ctx(),
      )}\n`,
      encoding: 'utf8',
    });
    expect(r3.status).toBe(3);
    expect(r3.stderr).toMatch(/validation failed/);
    expect(readFileSync(real, 'utf8')).toContain('PermitRootLogin no');
  });
  it('probe of a missing file (create)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-lif-'));
    const p: LineinfileParams = { path: join(dir, 'new.conf'), line: 'x', create: true };
    const s = lif.parse(runProbe(lif.probe(p, undefined, ctx())), p, undefined);
    expect(s).toMatchObject({ stat: { exists: false }, parent: true });
    const script = lif.apply(
      p,
      undefined,
      s,
      lif.plan(p, undefined, s, ctx()).map((x) => x.op),
      ctx(),
    );
    expect(spawnSync('sh', [], { input: `${PRELUDE}\n${script}\n` }).status).toBe(0);
    expect(readFileSync(p.path, 'utf8')).toBe('x\n');
  });
});
