import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import packageFacts, { packageFactsParse } from '../../../../src/modules/apt/package_facts.ts';
import { ctx, runProbe, shSyntax } from '../helpers.ts';

// What ansible-core 2.14's package_facts registered on a lab host (see the fixture's README).
const ANSIBLE = JSON.parse(
  readFileSync(new URL('../../../fixtures/ansible/package_facts/x17d1-ansible.json', import.meta.url), 'utf8'),
) as { ansible_facts: { packages: Record<string, Record<string, unknown>[]> } };

const typesOf = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, typeof v]));

describe('package_facts', () => {
  it('parses dpkg and the apt lists into Ansible’s shape: name (arch-qualified when foreign) → entries with the origin of the first list carrying the version', () => {
    const stdout = [
      'native=amd64',
      '--dpkg',
      'ii \tbash\t5.2.15-2+b13\tamd64\tshells',
      'ii \tpython3-apt\t2.6.0\tamd64\tpython',
      'ii \tlibc6\t2.36-9+deb12u14\ti386\tlibs',
      'iU \ttzdata\t2024a-0+deb12u1\tall\tlocalization',
      '--origins',
      'kiln-lab\tpython3-apt\t2.6.0\tamd64',
      'Other\tpython3-apt\t2.6.0\tamd64',
      '',
    ].join('\n');
    const s = packageFactsParse({ stdout, stderr: '', code: 0 });
    expect(s.packages).toEqual({
      bash: [{ name: 'bash', version: '5.2.15-2+b13', arch: 'amd64', category: 'shells', origin: '', source: 'apt' }],
      'python3-apt': [{ name: 'python3-apt', version: '2.6.0', arch: 'amd64', category: 'python', origin: 'kiln-lab', source: 'apt' }],
      'libc6:i386': [{ name: 'libc6:i386', version: '2.36-9+deb12u14', arch: 'i386', category: 'libs', origin: '', source: 'apt' }],
      tzdata: [{ name: 'tzdata', version: '2024a-0+deb12u1', arch: 'all', category: 'localization', origin: '', source: 'apt' }],
    });
    expect(packageFacts.plan({}, undefined, s, ctx())).toEqual([]);
    const reg = packageFacts.registerData!({}, undefined, s);
    expect(Object.keys(reg)).toEqual(['ansible_facts']);
    const entry = (reg.ansible_facts as typeof ANSIBLE.ansible_facts).packages.bash[0];
    expect(typesOf(entry)).toEqual(typesOf(ANSIBLE.ansible_facts.packages.bash[0]));
  });
  it("the probe is valid sh and, run read-only on this machine, gives entries with the keys and types of Ansible's", () => {
    const probe = packageFacts.probe({}, undefined, ctx());
    expect(shSyntax(probe)).toBe('');
    const r = runProbe(probe);
    expect(r.code).toBe(0);
    const s = packageFacts.parse(r, {}, undefined);
    const want = typesOf(ANSIBLE.ansible_facts.packages.bash[0]);
    expect(Object.keys(s.packages).length).toBeGreaterThan(10);
    for (const entries of Object.values(s.packages)) for (const e of entries) expect(typesOf({ ...e })).toEqual(want);
    expect(s.packages.dpkg?.[0]).toMatchObject({ name: 'dpkg', source: 'apt' });
  });
});
