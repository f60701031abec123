import { describe, expect, it } from 'vitest';
import {
  type PipParams,
  type PipState,
  parsePackage,
  pipApply,
  pipPlan,
  pipPrepare,
  pipProbe,
  recoverNames,
  satisfies,
} from '../../../../src/modules/dev/pip.ts';
import { containsSecret } from '../../../../src/core/secret/secret.ts';
import { ctx, outsideHeredocs, shSyntax } from '../helpers.ts';

const V = '/srv/venv';
const base: PipParams = { name: 'flask', virtualenv: V, virtualenv_command: 'python3 -m venv' };

function st(over: Partial<PipState> = {}): PipState {
  return { venvExists: true, pip: `${V}/bin/pip3`, installed: { pip: '23.0.1' }, externallyManaged: false, freeze: '', ...over };
}
const plan = (p: PipParams, s: PipState) => pipPlan(p, pipPrepare(p), s, ctx());

describe('pip packages and versions (Ansible Package, PEP 440)', () => {
  it('canonicalises names and parses specifiers; URLs and paths are not plain packages', () => {
    expect(parsePackage('Flask_SQLAlchemy >= 3.0 , < 4')).toEqual({
      text: 'Flask_SQLAlchemy >= 3.0 , < 4',
      name: 'flask-sqlalchemy',
      spec: '>=3.0,<4',
    });
    expect(parsePackage('flask', '2.0.1')).toMatchObject({ text: 'flask==2.0.1', spec: '==2.0.1' });
    expect(parsePackage('flask', '>=2')).toMatchObject({ text: 'flask >=2', spec: '>=2' });
    expect(parsePackage('git+https://x/y.git').name).toBeUndefined();
    expect(parsePackage('/tmp/x.whl').name).toBeUndefined();
  });
  it('splits a string on commas and joins specifiers back (_recover_package_name)', () => {
    expect(recoverNames('a>=1,<2, b')).toEqual(['a>=1,<2', 'b']);
    expect(recoverNames(['a', 'b==1'])).toEqual(['a', 'b==1']);
  });
  it('compares versions as PEP 440 does', () => {
    expect(satisfies('1.10', '>1.9')).toBe(true);
    expect(satisfies('2.0rc1', '>=2.0')).toBe(false);
    expect(satisfies('2.0rc1', '>=2.0a1')).toBe(true);
    expect(satisfies('1.0.dev1', '<1.0a1')).toBe(true);
    expect(satisfies('1.0.post1', '>1.0')).toBe(true);
    expect(satisfies('1.4.5', '~=1.4.2')).toBe(true);
    expect(satisfies('1.5', '~=1.4.2')).toBe(false);
    expect(satisfies('2.1.3', '==2.1.*')).toBe(true);
    expect(satisfies('2.2', '!=2.1.*')).toBe(true);
    expect(satisfies('1.0', '==1.0.0')).toBe(true);
  });
});

describe('pip plan', () => {
  it('creates a missing venv and installs', () => {
    expect(plan(base, st({ venvExists: false, installed: {} })).map((c) => c.op)).toEqual([
      { kind: 'venv' },
      { kind: 'install', packages: ['flask'] },
    ]);
  });
  it('is converged when the installed version satisfies the specifier', () => {
    expect(plan({ ...base, name: 'flask>=2,<3' }, st({ installed: { flask: '2.3.1' } }))).toEqual([]);
    expect(plan({ ...base, version: '2.3.1' }, st({ installed: { flask: '2.3.1' } }))).toEqual([]);
  });
  it('installs a version that differs, saying what is installed', () => {
    const [c] = plan({ ...base, version: '2.0' }, st({ installed: { flask: '2.3.1' } }));
    expect(c!.summary).toBe(`pip install flask==2.0 (installed: 2.3.1) in ${V}`);
    expect(c!.unpredictable).toBeUndefined();
  });
  it('uninstalls only what is there', () => {
    expect(plan({ ...base, state: 'absent' }, st())).toEqual([]);
    expect(plan({ ...base, state: 'absent' }, st({ installed: { flask: '1' } })).map((c) => c.op.kind)).toEqual(['uninstall']);
  });
  it('latest, requirements, extra_args and URLs are unpredictable actions (Ansible cannot predict them either)', () => {
    for (const p of [
      { ...base, state: 'latest' as const },
      { virtualenv: V, requirements: 'requirements.txt' },
      { ...base, extra_args: '--no-cache-dir' },
      { ...base, name: 'git+https://git.example/x.git' },
    ]) {
      const c = plan(p, st({ installed: { flask: '9' } })).at(-1)!;
      expect(c.unpredictable).toBe(true);
      expect(c.action).toBe(true);
    }
  });
  it('forcereinstall reinstalls every run', () => {
    expect(plan({ ...base, state: 'forcereinstall' }, st({ installed: { flask: '1' } }))[0]!.action).toBe(true);
  });
  it('refuses a PEP 668 system Python unless --break-system-packages, as pip does', () => {
    const sys: PipParams = { name: 'flask' };
    expect(() => plan(sys, st({ externallyManaged: true, installed: {} }))).toThrow(/externally managed \(PEP 668/);
    expect(plan({ ...sys, extra_args: '--break-system-packages' }, st({ externallyManaged: true, installed: {} }))).toHaveLength(1);
    expect(plan(sys, st({ externallyManaged: true, installed: { flask: '1' } }))).toEqual([]);
  });
  it("checks Ansible's argument rules", () => {
    expect(() => pipPrepare({ virtualenv: V })).toThrow('one of name or requirements is required');
    expect(() => pipPrepare({ name: 'a', requirements: 'r.txt' })).toThrow(/mutually exclusive/);
    expect(() => pipPrepare({ name: 'a', version: '1', state: 'latest' })).toThrow('version is incompatible with state=latest');
    expect(() => pipPrepare({ name: ['a', 'b'], version: '1' })).toThrow(/ambiguous/);
    expect(() => pipPrepare({ name: 'a>=1', version: '1' })).toThrow(/conflicts/);
  });
});

describe('pip secrets: index URLs', () => {
  it('passes --index-url and friends in the environment, never in a command line', () => {
    const token = 'zz-secret-token-1';
    const p: PipParams = {
      ...base,
      extra_args: `--index-url=https://u:${token}@pypi.example/simple --extra-index-url https://u:${token}@b.example -q`,
    };
    const prep = pipPrepare(p);
    expect(prep.argv).toEqual(['-q']);
    expect(prep.env.PIP_INDEX_URL).toBe(`https://u:${token}@pypi.example/simple`);
    expect(containsSecret(token)).toBe(true);
    expect(prep.shown.join(' ')).not.toContain(token);
    for (const script of [pipProbe(p, prep), pipApply(p, prep, [{ kind: 'run', freeze: false }])]) {
      expect(shSyntax(script)).toBe('');
      const withToken = outsideHeredocs(script)
        .split('\n')
        .filter((l) => l.includes(token));
      expect(withToken.every((l) => /^export PIP_(EXTRA_)?INDEX_URL=/.test(l))).toBe(true);
    }
    const [c] = pipPlan(p, prep, st(), ctx());
    expect(c!.summary).not.toContain(token);
    expect(c!.summary).toContain('https://u:********@pypi.example/simple');
  });
  it('refuses credentials anywhere else in extra_args', () => {
    expect(() => pipPrepare({ ...base, extra_args: '--trusted-host https://u:p@x' })).toThrow(/URL with credentials/);
  });
});
