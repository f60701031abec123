#!/usr/bin/env node
// Regenerates test/conformance/expected/*.json from test/conformance/cases/*.yml by asking Ansible.
//
// Needs only node (with this repo's node_modules, for the `yaml` parser the tests also use) and
// Debian's ansible-core (`apt-get install ansible-core`, 2.14). npm test does NOT run this: the
// outputs are committed, so CI needs no Ansible.
//
//   node test/conformance/generate.mjs          # rewrite expected/*.json
//   node test/conformance/generate.mjs --check  # fail if the committed outputs differ
//
// All cases go into ONE playbook run against `t1 ansible_connection=local`, gather_facts false:
// - template:  a `template` task writes the case's text (as a .j2 file) under a temp dir with the
//              case's vars as task vars; the expected output is the written file's exact bytes.
// - condition: a `debug` task with `when: <expr>`; ran → true, skipped → false.
// - error:     like one of the above (`template:` or `when:`); Ansible must fail the task. We keep a
//              short stable fragment of its message.
// Lookups: test/conformance/fixtures/ is copied into the playbook dir first (files/, templates/,
//              credentials/), and KILN_CONFORMANCE_ENV is set for the env lookup.
// Every task has ignore_errors, and the json stdout callback reports each task's result, so a
// failing case does not stop the run. The playbook is written as JSON (a YAML subset) so the vars
// Ansible sees have exactly the types the `yaml` package gives the tests.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const here = dirname(fileURLToPath(import.meta.url));
const casesDir = join(here, 'cases');
// Files the lookup cases read: copied next to the playbook, where Ansible searches files/ and templates/.
const fixturesDir = join(here, 'fixtures');
/** The environment variable the env lookup cases read (the conformance test gives Kiln the same). */
const LOOKUP_ENV = { KILN_CONFORMANCE_ENV: 'from the environment' };
const expectedDir = join(here, 'expected');
const check = process.argv.includes('--check');

/** Loads every case file: [{ file, cases }]. */
function loadCases() {
  const files = readdirSync(casesDir)
    .filter((f) => f.endsWith('.yml'))
    .sort();
  const seen = new Set();
  return files.map((file) => {
    const cases = parse(readFileSync(join(casesDir, file), 'utf8'));
    for (const c of cases) {
      if (!/^[a-z0-9][a-z0-9-]*$/.test(c.id ?? '')) throw new Error(`${file}: bad id ${JSON.stringify(c.id)}`);
      if (seen.has(c.id)) throw new Error(`${file}: duplicate id ${c.id}`);
      seen.add(c.id);
      if (!['template', 'condition', 'error'].includes(c.kind)) throw new Error(`${file}: ${c.id}: bad kind ${c.kind}`);
      if ((c.template === undefined) === (c.when === undefined)) throw new Error(`${file}: ${c.id}: needs exactly one of template/when`);
      if (c.kind === 'template' && c.template === undefined) throw new Error(`${file}: ${c.id}: template kind needs template`);
      if (c.kind === 'condition' && c.when === undefined) throw new Error(`${file}: ${c.id}: condition kind needs when`);
      if (!c.source) throw new Error(`${file}: ${c.id}: needs a source`);
    }
    return { file, cases };
  });
}

/** A short, stable fragment of an Ansible error message (no temp paths, no task dumps). */
function fragment(msg) {
  const text = String(msg);
  const undef = /'([^']+)' is undefined/.exec(text);
  if (undef) return `'${undef[1]}' is undefined`;
  const noAttr = /'?(\w+ object)'? has no (attribute '[^']+'|element \d+)/.exec(text);
  if (noAttr) return `${noAttr[1]} has no ${noAttr[2]}`;
  if (/Unexpected templating type error/.test(text)) return 'Unexpected templating type error';
  const noFilter = /Could not load "([^"]+)"/.exec(text);
  if (noFilter) return `Could not load "${noFilter[1]}"`;
  const syntax = /template error while templating string: ([^.]+)\./.exec(text);
  if (syntax) return syntax[1];
  const mandatory = /Mandatory variable '[^']+'\s+not defined/.exec(text);
  if (mandatory) return mandatory[0];
  const firstLine = text
    .split('\n')[0]
    .replace(/\/tmp\/[^\s'"]*/g, '<tmp>')
    .trim();
  return firstLine.length > 120 ? firstLine.slice(0, 120) : firstLine;
}

function main() {
  const groups = loadCases();
  const all = groups.flatMap((g) => g.cases);
  const tmp = mkdtempSync(join(tmpdir(), 'kiln-conformance-'));
  try {
    const tpl = join(tmp, 'templates');
    const out = join(tmp, 'out');
    cpSync(fixturesDir, tmp, { recursive: true });
    mkdirSync(tpl, { recursive: true });
    mkdirSync(out);
    const tasks = all.map((c) => {
      const task = { name: `case ${c.id}`, vars: c.vars ?? {}, ignore_errors: true };
      if (c.template !== undefined) {
        writeFileSync(join(tpl, `${c.id}.j2`), c.template);
        task.template = { src: join(tpl, `${c.id}.j2`), dest: join(out, c.id) };
      } else {
        task.debug = { msg: 'ran' };
        task.when = c.when;
      }
      return task;
    });
    const play = [{ name: 'conformance', hosts: 't1', gather_facts: false, tasks }];
    writeFileSync(join(tmp, 'playbook.yml'), JSON.stringify(play, null, 1));
    writeFileSync(join(tmp, 'inventory.ini'), 't1 ansible_connection=local ansible_python_interpreter=/usr/bin/python3\n');
    writeFileSync(join(tmp, 'ansible.cfg'), '');
    const env = {
      ...process.env,
      ANSIBLE_CONFIG: join(tmp, 'ansible.cfg'),
      ANSIBLE_HOME: join(tmp, 'home'),
      ANSIBLE_LOCAL_TEMP: join(tmp, 'local-tmp'),
      ANSIBLE_REMOTE_TEMP: join(tmp, 'remote-tmp'),
      ANSIBLE_STDOUT_CALLBACK: 'json',
      ANSIBLE_NOCOLOR: '1',
      ANSIBLE_RETRY_FILES_ENABLED: '0',
      ANSIBLE_DEPRECATION_WARNINGS: '0',
      ANSIBLE_PIPELINING: '1',
      LC_ALL: 'C.UTF-8',
      ...LOOKUP_ENV,
    };
    const run = spawnSync('ansible-playbook', ['-i', join(tmp, 'inventory.ini'), join(tmp, 'playbook.yml')], {
      env,
      cwd: tmp,
      encoding: 'utf8',
      maxBuffer: 1 << 30,
    });
    if (run.error) throw run.error;
    let report;
    try {
      report = JSON.parse(run.stdout);
    } catch {
      throw new Error(`ansible-playbook (exit ${run.status}) did not print JSON:\n${run.stdout}\n${run.stderr}`);
    }
    const results = new Map();
    for (const t of report.plays[0].tasks) results.set(t.task.name.replace(/^case /, ''), t.hosts.t1);

    const problems = [];
    let changed = 0;
    mkdirSync(expectedDir, { recursive: true });
    for (const { file, cases } of groups) {
      const expected = {};
      for (const c of cases) {
        const r = results.get(c.id);
        if (!r) {
          problems.push(`${c.id}: no result from Ansible`);
          continue;
        }
        let got;
        if (r.failed) got = { error: fragment(r.msg) };
        else if (c.template !== undefined) got = readFileSync(join(out, c.id), 'utf8');
        else got = !r.skipped;
        const isError = typeof got === 'object';
        if (isError !== (c.kind === 'error')) problems.push(`${c.id}: kind ${c.kind} but Ansible gave ${JSON.stringify(got)}`);
        expected[c.id] = got;
      }
      const path = join(expectedDir, file.replace(/\.yml$/, '.json'));
      const text = `${JSON.stringify(expected, null, 2)}\n`;
      let old = '';
      try {
        old = readFileSync(path, 'utf8');
      } catch {}
      if (old !== text) {
        changed++;
        if (!check) writeFileSync(path, text);
        else problems.push(`${path} differs from what Ansible produces now`);
      }
    }
    const n = (k) => all.filter((c) => c.kind === k).length;
    console.log(
      `${all.length} cases (${n('template')} template, ${n('condition')} condition, ${n('error')} error); ${changed} expected file(s) ${check ? 'differ' : 'rewritten'}`,
    );
    if (problems.length) {
      console.error(problems.join('\n'));
      process.exitCode = 1;
    }
  } finally {
    if (!process.env.KEEP_TMP) rmSync(tmp, { recursive: true, force: true });
    else console.log(`kept ${tmp}`);
  }
}

main();
