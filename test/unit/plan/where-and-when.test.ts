/**
 * Part G at instantiation: `environment` rendered and merged per host (exported in the probe and
 * apply scripts, a secret kept a secret), `delegate_to` checked against the inventory (the
 * delegate's connection variables, the host's own variables), run_once / throttle / any_errors_fatal
 * / ignore_unreachable evaluated per host; and the runner's host order.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadInventory } from '../../../src/input/inventory/index.ts';
import { VarsBuilder } from '../../../src/input/inventory/vars-builder.ts';
import { loadPlaybook } from '../../../src/input/playbook/load.ts';
import type { PlayDef } from '../../../src/input/playbook/types.ts';
import { RunMemory } from '../../../src/modules/contract.ts';
import { moduleCatalog } from '../../../src/modules/registry.ts';
import { type Instantiation, instantiate, type TaskInstance } from '../../../src/plan/instance.ts';
import { Secret } from '../../../src/core/secret/secret.ts';
import { orderHosts, forksFor, runOnceHosts, endsPlay, controlsOf } from '../../../src/engine/play-controls.ts';
import { LocalTransport } from '../../../src/transport/local.ts';
import { frameScripts } from '../../../src/sh/frame.ts';

const root = mkdtempSync(join(tmpdir(), 'kiln-where-unit-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

const HOSTS = 'all:\n  hosts:\n    h1: { address: 10.0.0.1 }\n    db1: { address: 10.0.0.2, become: true, become_user: postgres }\n';

function project(pb: string, extraVars: Record<string, unknown> = {}) {
  const dir = join(root, String(n++));
  for (const [p, text] of Object.entries({ 'hosts.yml': HOSTS, 'pb.yml': pb })) {
    mkdirSync(dirname(join(dir, p)), { recursive: true });
    writeFileSync(join(dir, p), text);
  }
  const { playbook, diagnostics } = loadPlaybook(join(dir, 'pb.yml'), { modules: moduleCatalog });
  expect(diagnostics).toEqual([]);
  const { inventory } = loadInventory([join(dir, 'hosts.yml')]);
  const play: PlayDef = playbook.plays[0]!;
  const vars = new VarsBuilder(inventory, { extraVars, check: false, playbook: join(dir, 'pb.yml') });
  return (i: number): Instantiation => {
    const t = play.tasks[i]!;
    return instantiate(t, vars.forTask('h1', play, ['h1'], t, {}), {
      host: 'h1',
      play,
      check: false,
      diff: false,
      playbookDir: dir,
      run: new RunMemory(),
    });
  };
}

const one = (r: Instantiation): TaskInstance => {
  if (r.kind !== 'run') throw new Error(JSON.stringify(r.kind === 'error' ? r.diagnostics : r.reason));
  return r.instances[0]!;
};
const error = (r: Instantiation): string => {
  if (r.kind !== 'error') throw new Error(`expected an error, got ${r.kind}`);
  return r.diagnostics.map((d) => `${d.line}:${d.col}: ${d.message}`).join('\n');
};

describe('environment', () => {
  it('is merged nearest-wins and exported at the top of the probe and apply scripts', async () => {
    const inst = project(`- hosts: all
  environment: { A: play, B: play }
  vars: { more: { B: var, N: 2, T: false } }
  tasks:
    - shell: 'echo "$A $B $N $T"'
      environment: ["{{ more }}", { A: task }]
`);
    const x = one(inst(0));
    expect(x.environment).toEqual({ A: 'task', B: 'var', N: '2', T: 'False' });
    const probe = x.bound.probe(x.ctx);
    expect(probe.startsWith("export A='task'\nexport B='var'\nexport N='2'\nexport T='False'\n")).toBe(true);
    const plan = x.bound.plan({ stdout: '', stderr: '', code: 0 }, x.ctx);
    const apply = plan.apply(x.ctx);
    expect(apply.startsWith("export A='task'")).toBe(true);
    // Run for real: the command sees the variables.
    const res = await new LocalTransport('t').run(frameScripts([apply]).script);
    expect(res.stdout).toContain('task var 2 False');
  });

  it('a secret value keeps the task sensitive and never reaches a command line', () => {
    const inst = project(
      `- hosts: all
  tasks:
    - shell: 'curl -H "token: $TOKEN" http://example.invalid'
      environment: { TOKEN: "{{ token }}" }
`,
      { token: new Secret('s3cr3t-value', 'token') },
    );
    const x = one(inst(0));
    expect(x.sensitive).toBe(true);
    expect(x.environment).toEqual({ TOKEN: 's3cr3t-value' });
    // In the script text (sent on stdin), not in the argv of the shell that runs it.
    expect(new LocalTransport('t').argv({})).toEqual(['/bin/sh', '-s']);
  });

  it('a value that is not a mapping, a name the shell cannot export: located errors', () => {
    const inst = project(`- hosts: all
  vars: { l: [1, 2] }
  tasks:
    - shell: 'true'
      environment: "{{ l }}"
    - shell: 'true'
      environment: { "A B": x }
    - shell: 'true'
      environment: { A: [1] }
`);
    expect(error(inst(0))).toMatch(/^5:20: environment must be a dictionary, received \[1, 2\]|^5:20: environment must be a dictionary/);
    expect(error(inst(1))).toMatch(/^7:20: environment: "A B" is not a variable name the shell can export/);
    expect(error(inst(2))).toMatch(/^9:20: environment: A is a list/);
  });
});

describe('delegate_to', () => {
  it("takes the delegate's connection variables and keeps the host's own variables", () => {
    const inst = project(`- hosts: h1
  vars: { x: mine }
  tasks:
    - copy: { content: "{{ inventory_hostname }} {{ x }}", dest: /tmp/f }
      delegate_to: db1
    - copy: { content: a, dest: /tmp/f }
      delegate_to: h1
    - local_action: copy content=b dest=/tmp/f
    - copy: { content: a, dest: /tmp/f }
      delegate_to: 127.0.0.1
`);
    const d = one(inst(0));
    expect([d.delegate, d.become, d.becomeUser, d.params.content]).toEqual(['db1', true, 'postgres', 'h1 mine']);
    expect(one(inst(1)).delegate).toBeUndefined();
    expect(one(inst(2)).delegate).toBe('localhost');
    expect([one(inst(3)).delegate, one(inst(3)).become]).toEqual(['127.0.0.1', false]);
  });

  it('a host not in the inventory is a located error', () => {
    const inst = project(`- hosts: h1
  tasks:
    - copy: { content: a, dest: /tmp/f }
      delegate_to: "{{ 'web9' }}"
`);
    expect(error(inst(0))).toMatch(/^4:20: delegate_to: 'web9' is not a host of the inventory/);
  });
});

describe('run_once, throttle, any_errors_fatal, ignore_unreachable per host', () => {
  it('are evaluated with the host variables', () => {
    const inst = project(`- hosts: h1
  vars: { n: "2", once: yes }
  any_errors_fatal: true
  tasks:
    - copy: { content: a, dest: /tmp/f }
      run_once: "{{ once }}"
      throttle: "{{ n }}"
      ignore_unreachable: true
`);
    const x = one(inst(0));
    expect([x.runOnce, x.throttle, x.anyErrorsFatal, x.ignoreUnreachable]).toEqual([true, 2, true, true]);
    const c = controlsOf(x.task, inst(0));
    expect(runOnceHosts(['a', 'b'], c)).toEqual(['a']);
    // throttle is ignored with run_once (as Ansible), else it lowers the forks.
    expect(forksFor(5, c)).toBe(5);
    expect(forksFor(5, { ...c, runOnce: false })).toBe(2);
    expect(endsPlay(c, true)).toBe(true);
    expect(endsPlay({ ...c, ignoreErrors: true }, true)).toBe(false);
    expect(endsPlay({ ...c, runOnce: false, anyErrorsFatal: false }, true)).toBe(false);
  });
});

describe('order', () => {
  const hosts = ['h3', 'h1', 'h2', 'H0'];
  it("is Ansible's: inventory, reverse_inventory, sorted (code points), reverse_sorted, shuffle", () => {
    expect(orderHosts(undefined, hosts)).toEqual(hosts);
    expect(orderHosts('inventory', hosts)).toEqual(hosts);
    expect(orderHosts('reverse_inventory', hosts)).toEqual(['H0', 'h2', 'h1', 'h3']);
    expect(orderHosts('sorted', hosts)).toEqual(['H0', 'h1', 'h2', 'h3']);
    expect(orderHosts('reverse_sorted', hosts)).toEqual(['h3', 'h2', 'h1', 'H0']);
    const shuffled = orderHosts('shuffle', hosts, () => 0);
    expect([...shuffled].sort()).toEqual([...hosts].sort());
    expect(shuffled).not.toEqual(hosts);
  });
});

describe('environment holding a secret, run for real', () => {
  it('the command gets the value; no result, message or report shows it', async () => {
    const { Runner } = await import('../../../src/engine/runner.ts');
    const { validateRun } = await import('../../../src/plan/validate.ts');
    const { localTransport } = await import('../../../src/transport/local.ts');
    const { quietReporter } = await import('../../helpers/run-playbook.ts');
    const dir = join(root, 'secret-env');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'hosts.yml'), 'all:\n  hosts:\n    h1: {}\n');
    writeFileSync(
      join(dir, 'pb.yml'),
      `- hosts: h1
  tasks:
    - shell: 'printf %s "$TOKEN" > ${dir}/got; echo "token is $TOKEN"; exit 3'
      environment: { TOKEN: "{{ token }}" }
`,
    );
    const extraVars = { token: new Secret('env-s3cr3t-9f2', 'token') };
    const v = validateRun({
      playbook: join(dir, 'pb.yml'),
      inventory: [join(dir, 'hosts.yml')],
      extraVars,
      tags: [],
      skipTags: [],
      check: false,
      diff: false,
    });
    const report = await new Runner(v.playbook, v.inventory, {
      check: false,
      diff: false,
      forks: 1,
      tags: [],
      skipTags: [],
      extraVars,
      acceptNewHostKeys: false,
      reporter: quietReporter,
      transport: localTransport(),
    }).run();
    const { readFileSync } = await import('node:fs');
    expect(readFileSync(join(dir, 'got'), 'utf8')).toBe('env-s3cr3t-9f2');
    expect(report.tasks.map((t) => t.status)).toEqual(['failed']);
    expect(JSON.stringify(report)).not.toContain('env-s3cr3t-9f2');
    expect(report.tasks[0]!.message).toContain('token is');
  });
});
