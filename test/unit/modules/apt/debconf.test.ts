import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import debconf, { type DebconfParams, debconfPrepare } from '../../../../src/modules/apt/debconf.ts';
import { isSecret } from '../../../../src/core/secret/secret.ts';
import { ctx, outsideHeredocs, shSyntax } from '../helpers.ts';

// Captured from `debconf-show tzdata` (and a test package) on a Debian 12 lab host.
const TZ =
  '--show\n  tzdata/Zones/Europe:\n* tzdata/Zones/Etc: UTC\n  tzdata/Zones/Asia:\n* tzdata/Areas: Etc\n  tzdata/Zones/America:\n--end\ntrue\n';
const out = (stdout: string) => ({ stdout, stderr: '', code: 0 });

function run(p: DebconfParams, stdout: string, sensitive = false) {
  const prep = debconfPrepare(p, { sensitive });
  const s = debconf.parse(out(stdout), p, prep);
  const plan = debconf.plan(p, prep, s, ctx());
  return {
    prep,
    s,
    plan,
    apply: () =>
      debconf.apply(
        p,
        prep,
        s,
        plan.map((c) => c.op),
        ctx(),
      ),
    reg: () => debconf.registerData!(p, prep, s),
  };
}

describe('debconf', () => {
  it('parses debconf-show: values, and the seen flag (*)', () => {
    const { s } = run({ name: 'tzdata' }, TZ);
    expect(s.selections).toEqual({
      'tzdata/Zones/Europe': '',
      'tzdata/Zones/Etc': 'UTC',
      'tzdata/Zones/Asia': '',
      'tzdata/Areas': 'Etc',
      'tzdata/Zones/America': '',
    });
    expect(s.seen).toEqual(['tzdata/Zones/Etc', 'tzdata/Areas']);
  });
  it('without a question only reads: current holds every answer (Ansible shape)', () => {
    const r = run({ name: 'tzdata' }, TZ);
    expect(r.plan).toEqual([]);
    expect(r.reg()).toEqual({ msg: '', current: r.s.selections });
  });
  it('sets a differing or unknown answer, converged when equal; the result has current and previous', () => {
    expect(run({ name: 'tzdata', question: 'tzdata/Areas', vtype: 'select', value: 'Etc' }, TZ).plan).toEqual([]);
    const r = run({ name: 'tzdata', question: 'tzdata/Areas', vtype: 'select', value: 'Europe' }, TZ);
    expect(r.plan.map((c) => c.summary)).toEqual(['set tzdata tzdata/Areas (select): "Etc" → "Europe"']);
    expect(r.plan[0].diff).toContain('-tzdata/Areas: Etc\n+tzdata/Areas: Europe');
    expect(r.reg()).toEqual({ msg: '', current: { 'tzdata/Areas': 'Europe' }, previous: { 'tzdata/Areas': 'Etc' } });
    const script = r.apply();
    expect(script).toContain("base64 -d <<'KILN_DEBCONF' | DEBIAN_FRONTEND=noninteractive debconf-set-selections\n");
    expect(script).toContain(Buffer.from('tzdata tzdata/Areas select Europe').toString('base64'));
    expect(shSyntax(script)).toBe('');
    const u = run({ name: 'tzdata', question: 'tzdata/New', vtype: 'string', value: 'x', unseen: true }, TZ);
    expect(u.plan.map((c) => c.summary)).toEqual(['set tzdata tzdata/New (string) = "x" (tzdata has no such question yet)']);
    expect(u.apply()).toContain('debconf-set-selections -u');
  });
  it('booleans compare lower-cased and are written true/false, as Ansible', () => {
    const st = '--show\n  pkg/flag: true\n--end\n';
    expect(run({ name: 'pkg', question: 'pkg/flag', vtype: 'boolean', value: 'True' }, st).plan).toEqual([]);
    const r = run({ name: 'pkg', question: 'pkg/flag', vtype: 'boolean', value: 'False' }, st);
    expect(r.plan.map((c) => c.summary)).toEqual(['set pkg pkg/flag (boolean): "true" → "false"']);
    expect(r.apply()).toContain(Buffer.from('pkg pkg/flag boolean false').toString('base64'));
  });
  it('vtype seen compares the seen flag', () => {
    expect(run({ name: 'tzdata', question: 'tzdata/Areas', vtype: 'seen', value: 'true' }, TZ).plan).toEqual([]);
    expect(run({ name: 'tzdata', question: 'tzdata/Zones/Asia', vtype: 'seen', value: 'true' }, TZ).plan.map((c) => c.summary)).toEqual([
      'set tzdata tzdata/Zones/Asia (seen): "not seen" → "seen"',
    ]);
  });
  it('a password is a secret: compared through the salted hash the probe prints, never in summary, diff, result or argv', () => {
    const p: DebconfParams = { name: 'kiln-x', question: 'kiln-x/pw', vtype: 'password', value: 's3cr3t-Value' };
    const prep = debconfPrepare(p, { sensitive: false });
    expect(isSecret(prep.value)).toBe(true);
    const probe = debconf.probe(p, prep, ctx());
    expect(probe).not.toContain('s3cr3t-Value');
    expect(probe).toContain(prep.salt);
    const hash = (v: string) =>
      createHash('sha256')
        .update(prep.salt + v)
        .digest('hex');
    const st = (h: string) => `--show\n* kiln-x/pw: (password omitted)\n--end\npwhash=${h}\ntrue\n`;
    const same = debconf.parse(out(st(hash('s3cr3t-Value'))), p, prep);
    expect(debconf.plan(p, prep, same, ctx())).toEqual([]);
    const other = debconf.parse(out(st(hash('old'))), p, prep);
    const plan = debconf.plan(p, prep, other, ctx());
    expect(plan.map((c) => c.summary)).toEqual(['set kiln-x kiln-x/pw (password): (differs)']);
    expect(plan[0].diff).toContain('hidden');
    expect(JSON.stringify(plan)).not.toContain('s3cr3t');
    expect(JSON.stringify(debconf.registerData!(p, prep, other))).not.toContain('s3cr3t');
    const script = debconf.apply(
      p,
      prep,
      other,
      plan.map((c) => c.op),
      ctx(),
    );
    expect(script).not.toContain('s3cr3t-Value');
    expect(outsideHeredocs(script)).not.toContain(Buffer.from('kiln-x kiln-x/pw password s3cr3t-Value').toString('base64'));
    expect(script).toContain(Buffer.from('kiln-x kiln-x/pw password s3cr3t-Value').toString('base64'));
  });
  it('a value rendered from a secret (or no_log) is hidden too', () => {
    const r = run({ name: 'tzdata', question: 'tzdata/Areas', vtype: 'select', value: 'Europe' }, TZ, true);
    expect(r.plan.map((c) => c.summary)).toEqual(['set tzdata tzdata/Areas (select): (hidden) → (hidden)']);
  });
});
