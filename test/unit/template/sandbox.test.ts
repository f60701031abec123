/**
 * The template sandbox (issue 15, item 5): a template expression never reaches JavaScript. Each
 * payload below tries to run code on the controller (write a marker file) through a JS property
 * (constructor, __proto__, prototype, call/apply/bind), a Python sandbox escape (__class__,
 * __init__.__globals__, __mro__), a runtime object (loop, cycler, joiner, namespace, self, macros,
 * caller, varargs), a filter (attr, map(attribute=)), a format string or a lookup. Each is refused
 * with the error Jinja2/Ansible gives for the Python equivalent (undefined attribute, or Jinja2
 * SandboxedEnvironment's "unsafe"), when rendered by the engine and under `kiln validate` (located
 * at the task), and the marker file never appears.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderTemplate } from '../../../src/template/engine.ts';
import { kiln } from '../../helpers/kiln.ts';
import { sshdAvailable, startSshd, type TestSshd, writeSshdInventory } from '../../helpers/sshd.ts';

const work = mkdtempSync(join(tmpdir(), 'kiln-sandbox-'));
const MARK = join(work, 'pwned');
/** What each payload would run if it reached JavaScript: write the marker file. */
const CODE = `process.getBuiltinModule('fs').writeFileSync('${MARK}', 'pwned'); return 1`;

afterAll(() => rmSync(work, { recursive: true, force: true }));

const noAttr = (type: string, name: string) => `'${type}' has no attribute '${name}'`;
const unsafe = (name: string, type: string) => `access to attribute '${name}' of '${type}' object is unsafe.`;

/** [payload, the error (a substring of the message)]. */
const PAYLOADS: [string, string][] = [
  [`{{ range.constructor("${CODE}")() }}`, noAttr('type object', 'constructor')],
  [`{{ lipsum.constructor("${CODE}")() }}`, noAttr('function object', 'constructor')],
  [`{{ ''.constructor.constructor("${CODE}")() }}`, noAttr('str object', 'constructor')],
  [`{{ [].constructor.constructor("${CODE}")() }}`, noAttr('list object', 'constructor')],
  [`{{ {}.constructor.constructor("${CODE}")() }}`, noAttr('dict object', 'constructor')],
  [`{{ (1).constructor.constructor("${CODE}")() }}`, noAttr('int object', 'constructor')],
  [`{{ none.constructor }}`, noAttr('None', 'constructor')],
  [`{{ {}.__proto__ }}`, noAttr('dict object', '__proto__')],
  [`{{ {}['__proto__'].constructor }}`, noAttr('dict object', '__proto__')],
  [`{{ {}.__defineGetter__ }}`, noAttr('dict object', '__defineGetter__')],
  [`{{ {}.hasOwnProperty('x') }}`, noAttr('dict object', 'hasOwnProperty')],
  [`{{ {}.toString() }}`, noAttr('dict object', 'toString')],
  [`{{ {}.valueOf }}`, noAttr('dict object', 'valueOf')],
  [`{{ cycler.__init__.__globals__ }}`, unsafe('__init__', 'type')],
  [`{{ cycler(1).constructor.constructor("${CODE}")() }}`, noAttr('jinja2.utils.Cycler object', 'constructor')],
  [`{{ joiner.constructor("${CODE}")() }}`, noAttr('type object', 'constructor')],
  [`{{ joiner().constructor }}`, noAttr('jinja2.utils.Joiner object', 'constructor')],
  [`{{ namespace.constructor("${CODE}")() }}`, noAttr('type object', 'constructor')],
  [`{% set ns = namespace() %}{{ ns.constructor.constructor("${CODE}")() }}`, noAttr('jinja2.utils.Namespace object', 'constructor')],
  [`{% set ns = namespace() %}{{ ns.__proto__ }}`, noAttr('jinja2.utils.Namespace object', '__proto__')],
  [`{% set ns = namespace() %}{{ ns.__class__ }}`, unsafe('__class__', 'jinja2.utils.Namespace')],
  [
    `{% for x in [1] %}{{ loop.constructor.constructor("${CODE}")() }}{% endfor %}`,
    noAttr('jinja2.runtime.LoopContext object', 'constructor'),
  ],
  [`{% for x in [1] %}{{ loop.cycle.call(none, "${CODE}") }}{% endfor %}`, noAttr('builtin_function_or_method object', 'call')],
  [`{{ self.constructor.constructor("${CODE}")() }}`, noAttr('jinja2.runtime.TemplateReference object', 'constructor')],
  [`{% macro m() %}x{% endmacro %}{{ m.constructor.constructor("${CODE}")() }}`, noAttr('jinja2.runtime.Macro object', 'constructor')],
  [
    `{% macro m() %}{{ caller.constructor.constructor("${CODE}")() }}{% endmacro %}{% call m() %}x{% endcall %}`,
    noAttr('jinja2.runtime.Macro object', 'constructor'),
  ],
  [`{% macro m() %}{{ varargs.constructor }}{% endmacro %}{{ m(1) }}`, noAttr('tuple object', 'constructor')],
  [`{{ ''.upper.constructor("${CODE}")() }}`, noAttr('builtin_function_or_method object', 'constructor')],
  [`{{ ''.upper.__self__ }}`, unsafe('__self__', 'builtin_function_or_method')],
  [`{{ range.apply(none, ["${CODE}"]) }}`, noAttr('type object', 'apply')],
  [`{{ range.bind(none)("${CODE}") }}`, noAttr('type object', 'bind')],
  [`{{ range.call(none, "${CODE}") }}`, noAttr('type object', 'call')],
  [`{{ range.prototype }}`, noAttr('type object', 'prototype')],
  [`{{ 'x'.length }}`, noAttr('str object', 'length')],
  [`{{ 'x' | attr('constructor') }}`, noAttr('str object', 'constructor')],
  [`{{ 'x' | attr('__class__') }}`, unsafe('__class__', 'str')],
  [`{{ ['x'] | map(attribute='constructor') | join }}`, noAttr('str object', 'constructor')],
  [`{{ ['x'] | map(attribute='__class__') | join }}`, unsafe('__class__', 'str')],
  [`{{ [{'a': 1}] | map(attribute='constructor.constructor') | join }}`, noAttr('dict object', 'constructor')],
  [`{{ ['x'] | map('attr', 'constructor') | join }}`, noAttr('str object', 'constructor')],
  [`{{ '{0.__class__}'.format('x') }}`, unsafe('__class__', 'str')],
  [`{{ '{0.constructor}'.format('x') }}`, `'str' object has no attribute 'constructor'`],
  [`{{ '{0[constructor]}'.format({}) }}`, `KeyError: 'constructor'`],
  [`{{ '%(constructor)s' % {} }}`, `KeyError: 'constructor'`],
  [`{{ '%s' % range.constructor }}`, noAttr('type object', 'constructor')],
  [`{{ ''.__class__.__mro__[1].__subclasses__() }}`, unsafe('__class__', 'str')],
  [`{{ dict(a=1).__init__ }}`, unsafe('__init__', 'dict')],
  [`{{ {'a': 1}.items().constructor }}`, noAttr('dict_items object', 'constructor')],
  [`{{ now().constructor.constructor("${CODE}")() }}`, noAttr('datetime.datetime object', 'constructor')],
  [`{{ 'x' | constructor }}`, `no filter named 'constructor'`],
  [`{{ 1 is constructor }}`, `no test named 'constructor'`],
  [`{{ constructor("${CODE}") }}`, `'constructor' is undefined`],
  [`{{ toString() }}`, `'toString' is undefined`],
];

describe('template sandbox: no payload reaches JavaScript', () => {
  it('has at least 30 payloads', () => expect(PAYLOADS.length).toBeGreaterThanOrEqual(30));

  for (const [payload, message] of PAYLOADS) {
    it(`render: ${payload.replace(CODE, 'CODE')}`, () => {
      expect(() => renderTemplate(payload, { x: 'x' }, 't.j2')).toThrow(message);
      expect(existsSync(MARK)).toBe(false);
    });
  }

  it('kiln validate refuses every payload, located at its task, exit 2, and runs none', () => {
    const refused = PAYLOADS;
    const lines = ['- hosts: all', '  gather_facts: false', '  tasks:'];
    const at: number[] = [];
    for (const [i, [payload]] of refused.entries()) {
      lines.push(`    - name: payload ${i}`, '      copy:');
      at.push(lines.length + 1);
      lines.push('        content: |-');
      lines.push(`          ${payload}`, `        dest: ${work}/out-${i}`);
    }
    // The same payloads in `when:` (conditions are evaluated by validate too).
    const when: number[] = [];
    for (const [i, [payload]] of refused.entries()) {
      if (payload.includes('{%')) continue;
      const expr = payload.replace(/^\{\{ /, '').replace(/ \}\}$/, '');
      lines.push(`    - name: when ${i}`, `      copy: { content: x, dest: ${work}/when-${i} }`);
      when.push(lines.length + 1);
      lines.push(`      when: ${JSON.stringify(expr)}`);
    }
    writeFileSync(join(work, 'sandbox.yml'), lines.join('\n') + '\n');
    writeFileSync(join(work, 'hosts.yml'), 'all:\n  hosts:\n    h1: { address: 127.0.0.1, port: 9 }\n');
    const t0 = Date.now();
    const r = kiln(['validate', join(work, 'sandbox.yml'), '-i', join(work, 'hosts.yml')]);
    expect(Date.now() - t0).toBeLessThan(20000);
    expect(r.code, r.output).toBe(2);
    for (const [i, [payload, message]] of refused.entries()) {
      const located = r.output.split('\n').find((l) => l.startsWith(`${join(work, 'sandbox.yml')}:${at[i]}:`));
      expect(located, `payload ${i}: ${payload}\n${r.output}`).toBeDefined();
      expect(located, payload).toContain(message);
    }
    for (const line of when) expect(r.output).toContain(`${join(work, 'sandbox.yml')}:${line}:`);
    expect(existsSync(MARK)).toBe(false);
  });

  it('a dict key named like a JS property is a key, nothing more', () => {
    expect(
      renderTemplate(
        `{{ {'__proto__': 1}.__proto__ }} {{ {'constructor': 2}.constructor }} {{ d.toString }}`,
        { d: { toString: 3 } },
        't.j2',
      ),
    ).toBe('1 2 3');
    expect(renderTemplate(`{{ {'__proto__': {'a': 1}} | to_json }}`, {}, 't.j2')).toBe('{"__proto__": {"a": 1}}');
  });

  it("names from the template never index the controller's tables or environment", () => {
    // Python's expandvars leaves an unknown $name as it is: never the source of JS's Object constructor.
    expect(renderTemplate(`{{ '$constructor $__proto__ $toString' | expandvars }}`, {}, 't.j2')).toBe('$constructor $__proto__ $toString');
    expect(() => renderTemplate(`{{ 'x' | password_hash('constructor') }}`, {}, 't.j2')).toThrow(
      "password_hash with 'constructor' is not supported",
    );
    expect(() => renderTemplate(`{{ '1' is version('2', 'constructor') }}`, {}, 't.j2')).toThrow('constructor');
    expect(() => renderTemplate(`{{ '1' is version('2', 'lt', version_type='constructor') }}`, {}, 't.j2')).toThrow('Invalid version type');
    expect(() => renderTemplate(`{{ 'x' | comment('constructor') }}`, {}, 't.j2')).toThrow("KeyError: 'constructor'");
  });
});

describe.skipIf(!sshdAvailable())('template sandbox under apply (loopback sshd): a template file rendered for a real host', () => {
  let sshd: TestSshd;
  beforeAll(async () => {
    sshd = await startSshd();
  }, 30000);
  afterAll(async () => {
    await sshd?.stop();
  });

  it('fails the task at the payload line of the template file, writes nothing, runs nothing', () => {
    const dir = join(work, 'apply');
    for (const d of [dir, join(dir, 'templates'), join(dir, 'inv')]) mkdirSync(d, { recursive: true });
    const inv = writeSshdInventory(sshd, join(dir, 'inv'), { loop1: {} });
    const payloads = [
      `{{ range.constructor("${CODE}")() }}`,
      `{{ cycler.__init__.__globals__ }}`,
      `{{ ''.constructor.constructor("${CODE}")() }}`,
      `{{ ['x'] | map(attribute='__class__') | join }}`,
    ];
    for (const [i, payload] of payloads.entries()) {
      writeFileSync(join(dir, 'templates', `p${i}.j2`), `line one\n${payload}\n`);
      writeFileSync(
        join(dir, `p${i}.yml`),
        `- hosts: all\n  tasks:\n    - name: payload\n      template: { src: p${i}.j2, dest: ${dir}/out-${i} }\n`,
      );
      const r = kiln(['apply', join(dir, `p${i}.yml`), '-i', inv]);
      expect(r.code, r.output).not.toBe(0);
      expect(r.output).toMatch(new RegExp(`p${i}\\.j2:2(:\\d+)?: .*(has no attribute|is unsafe)`));
      expect(existsSync(join(dir, `out-${i}`))).toBe(false);
      expect(existsSync(MARK)).toBe(false);
    }
  }, 120000);
});
