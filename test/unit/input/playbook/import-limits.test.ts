/**
 * import_tasks cycles and limits (issue 15, item 7): a task file importing itself (six times, as
 * in the report) never returned; now a cycle is a located error at the import that closes it, and
 * a tree of imports is bounded in depth and in count, all answered in well under a second.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatDiagnostic } from '../../../../src/core/diagnostic.ts';
import { LIMITS } from '../../../../src/core/limits.ts';
import { loadPlaybook } from '../../../../src/input/playbook/load.ts';
import { moduleCatalog } from '../../../../src/modules/registry.ts';

const root = mkdtempSync(join(tmpdir(), 'kiln-imports-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

/** Writes the files into a fresh dir, loads pb.yml; returns the diagnostics (paths relative), the task names and the time. */
function load(files: Record<string, string>) {
  const dir = join(root, String(n++));
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, p)), { recursive: true });
    writeFileSync(join(dir, p), text);
  }
  const t0 = performance.now();
  const { playbook, diagnostics } = loadPlaybook(join(dir, 'pb.yml'), { modules: moduleCatalog });
  const ms = performance.now() - t0;
  return {
    errors: diagnostics.map((d) => formatDiagnostic(d).replace(`${dir}/`, '')),
    tasks: playbook.plays.flatMap((p) => p.tasks.map((t) => t.name)),
    ms,
  };
}

const PB = '- hosts: all\n  gather_facts: false\n  tasks:\n    - import_tasks: a.yml\n';

describe('import_tasks cycles', () => {
  it('a file importing itself six times: six located cycle errors, at once', () => {
    const r = load({ 'pb.yml': PB, 'a.yml': '- import_tasks: a.yml\n'.repeat(6) });
    expect(r.errors).toEqual([1, 2, 3, 4, 5, 6].map((l) => `a.yml:${l}:17: import cycle: a.yml imports a.yml`));
    expect(r.ms).toBeLessThan(1000);
  });

  it('a cycle through several files is reported at the import that closes it', () => {
    const r = load({
      'pb.yml': PB,
      'a.yml': '- name: in a\n  command: /bin/true\n- import_tasks: sub/b.yml\n',
      'sub/b.yml': '- import_tasks: ../a.yml\n',
    });
    expect(r.errors).toEqual(['sub/b.yml:1:17: import cycle: a.yml imports sub/b.yml imports a.yml']);
  });

  it('importing the same file twice, side by side or nested in different files, is not a cycle', () => {
    const r = load({
      'pb.yml': PB,
      'a.yml': '- import_tasks: common.yml\n- import_tasks: b.yml\n- import_tasks: common.yml\n',
      'b.yml': '- import_tasks: common.yml\n',
      'common.yml': '- name: common\n  command: /bin/true\n',
    });
    expect(r.errors).toEqual([]);
    expect(r.tasks).toEqual(['common', 'common', 'common']);
  });
});

describe('import_tasks limits', () => {
  it(`nesting deeper than ${LIMITS.importDepth} files is refused at the import past the limit`, () => {
    const files: Record<string, string> = { 'pb.yml': PB.replace('a.yml', 'f0.yml') };
    for (let i = 0; i < 30; i++) files[`f${i}.yml`] = `- import_tasks: f${i + 1}.yml\n`;
    files['f30.yml'] = '- command: /bin/true\n';
    const r = load(files);
    expect(r.errors).toEqual([
      `f${LIMITS.importDepth}.yml:1:17: import_tasks nested more than ${LIMITS.importDepth} files deep: Kiln's limit`,
    ]);
  });

  it(`a tree of imports growing exponentially stops at ${LIMITS.imports} imports, in well under a second`, () => {
    // Each of 12 levels imports the next twice: 2^12 = 4096 leaf imports, no cycle.
    const files: Record<string, string> = { 'pb.yml': PB.replace('a.yml', 'l0.yml') };
    for (let i = 0; i < 12; i++) files[`l${i}.yml`] = `- import_tasks: l${i + 1}.yml\n- import_tasks: l${i + 1}.yml\n`;
    files['l12.yml'] = '- command: /bin/true\n';
    const r = load(files);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toMatch(
      new RegExp(
        `^l\\d+\\.yml:\\d:17: more than ${LIMITS.imports} import_tasks in this playbook \\(counting each time a file is imported\\): Kiln's limit$`,
      ),
    );
    expect(r.ms).toBeLessThan(1000);
  });
});
