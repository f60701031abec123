#!/usr/bin/env node
// Regenerates the keyword tables from the loader's own tables (src/input/playbook/keywords.ts):
// every keyword Ansible accepts on a play, block, task, handler, role entry, role meta/main.yml,
// loop_control, import_role and import_tasks (test/fixtures/ansible/keywords.json, read from
// ansible-core 2.14), with what Kiln does with it: supported, or refused with the loader's reason.
// The rows come from Ansible's list and each is looked up in the table the loader reads keys
// through; a keyword in no table stops this script, so no row can say "ignored".
//   docs/keywords.md      the full tables, between <!-- keywords:start --> and <!-- keywords:end -->
//   README.md             one summary row per place, between the same markers
// `--check` exits 1 when either is stale.
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';
import { updateDocSection } from './docs-section.mjs';

register();
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const kw = await import(join(root, 'src/input/playbook/keywords.ts'));
const ansible = JSON.parse(readFileSync(join(root, 'test/fixtures/ansible/keywords.json'), 'utf8'));

const refusedAs = (hint) => ({ use: 'refused', hint });

/**
 * The places keywords are written, in the order shown: Ansible's section in keywords.json, Kiln's
 * table for it (a function of the keyword: undefined when the loader has no rule for it).
 */
const SECTIONS = [
  { section: 'play', title: 'Plays', rule: (k) => kw.PLAY_KEYWORDS[k] },
  {
    section: 'block',
    title: 'Blocks',
    // A table of its own when the loader has one; else a block is refused as a whole (TASK_ACTIONS.block).
    rule: (k) =>
      kw.BLOCK_KEYWORDS
        ? kw.BLOCK_KEYWORDS[k]
        : kw.TASK_ACTIONS.block.use === 'refused'
          ? refusedAs(kw.TASK_ACTIONS.block.hint)
          : (kw.TASK_ACTIONS[k] ?? kw.TASK_KEYWORDS[k]),
  },
  { section: 'task', title: 'Tasks', rule: (k) => kw.TASK_KEYWORDS[k] },
  { section: 'handler', title: 'Handlers', rule: (k) => kw.HANDLER_KEYWORDS[k], only: (k) => !(k in ansible.task) },
  { section: 'role', title: 'Role entries (`roles:`, `dependencies:`)', rule: (k) => kw.ROLE_KEYWORDS[k] },
  { section: 'role_meta', title: "A role's meta/main.yml", rule: (k) => kw.ROLE_META_KEYS[k] },
  { section: 'loop_control', title: '`loop_control`', rule: (k) => kw.LOOP_CONTROL_KEYS[k] },
  { section: 'import_role_args', title: '`import_role` arguments', rule: (k) => kw.IMPORT_ROLE_ARGS[k] },
  { section: 'import_tasks_args', title: '`import_tasks` arguments', rule: (k) => kw.IMPORT_TASKS_ARGS[k] },
  {
    section: 'import_playbook',
    title: '`import_playbook` (a play of its own)',
    rule: (k) => (kw.IMPORT_PLAYBOOK_KEYWORDS ? kw.IMPORT_PLAYBOOK_KEYWORDS[k] : refusedAs(kw.TASK_ACTIONS.import_playbook.hint)),
  },
];

const keysOf = (section) => {
  const v = ansible[section];
  return (Array.isArray(v) ? v : Object.keys(v)).slice().sort();
};
/** A table cell: pipes escaped, and `<`, `>` outside code spans (markdown would take `<lookup>` for HTML). */
const cell = (s) =>
  s
    .replace(/\n/g, ' ')
    .split('`')
    .map((part, i) => (i % 2 ? part : part.replace(/</g, '&lt;').replace(/>/g, '&gt;')))
    .join('`')
    .replace(/\|/g, '\\|');
/** How a keyword is written: Ansible's internal `loop_with` is every `with_<lookup>:`. */
const shown = (k) => (k === 'loop_with' ? '`with_<lookup>` (`loop_with`)' : `\`${k}\``);

/** What Kiln does with keyword `k` of a section: 'supported' or the refusal, as text. */
function verdict(s, k) {
  const rule = s.rule(k);
  if (!rule || (rule.use !== 'supported' && rule.use !== 'refused')) {
    console.error(`docs-keywords: Ansible's ${s.section} keyword '${k}' is in no table of src/input/playbook/keywords.ts`);
    process.exit(1);
  }
  if (rule.use === 'refused') return { supported: false, text: `refused: ${rule.hint}` };
  const only = Object.hasOwn(kw.ONLY_VALUE, k) ? kw.ONLY_VALUE[k] : undefined;
  const note = Object.hasOwn(kw.KEYWORD_NOTES, k) ? kw.KEYWORD_NOTES[k] : undefined;
  return {
    supported: true,
    text: only ? `supported with the value \`${only}\` only (another value is refused)` : note ? `supported: ${note}` : 'supported',
  };
}

const rows = SECTIONS.map((s) => ({
  ...s,
  keys: keysOf(s.section)
    .filter((k) => !s.only || s.only(k))
    .map((k) => ({ k, ...verdict(s, k) })),
}));

const full = [
  `Generated from \`src/input/playbook/keywords.ts\` and Ansible ${ansible.ansible_version}'s keyword lists by \`node scripts/docs-keywords.mjs\`.`,
  '',
  ...rows.flatMap((s) => [
    `## ${s.title}`,
    '',
    ...(s.section === 'handler' ? ['The task keywords, and:', ''] : []),
    '| Keyword | Kiln |',
    '|---|---|',
    ...s.keys.map(({ k, text }) => `| ${shown(k)} | ${cell(text)} |`),
    '',
  ]),
  '## Task-list entries that are not modules',
  '',
  '| Entry | Kiln |',
  '|---|---|',
  ...Object.keys(kw.TASK_ACTIONS)
    .sort()
    .map((k) => `| \`${k}\` | ${cell(kw.TASK_ACTIONS[k].use === 'supported' ? 'supported' : `refused: ${kw.TASK_ACTIONS[k].hint}`)} |`),
].join('\n');

const list = (ks) => (ks.length ? ks.map(({ k }) => shown(k)).join(', ') : '—');
const summary = [
  '| Where | Supported | Refused, with a located error (reasons: [docs/keywords.md](docs/keywords.md)) |',
  '|---|---|---|',
  ...rows.map(
    (s) =>
      `| ${s.title.replace(/ \(.*\)$/, '')} | ${list(s.keys.filter((x) => x.supported))} | ${list(s.keys.filter((x) => !x.supported))} |`,
  ),
].join('\n');

process.chdir(root);
updateDocSection('docs/keywords.md', 'keywords', full.trim(), 'keyword tables', 'scripts/docs-keywords.mjs');
updateDocSection('README.md', 'keywords', summary, 'keyword summary', 'scripts/docs-keywords.mjs');
