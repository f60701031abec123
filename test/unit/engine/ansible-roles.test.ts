/**
 * Kiln runs test/fixtures/ansible-roles/site.yml exactly as ansible-playbook does: role vars/ and
 * defaults/ directories and Ansible's variable precedence, meta dependencies with parameters,
 * `when` and `tags`, a role listed again running once (unless allow_duplicates), import_tasks and
 * import_role with their keywords and tasks_from/vars_from/defaults_from, free-form and `args:`
 * arguments, templated keywords, loop_control, YAML 1.1 booleans, handlers. Every task appends a
 * line to a log; the logs Ansible wrote (expected-*.txt, from generate-expected.sh) are the
 * expectation. The commands really run, on this machine, through the local transport.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Runner } from '../../../src/engine/runner.ts';
import { validateRun } from '../../../src/plan/validate.ts';
import { LocalTransport } from '../../../src/transport/local.ts';
import type { Reporter } from '../../../src/engine/events.ts';

const FIX = join(import.meta.dirname, '../../fixtures/ansible-roles');
const work = mkdtempSync(join(tmpdir(), 'kiln-ansible-roles-'));
// A copy: a run keeps its pending handlers beside the playbook.
const copy = (name: string) => {
  const dir = join(work, name);
  cpSync(FIX, dir, { recursive: true });
  return dir;
};
afterAll(() => rmSync(work, { recursive: true, force: true }));

const quiet: Reporter = { playStart() {}, taskStart() {}, result() {}, taskEnd() {}, playEnd() {}, warn() {} };

async function run(tags: string[]): Promise<string> {
  const log = join(work, `log-${tags.join('-') || 'all'}`);
  writeFileSync(log, '');
  const extraVars = { log };
  const dir = copy(`fixture-${tags.join('-') || 'all'}`);
  const v = validateRun({ playbook: join(dir, 'site.yml'), inventory: [join(dir, 'hosts.yml')], extraVars, tags, skipTags: [] });
  const runner = new Runner(v.playbook, v.inventory, {
    check: false,
    diff: false,
    forks: 1,
    tags,
    skipTags: [],
    plan: v.plan,
    extraVars,
    acceptNewHostKeys: false,
    reporter: quiet,
    transport: { open: async (h) => new LocalTransport(h), openFresh: async (h) => new LocalTransport(h) },
  });
  const report = await runner.run();
  expect(report.tasks.filter((t) => t.status === 'failed' && !t.ignored)).toEqual([]);
  return readFileSync(log, 'utf8');
}

describe('site.yml as ansible-playbook runs it', () => {
  it('writes the log Ansible wrote', async () => {
    expect(await run([])).toBe(readFileSync(join(FIX, 'expected-all.txt'), 'utf8'));
  });

  it('with --tags imported,t_mid: tags inherited from imports and from a dependency entry', async () => {
    expect(await run(['imported', 't_mid'])).toBe(readFileSync(join(FIX, 'expected-tag.txt'), 'utf8'));
  });
});
