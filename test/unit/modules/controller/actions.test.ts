/**
 * Each controller-side action called directly (bound as the engine binds it, run with an
 * ActionContext): the cases the oracle playbook (oracle.test.ts) does not reach, each checked
 * against ansible-core 2.14's action plugin source or its output (quoted where it matters).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type ActionContext, type ActionOutcome, type BoundModule, RunMemory } from '../../../../src/modules/contract.ts';
import { getModule } from '../../../../src/modules/registry.ts';
import { encryptVault } from '../../../../src/core/secret/vault.ts';
import { isSecret, redact, Secret, taintDeep } from '../../../../src/core/secret/secret.ts';

const work = mkdtempSync(join(tmpdir(), 'kiln-action-unit-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function ctx(over: Partial<ActionContext> = {}): ActionContext {
  return {
    run: new RunMemory(),
    host: 'h1',
    check: false,
    diff: false,
    become: false,
    taskFile: join(work, 'site.yml'),
    vars: {},
    searchPaths: () => [join(work, 'vars'), work],
    ...over,
  };
}

function run(name: string, params: Record<string, unknown>, c: Partial<ActionContext> = {}): ActionOutcome {
  const m = getModule(name) as BoundModule;
  const t = m.bind(params, {} as never);
  expect(t.action).toBeTypeOf('function');
  return t.action!(ctx(c));
}

describe('defineAction', () => {
  it('binds to a task with an action, an empty probe and no plan', () => {
    const t = getModule('debug')!.bind({ msg: 'x' }, {} as never);
    expect(t.probe({} as never)).toBe('');
    expect(() => t.plan({ code: 0, stdout: '', stderr: '' }, {} as never)).toThrow(/controller-side action/);
  });
  it('checks parameters when bound (so validation refuses them, located)', () => {
    expect(() => getModule('meta')!.bind({ free_form: 'clear_facts' }, {} as never)).toThrow(/'clear_facts' is not supported/);
    expect(() => getModule('pause')!.bind({ seconds: 1, minutes: 1 }, {} as never)).toThrow(
      'parameters are mutually exclusive: minutes|seconds',
    );
  });
});

describe('set_fact', () => {
  it("converts 'yes'/'no'/'true'/'false' strings of any case to booleans, nothing else", () => {
    const o = run('set_fact', { a: 'YES', b: 'No', c: 'on', d: '1', e: ['yes'] });
    expect(o.result).toEqual({ ansible_facts: { a: true, b: false, c: 'on', d: '1', e: ['yes'] } });
    expect(o.effects).toEqual([{ kind: 'set_fact', facts: o.result.ansible_facts, cacheable: false }]);
  });
  it('needs at least one variable besides cacheable', () => {
    expect(run('set_fact', { cacheable: true }).failed).toBe(
      'No key/value pairs provided, at least one is required for this action to succeed',
    );
  });
  it('refuses a Python keyword as a name, as isidentifier does', () => {
    expect(() => getModule('set_fact')!.bind({ class: 1 }, {} as never)).toThrow(/The variable name 'class' is not valid/);
  });
  it('defines its keys (validation and the probe window wait for them); a templated name is unknown', () => {
    expect(getModule('set_fact')!.defines!({ a: 1, cacheable: true }, { searchPaths: () => [] })).toEqual(['a']);
    expect(getModule('set_fact')!.defines!({ '{{ p }}_port': 1 }, { searchPaths: () => [] })).toBeNull();
  });
  it('renders a templated name, as Ansible does', () => {
    expect(run('set_fact', { '{{ p }}_port': 80 }, { vars: { p: 'web' } }).result).toEqual({ ansible_facts: { web_port: 80 } });
  });
});

describe('debug', () => {
  it('is skipped below its verbosity and shown from it (-v counted)', () => {
    const quiet = run('debug', { msg: 'hi', verbosity: 1 });
    expect(quiet.skipped).toBe('Verbosity threshold not met.');
    const shown = run('debug', { msg: 'hi', verbosity: 1 }, { run: new RunMemory({ verbosity: 1 }) });
    expect(shown.skipped).toBeUndefined();
    expect(shown).toMatchObject({ message: 'hi', result: { msg: 'hi' } });
  });
  it("names an undefined var's error with -v, as Ansible does", () => {
    expect(run('debug', { var: 'nope' }).result).toEqual({ nope: 'VARIABLE IS NOT DEFINED!' });
    const v = run('debug', { var: 'nope' }, { run: new RunMemory({ verbosity: 1 }) }).result.nope as string;
    // ansible-playbook -v 2.14: "nope": "VARIABLE IS NOT DEFINED!: 'nope' is undefined. 'nope' is undefined"
    expect(v).toBe("VARIABLE IS NOT DEFINED!: 'nope' is undefined. 'nope' is undefined");
  });
  it('shows a structure as indented JSON and keys a list var by its type', () => {
    expect(run('debug', { var: 'd' }, { vars: { d: { a: [1] } } }).message).toBe('d: {\n    "a": [\n        1\n    ]\n}');
    expect(Object.keys(run('debug', { var: ['x'] }).result)).toEqual(["<class 'list'>"]);
  });
});

describe('debug of secrets', () => {
  it('a tainted value (a registered result of a task that handled a secret) is shown redacted', () => {
    // Tainted without registering its text (as register does): showing it registers it, so it never prints.
    const msg = taintDeep({ out: 'tainted-but-unregistered-831' }, 'registered', false);
    expect(redact(run('debug', { msg }).message!)).toBe('{\n    "out": "********"\n}');
    const v = new Secret('vault-value-77213', 'vault');
    expect(redact(run('debug', { var: 'pw' }, { vars: { pw: v } }).message!)).toBe('pw: "********"');
  });
});

describe('assert', () => {
  it('stops at the first condition that fails and names it', () => {
    const o = run('assert', { that: ['x == 1', 'x == 2', 'x == 3'], fail_msg: ['a', 'b'] }, { vars: { x: 1 } });
    expect(o.failed).toBe('[\n    "a",\n    "b"\n]\nassertion: x == 2');
    expect(o.result).toEqual({ assertion: 'x == 2', evaluated_to: false, msg: ['a', 'b'] });
  });
  it("fails with Ansible's wording when a condition cannot be evaluated", () => {
    expect(run('assert', { that: 'nope == 1' }).failed).toMatch(
      /^The conditional check 'nope == 1' failed\. The error was: error while evaluating conditional \(nope == 1\): .*nope/,
    );
  });
  it('refuses a non-string element of fail_msg at run time, as Ansible', () => {
    expect(run('assert', { that: 'false', fail_msg: ['a', 1] }).failed).toBe(
      'Type of one of the elements in fail_msg or msg list is not string type',
    );
  });
});

describe('pause', () => {
  it('waits at least a second; minutes are whole minutes', () => {
    expect(run('pause', { seconds: 0 }).effects).toEqual([{ kind: 'pause', ms: 1000 }]);
    const m = run('pause', { minutes: 1 });
    expect(m.effects).toEqual([{ kind: 'pause', ms: 60_000 }]);
    expect(m.result).toMatchObject({ stdout: 'Paused for 1.0 minutes', delta: 60, echo: true, rc: 0, user_input: '' });
    expect(run('pause', { seconds: 2.7 }).result.stdout).toBe('Paused for 2.0 seconds');
  });
});

describe('add_host and group_by', () => {
  it('add_host: name:port, groups split at commas, other keys are host vars', () => {
    const o = run('add_host', { hostname: 'db9:2200', groups: 'a, b,a', x: 1 });
    expect(o.result).toEqual({ add_host: { host_name: 'db9', groups: ['a', 'b'], host_vars: { x: 1, ansible_ssh_port: 2200 } } });
    expect(o.effects).toEqual([{ kind: 'add_host', name: 'db9', groups: ['a', 'b'], vars: { x: 1, ansible_ssh_port: 2200 } }]);
    expect(run('add_host', { groups: 'x' }).failed).toBe('name, host or hostname needs to be provided');
  });
  it('add_host: changed only when the host, a group or a variable is new in this run', () => {
    const mem = new RunMemory();
    expect(run('add_host', { name: 'n1', groups: ['g'], v: 1 }, { run: mem }).changed).toBe(true);
    expect(run('add_host', { name: 'n1', groups: ['g'], v: 1 }, { run: mem }).changed).toBe(false);
    expect(run('add_host', { name: 'n1', groups: ['g'], v: 2 }, { run: mem }).changed).toBe(true);
  });
  it('group_by: spaces become dashes; changed unless the host is already in the group', () => {
    const mem = new RunMemory();
    const o = run('group_by', { key: 'os Debian', parents: 'linux boxes' }, { run: mem });
    expect(o).toMatchObject({ changed: true, result: { add_group: 'os-Debian', parent_groups: ['linux-boxes'] } });
    expect(run('group_by', { key: 'os Debian', parents: 'linux boxes' }, { run: mem }).changed).toBe(false);
    expect(run('group_by', { key: 'web' }, { vars: { group_names: ['web'] } }).changed).toBe(true);
    expect(run('group_by', {}).failed).toBe("the 'key' param is required when using group_by");
  });
});

describe('include_vars', () => {
  mkdirSync(join(work, 'vars'), { recursive: true });
  writeFileSync(join(work, 'vars', 'a.yml'), 'd: {x: 1, y: 2}\nt: "{{ other }}"\n');
  writeFileSync(join(work, 'vars', 'list.yml'), '- 1\n');
  writeFileSync(join(work, 'vars', 'secret.yml'), encryptVault('pw: hunter2-secret\n', 'vaultpass'));

  it('finds the file under vars/ first, keeps templates for later, merges with hash_behaviour', () => {
    const o = run('include_vars', { file: 'a.yml' });
    expect(o.result).toEqual({
      ansible_facts: { d: { x: 1, y: 2 }, t: '{{ other }}' },
      ansible_included_var_files: [join(work, 'vars', 'a.yml')],
    });
    const m = run('include_vars', { file: 'a.yml', hash_behaviour: 'merge' }, { vars: { d: { x: 0, z: 3 } } });
    expect((m.result.ansible_facts as Record<string, unknown>).d).toEqual({ x: 1, z: 3, y: 2 });
  });
  it('refuses a file that is not a mapping', () => {
    expect(run('include_vars', { _raw_params: 'list.yml' }).failed).toBe(
      `${join(work, 'vars', 'list.yml')} must be stored as a dictionary/hash`,
    );
  });
  it('decrypts a vault file with the run password; its values stay secret', () => {
    const o = run('include_vars', { file: 'secret.yml' }, { run: new RunMemory({ vaultPassword: 'vaultpass' }) });
    const pw = (o.result.ansible_facts as Record<string, unknown>).pw;
    expect(isSecret(pw) && pw.reveal()).toBe('hunter2-secret');
  });
  it('defines the keys of a literal file; a templated file or a directory is unknown (null)', () => {
    const d = getModule('include_vars')!.defines!;
    const c = { searchPaths: () => [join(work, 'vars'), work] };
    expect(d({ file: 'a.yml' }, c)).toEqual(['d', 't']);
    expect(d({ file: '{{ f }}' }, c)).toBeNull();
    expect(d({ dir: 'vars' }, c)).toBeNull();
    expect(d({ dir: 'vars', name: 'all_of_it' }, c)).toEqual(['all_of_it']);
  });
  it('a role task reads `dir` under its role vars/', () => {
    mkdirSync(join(work, 'role', 'vars', 'os'), { recursive: true });
    writeFileSync(join(work, 'role', 'vars', 'os', 'debian.yml'), 'pkg: apache2\n');
    const o = run('include_vars', { dir: 'os' }, { roleDir: join(work, 'role') });
    expect(o.result.ansible_facts).toEqual({ pkg: 'apache2' });
  });
});

describe('meta and includes: effects for the runner', () => {
  it('meta', () => {
    expect(run('meta', { free_form: 'flush_handlers' }).effects).toEqual([{ kind: 'meta', action: 'flush_handlers' }]);
  });
  it("include_tasks registers Ansible's { include, include_args, changed } (no failed key)", () => {
    // ansible-playbook 2.14: "it": { "changed": false, "include": "inc.yml", "include_args": {} }
    expect(run('include_tasks', { file: 'inc.yml' }).result).toEqual({ include: 'inc.yml', include_args: {} });
  });
  it('include_tasks carries the file, the task vars and apply', () => {
    expect(run('include_tasks', { file: 'x.yml', apply: { become: true } }, { taskVars: { a: 1 } }).effects).toEqual([
      { kind: 'include_tasks', file: 'x.yml', vars: { a: 1 }, apply: { become: true } },
    ]);
  });
  it("include's extra key=value arguments are variables of the included tasks", () => {
    expect(run('include', { file: 'x.yml', b: '2' }, { taskVars: { a: 1 } }).effects).toEqual([
      { kind: 'include_tasks', file: 'x.yml', vars: { a: 1, b: '2' } },
    ]);
  });
  it('include_role: Ansible defaults (public no, allow_duplicates yes)', () => {
    expect(run('include_role', { name: 'web', tasks_from: 'install' }).effects).toEqual([
      { kind: 'include_role', name: 'web', tasksFrom: 'install', public: false, allowDuplicates: true, vars: {} },
    ]);
  });
});

describe('-v, --verbose (src/cli/options.ts)', () => {
  it('is counted as Ansible counts it: -vv is 2, -v -v -v is 3', async () => {
    const { Command } = await import('commander');
    const { verboseOption } = await import('../../../../src/cli/options.ts');
    const parse = (args: string[]) => new Command().addOption(verboseOption()).exitOverride().parse(args, { from: 'user' }).opts().verbose;
    expect(parse([])).toBe(0);
    expect(parse(['-v'])).toBe(1);
    expect(parse(['-vv'])).toBe(2);
    expect(parse(['-v', '-v', '-v'])).toBe(3);
    expect(parse(['--verbose'])).toBe(1);
  });
});
