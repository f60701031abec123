import { describe, expect, it } from 'vitest';
import aptRepository, {
  type AptRepositoryParams,
  type AptRepositoryState,
  formatLine,
  parseLine,
  suggestFilename,
} from '../../../../src/modules/apt/apt_repository.ts';
import { sha256 } from '../../../../src/sh/bytes.ts';
import { ctx, shSyntax } from '../helpers.ts';

const file = (path: string, content: string) => ({ path, content, sha256: sha256(content) });
const LIST = '/etc/apt/sources.list';
const MIRROR = '# kiln lab offline mirror (read-only bind mount)\ndeb [trusted=yes] file:/opt/kiln-mirror ./\n';
const CHROME = 'deb http://dl.google.com/linux/chrome/deb/ stable main';

function plan(p: AptRepositoryParams, s: AptRepositoryState) {
  return aptRepository.plan(p, aptRepository.prepare!(p, undefined as never), s, ctx());
}
const ops = (p: AptRepositoryParams, s: AptRepositoryState) => plan(p, s).map((c) => c.op);

describe('apt_repository', () => {
  it("names the file as Ansible's _suggest_filename does (outputs taken from Ansible 2.14's code)", () => {
    expect(suggestFilename(CHROME)).toBe('dl_google_com_linux_chrome_deb.list');
    expect(suggestFilename('deb [trusted=yes] file:/opt/kiln-mirror ./')).toBe('file_opt_kiln_mirror.list');
    expect(
      suggestFilename('deb [signed-by=/etc/apt/keyrings/x.asc arch=amd64] https://user:pw@repo.example.org:8443/debian bookworm main'),
    ).toBe('repo_example_org_8443_debian.list');
    expect(suggestFilename('deb-src http://deb.debian.org/debian bookworm main')).toBe('deb_debian_org_debian.list');
    expect(suggestFilename(CHROME, 'google-chrome')).toBe('google-chrome.list');
  });
  it("parses and formats lines as Ansible's SourcesList", () => {
    expect(parseLine('  #deb   http://x  y z  # note ')).toEqual({
      valid: true,
      enabled: false,
      source: 'deb http://x y z',
      comment: 'note',
    });
    expect(formatLine({ valid: true, enabled: true, source: 'deb http://x y z', comment: 'note' })).toBe('deb http://x y z # note');
    expect(parseLine('# a comment').valid).toBe(false);
  });
  it('creates the file with the normalised line, then updates the cache; converged when the source is enabled anywhere', () => {
    const s = { files: [file(LIST, MIRROR)] };
    const c = plan({ repo: `  deb   http://dl.google.com/linux/chrome/deb/  stable main` }, s);
    expect(c.map((x) => x.summary)).toEqual([
      `create /etc/apt/sources.list.d/dl_google_com_linux_chrome_deb.list with ${CHROME}`,
      'update apt cache',
    ]);
    expect(c[0].op).toEqual({
      kind: 'write',
      path: '/etc/apt/sources.list.d/dl_google_com_linux_chrome_deb.list',
      content: `${CHROME}\n`,
      expect: undefined,
      mode: undefined,
    });
    expect(c[0].diff).toContain(`+${CHROME}`);
    expect(plan({ repo: 'deb  [trusted=yes]  file:/opt/kiln-mirror ./' }, s)).toEqual([]);
    const there = { files: [file(LIST, MIRROR), file('/etc/apt/sources.list.d/other.list', `${CHROME} # chrome\n`)] };
    expect(plan({ repo: CHROME, filename: 'google' }, there)).toEqual([]);
  });
  it('enables a disabled copy instead of adding one; appends to an existing file with the given mode', () => {
    const s = { files: [file('/etc/apt/sources.list.d/g.list', `# keep\n#${CHROME} # chrome\n`)] };
    const c = plan({ repo: CHROME, update_cache: false, mode: '0600' }, s);
    expect(c.map((x) => x.summary)).toEqual([`enable ${CHROME} in /etc/apt/sources.list.d/g.list`]);
    // mode applies only to a file a line is appended to, as Ansible's new_repos.
    expect(c[0].op).toMatchObject({ kind: 'write', content: `# keep\n${CHROME} # chrome\n`, mode: undefined });
    const t = { files: [file('/etc/apt/sources.list.d/google.list', 'deb http://a b c')] };
    const d = plan({ repo: CHROME, filename: 'google', mode: '600' }, t);
    expect(d[0].summary).toBe(`add ${CHROME} to /etc/apt/sources.list.d/google.list`);
    expect(d[0].op).toEqual({
      kind: 'write',
      path: '/etc/apt/sources.list.d/google.list',
      content: `deb http://a b c\n${CHROME}\n`,
      expect: sha256('deb http://a b c'),
      mode: '0600',
    });
  });
  it('absent removes every enabled copy, deletes a file left empty, leaves disabled copies', () => {
    const s = {
      files: [
        file(LIST, `${MIRROR}${CHROME}\n`),
        file('/etc/apt/sources.list.d/g.list', `${CHROME}\n`),
        file('/etc/apt/sources.list.d/h.list', `# ${CHROME}\n`),
      ],
    };
    const c = plan({ repo: CHROME, state: 'absent' }, s);
    expect(c.map((x) => x.summary)).toEqual([
      `remove ${CHROME} from ${LIST}`,
      `remove ${CHROME}: delete /etc/apt/sources.list.d/g.list (no line left)`,
      'update apt cache',
    ]);
    expect(c.map((x) => x.op.kind)).toEqual(['write', 'delete', 'update-cache']);
    expect(c[0].op).toMatchObject({ content: MIRROR });
    expect(plan({ repo: CHROME, state: 'absent' }, { files: [file(LIST, MIRROR)] })).toEqual([]);
  });
  it('refuses ppa: and invalid lines when prepared (before any host is contacted)', () => {
    expect(() => aptRepository.prepare!({ repo: 'ppa:nginx/stable' }, undefined as never)).toThrow(/Ubuntu Launchpad archives/);
    expect(() => aptRepository.prepare!({ repo: 'debx http://a b' }, undefined as never)).toThrow(/Invalid repository string/);
  });
  it('apply: backs up, writes atomically, updates the cache with retries, and restores the files when the update fails', () => {
    const p: AptRepositoryParams = { repo: CHROME, update_cache_retries: 3, update_cache_retry_max_delay: 4 };
    const s = { files: [file(LIST, MIRROR)] };
    const script = aptRepository.apply(p, aptRepository.prepare!(p, undefined as never), s, ops(p, s), ctx());
    expect(script).toContain('--error-on=any update');
    expect(script).toContain('while [ "$i" -lt 3 ]');
    expect(script).toContain("rm -f -- '/etc/apt/sources.list.d/dl_google_com_linux_chrome_deb.list'");
    expect(script).toContain('Failed to update apt cache');
    expect(shSyntax(script)).toBe('');
    const q: AptRepositoryParams = { repo: CHROME, update_cache: false };
    expect(aptRepository.apply(q, aptRepository.prepare!(q, undefined as never), s, ops(q, s), ctx())).not.toContain('apt-get');
  });
});

describe('apt_repository install_python_apt', () => {
  it('false is accepted (nothing to install); true is refused by name with the reason', () => {
    const repo = 'deb http://a b c';
    expect(aptRepository.prepare!({ repo, install_python_apt: false }, undefined as never)).toBe(repo);
    expect(() => aptRepository.prepare!({ repo, install_python_apt: true }, undefined as never)).toThrow(
      /install_python_apt: true is refused: Kiln's apt_repository needs no python3-apt/,
    );
  });
});
