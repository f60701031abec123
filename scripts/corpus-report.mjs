#!/usr/bin/env node
// The compatibility corpus report: how much of the public roles in test/fixtures/role-corpus/
// Kiln takes unmodified. For each playbook there (a role's README example) it runs what
// `kiln validate` runs (plan/validate.ts, in this process) and prints per role: validates or not,
// its tasks (a census of every task in the role's tasks/ and handlers/ files, blocks flattened),
// the tasks Kiln reached (in a file it opened), loaded and found nothing wrong with (clean), and
// a histogram of the blocking errors by construct.
//
//   node scripts/corpus-report.mjs            prints the table
//   node scripts/corpus-report.mjs --json     prints the report as JSON
//   node scripts/corpus-report.mjs --write    regenerates test/fixtures/role-corpus/expected.json
//
// test/integration/role-corpus.test.ts requires the report to equal expected.json: progress is
// committed by regenerating it, and a regression fails the test.
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';
import { isMap, isSeq, LineCounter, parseDocument } from 'yaml';

register();
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const corpus = join(root, 'test/fixtures/role-corpus');
const { validateRun } = await import(join(root, 'src/plan/validate.ts'));
const { loadPlaybook } = await import(join(root, 'src/input/playbook/load.ts'));
const { moduleCatalog } = await import(join(root, 'src/modules/registry.ts'));
const { InputError } = await import(join(root, 'src/core/diagnostic.ts'));

/** Keys that make a task-list entry a block (its children are the tasks counted). */
const BLOCK_KEYS = ['block', 'rescue', 'always'];

/** Every YAML file under `dir`, recursively, sorted. */
function yamlFiles(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .sort()
    .flatMap((f) => {
      const p = join(dir, f);
      if (statSync(p).isDirectory()) return yamlFiles(p);
      return /\.ya?ml$/.test(f) ? [p] : [];
    });
}

/** The tasks of one task file: { file, start, end } line spans (1-based, inclusive), blocks flattened. */
function census(file) {
  const lc = new LineCounter();
  const doc = parseDocument(readFileSync(file, 'utf8'), { lineCounter: lc });
  const tasks = [];
  const walk = (seq) => {
    if (!isSeq(seq)) return;
    for (const item of seq.items) {
      if (!isMap(item) || !item.range) continue;
      const keys = item.items.map((p) => String(p.key?.value ?? p.key));
      if (keys.some((k) => BLOCK_KEYS.includes(k))) {
        for (const p of item.items) if (BLOCK_KEYS.includes(String(p.key?.value ?? p.key))) walk(p.value);
        continue;
      }
      const start = lc.linePos(item.range[0]).line;
      const end = lc.linePos(Math.max(item.range[0], item.range[1] - 1)).line;
      tasks.push({ file, start, end });
    }
  };
  walk(doc.contents);
  return tasks;
}

/** `ansible.builtin.x` and `ansible.legacy.x` are `x`. */
const short = (name) => name.replace(/^ansible\.(builtin|legacy)\./, '');

/** The construct a blocking error is about (the histogram's key). */
export function construct(message) {
  const q = (m, re) => short(m.match(re)?.[1] ?? '');
  const rules = [
    [/manages another operating system/, (m) => `other-OS module ${q(m, /module '([^']+)'/)}`],
    [/^task: (include_tasks|include_vars|include_role|include|block|import_playbook)\b/, (m) => q(m, /^task: (\w+)/)],
    [/block(\/(rescue|always))? is not supported/, () => 'block'],
    [/^module '(ansible\.(builtin|legacy)\.)?(include_tasks|include_vars|include_role|include|import_playbook)'/, (m) => q(m, /'([^']+)'/)],
    [/^module '([^']+)' is not supported by Kiln \(a collection module\)/, (m) => `collection module ${q(m, /'([^']+)'/)}`],
    [/^module '([^']+)' is not supported by Kiln/, (m) => `module ${q(m, /'([^']+)'/)}`],
    [/^unknown module '([^']+)'/, (m) => `unknown module ${q(m, /'([^']+)'/)}`],
    [/task keyword '(with_[a-z_]+)'/, (m) => q(m, /'(with_[a-z_]+)'/)],
    [/(task|play|role|block) keyword '([a-z_]+)'/, (m) => `keyword ${q(m, /keyword '([a-z_]+)'/)}`],
    [/'(ansible_[a-z_0-9]+)' is undefined/, () => 'Ansible facts (ansible_*)'],
    [/no test named '([^']+)'/, (m) => `test ${q(m, /'([^']+)'/)}`],
    [/no filter named '([^']+)'/, (m) => `filter ${q(m, /'([^']+)'/)}`],
    [/^(\S+)'s option '([^']+)': not supported/, (m) => `parameter ${q(m, /^(\S+)'s/)}.${q(m, /option '([^']+)'/)}`],
    [/missing required parameter/, () => 'missing required parameter'],
    [/'[^']+' is undefined/, () => 'undefined variable'],
  ];
  for (const [re, name] of rules) if (re.test(message)) return name(message);
  return message.replace(/'[^']*'/g, "'…'").slice(0, 80);
}

function measure(playbookFile) {
  const playbook = join(corpus, playbookFile);
  const name = playbookFile.replace(/\.ya?ml$/, '');
  const roleDir = join(corpus, 'roles', `geerlingguy.${name}`);
  const files = [...yamlFiles(join(roleDir, 'tasks')), ...yamlFiles(join(roleDir, 'handlers'))];
  const tasks = files.flatMap(census);
  let errors = [];
  let validates = true;
  try {
    validateRun({ playbook, inventory: [join(corpus, 'hosts.yml')], extraVars: {} });
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    validates = false;
    errors = err.diagnostics.map((d) => ({ ...d, file: resolve(corpus, d.file) }));
  }
  const loaded = loadPlaybook(playbook, { modules: moduleCatalog })
    .playbook.plays.flatMap((p) => [...p.tasks, ...p.handlers])
    .map((t) => ({ file: resolve(corpus, t.loc.file), line: t.loc.line }));
  const within = (t, d) => d.file === t.file && d.line !== undefined && d.line >= t.start && d.line <= t.end;
  const isLoaded = (t) => loaded.some((l) => within(t, l));
  const opened = new Set([...loaded, ...errors].map((x) => x.file));
  const reached = tasks.filter((t) => opened.has(t.file));
  const blocked = reached.filter((t) => errors.some((d) => within(t, d)));
  const clean = reached.filter((t) => isLoaded(t) && !blocked.includes(t));
  const blockers = {};
  for (const d of errors) {
    const c = construct(d.message);
    blockers[c] = (blockers[c] ?? 0) + 1;
  }
  return {
    role: `geerlingguy.${name}`,
    validates,
    taskFiles: files.length,
    taskFilesReached: files.filter((f) => opened.has(f)).length,
    tasks: tasks.length,
    tasksReached: reached.length,
    tasksLoaded: reached.filter(isLoaded).length,
    tasksClean: clean.length,
    errors: errors.length,
    blockers: Object.fromEntries(Object.entries(blockers).sort(([a, x], [b, y]) => y - x || a.localeCompare(b))),
  };
}

export function report() {
  const cwd = process.cwd();
  process.chdir(corpus); // ansible.cfg is looked up where the command runs, as with `cd role-corpus; kiln validate`
  try {
    const roles = readdirSync(corpus)
      .filter((f) => /\.ya?ml$/.test(f) && f !== 'hosts.yml')
      .sort()
      .map(measure);
    const sum = (k) => roles.reduce((n, r) => n + r[k], 0);
    const blockers = {};
    for (const r of roles) for (const [c, n] of Object.entries(r.blockers)) blockers[c] = (blockers[c] ?? 0) + n;
    return {
      roles,
      total: {
        roles: roles.length,
        rolesValidating: roles.filter((r) => r.validates).length,
        taskFiles: sum('taskFiles'),
        taskFilesReached: sum('taskFilesReached'),
        tasks: sum('tasks'),
        tasksReached: sum('tasksReached'),
        tasksLoaded: sum('tasksLoaded'),
        tasksClean: sum('tasksClean'),
        errors: sum('errors'),
        blockers: Object.fromEntries(Object.entries(blockers).sort(([a, x], [b, y]) => y - x || a.localeCompare(b))),
      },
    };
  } finally {
    process.chdir(cwd);
  }
}

function table(r) {
  const pct = (a, b) => (b ? `${Math.round((100 * a) / b)}%` : '-');
  const lines = ['role                       validates  files     tasks  reached  loaded  clean  errors  top blockers'];
  for (const x of r.roles) {
    const top = Object.entries(x.blockers)
      .slice(0, 3)
      .map(([c, n]) => `${c} ×${n}`)
      .join(', ');
    lines.push(
      `${x.role.padEnd(26)} ${(x.validates ? 'yes' : 'no').padEnd(10)} ${`${x.taskFilesReached}/${x.taskFiles}`.padEnd(9)} ${String(x.tasks).padStart(5)}  ${String(x.tasksReached).padStart(7)}  ${String(x.tasksLoaded).padStart(6)}  ${String(x.tasksClean).padStart(5)}  ${String(x.errors).padStart(6)}  ${top}`,
    );
  }
  const t = r.total;
  lines.push('');
  lines.push(`roles validating: ${t.rolesValidating}/${t.roles} (${pct(t.rolesValidating, t.roles)})`);
  lines.push(`task files opened: ${t.taskFilesReached}/${t.taskFiles} (${pct(t.taskFilesReached, t.taskFiles)})`);
  lines.push(
    `tasks: ${t.tasks}; reached ${t.tasksReached} (${pct(t.tasksReached, t.tasks)}), loaded ${t.tasksLoaded} (${pct(t.tasksLoaded, t.tasks)}), clean ${t.tasksClean} (${pct(t.tasksClean, t.tasks)})`,
  );
  lines.push(`blocking errors: ${t.errors}`);
  for (const [c, n] of Object.entries(t.blockers)) lines.push(`  ${String(n).padStart(4)}  ${c}`);
  return lines.join('\n');
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const r = report();
  const json = `${JSON.stringify(r, null, 2)}\n`;
  if (process.argv.includes('--write')) {
    writeFileSync(join(corpus, 'expected.json'), json);
    console.log(`wrote ${relative(process.cwd(), join(corpus, 'expected.json'))}`);
  }
  if (process.argv.includes('--json')) process.stdout.write(json);
  else console.log(table(r));
}
