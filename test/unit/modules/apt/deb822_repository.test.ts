import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import deb822, {
  type Deb822Params,
  type Deb822State,
  deb822Prepare,
  fieldName,
  renderSources,
  slugOf,
} from '../../../../src/modules/apt/deb822_repository.ts';
import { sha256 } from '../../../../src/sh/bytes.ts';
import { ctx, shSyntax } from '../helpers.ts';

// What ansible-core 2.15.9's deb822_repository registered for the tasks of playbook.yml (see the fixture's README).
const FIX = JSON.parse(
  readFileSync(new URL('../../../fixtures/ansible/deb822_repository/x17d1-ansible-2.15.json', import.meta.url), 'utf8'),
) as { results: { repo: string; dest: string; key_filename: string | null; mode: string }[] };
const KEY = Buffer.from('binary keyring bytes \x99\x01');

// The playbook's tasks, as Kiln's argument conversion hands them over (components: 'main,contrib' split as Ansible's list type does).
const ALL: Deb822Params = {
  name: 'Kiln X17D_local repo',
  types: ['deb', 'deb-src'],
  uris: ['file:/srv/kiln-x17d-repo'],
  suites: ['./'],
  signed_by: 'file:///usr/share/keyrings/debian-archive-bookworm-stable.gpg',
  architectures: ['amd64', 'i386'],
  languages: ['en', 'de'],
  targets: ['Packages'],
  enabled: true,
  trusted: true,
  by_hash: false,
  allow_insecure: false,
  allow_weak: false,
  allow_downgrade_to_insecure: false,
  check_date: true,
  check_valid_until: false,
  pdiffs: false,
  date_max_future: 3600,
  inrelease_path: 'InRelease',
};
const INLINE: Deb822Params = {
  name: 'inline',
  uris: ['http://deb.example.org/debian', 'http://mirror.example.org/debian'],
  suites: ['bookworm'],
  components: ['main', 'contrib'],
  signed_by:
    '-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmDMEYCQjIxYJKwYBBAHaRw8BAQdAD/P5Nvvnvk66SxBBHDbhRml9ORg1WV5CvzKY\n=IE0r\n-----END PGP PUBLIC KEY BLOCK-----\n',
  mode: '0600',
};
const HOSTPATH: Deb822Params = {
  name: 'hostpath',
  uris: ['http://deb.example.org/debian'],
  suites: ['bookworm'],
  components: ['main'],
  signed_by: '/usr/share/keyrings/debian-archive-keyring.gpg',
  enabled: false,
};

const none = { exists: false } as const;
const fresh = (over: Partial<Deb822State> = {}): Deb822State => ({ sources: none, asc: none, gpg: none, signedByFile: false, ...over });
const plan = (p: Deb822Params, s: Deb822State) => deb822.plan(p, deb822Prepare(p), s, ctx());

describe('deb822_repository', () => {
  it("names files and fields as Ansible's module", () => {
    expect(slugOf('Kiln X17D_local repo')).toBe('kiln-x17d-local-repo');
    expect(slugOf('Docker CE (stable)')).toBe('docker-ce-stable');
    expect(['name', 'uris', 'pdiffs', 'inrelease_path', 'allow_downgrade_to_insecure'].map(fieldName)).toEqual([
      'X-Repolib-Name',
      'URIs',
      'Pdiffs',
      'Inrelease-Path',
      'Allow-Downgrade-To-Insecure',
    ]);
  });
  it('writes exactly what Ansible 2.15 wrote and registered, for a URL key, an inline key and a key on the host', () => {
    const cases: [Deb822Params, Deb822State][] = [
      [ALL, fresh({ fetched: KEY })],
      [INLINE, fresh()],
      [HOSTPATH, fresh({ signedByFile: true })],
    ];
    cases.forEach(([p, s], i) => {
      const want = FIX.results[i];
      const prep = deb822Prepare(p);
      const c = deb822.plan(p, prep, s, ctx());
      const src = c.find((x) => x.op.kind === 'write' && x.op.path === want.dest)!;
      expect(src.op.kind === 'write' && src.op.content.toString()).toBe(want.repo);
      expect(src.op.kind === 'write' && src.op.mode).toBe(want.mode);
      const reg = deb822.registerData!(p, prep, s);
      const { changed: _c, failed: _f, ...rest } = want as Record<string, unknown>;
      expect(reg).toEqual(rest);
    });
  });
  it('a URL key goes to /etc/apt/keyrings/<slug>.gpg (.asc when armored) with the keyrings directory made 0755 root:root', () => {
    const c = plan(ALL, fresh({ fetched: KEY }));
    expect(c.map((x) => x.summary)).toEqual([
      'create /etc/apt/keyrings (0755 root:root)',
      'create keyring /etc/apt/keyrings/kiln-x17d-local-repo.gpg from file:///usr/share/keyrings/debian-archive-bookworm-stable.gpg (24 bytes)',
      'create /etc/apt/sources.list.d/kiln-x17d-local-repo.sources (0644)',
    ]);
    const armored = Buffer.from('-----BEGIN PGP PUBLIC KEY BLOCK-----\nabc\n-----END PGP PUBLIC KEY BLOCK-----\n');
    const a = plan(ALL, fresh({ fetched: armored, keyringsDir: { mode: '0755', owner: 'root:root' } }));
    expect(a[0].op).toMatchObject({ kind: 'write', path: '/etc/apt/keyrings/kiln-x17d-local-repo.asc', mode: '0644' });
    expect(a[0].diff).toContain('+-----BEGIN PGP PUBLIC KEY BLOCK-----');
    expect(() => plan(ALL, fresh({ fetchError: 'curl: (6) Could not resolve host' }))).toThrow(
      /Could not fetch signed_by key: curl: \(6\) Could not resolve host/,
    );
  });
  it('converged when the file and key are as wanted; the mode is enforced every run', () => {
    const text = renderSources(HOSTPATH, HOSTPATH.signed_by);
    const have = { exists: true, sha256: sha256(text), mode: '0644', content: Buffer.from(text) };
    expect(plan(HOSTPATH, fresh({ signedByFile: true, sources: have }))).toEqual([]);
    expect(plan(HOSTPATH, fresh({ signedByFile: true, sources: { ...have, mode: '0640' } })).map((x) => x.summary)).toEqual([
      '/etc/apt/sources.list.d/hostpath.sources: mode 0640 → 0644',
    ]);
    const edited = plan(HOSTPATH, fresh({ signedByFile: true, sources: { ...have, sha256: 'x', content: Buffer.from('Types: deb\n') } }));
    expect(edited.map((x) => x.summary)).toEqual(['update /etc/apt/sources.list.d/hostpath.sources']);
    expect(edited[0].diff).toContain('+X-Repolib-Name: hostpath');
  });
  it('absent removes the .sources file and both keyrings of the slug', () => {
    const f = { exists: true, sha256: 'x', mode: '0644', content: Buffer.from('x') };
    const c = plan({ name: 'Kiln X17D_local repo', state: 'absent' }, fresh({ sources: f, gpg: f }));
    expect(c.map((x) => x.op)).toEqual([
      { kind: 'delete', path: '/etc/apt/sources.list.d/kiln-x17d-local-repo.sources' },
      { kind: 'delete', path: '/etc/apt/keyrings/kiln-x17d-local-repo.gpg' },
    ]);
    expect(plan({ name: 'Kiln X17D_local repo', state: 'absent' }, fresh())).toEqual([]);
  });
  it('probe and apply are valid sh; the probe fetches a URL key with curl, wget or python3', () => {
    const prep = deb822Prepare(ALL);
    const probe = deb822.probe(ALL, prep, ctx());
    expect(probe).toContain("kiln_fetch 'file:///usr/share/keyrings/debian-archive-bookworm-stable.gpg'");
    expect(shSyntax(probe)).toBe('');
    const s = fresh({ fetched: KEY });
    const script = deb822.apply(
      ALL,
      prep,
      s,
      plan(ALL, s).map((x) => x.op),
      ctx(),
    );
    expect(script).toContain('install -d -m 0755 -o root -g root /etc/apt/keyrings');
    expect(shSyntax(script)).toBe('');
  });
});
