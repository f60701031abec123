/**
 * The keyword tables (docs/keywords.md, and the summary in README.md) are generated from the
 * loader's own tables (src/input/playbook/keywords.ts) by scripts/docs-keywords.mjs, one row per
 * keyword of Ansible's lists (test/fixtures/ansible/keywords.json): they match the code, and every
 * row says supported or refused, never anything else.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { read, root } from './markdown.ts';

const ansible = JSON.parse(readFileSync(join(root, 'test/fixtures/ansible/keywords.json'), 'utf8')) as Record<string, unknown>;
const count = (section: string) => {
  const v = ansible[section] as string[] | Record<string, unknown>;
  return Array.isArray(v) ? v.length : Object.keys(v).length;
};

/** The generated text between the markers of `file`. */
const generated = (file: string) => /<!-- keywords:start -->\n([\s\S]*)\n<!-- keywords:end -->/.exec(read(file))?.[1] ?? '';

/** docs/keywords.md's tables: heading → rows [keyword cell, verdict cell]. */
function tables(): Map<string, string[][]> {
  const out = new Map<string, string[][]>();
  let current: string[][] | undefined;
  for (const line of generated('docs/keywords.md').split('\n')) {
    const h = /^## (.*)$/.exec(line);
    if (h) out.set(h[1]!, (current = []));
    else if (current && line.startsWith('| ') && !/^\| (Keyword|Entry) \|/.test(line)) current.push(line.slice(2, -2).split(/ (?<!\\)\| /));
  }
  return out;
}

describe('the keyword tables', () => {
  it('are generated from the current loader tables (node scripts/docs-keywords.mjs)', () => {
    let out = 'up to date';
    try {
      execFileSync(process.execPath, [join(root, 'scripts/docs-keywords.mjs'), '--check'], { cwd: root, encoding: 'utf8', stdio: 'pipe' });
    } catch (err) {
      out = String((err as { stderr?: string }).stderr ?? err);
    }
    expect(out).toBe('up to date');
  }, 30000);

  it('list every keyword of Ansible’s lists, once per place', () => {
    const t = tables();
    const sizes = Object.fromEntries([...t].map(([title, rows]) => [title, rows.length]));
    expect(sizes).toMatchObject({
      Plays: count('play'),
      Blocks: count('block'),
      Tasks: count('task'),
      'Role entries (`roles:`, `dependencies:`)': count('role'),
      "A role's meta/main.yml": count('role_meta'),
      '`loop_control`': count('loop_control'),
      '`import_role` arguments': count('import_role_args'),
      '`import_tasks` arguments': count('import_tasks_args'),
      '`import_playbook` (a play of its own)': count('import_playbook'),
    });
    // Handlers: the task keywords, plus those only handlers take.
    const taskKeys = Object.keys(ansible.task as object);
    expect(t.get('Handlers')!.length).toBe(Object.keys(ansible.handler as object).filter((k) => !taskKeys.includes(k)).length);
  });

  it('say of each keyword that it is supported or refused with a reason: no row can say ignored', () => {
    const verdicts = [...tables().values()].flat().map((r) => r[1]!);
    expect(verdicts.length).toBeGreaterThan(200);
    expect(
      verdicts.filter((v) => !/^supported( with the value `[a-z]+` only \(another value is refused\)|: \S.*)?$|^refused: \S/.test(v)),
    ).toEqual([]);
    expect(verdicts.filter((v) => /ignored/i.test(v))).toEqual([]);
  });

  it('the README summarizes them, one row per place, and links the full page', () => {
    const rows = generated('README.md')
      .split('\n')
      .filter((l) => l.startsWith('| '));
    expect(rows[0]).toContain('[docs/keywords.md](docs/keywords.md)');
    expect(rows.slice(1).map((r) => r.split(' | ')[0]!.slice(2))).toEqual(
      [...tables().keys()].filter((k) => k !== 'Task-list entries that are not modules').map((k) => k.replace(/ \(.*\)$/, '')),
    );
  });
});
