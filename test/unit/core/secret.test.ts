/** The redactor: every printed form of a secret is hidden; taint helpers; the argv refusal. */
import { describe, expect, it } from 'vitest';
import {
  containsSecret,
  isSecret,
  isTainted,
  REDACTED,
  redact,
  redactDeep,
  refuseSecretInArgv,
  Secret,
  SecretInArgvError,
  taintDeep,
} from '../../../src/core/secret/secret.ts';

const RAW = `Re"d\\a'ct-9930 é`;
new Secret(RAW);

describe('redact', () => {
  const b = Buffer.from(RAW, 'utf8');
  it.each([
    ['raw', RAW],
    ['JSON-escaped', JSON.stringify(RAW).slice(1, -1)],
    ['JSON inside JSON', JSON.stringify(JSON.stringify(RAW).slice(1, -1)).slice(1, -1)],
    ['JSON with \\u escapes', JSON.stringify(RAW).slice(1, -1).replace('é', '\\u00e9')],
    ['sh single-quoted', RAW.replace(/'/g, `'"'"'`)],
    ['Python repr', RAW.replace(/\\/g, '\\\\').replace(/'/g, "\\'")],
    ['base64', b.toString('base64')],
    ['hex', b.toString('hex')],
    ['HEX', b.toString('hex').toUpperCase()],
    ['URL-encoded', encodeURIComponent(RAW)],
  ])('hides the %s form', (_name, form) => {
    expect(redact(`before ${form} after`)).toBe(`before ${REDACTED} after`);
    expect(containsSecret(form)).toBe(true);
  });

  it("hides Python's repr of a secret, in double quotes when it holds a ' and no \"", () => {
    const raw = "py-'repr\\-7731";
    new Secret(raw);
    const repr = (x: string) => x.replace(/\\/g, '\\\\'); // what str.__repr__ escapes here
    expect(redact(`['${'x'}', "${repr(raw)}"]`)).toBe(`['x', "${REDACTED}"]`);
  });

  it('hides a secret in a JSON document, escaped, keeping it valid JSON', () => {
    const json = JSON.stringify({ diff: `--- a "${RAW}"`, list: [RAW] });
    const out = redact(json);
    expect(out).not.toContain(JSON.stringify(RAW).slice(1, -1));
    expect(JSON.parse(out)).toEqual({ diff: `--- a "${REDACTED}"`, list: [REDACTED] });
  });

  it('redactDeep redacts every string and key, and Secrets', () => {
    expect(redactDeep({ a: [`x${RAW}`], [RAW]: 1, s: new Secret('zz-other-secret') })).toEqual({
      a: [`x${REDACTED}`],
      [REDACTED]: 1,
      s: REDACTED,
    });
  });
});

describe('taint', () => {
  it('taintDeep makes every string a Secret, keeps numbers and booleans', () => {
    const t = taintDeep({ a: 'derived-value-1', b: [2, true, 'derived-value-2'], c: null }) as Record<string, unknown>;
    expect(isSecret(t.a)).toBe(true);
    expect((t.b as unknown[]).slice(0, 2)).toEqual([2, true]);
    expect(isSecret((t.b as unknown[])[2])).toBe(true);
    expect(t.c).toBeNull();
    expect(redact('x derived-value-1')).toBe(`x ${REDACTED}`);
  });

  it('taintDeep with register=false taints without hiding the text', () => {
    const t = taintDeep({ a: 'registered-plain-text' }, 'registered', false) as Record<string, Secret>;
    expect(isSecret(t.a)).toBe(true);
    expect(t.a.reveal()).toBe('registered-plain-text');
    expect(redact('registered-plain-text')).toBe('registered-plain-text');
  });

  it('isTainted sees Secrets and strings holding a known secret', () => {
    expect(isTainted(['a', { b: `pre-${RAW}` }])).toBe(true);
    expect(isTainted({ b: new Secret('one-more-secret') })).toBe(true);
    expect(isTainted(['nothing', { here: 1 }])).toBe(false);
  });

  it('refuseSecretInArgv throws a SecretInArgvError naming the param', () => {
    expect(() => refuseSecretInArgv('cmd', `echo ${RAW}`, 'why')).toThrow(SecretInArgvError);
    try {
      refuseSecretInArgv('argv', ['x', RAW], 'because');
    } catch (e) {
      expect((e as SecretInArgvError).param).toBe('argv');
      expect((e as Error).message).toContain('because');
      expect((e as Error).message).not.toContain(RAW);
    }
    expect(() => refuseSecretInArgv('cmd', 'echo plain', 'why')).not.toThrow();
  });
});
