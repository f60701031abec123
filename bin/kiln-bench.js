#!/usr/bin/env node
// Kiln against ansible-playbook on the same lab hosts (issue 7). See bench/README.md.
//
// Runs on bench hosts it adds to the RUNNING lab with `kiln lab add --inventory
// .lab/bench-inventory.yml` (bench1..bench50 = 10.77.0.100–.149), never on the lab's own hosts,
// and removes them at the end (unless --keep-hosts). Needs root (kiln lab) and a lab that is up.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const KILN = path.join(REPO, 'bin/kiln.js');
const LAB_DIR = path.join(REPO, '.lab');
const BENCH_INV = path.join(LAB_DIR, 'bench-inventory.yml');
const WORK = path.join(REPO, 'bench/.work');
const ANSIBLE_DIR = path.join(REPO, 'bench/ansible');
const CP_DIR = '/tmp/kiln-bench-ansible-cp'; // = control_path_dir in bench/ansible/ansible.cfg
const MAX_HOSTS = 50;
const FIRST_OCTET = 100;

const USAGE = `npm run bench -- [options]      (or: node bin/kiln-bench.js [options]; as root, with the lab up)

  --figures LIST        which figures (default 1,2,3,4,5,6):
                          1 first apply on fresh hosts (7)   2 converged re-run (7, headline)
                          3 --check on converged hosts (7)   4 converged re-run on --sizes
                          5 Kiln round trips per converged host   6 Kiln CPU time and peak RSS at the largest size
  --runs N              timed runs per figure and tool (default 3); the median, min and max are reported
  --first-runs N        runs of figure 1 (each on freshly re-created hosts; default 2)
  --scale-runs N        runs per size in figure 4 (default 2)
  --sizes LIST          host counts for figure 4 (default 5,20,50; at most ${MAX_HOSTS})
  --ansible-max-hosts N Ansible is skipped above N hosts in figure 4 (default 20: a converged Ansible
                        run at 50 hosts takes minutes on a 2-core machine)
  --site                also time converged re-runs of playbooks/site.yml on the lab's own 7 hosts
                        (off by default: those hosts are shared)
  --keep-hosts          leave the bench hosts running at the end
  --out FILE            results file (default bench/results/<date>.md)
  -h, --help`;

function parseArgs(argv) {
  const o = { figures: [1, 2, 3, 4, 5, 6], runs: 3, firstRuns: 2, scaleRuns: 2, sizes: [5, 20, 50], ansibleMax: 20, site: false, keepHosts: false, out: undefined };
  const list = (v) => v.split(',').map((x) => Number(x.trim())).filter((x) => Number.isInteger(x) && x > 0);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--figures') o.figures = list(next());
    else if (a === '--runs') o.runs = Number(next());
    else if (a === '--first-runs') o.firstRuns = Number(next());
    else if (a === '--scale-runs') o.scaleRuns = Number(next());
    else if (a === '--sizes') o.sizes = list(next());
    else if (a === '--ansible-max-hosts') o.ansibleMax = Number(next());
    else if (a === '--site') o.site = true;
    else if (a === '--keep-hosts') o.keepHosts = true;
    else if (a === '--out') o.out = path.resolve(next());
    else if (a === '-h' || a === '--help') {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    } else throw new Error(`unknown option ${a}\n${USAGE}`);
  }
  for (const [k, v] of [['--runs', o.runs], ['--first-runs', o.firstRuns], ['--scale-runs', o.scaleRuns], ['--ansible-max-hosts', o.ansibleMax]]) {
    if (!Number.isInteger(v) || v < 0) throw new Error(`${k} must be a non-negative integer`);
  }
  if (o.sizes.some((s) => s > MAX_HOSTS)) throw new Error(`--sizes: at most ${MAX_HOSTS} hosts`);
  return o;
}

const log = (m) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${m}\n`);

// ---------------------------------------------------------------- processes

/** Runs a command under GNU time; returns wall (own clock), user+sys CPU and peak RSS of the process tree. */
function timed(cmd, args, { cwd = REPO, env = process.env, logFile } = {}) {
  mkdirSync(WORK, { recursive: true });
  const tf = path.join(WORK, `time-${process.pid}.txt`);
  rmSync(tf, { force: true });
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn('/usr/bin/time', ['-f', '%U %S %M', '-o', tf, cmd, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out = [];
    child.stdout.on('data', (b) => out.push(b));
    child.stderr.on('data', (b) => out.push(b));
    child.on('error', reject);
    child.on('close', (code) => {
      const wall = Number(process.hrtime.bigint() - t0) / 1e9;
      const text = Buffer.concat(out).toString('utf8');
      if (logFile) writeFileSync(logFile, text);
      const [user, sys, rss] = readFileSync(tf, 'utf8').trim().split('\n').pop().split(' ').map(Number);
      resolve({ code, wall, cpu: user + sys, rssMB: rss / 1024, text });
    });
  });
}

function kilnCli(args, { allowFail = false } = {}) {
  try {
    return execFileSync(process.execPath, [KILN, ...args], { cwd: REPO, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
  } catch (err) {
    if (allowFail) return '';
    throw new Error(`kiln ${args.join(' ')} failed:\n${err.stderr || err.message}`);
  }
}

// ---------------------------------------------------------------- hosts and inventories

const hostName = (i) => `bench${i}`;
const hostAddr = (i) => `10.77.0.${FIRST_OCTET + i - 1}`;
const range = (n) => Array.from({ length: n }, (_, k) => k + 1);

function benchHostsUp() {
  const s = JSON.parse(kilnCli(['lab', 'status', '--json']));
  if (!s.labDir) throw new Error('no lab is up: run `kiln lab up` first (the benchmark adds its own hosts to it)');
  const mine = new Set(s.hosts.filter((h) => h.added?.inventory === BENCH_INV && (h.state === 'running' || h.state === 'degraded')).map((h) => h.host));
  const clash = s.hosts.filter((h) => h.added?.inventory !== BENCH_INV && /^10\.77\.0\.(\d+)$/.test(h.address) && Number(h.address.split('.')[3]) >= FIRST_OCTET && Number(h.address.split('.')[3]) < FIRST_OCTET + MAX_HOSTS);
  if (clash.length > 0) throw new Error(`addresses of the bench range are taken by other hosts: ${clash.map((h) => `${h.host}=${h.address}`).join(', ')}`);
  return mine;
}

function addHosts(indices) {
  if (indices.length === 0) return;
  const topo = path.join(WORK, 'add-topology.yml');
  writeFileSync(topo, `hosts:\n${indices.map((i) => `  ${hostName(i)}: { address: ${hostAddr(i)}, groups: [bench] }`).join('\n')}\n`);
  log(`adding ${indices.length} bench host(s) ${hostName(indices[0])}..${hostName(indices.at(-1))}`);
  kilnCli(['lab', 'add', '--topology', topo, '--inventory', BENCH_INV]);
}

function removeHosts(indices) {
  if (indices.length === 0) return;
  kilnCli(['lab', 'remove', ...indices.map(hostName)]);
}

/** bench1..benchN running (adds what is missing; new hosts get python3-apt, untimed). */
async function ensureHosts(n) {
  const up = benchHostsUp();
  const missing = range(n).filter((i) => !up.has(hostName(i)));
  addHosts(missing);
  if (missing.length > 0) await prep(missing);
}

/** Fresh disks for bench1..benchN: removed (disks deleted) and added again, then prepared. */
async function freshHosts(n) {
  const up = benchHostsUp();
  closeAnsibleMasters(n);
  removeHosts(range(n).filter((i) => up.has(hostName(i))));
  addHosts(range(n));
  await prep(range(n));
}

/** Untimed: python3-apt, which Ansible's apt module needs (else it installs it itself on its first run). */
async function prep(indices) {
  const inv = kilnInventory(indices, 'prep');
  const r = await timed(process.execPath, [KILN, 'apply', path.join(REPO, 'bench/kiln/prep.yml'), '-i', inv, '-f', String(indices.length), '--progress', 'plain'], { logFile: path.join(WORK, 'prep.log') });
  if (r.code !== 0) throw new Error(`preparing bench hosts failed (see ${path.join(WORK, 'prep.log')})`);
}

function kilnInventory(indices, tag) {
  const f = path.join(WORK, `kiln-${tag}.yml`);
  const hosts = indices.map((i) => `    ${hostName(i)}: { address: ${hostAddr(i)} }`).join('\n');
  writeFileSync(
    f,
    `all:\n  vars:\n    user: deploy\n    become: true\n    identity_file: ${path.join(LAB_DIR, 'id_ed25519')}\n    known_hosts: ${path.join(LAB_DIR, 'known_hosts')}\n  hosts:\n${hosts}\n`,
  );
  return f;
}

function ansibleInventory(indices, tag) {
  const f = path.join(WORK, `ansible-${tag}.ini`);
  const lines = [
    '[bench]',
    ...indices.map((i) => `${hostName(i)} ansible_host=${hostAddr(i)}`),
    '',
    '[all:vars]',
    'ansible_user=deploy',
    `ansible_ssh_private_key_file=${path.join(LAB_DIR, 'id_ed25519')}`,
    `ansible_ssh_common_args='-o UserKnownHostsFile=${path.join(LAB_DIR, 'known_hosts')} -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes'`,
    '',
  ];
  writeFileSync(f, lines.join('\n'));
  return f;
}

/** Ends the ControlPersist masters of bench hosts (before their hosts are replaced, and at the end). */
function closeAnsibleMasters(n) {
  for (const i of range(n)) {
    const sock = path.join(CP_DIR, `${hostAddr(i)}-deploy`);
    if (!existsSync(sock)) continue;
    try {
      execFileSync('ssh', ['-o', `ControlPath=${sock}`, '-O', 'exit', hostAddr(i)], { stdio: 'ignore', timeout: 10000 });
    } catch {
      rmSync(sock, { force: true });
    }
  }
}

// ---------------------------------------------------------------- one run of each tool

async function runKiln(n, { check = false, label }) {
  const inv = kilnInventory(range(n), `n${n}`);
  const json = path.join(WORK, `kiln-${label}.json`);
  rmSync(json, { force: true });
  const args = [KILN, 'apply', path.join(REPO, 'bench/kiln/site.yml'), '-i', inv, '-f', String(n), '--progress', 'plain', '--json', json];
  if (check) args.push('--check');
  const r = await timed(process.execPath, args, { logFile: path.join(WORK, `kiln-${label}.log`) });
  const rep = existsSync(json) ? JSON.parse(readFileSync(json, 'utf8')) : { hosts: {} };
  const hosts = Object.values(rep.hosts);
  return {
    ...r,
    hosts: hosts.length,
    changed: hosts.reduce((s, h) => s + h.changed, 0),
    failed: hosts.reduce((s, h) => s + h.failed + (h.unreachable ? 1 : 0), 0),
    roundTrips: hosts.map((h) => h.round_trips),
  };
}

async function runAnsible(n, { check = false, label }) {
  const inv = ansibleInventory(range(n), `n${n}`);
  const args = ['-i', inv, '-f', String(n), 'site.yml'];
  if (check) args.push('--check');
  const env = { ...process.env, ANSIBLE_CONFIG: path.join(ANSIBLE_DIR, 'ansible.cfg'), ANSIBLE_NOCOLOR: '1' };
  const r = await timed('ansible-playbook', args, { cwd: ANSIBLE_DIR, env, logFile: path.join(WORK, `ansible-${label}.log`) });
  const recap = [...r.text.matchAll(/^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)/gm)];
  return {
    ...r,
    hosts: recap.length,
    changed: recap.reduce((s, m) => s + Number(m[3]), 0),
    failed: recap.reduce((s, m) => s + Number(m[4]) + Number(m[5]), 0) + (recap.length === n ? 0 : n - recap.length),
  };
}

// ---------------------------------------------------------------- statistics and output

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const sec = (x) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
const spread = (xs) => (xs.length === 0 ? '—' : `${sec(median(xs))} s (${sec(Math.min(...xs))}–${sec(Math.max(...xs))})`);

const rows = [];
const notes = [];

function checkRun(tool, what, r, expectConverged) {
  if (r.code !== 0 || r.failed > 0) notes.push(`**${tool} ${what}: exit ${r.code}, ${r.failed} failed/unreachable** (log in bench/.work)`);
  if (expectConverged && r.changed > 0) notes.push(`**${tool} ${what}: ${r.changed} task results changed on a converged run**`);
}

/** `runs` timed pairs; the order alternates so neither tool always runs second. */
async function pairs(figure, n, runs, { check = false, ansible = true, before } = {}) {
  const k = [];
  const a = [];
  const ratios = [];
  for (let i = 0; i < runs; i++) {
    if (before) await before(i);
    const label = `f${figure}-n${n}-r${i + 1}`;
    const order = i % 2 === 0 ? ['kiln', 'ansible'] : ['ansible', 'kiln'];
    let kr;
    let ar;
    for (const tool of order) {
      if (tool === 'kiln') {
        kr = await runKiln(n, { check, label });
        checkRun('Kiln', label, kr, figure !== 1);
        k.push(kr);
      } else if (ansible) {
        ar = await runAnsible(n, { check, label });
        checkRun('Ansible', label, ar, figure !== 1);
        a.push(ar);
      }
      if (figure === 1 && tool === order[0] && ansible) await before?.(i); // the second tool gets fresh hosts too
    }
    log(`figure ${figure}, ${n} hosts, run ${i + 1}/${runs}: Kiln ${sec(kr.wall)} s${ar ? `, Ansible ${sec(ar.wall)} s (×${(ar.wall / kr.wall).toFixed(1)})` : ''}`);
    if (ar) ratios.push(ar.wall / kr.wall);
  }
  return { k, a, ratios };
}

function addRow(figure, what, n, res) {
  rows.push({
    figure,
    what,
    hosts: n,
    kiln: spread(res.k.map((r) => r.wall)),
    ansible: res.a.length > 0 ? spread(res.a.map((r) => r.wall)) : 'not run',
    ratio: res.ratios.length > 0 ? `×${median(res.ratios).toFixed(1)} (${Math.min(...res.ratios).toFixed(1)}–${Math.max(...res.ratios).toFixed(1)})` : '—',
    runs: res.k.length,
  });
}

function table() {
  const head = '| # | what | hosts | Kiln: median (min–max) | Ansible: median (min–max) | Ansible ÷ Kiln, same runs | runs |\n|---|---|---|---|---|---|---|';
  return [head, ...rows.map((r) => `| ${r.figure} | ${r.what} | ${r.hosts} | ${r.kiln} | ${r.ansible} | ${r.ratio} | ${r.runs} |`)].join('\n');
}

// ---------------------------------------------------------------- main

async function ensureAnsible() {
  try {
    return execFileSync('ansible-playbook', ['--version'], { encoding: 'utf8' }).split('\n')[0];
  } catch {
    log('installing ansible-core from Debian (apt-get install -y ansible-core)');
    execFileSync('apt-get', ['install', '-y', 'ansible-core'], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    return execFileSync('ansible-playbook', ['--version'], { encoding: 'utf8' }).split('\n')[0];
  }
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  if (typeof process.getuid === 'function' && process.getuid() !== 0) throw new Error('the benchmark needs root (it adds hosts to the lab)');
  mkdirSync(WORK, { recursive: true });
  mkdirSync(CP_DIR, { recursive: true, mode: 0o700 });
  const ansibleVersion = await ensureAnsible();
  const started = new Date();
  const load0 = os.loadavg()[0];
  const fig = new Set(o.figures);
  const maxSize = Math.max(7, ...(fig.has(4) || fig.has(6) ? o.sizes : []));
  let rt = [];
  let cpu;
  const out = o.out ?? nextResultsFile(started);
  /** Writes the results file (after every figure, so an interrupted run keeps what it measured). */
  function report(final) {
    const lines = [];
    lines.push(table(), '');
    if (fig.has(5) && rt.length > 0) {
      lines.push(`**5. Kiln SSH round trips per converged host after connecting** (from Kiln's JSON report, \`hosts.*.round_trips\`, over ${rt.length} host-runs): median ${median(rt)}, min ${Math.min(...rt)}, max ${Math.max(...rt)} (target ≤ 2).`, '');
    }
    if (fig.has(6) && cpu) {
      lines.push(
        `**6. Kiln controller cost at ${cpu.n} hosts** (GNU time over the kiln process tree): converged re-run ${sec(cpu.cpu)} s CPU (user+sys) for ${sec(cpu.wall)} s wall, peak RSS ${cpu.rss.toFixed(0)} MB; ` +
          `first apply of those hosts (untimed converge step) ${sec(cpu.firstCpu)} s CPU, ${sec(cpu.firstWall)} s wall, peak RSS ${cpu.firstRss.toFixed(0)} MB` +
          (cpu.ansibleCpu !== undefined ? `; Ansible's converged re-run: ${sec(cpu.ansibleCpu)} s CPU.` : '.'),
        '',
      );
    }
    if (notes.length > 0) lines.push('Problems seen:', ...notes.map((n) => `- ${n}`), '');
    const body = lines.join('\n');
    if (final) process.stdout.write(`\n${body}\n`);

    const machine = [
      `- date: ${started.toISOString()} – ${new Date().toISOString()}`,
      `- machine: ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB RAM; load average ${load0.toFixed(2)} at the start, ${os.loadavg()[0].toFixed(2)} at the end`,
      `- Node ${process.version}; ${ansibleVersion}; Kiln ${gitRev()}`,
      `- options: ${process.argv.slice(2).join(' ') || '(defaults)'}`,
    ].join('\n');
    mkdirSync(path.dirname(out), { recursive: true });
    writeFileSync(
      out,
      `# Kiln vs ansible-playbook, ${started.toISOString().slice(0, 10)}\n\n${machine}\n\n` +
        'Absolute times depend on the machine (and here on whatever else it was running); the ratios, measured in the same runs, are what count. ' +
        'Method, workload and Ansible settings: bench/README.md.\n\n' +
        `${body}\n`,
    );
  }
  try {
    if (fig.has(1) && o.firstRuns > 0) {
      log(`figure 1: first apply on fresh hosts, 7 hosts, ${o.firstRuns} run(s)`);
      addRow(1, 'first apply, fresh hosts', 7, await pairs(1, 7, o.firstRuns, { before: () => freshHosts(7) }));
      report(false);
    }
    if ([2, 3, 5].some((f) => fig.has(f))) {
      await ensureHosts(7);
      log('converging 7 hosts with both tools (untimed)');
      await runKiln(7, { label: 'converge-7' });
      await runAnsible(7, { label: 'converge-7' });
      if (fig.has(2) || fig.has(5)) {
        const res = await pairs(2, 7, o.runs);
        if (fig.has(2)) addRow(2, '**converged re-run**', 7, res);
        rt.push(...res.k.flatMap((r) => r.roundTrips));
        report(false);
      }
      if (fig.has(3)) addRow(3, '--check, converged hosts', 7, await pairs(3, 7, o.runs, { check: true }));
      report(false);
    }
    if (fig.has(4) || fig.has(6)) {
      const sizes = fig.has(4) ? [...o.sizes].sort((a, b) => a - b) : [maxSize];
      for (const n of sizes) {
        await ensureHosts(n);
        const ansible = n <= o.ansibleMax;
        log(`converging ${n} hosts (untimed)${ansible ? '' : '; Ansible skipped at this size (--ansible-max-hosts)'}`);
        const first = await runKiln(n, { label: `converge-${n}` });
        if (ansible) await runAnsible(n, { label: `converge-${n}` });
        const res = await pairs(4, n, Math.max(1, o.scaleRuns), { ansible });
        if (fig.has(4)) addRow(4, 'converged re-run', n, res);
        rt.push(...res.k.flatMap((r) => r.roundTrips));
        if (n === maxSize) {
          cpu = {
            n,
            wall: median(res.k.map((r) => r.wall)),
            cpu: median(res.k.map((r) => r.cpu)),
            rss: Math.max(...res.k.map((r) => r.rssMB)),
            firstCpu: first.cpu,
            firstRss: first.rssMB,
            firstWall: first.wall,
            ansibleCpu: res.a.length > 0 ? median(res.a.map((r) => r.cpu)) : undefined,
          };
        }
        report(false);
      }
    }
    if (o.site) {
      const pb = path.join(REPO, 'playbooks/site.yml');
      if (!existsSync(pb)) notes.push('playbooks/site.yml does not exist yet: no site figure');
      else {
        const w = [];
        for (let i = 0; i < o.runs; i++) {
          const r = await timed(process.execPath, [KILN, 'apply', pb, '-i', path.join(LAB_DIR, 'inventory.yml'), '--progress', 'plain'], { logFile: path.join(WORK, `site-${i + 1}.log`) });
          if (r.code !== 0) notes.push(`site.yml re-run ${i + 1}: exit ${r.code}`);
          w.push(r.wall);
        }
        rows.push({ figure: 'site', what: 'playbooks/site.yml converged re-run (lab hosts)', hosts: 7, kiln: spread(w), ansible: '—', ratio: '—', runs: w.length });
      }
    }
  } finally {
    closeAnsibleMasters(MAX_HOSTS);
    if (!o.keepHosts) {
      const up = benchHostsUp();
      if (up.size > 0) {
        log(`removing ${up.size} bench host(s)`);
        kilnCli(['lab', 'remove', '--inventory', BENCH_INV], { allowFail: true });
      }
    }
  }

  report(true);
  log(`results written to ${path.relative(process.cwd(), out)}`);
}

function gitRev() {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO, encoding: 'utf8' }).trim();
  } catch {
    return '?';
  }
}

function nextResultsFile(d) {
  const base = path.join(REPO, 'bench/results', d.toISOString().slice(0, 10));
  for (let i = 1; ; i++) {
    const f = i === 1 ? `${base}.md` : `${base}-${i}.md`;
    if (!existsSync(f)) return f;
  }
}

main().catch((err) => {
  process.stderr.write(`kiln-bench: ${err.message}\n`);
  process.exitCode = 1;
});
