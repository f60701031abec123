/**
 * Contract v2 for the files modules: `apply` depends only on the typed ops `plan` returns, never
 * on the summaries (rewording every summary to 'x' gives the same script), and every script is
 * valid sh.
 */
import { describe, expect, it } from 'vitest';
import type { ModuleDef } from '../../../../src/modules/contract.ts';
import copy from '../../../../src/modules/files/copy.ts';
import { contentParse, type ContentPrep } from '../../../../src/modules/files/content.ts';
import file from '../../../../src/modules/files/file.ts';
import getUrl from '../../../../src/modules/files/get_url.ts';
import lif from '../../../../src/modules/files/lineinfile.ts';
import sysctl from '../../../../src/modules/files/sysctl.ts';
import template from '../../../../src/modules/files/template.ts';
import { sha256 } from '../../../../src/sh/bytes.ts';
import { ctx, shSyntax } from '../helpers.ts';

const b64 = (s: string) => Buffer.from(s).toString('base64');

/** Plans, applies, rewords every summary to 'x' and applies again: same script, valid sh. */
function opsOnly<P, S, Op extends { kind: string }, Prep>(m: ModuleDef<P, S, Op, Prep>, p: P, prep: Prep, s: S): string {
  const c = ctx();
  const planned = m.plan(p, prep, s, c);
  expect(planned.length).toBeGreaterThan(0);
  const script = m.apply(
    p,
    prep,
    s,
    planned.map((x) => x.op),
    c,
  );
  const reworded = planned.map((x) => ({ ...x, summary: 'x', diff: undefined }));
  expect(
    m.apply(
      p,
      prep,
      s,
      reworded.map((x) => x.op),
      c,
    ),
  ).toBe(script);
  expect(shSyntax(script)).toBe('');
  return script;
}

describe('apply depends only on ops', () => {
  it('file: every state', () => {
    const dir = { exists: true, type: 'directory', mode: '0700', owner: 'root', group: 'root' } as const;
    expect(opsOnly(file, { path: '/x', state: 'directory', mode: '0755', group: 'adm' }, undefined, dir)).toBe(
      "set -e\nchown ':adm' '/x'\nchmod 0755 '/x'",
    );
    expect(opsOnly(file, { path: '/x', state: 'directory', mode: '0755' }, undefined, { exists: false })).toBe(
      [
        'set -e',
        `kiln_p='/x'; while [ "\${kiln_p%/}" != "$kiln_p" ]; do kiln_p=\${kiln_p%/}; done`,
        'set --; while [ -n "$kiln_p" ] && [ ! -e "$kiln_p" ] && [ ! -L "$kiln_p" ]; do set -- "$kiln_p" "$@"; kiln_p=${kiln_p%/*}; done',
        'for kiln_d in "$@"; do mkdir -- "$kiln_d"; chmod 0755 "$kiln_d"; done',
      ].join('\n'),
    );
    expect(opsOnly(file, { path: '/x', state: 'touch', owner: 'www' }, undefined, { exists: false })).toBe(
      "set -e\n: > '/x'\nchown 'www' '/x'",
    );
    expect(opsOnly(file, { path: '/x', state: 'absent' }, undefined, dir)).toBe("set -e\nrm -rf -- '/x'");
    // follow: false: the link's own owner (a link has no mode of its own).
    const link = opsOnly(
      file,
      { path: '/l', state: 'link', src: '/b', force: true, owner: 'www', mode: '0600', follow: false },
      undefined,
      dir,
    );
    expect(link).toBe("set -e\nrm -rf -- '/l'\ntmp='/l.kiln-tmp'; ln -sfn '/b' \"$tmp\"; mv -Tf \"$tmp\" '/l'\nchown -h 'www' '/l'");
    const retarget = opsOnly(file, { path: '/l', state: 'link', src: '/b', owner: 'www', follow: false }, undefined, {
      exists: true,
      type: 'link',
      target: '/a',
      owner: 'root',
    });
    expect(retarget).toBe("set -e\ntmp='/l.kiln-tmp'; ln -sfn '/b' \"$tmp\"; mv -Tf \"$tmp\" '/l'\nchown -h 'www' '/l'");
    // follow (Ansible's default): the owner and mode are the target's, planned against its stat.
    const followed = opsOnly(file, { path: '/l', state: 'link', src: '/b', owner: 'www', mode: '0600' }, undefined, {
      exists: true,
      type: 'link',
      target: '/a',
      linkTarget: '/b',
      linkTargetStat: { exists: true, type: 'file', owner: 'root', group: 'root', mode: '0644' },
    });
    expect(followed).toBe("set -e\ntmp='/l.kiln-tmp'; ln -sfn '/b' \"$tmp\"; mv -Tf \"$tmp\" '/l'\nchown 'www' '/b'\nchmod 0600 '/b'");
  });

  it('copy and template: create, update, replace, attributes only', () => {
    const prep: ContentPrep = { content: 'new\n', sensitive: false };
    const probe = (content?: string, extra = '') =>
      contentParse({
        stdout:
          content === undefined
            ? `exists=0\nparent=1\n${extra}`
            : `exists=1\ntype=file\nmode=0600\nowner=root\ngroup=root\nsha256=${sha256(content)}\nparent=1\n`,
        stderr: '',
        code: 0,
      });
    for (const m of [copy, template]) {
      const p = { dest: '/etc/a', src: 'a.j2', mode: '0640' };
      expect(opsOnly(m, p, prep, probe())).toContain('chmod 0640 "$tmp"');
      const update = opsOnly(m, { dest: '/etc/a', src: 'a.j2', validate: 'grep -q new %s', backup: true }, prep, probe('old\n'));
      expect(update).toContain('chmod --reference="$dest" "$tmp"');
      expect(update).toContain('grep -q new "$tmp"');
      expect(opsOnly(m, p, prep, probe('new\n'))).toBe("set -e\nchmod 0640 '/etc/a'");
      const link = contentParse({ stdout: 'exists=1\ntype=link\ntarget_b64=L3g=\nparent=1\n', stderr: '', code: 0 });
      expect(opsOnly(m, { dest: '/etc/a', src: 'a' }, prep, link)).toContain('chmod 0644 "$tmp"');
    }
  });

  it('lineinfile: write, create, attributes only, missing file', () => {
    const st = (content: string | undefined) =>
      lif.parse(
        {
          stdout: `real_b64=${Buffer.from('/etc/x.conf').toString('base64')}\nexists=${content === undefined ? '0' : `1\ntype=file\nmode=0640\nowner=root\ngroup=adm\nsha256=abc\ncontent_b64=${b64(content)}`}\nparent=1\n`,
          stderr: '',
          code: 0,
        },
        { path: '/etc/x.conf' },
        undefined,
      );
    expect(opsOnly(lif, { path: '/etc/x.conf', regexp: '^k=', line: 'k=2', mode: '0644' }, undefined, st('k=1\n'))).toContain("= 'abc' ]");
    expect(opsOnly(lif, { path: '/etc/x.conf', line: 'a', create: true }, undefined, st(undefined))).toContain(
      'appeared since it was read',
    );
    expect(opsOnly(lif, { path: '/etc/x.conf', line: 'a', mode: '0600' }, undefined, st('a\n'))).toBe(
      'set -e\ndest=\'/etc/x.conf\'\nchmod 0600 "$dest"',
    );
    expect(opsOnly(lif, { path: '/etc/x.conf', line: 'a' }, undefined, st(undefined))).toContain('set create: true');
  });

  it('get_url: download (checksum, force), attributes only', () => {
    const url = 'https://example.org/f';
    const have = {
      stat: { exists: true, type: 'file', mode: '0644', owner: 'root', group: 'root' },
      digest: 'b'.repeat(64),
      curl: true,
    } as const;
    expect(opsOnly(getUrl, { url, dest: '/opt/f', checksum: `sha256:${'a'.repeat(64)}` }, undefined, have)).toContain('checksum mismatch');
    const forced = opsOnly(getUrl, { url, dest: '/opt/f', force: true, mode: '0600' }, undefined, { ...have, digest: undefined });
    expect(forced).toContain('cmp -s');
    expect(forced).toContain(`chmod 0600 "$dest"`);
    expect(opsOnly(getUrl, { url, dest: '/opt/f', owner: 'www' }, undefined, have)).toBe("set -e\nchown 'www' '/opt/f'\necho changed=1");
  });

  it('sysctl: live, persisted, both', () => {
    const s = (live: string, file?: string) =>
      sysctl.parse(
        {
          stdout: `key=1\nlive=${live}\nwritable=1\n${file === undefined ? 'file=0' : `file=1\nsha256=abc\ncontent_b64=${b64(file)}`}\n`,
          stderr: '',
          code: 0,
        },
        { name: 'x' },
        undefined,
      );
    const p = { name: 'net.ipv4.ip_forward', value: 1 };
    expect(opsOnly(sysctl, p, undefined, s('0', 'net.ipv4.ip_forward = 1\n'))).toBe(
      "set -e\nprintf '%s\\n' '1' > '/proc/sys/net/ipv4/ip_forward'",
    );
    expect(opsOnly(sysctl, p, undefined, s('1', 'net.ipv4.ip_forward = 0\n'))).not.toContain('/proc/sys');
    const both = opsOnly(sysctl, p, undefined, s('0'));
    expect(both).toContain('chmod 0644 "$tmp"');
    expect(both.indexOf('mv -f')).toBeLessThan(both.indexOf('/proc/sys'));
  });
});
