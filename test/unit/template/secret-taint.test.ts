/**
 * Taint through templates: a value rendered from a secret is a secret (a Secret, or a list/dict
 * whose strings are Secrets), filters see the real value, and what a filter computes from secret
 * text is registered with the redactor.
 */
import { describe, expect, it } from 'vitest';
import { containsSecret, isSecret, redact, REDACTED, Secret } from '../../../src/core/secret/secret.ts';
import { evaluate, evaluateCondition, renderTemplateInfo, renderValue } from '../../../src/template/engine.ts';

const RAW = `Tt"a\\i'nt-5521`;
const vars = () => ({ pw: new Secret(RAW, 'vault'), plain: 'hello-world-text', wrapped: { inner: new Secret(RAW) }, n: 3 });

function revealed(v: unknown): string {
  expect(isSecret(v), `expected a Secret, got ${typeof v}`).toBe(true);
  return (v as Secret).reveal();
}

describe('renderValue: taint follows a secret', () => {
  it.each([
    ['{{ pw | upper }}', RAW.toUpperCase()],
    ['{{ pw | lower }}', RAW.toLowerCase()],
    ["{{ ('  ' ~ pw ~ '  ') | trim }}", RAW],
    ['{{ pw.upper() }}', RAW.toUpperCase()],
    ['{{ pw[0:4] }}', RAW.slice(0, 4)],
    ["{{ pw ~ '!' }}", `${RAW}!`],
    ["{{ pw + '!' }}", `${RAW}!`],
    ['{{ pw | b64encode }}', Buffer.from(RAW).toString('base64')],
    ["{{ pw | regex_replace('nt', 'NT') }}", RAW.replace('nt', 'NT')],
    ["{{ [pw, 'x'] | join(':') }}", `${RAW}:x`],
    ["{{ '%s/%s' | format(pw, 1) }}", `${RAW}/1`],
    ['{% set x = pw | upper %}{{ x }}', RAW.toUpperCase()],
    ['{% for c in [pw] %}{{ c }}{% endfor %}', RAW],
    ['{{ wrapped.inner }}', RAW],
  ])('%s is a Secret holding the real value', (tpl, want) => {
    expect(revealed(renderValue(tpl, vars()))).toBe(want);
  });

  it('to_json of a dict holding a secret writes the real value, and the result is a Secret', () => {
    const v = revealed(renderValue("{{ {'pw': pw} | to_json }}", vars()));
    expect(JSON.parse(v)).toEqual({ pw: RAW });
    expect(v).not.toContain(REDACTED);
  });

  it('a list or dict rendered from a secret holds Secrets for its strings', () => {
    const l = renderValue("{{ [pw | upper, 'x', n] }}", vars()) as unknown[];
    expect(Array.isArray(l)).toBe(true);
    expect(revealed(l[0])).toBe(RAW.toUpperCase());
    expect(revealed(l[1])).toBe('x');
    expect(l[2]).toBe(3);
    const d = renderValue("{{ {'k': pw} }}", vars()) as Record<string, unknown>;
    expect(revealed(d.k)).toBe(RAW);
  });

  it('a render that reads no secret stays plain', () => {
    expect(renderValue('{{ plain | upper }}', vars())).toBe('HELLO-WORLD-TEXT');
  });

  it('evaluate() taints its result too', () => {
    expect(revealed(evaluate('pw | upper', vars()))).toBe(RAW.toUpperCase());
    expect(evaluate('n + 1', vars())).toBe(4);
  });

  it('conditions see the real value', () => {
    expect(evaluateCondition(`pw | upper == ${JSON.stringify(RAW.toUpperCase())}`, vars())).toBe(true);
    expect(evaluateCondition('pw | trim | length > 3', vars())).toBe(true);
  });

  it('a template that reads a secret is sensitive, and filter outputs of secret text are registered', () => {
    const r = renderTemplateInfo("{{ pw | hash('sha256') }}\n", vars(), 't.j2');
    expect(r.sensitive).toBe(true);
    const sha = r.text.trim();
    expect(sha).toMatch(/^[0-9a-f]{64}$/);
    expect(containsSecret(`x ${sha} y`)).toBe(true);
    expect(redact(`hash=${sha}`)).toBe(`hash=${REDACTED}`);
  });
});
