import { describe, expect, it } from 'vitest';
import { alternativesApply, alternativesParse, alternativesPlan, alternativesProbe } from '../../../../src/modules/system/alternatives.ts';
import { shSyntax } from '../helpers.ts';

// `update-alternatives --query editor` on Debian 12, prefixed as the probe does.
const QUERY = `Name: editor
Link: /usr/bin/editor
Slaves:
 editor.1.gz /usr/share/man/man1/editor.1.gz
Status: auto
Best: /bin/nano
Value: /bin/nano

Alternative: /bin/nano
Priority: 40
Slaves:
 editor.1.gz /usr/share/man/man1/nano.1.gz

Alternative: /usr/bin/vim.tiny
Priority: 15
Slaves:
 editor.1.gz /usr/share/man/man1/vim.1.gz
`;
const st = (query = QUERY, pathExists = true) =>
  alternativesParse({
    stdout: `path_exists=${pathExists ? 1 : 0}\n${
      query
        ? `exists=1\n${query
            .split('\n')
            .map((l) => `q:${l}`)
            .join('\n')}`
        : 'exists=0'
    }\n`,
    stderr: '',
    code: 0,
  });
const VIM_SUB = [{ name: 'editor.1.gz', path: '/usr/share/man/man1/vim.1.gz', link: '/usr/share/man/man1/editor.1.gz' }];

describe('alternatives', () => {
  it('parses --query: mode, value, link, alternatives with their followers', () => {
    const s = st();
    expect(s).toMatchObject({ exists: true, link: '/usr/bin/editor', mode: 'auto', value: '/bin/nano' });
    expect(s.alternatives['/usr/bin/vim.tiny']).toEqual({ priority: 15, subcommands: VIM_SUB });
  });
  it('present: converged when the alternative is installed, selection untouched', () => {
    expect(alternativesPlan({ name: 'editor', path: '/usr/bin/vim.tiny', state: 'present' }, st())).toEqual([]);
    expect(
      alternativesPlan({ name: 'editor', path: '/usr/bin/vim.tiny', state: 'present', priority: 15, subcommands: VIM_SUB }, st()),
    ).toEqual([]);
  });
  it('selected (default): --set when it is not the current value', () => {
    const p = alternativesPlan({ name: 'editor', path: '/usr/bin/vim.tiny' }, st());
    expect(p.map((c) => c.op)).toEqual([{ kind: 'set' }]);
    expect(alternativesApply({ name: 'editor', path: '/usr/bin/vim.tiny' }, [{ kind: 'set' }])).toContain(
      "update-alternatives --set 'editor' '/usr/bin/vim.tiny'",
    );
  });
  it('a different priority or subcommands reinstall it with the group link', () => {
    const p = alternativesPlan({ name: 'editor', path: '/usr/bin/vim.tiny', state: 'present', priority: 60 }, st());
    expect(p.map((c) => c.op)).toEqual([{ kind: 'install', link: '/usr/bin/editor', priority: 60, subcommands: VIM_SUB }]);
    const sh = alternativesApply(
      { name: 'editor', path: '/usr/bin/vim.tiny' },
      p.map((c) => c.op),
    );
    expect(sh).toContain(
      "--install '/usr/bin/editor' 'editor' '/usr/bin/vim.tiny' 60 --slave '/usr/share/man/man1/editor.1.gz' 'editor.1.gz' '/usr/share/man/man1/vim.1.gz'",
    );
    expect(shSyntax(sh)).toBe('');
    expect(
      alternativesPlan({ name: 'editor', path: '/usr/bin/vim.tiny', state: 'present', subcommands: [] }, st()).map((c) => c.op.kind),
    ).toEqual(['install']);
  });
  it('a new group needs link and an existing path; priority defaults to 50', () => {
    expect(() => alternativesPlan({ name: 'kt', path: '/usr/bin/true' }, st(''))).toThrow(/no link is given/);
    expect(() => alternativesPlan({ name: 'kt', path: '/nope', link: '/usr/local/bin/kt' }, st('', false))).toThrow(/does not exist/);
    const p = alternativesPlan({ name: 'kt', path: '/usr/bin/true', link: '/usr/local/bin/kt' }, st(''));
    expect(p.map((c) => c.op)).toEqual([{ kind: 'install', link: '/usr/local/bin/kt', priority: 50, subcommands: [] }, { kind: 'set' }]);
  });
  it('auto: back from manual mode; absent removes', () => {
    const manual = st(QUERY.replace('Status: auto', 'Status: manual'));
    expect(alternativesPlan({ name: 'editor', path: '/bin/nano', state: 'auto' }, manual).map((c) => c.op)).toEqual([{ kind: 'auto' }]);
    expect(alternativesPlan({ name: 'editor', path: '/bin/nano', state: 'auto' }, st())).toEqual([]);
    expect(alternativesPlan({ name: 'editor', path: '/bin/nano', state: 'absent' }, st()).map((c) => c.op)).toEqual([{ kind: 'remove' }]);
    expect(alternativesPlan({ name: 'editor', path: '/bin/ed', state: 'absent' }, st())).toEqual([]);
  });
  it('the probe parses as sh', () => {
    expect(shSyntax(alternativesProbe({ name: 'editor', path: '/bin/nano' }))).toBe('');
  });
});
