import { describe, expect, it } from 'vitest';
import {
  fixCase,
  localeGenApply,
  localeGenParse,
  localeGenPlan,
  localeGenProbe,
  setLocale,
} from '../../../../src/modules/system/locale_gen.ts';
import { shSyntax } from '../helpers.ts';

const GEN = '# comment\n# de_DE.UTF-8 UTF-8\n# en_US ISO-8859-1\n# en_US.UTF-8 UTF-8\nfr_FR.UTF-8 UTF-8\n';
const st = (content: string, installed: string) =>
  localeGenParse({
    stdout: `file=1\nsha=abc\ncontent_b64=${Buffer.from(content).toString('base64')}\ninstalled=${installed}\n`,
    stderr: '',
    code: 0,
  });
const D = { diff: true };

describe('locale_gen plan', () => {
  it("normalises locale -a's spelling as Ansible does", () => {
    expect(fixCase('en_US.utf8')).toBe('en_US.UTF-8');
  });
  it('converged: enabled and generated', () => {
    expect(localeGenPlan({ name: 'fr_FR.UTF-8' }, st(GEN, 'C C.utf8 fr_FR.utf8 POSIX'), D)).toEqual([]);
    expect(localeGenPlan({ name: 'en_US.UTF-8', state: 'absent' }, st(GEN, 'C fr_FR.utf8'), D)).toEqual([]);
  });
  it('enables the line (only that one) and generates', () => {
    const p = localeGenPlan({ name: 'en_US.UTF-8' }, st(GEN, 'C fr_FR.utf8'), D);
    expect(p.map((c) => c.summary)).toEqual(['enable en_US.UTF-8 in /etc/locale.gen', 'locale-gen: en_US.UTF-8 generated']);
    expect(p[0].diff).toContain('-# en_US.UTF-8 UTF-8\n+en_US.UTF-8 UTF-8');
    expect(p[0].diff).not.toContain('-# en_US ISO');
    const sh = localeGenApply(p.map((c) => c.op));
    expect(sh).toContain('locale-gen');
    expect(shSyntax(sh)).toBe('');
  });
  it('absent comments the line and regenerates', () => {
    const p = localeGenPlan({ name: 'fr_FR.UTF-8', state: 'absent' }, st(GEN, 'C fr_FR.utf8'), D);
    expect(p[0].diff).toContain('-fr_FR.UTF-8 UTF-8\n+# fr_FR.UTF-8 UTF-8');
    expect(p.map((c) => c.op.kind)).toEqual(['edit', 'generate']);
  });
  it('a generated locale whose line was commented: the file is fixed and locale-gen runs', () => {
    const p = localeGenPlan({ name: 'fr_FR.UTF-8' }, st(setLocale(GEN, 'fr_FR.UTF-8', false), 'fr_FR.utf8'), D);
    expect(p.map((c) => c.op.kind)).toEqual(['edit', 'generate']);
  });
  it('enabled but not generated: only locale-gen', () => {
    expect(localeGenPlan({ name: 'fr_FR.UTF-8' }, st(GEN, 'C'), D).map((c) => c.op.kind)).toEqual(['generate']);
  });
  it('refuses a locale not listed, a missing locale.gen and Ubuntu', () => {
    expect(() => localeGenPlan({ name: 'xx_YY.UTF-8' }, st(GEN, 'C'), D)).toThrow(/not available/);
    expect(() => localeGenPlan({ name: 'fr_FR.UTF-8' }, localeGenParse({ stdout: 'file=0\n', stderr: '', code: 0 }), D)).toThrow(
      /"locales" installed/,
    );
    expect(() => localeGenPlan({ name: 'fr_FR.UTF-8' }, localeGenParse({ stdout: 'ubuntu=1\nfile=1\n', stderr: '', code: 0 }), D)).toThrow(
      /Ubuntu/,
    );
  });
  it('the probe parses as sh', () => {
    expect(shSyntax(localeGenProbe())).toBe('');
  });
});
