import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import release, {
  readTree,
  releaseApply,
  releaseHash,
  releaseInterpret,
  releaseParse,
  releasePlan,
  releaseProbe,
  releasesToPrune,
  resolveSrcDir,
  runningRelease,
  type ReleaseParams,
  type ReleasePrep,
  type ReleaseState,
  HOST_HASH,
} from '../../../../src/modules/release/release.ts';
import { q } from '../../../../src/sh/quote.ts';
import { ctx, outsideHeredocs, runProbe, shSyntax } from '../helpers.ts';
import { expectApplyFromOpsOnly } from '../system/ops-only.ts';

const files = [
  { path: 'server.js', data: Buffer.from('console.log("hi")\n'), exec: false },
  { path: 'lib/db.js', data: Buffer.from('module.exports = {}\n'), exec: false },
];
const HASH = releaseHash(files);
const base: ReleaseParams = {
  root: '/opt/app',
  version: '1.1.0',
  src: 'app',
  service: 'kiln-app',
  health_url: 'http://127.0.0.1:3000/health',
};
const prep: ReleasePrep = { files, hash: HASH };
const ops = <Op>(planned: readonly { op: Op }[]) => planned.map((c) => c.op);
const st = (current: string | undefined, names: string[], hash?: string): ReleaseState => ({
  link: current ? `releases/${current}` : undefined,
  current,
  currentNotLink: false,
  releases: names.map((name, i) => ({ name, mtime: 1000 + i })),
  hash,
});
const sums = (p: ReleaseParams, s: ReleaseState) => releasePlan(p, prep, s, ctx()).map((c) => c.summary);

/**
 * Runs the upload part of the apply script for a fresh root on this machine: without systemd here,
 * it stops before the restart and skips chown and the curl/wget lookup (restart and health check:
 * lab e2e).
 */
function runUploadPart(p: ReleaseParams, pr: ReleasePrep) {
  const s = st(undefined, []);
  const full = releaseApply(p, pr, s, ops(releasePlan(p, pr, s)));
  const script = full
    .slice(0, full.indexOf('\nrestart\n'))
    .replace(/chown -R [^\n]*\n/, '\n')
    .replace(/if command -v curl[\s\S]*?else die [^\n]*\n/, '\n');
  return spawnSync('sh', [], { input: `${script}\necho done\n`, encoding: 'utf8' });
}

describe('release plan', () => {
  it('first deploy on a fresh host', () => {
    expect(sums(base, st(undefined, []))).toEqual(['deploy release 1.1.0 (current none)']);
  });

  it('a new version on a host running another one', () => {
    expect(sums(base, st('1.0.0', ['1.0.0']))).toEqual(['deploy release 1.1.0 (current 1.0.0)']);
  });

  it('converged: current = version and the files match → no change', () => {
    expect(releasePlan(base, prep, st('1.1.0', ['1.0.0', '1.1.0'], HASH), ctx())).toEqual([]);
  });

  it('switching back to a kept release with the same files is a deploy (no upload)', () => {
    const s = st('1.1.0', ['1.0.0', '1.1.0'], HASH);
    const p = { ...base, version: '1.0.0' };
    s.hash = HASH;
    expect(sums(p, s)).toEqual(['deploy release 1.0.0 (current 1.1.0)']);
    expect(releaseApply(p, prep, s, ops(releasePlan(p, prep, s)))).not.toContain('.kiln-upload');
  });

  it('same version with different files: refused, or replaced with force', () => {
    const s = st('1.1.0', ['1.1.0'], 'f'.repeat(64));
    expect(() => releasePlan(base, prep, s)).toThrow(/release 1.1.0 is already on the host with different files.*new version/);
    expect(sums({ ...base, force: true }, s)).toEqual(['redeploy release 1.1.0 with changed files (current 1.1.0)']);
  });

  it('a deploy stopped between the switch and the restart is finished: restart on the release current points to', () => {
    const s = { ...st('1.1.0', ['1.0.0', '1.1.0'], HASH), running: '1.0.0' };
    expect(sums(base, s)).toEqual(['restart kiln-app on release 1.1.0: it still runs release 1.0.0 (a deploy stopped before its restart)']);
    const script = releaseApply(base, prep, s, ops(releasePlan(base, prep, s)));
    expect(shSyntax(script)).toBe('');
    expect(script).not.toContain('.kiln-upload'); // the files are there already
    expect(script).toContain("running='1.0.0'");
    expect(script).toMatch(/restart\nif healthy "\$version"/);
    // Running what current points to, or not running at all (the service task starts it): nothing to do.
    expect(releasePlan(base, prep, { ...s, running: '1.1.0' })).toEqual([]);
    expect(releasePlan(base, prep, { ...s, running: undefined })).toEqual([]);
    // A normal deploy while another release runs is just a deploy.
    expect(sums({ ...base, version: '1.2.0' }, { ...s, current: '1.0.0', link: 'releases/1.0.0' })).toEqual([
      'deploy release 1.2.0 (current 1.0.0)',
    ]);
  });

  it('never prunes the release the service is running', () => {
    const s = { ...st('1.1.0', ['1.0.0', '1.0.1', '1.0.2', '1.1.0'], HASH), running: '1.0.0' };
    expect(releasesToPrune({ ...base, keep: 2 }, s, false)).toEqual(['1.0.1']);
  });

  it('refuses a current that is not a symlink', () => {
    expect(() => releasePlan(base, prep, { ...st(undefined, []), currentNotLink: true })).toThrow(/not a symlink/);
  });

  it('prunes the oldest beyond keep, never the current or the previous', () => {
    const s = st('1.0.4', ['1.0.0', '1.0.1', '1.0.2', '1.0.3', '1.0.4']);
    expect(sums(base, s)).toEqual(['deploy release 1.1.0 (current 1.0.4)', 'prune old releases 1.0.0 (keep 5)']);
    expect(sums({ ...base, keep: 2 }, s)).toEqual([
      'deploy release 1.1.0 (current 1.0.4)',
      'prune old releases 1.0.0, 1.0.1, 1.0.2, 1.0.3 (keep 2)',
    ]);
    // The current release is the OLDEST (it was rolled back to): still protected.
    const old = st('1.0.0', ['1.0.0', '1.0.1', '1.0.2']);
    expect(releasesToPrune({ ...base, keep: 2 }, old, true)).toEqual(['1.0.1', '1.0.2']);
    // Converged host with too many releases (keep was lowered): current and the newest other stay.
    const conv = st('1.1.0', ['1.0.0', '1.0.1', '1.1.0', '1.0.2'], HASH);
    expect(sums({ ...base, keep: 2 }, conv)).toEqual(['prune old releases 1.0.0, 1.0.1 (keep 2)']);
  });
});

describe('release scripts', () => {
  it('probe parses current, releases and hash', () => {
    const s = releaseParse({
      stdout: 'link=releases/1.0.0\nrelease=1700000000.5 1.0.0\nrelease=1700000100.25 1.1.0\nhash=abc\n',
      stderr: '',
      code: 0,
    });
    expect(s).toEqual({
      link: 'releases/1.0.0',
      current: '1.0.0',
      currentNotLink: false,
      releases: [
        { name: '1.0.0', mtime: 1700000000.5 },
        { name: '1.1.0', mtime: 1700000100.25 },
      ],
      hash: 'abc',
    });
    expect(shSyntax(releaseProbe(base))).toBe('');
    expect(releaseParse({ stdout: 'link=releases/1.1.0\nrunning_cwd=/opt/app/releases/1.0.0\n', stderr: '', code: 0 }).running).toBe(
      '1.0.0',
    );
    // A pruned directory still held by the old process; a cwd outside releases/ is not a release.
    expect(runningRelease('/opt/app/releases/0.9.0 (deleted)')).toBe('0.9.0');
    expect(runningRelease('/')).toBeUndefined();
    expect(runningRelease('/opt/app')).toBeUndefined();
  });

  it('apply: one POSIX script, files only inside heredocs, atomic switch, health check, rollback, prune', () => {
    const s = st('1.0.4', ['1.0.0', '1.0.1', '1.0.2', '1.0.3', '1.0.4']);
    const script = releaseApply(base, prep, s, ops(releasePlan(base, prep, s)));
    expect(shSyntax(script)).toBe('');
    expect(outsideHeredocs(script)).not.toContain('console.log');
    expect(script).toContain('ln -sfn "$1" "$root/.current.kiln.$$" && mv -T "$root/.current.kiln.$$" "$root/current"');
    expect(script).toContain('systemctl restart -- "$svc"');
    expect(script).toMatch(/if healthy "\$version"; then[\s\S]*prune[\s\S]*kiln_release=deployed/);
    expect(script).toContain(`rm -rf -- "$root/releases/"'1.0.0'`);
    expect(script).not.toContain(`"$root/releases/"'1.0.4'`); // the previous release is never pruned
    // Rollback comes after a failed check, and the task exits non-zero.
    const after = script.slice(script.indexOf('kiln_health='));
    expect(after).toMatch(/back=\$prev[\s\S]*switch "\$back"[\s\S]*restart[\s\S]*kiln_release=rolled_back[\s\S]*exit 4/);
  });

  it('the health check matches {version} of the release it checks (the previous one after a rollback)', () => {
    const p = { ...base, health_match: '"release":"{version}"', timeout: 1 };
    const script = releaseApply(p, prep, st('1.0.0', ['1.0.0']), ops(releasePlan(p, prep, st('1.0.0', ['1.0.0']))));
    const vars = /^hurl=.*$/m.exec(script)![0];
    // The attempt and the poll loop (one attempt here: no timeout set).
    const fn = /^hattempt\(\) \{[\s\S]*?^healthy\(\) \{[\s\S]*?^\}$/m.exec(script)![0];
    const check = (v: string) =>
      spawnSync('sh', [], {
        input: `${vars}\nhfetch() { echo '{"status":"ok","release":"1.0.0"}'; }\n${fn}\nhealthy ${v}\necho "rc=$? why=$why"\n`,
        encoding: 'utf8',
      }).stdout;
    expect(check('1.0.0')).toContain('rc=0');
    expect(check('1.1.0')).toContain('rc=1 why=the answer does not contain "release":"1.1.0"');
  });

  it('apply depends only on the planned ops, never on summary text', () => {
    const s = st('1.0.4', ['1.0.0', '1.0.1', '1.0.2', '1.0.3', '1.0.4']);
    const script = expectApplyFromOpsOnly(release, base, prep, s);
    expect(script).toContain('.kiln-upload');
    expect(script).toContain(`rm -rf -- "$root/releases/"'1.0.0'`);
    const finishing = { ...st('1.1.0', ['1.0.0', '1.1.0'], HASH), running: '1.0.0' };
    expect(expectApplyFromOpsOnly(release, base, prep, finishing)).toMatch(/restart\nif healthy "\$version"/);
    const conv = st('1.1.0', ['1.0.0', '1.0.1', '1.1.0', '1.0.2'], HASH);
    expect(expectApplyFromOpsOnly(release, { ...base, keep: 2 }, prep, conv)).not.toContain('systemctl');
  });

  it('prune-only apply touches nothing else', () => {
    const conv = st('1.1.0', ['1.0.0', '1.0.1', '1.1.0', '1.0.2'], HASH);
    const p = { ...base, keep: 2 };
    const script = releaseApply(p, prep, conv, ops(releasePlan(p, prep, conv)));
    expect(script).not.toContain('systemctl');
    expect(script).toContain(`"$root/releases/"'1.0.0'`);
    expect(shSyntax(script)).toBe('');
  });

  it('interpret: a rollback fails the task with a clear message', () => {
    const out = {
      stdout:
        'kiln_switched=releases/1.1.0\nkiln_health=curl: (22) The requested URL returned error: 500\nkiln_journal=boom\nkiln_release=rolled_back\nkiln_back=1.0.0\n',
      stderr: '',
      code: 4,
    };
    const r = releaseInterpret(base, out);
    expect(r.failed).toMatch(
      /release 1\.1\.0 failed its health check: no healthy answer from http:\/\/127\.0\.0\.1:3000\/health within 30s \(last: curl: \(22\).*error: 500\); ROLLED BACK to release 1\.0\.0/,
    );
    expect(r.failed).toContain('boom');
    expect(releaseInterpret(base, { stdout: 'kiln_release=deployed\n', stderr: '', code: 0 }).failed).toBeUndefined();
    expect(releaseInterpret(base, { stdout: '', stderr: 'cannot create', code: 3 }).failed).toBe('cannot create');
  });
});

describe('release on a real directory (local sh, no systemd)', () => {
  it('the host-side hash equals the controller hash; src resolves in the role files/', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-release-'));
    const src = join(dir, 'roles/app/files/app');
    mkdirSync(join(src, 'lib'), { recursive: true });
    mkdirSync(join(dir, 'roles/app/tasks'), { recursive: true });
    writeFileSync(join(src, 'server.js'), 'x');
    writeFileSync(join(src, 'lib/a-b.js'), 'y\n');
    writeFileSync(join(src, 'lib.js'), 'z');
    writeFileSync(join(src, 'run'), '#!/bin/sh\n');
    chmodSync(join(src, 'run'), 0o755);
    expect(resolveSrcDir('app', join(dir, 'roles/app/tasks/main.yml'))).toBe(src);
    expect(resolveSrcDir('nope', join(dir, 'roles/app/tasks/main.yml'))).toBeUndefined();
    const tree = readTree(src);
    expect(tree.find((f) => f.path === 'run')?.exec).toBe(true);
    // Host layout: releases/1.0 holds the same files; current points to it.
    const root = join(dir, 'host');
    mkdirSync(join(root, 'releases/1.0/lib'), { recursive: true });
    for (const f of tree) writeFileSync(join(root, 'releases/1.0', f.path), f.data);
    symlinkSync('releases/1.0', join(root, 'current'));
    const p: ReleaseParams = { ...base, root, version: '1.0' };
    const prep: ReleasePrep = { files: tree, hash: releaseHash(tree) };
    const s = releaseParse(runProbe(releaseProbe(p)));
    expect(s.current).toBe('1.0');
    expect(s.releases.map((r) => r.name)).toEqual(['1.0']);
    expect(s.hash).toBe(releaseHash(tree));
    expect(releasePlan(p, prep, s)).toEqual([]);
    writeFileSync(join(root, 'releases/1.0/lib.js'), 'changed');
    expect(() => releasePlan(p, prep, releaseParse(runProbe(releaseProbe(p))))).toThrow(/different files/);
    expect(readlinkSync(join(root, 'current'))).toBe('releases/1.0');
  });

  it('file names holding a backslash, a newline, spaces, quotes or UTF-8: the host hash still equals the controller hash', () => {
    const src = mkdtempSync(join(tmpdir(), 'kiln-release-odd-'));
    const odd = ['back\\slash.txt', 'new\nline.txt', 'it\'s a "file".txt', 'tab\there', 'caf\u00e9 \u2603.txt', '-dash', 'sub\\dir'];
    for (const n of odd) writeFileSync(join(src, n), `content of ${n}\n`);
    mkdirSync(join(src, 'dir\nwith\\odd'));
    writeFileSync(join(src, 'dir\nwith\\odd', 'in\\side\n'), 'inner');
    const tree = readTree(src);
    expect(tree.map((f) => f.path).sort()).toEqual([...odd, 'dir\nwith\\odd/in\\side\n'].sort());
    // sha256sum escapes these names (its line starts with `\`): the host side keeps only digests.
    const raw = spawnSync('sh', ['-c', 'cd "$1" && sha256sum -- ./back*', 'sh', src], { encoding: 'utf8' });
    expect(raw.stdout.startsWith('\\')).toBe(true);
    const host = runProbe(`kiln_release_hash() ${HOST_HASH}\nkiln_release_hash ${q(src)}`);
    expect(host.stderr).toBe('');
    expect(host.stdout.trim()).toBe(releaseHash(tree));
    // Any change (content, or a name) changes both hashes alike.
    writeFileSync(join(src, 'new\nline.txt'), 'changed');
    const changed = readTree(src);
    expect(releaseHash(changed)).not.toBe(releaseHash(tree));
    expect(runProbe(`kiln_release_hash() ${HOST_HASH}\nkiln_release_hash ${q(src)}`).stdout.trim()).toBe(releaseHash(changed));
    // A path list ending in one name is not confused with another split of the same bytes.
    const a = releaseHash([{ path: 'a\nb', data: Buffer.from('x') }]);
    const b = releaseHash([
      { path: 'a', data: Buffer.from('x') },
      { path: 'b', data: Buffer.from('x') },
    ]);
    expect(a).not.toBe(b);
  });

  it('a file name that is not valid UTF-8 is refused, naming it', () => {
    const src = mkdtempSync(join(tmpdir(), 'kiln-release-bad-'));
    const bad = Buffer.concat([Buffer.from(join(src, 'bad')), Buffer.from([0xff, 0x2e, 0x6a, 0x73])]);
    writeFileSync(bad, 'x');
    expect(() => readTree(src)).toThrow(/unsupported file name in the release source: "bad\uFFFD\.js" is not valid UTF-8/);
  });

  it('the upload writes files with odd names and its hash check passes', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-release-oddup-'));
    const fs = [
      { path: 'back\\slash', data: Buffer.from('b'), exec: false },
      { path: 'new\nline', data: Buffer.from('n'), exec: true },
      { path: "d'ir\n/x\\y", data: Buffer.from('z'), exec: false },
    ];
    const prepOdd: ReleasePrep = { files: fs, hash: releaseHash(fs) };
    const p: ReleaseParams = { ...base, root: dir, owner: undefined, group: undefined };
    const r = runUploadPart(p, prepOdd);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('kiln_switched=releases/1.1.0');
    expect(readFileSync(join(dir, 'releases/1.1.0', 'new\nline'), 'utf8')).toBe('n');
    expect(readFileSync(join(dir, 'releases/1.1.0', "d'ir\n/x\\y"), 'utf8')).toBe('z');
    // The probe now sees the same content: converged.
    const after = releaseParse(runProbe(releaseProbe({ ...p })));
    expect(after.hash).toBe(prepOdd.hash);
    expect(releasePlan(p, prepOdd, after)).toEqual([]);
  });

  it('prepare reads the tree and hashes it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-release-prep-'));
    writeFileSync(join(dir, 'server.js'), 'a');
    const prepared = release.prepare!(
      { ...base, src: dir },
      { ...ctx(), sensitive: false, readFile: () => Buffer.from(''), renderTemplate: () => '' },
    );
    expect(prepared.hash).toBe(releaseHash([{ path: 'server.js', data: Buffer.from('a') }]));
    expect(readFileSync(join(dir, 'server.js'), 'utf8')).toBe('a');
  });

  it('the apply script uploads, checks the hash and switches (restart and health check: lab e2e)', () => {
    // Run only the upload part: cut the script before the restart.
    const dir = mkdtempSync(join(tmpdir(), 'kiln-release-up-'));
    const p: ReleaseParams = { ...base, root: dir, owner: undefined, group: undefined };
    const r = runUploadPart(p, prep);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('kiln_switched=releases/1.1.0');
    expect(readlinkSync(join(dir, 'current'))).toBe('releases/1.1.0');
    expect(readFileSync(join(dir, 'releases/1.1.0/lib/db.js'), 'utf8')).toBe('module.exports = {}\n');
  });
});

/**
 * The whole apply script, run locally in a temp root with stand-ins for the host's commands:
 * `systemctl` and `journalctl` do nothing, and `curl` answers with the `health` file of the release
 * `current` points to (HTTP 500 — exit 22 — when it has none).
 */
describe('release apply script end to end (local sh, stand-in systemctl/curl)', () => {
  const release = (version: string, healthy: boolean) => {
    const fs = [{ path: 'server.js', data: Buffer.from(`// ${version}\n`), exec: false }];
    if (healthy) fs.push({ path: 'health', data: Buffer.from(`{"status":"ok","release":"${version}"}`), exec: false });
    return fs;
  };
  function setup() {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-release-run-'));
    const bin = join(dir, 'bin');
    const root = join(dir, 'app');
    mkdirSync(bin);
    mkdirSync(root);
    writeFileSync(join(bin, 'systemctl'), '#!/bin/sh\nexit 0\n');
    writeFileSync(join(bin, 'journalctl'), '#!/bin/sh\necho "app crashed: boom"\n');
    writeFileSync(
      join(bin, 'curl'),
      `#!/bin/sh\nf=${root}/current/health\nif [ -f "$f" ]; then cat "$f"; else echo "curl: (22) The requested URL returned error: 500" >&2; exit 22; fi\n`,
    );
    for (const c of ['systemctl', 'journalctl', 'curl']) chmodSync(join(bin, c), 0o755);
    return { root, bin };
  }
  function deploy(env: { root: string; bin: string }, version: string, healthy: boolean, extra: Partial<ReleaseParams> = {}) {
    const fs = release(version, healthy);
    const p: ReleaseParams = { ...base, root: env.root, version, timeout: 1, health_match: '"release":"{version}"', ...extra };
    const prep: ReleasePrep = { files: fs, hash: releaseHash(fs) };
    const path = { ...process.env, PATH: `${env.bin}:${process.env.PATH}` };
    const s = releaseParse(runProbe(releaseProbe(p), path));
    const changes = releasePlan(p, prep, s);
    const script = releaseApply(p, prep, s, ops(changes)).replace(/chown -R [^\n]*\n/, '\n');
    const r = spawnSync('sh', [], { input: script, encoding: 'utf8', env: path });
    const out = { stdout: r.stdout, stderr: r.stderr, code: r.status ?? -1 };
    return {
      changes: changes.map((c) => c.summary),
      out,
      interp: releaseInterpret(p, out),
      after: releaseParse(runProbe(releaseProbe(p), path)),
      p,
      prep,
    };
  }

  it('deploys, rolls a failing release back, prunes beyond keep', () => {
    const env = setup();
    const first = deploy(env, '1.0.0', true);
    expect(first.changes).toEqual(['deploy release 1.0.0 (current none)']);
    expect(first.interp.failed).toBeUndefined();
    expect(releasePlan(first.p, first.prep, first.after)).toEqual([]); // converged

    const bad = deploy(env, '2.0.0', false);
    expect(bad.out.code).toBe(4);
    expect(bad.interp.failed).toMatch(
      /release 2\.0\.0 failed its health check: .*returned error: 500.*ROLLED BACK to release 1\.0\.0, which is healthy/,
    );
    expect(bad.interp.failed).toContain('app crashed: boom');
    expect(readlinkSync(join(env.root, 'current'))).toBe('releases/1.0.0');
    expect(bad.after.releases.map((r) => r.name).sort()).toEqual(['1.0.0', '2.0.0']); // kept for inspection

    for (const v of ['1.1.0', '1.2.0']) expect(deploy(env, v, true, { keep: 2 }).interp.failed).toBeUndefined();
    expect(readlinkSync(join(env.root, 'current'))).toBe('releases/1.2.0');
    const names = releaseParse(runProbe(releaseProbe({ ...base, root: env.root })))
      .releases.map((r) => r.name)
      .sort();
    expect(names).toEqual(['1.1.0', '1.2.0']);
  });

  it('a forced same-version redeploy that fails restores the old files', () => {
    const env = setup();
    expect(deploy(env, '1.0.0', true).interp.failed).toBeUndefined();
    const forced = deploy(env, '1.0.0', false, { force: true });
    expect(forced.changes).toEqual(['redeploy release 1.0.0 with changed files (current 1.0.0)']);
    expect(forced.interp.failed).toContain('ROLLED BACK to release 1.0.0');
    expect(readFileSync(join(env.root, 'releases/1.0.0/health'), 'utf8')).toContain('"release":"1.0.0"');
    expect(forced.after.hash).toBe(releaseHash(release('1.0.0', true)));
  });

  it('a deploy interrupted before its restart is noticed from the running process and finished', () => {
    const env = setup();
    // A stand-in service: a real process whose cwd is the release `current` resolved to when it
    // started; systemctl show reports its PID, systemctl restart starts a new one.
    const pidFile = join(env.root, '..', 'mainpid');
    const started: number[] = [];
    writeFileSync(
      join(env.bin, 'systemctl'),
      `#!/bin/sh
case "$1" in
  show) cat ${pidFile} 2>/dev/null || echo 0 ;;
  restart) [ -f ${pidFile} ] && kill "$(cat ${pidFile})" 2>/dev/null; cd ${env.root}/current && { sleep 300 </dev/null >/dev/null 2>&1 & echo $! > ${pidFile}; } ;;
esac
exit 0
`,
    );
    try {
      expect(deploy(env, '1.0.0', true).interp.failed).toBeUndefined();
      started.push(Number(readFileSync(pidFile, 'utf8')));
      expect(deploy(env, '1.1.0', true).interp.failed).toBeUndefined();
      started.push(Number(readFileSync(pidFile, 'utf8')));
      // Interrupted deploy of 1.0.0: current switched back, the process (1.1.0) never restarted.
      symlinkSync('releases/1.0.0', join(env.root, 'current.tmp'));
      spawnSync('mv', ['-T', join(env.root, 'current.tmp'), join(env.root, 'current')]);
      const p = { ...base, root: env.root, version: '1.0.0' };
      expect(releaseParse(runProbe(releaseProbe(p), { ...process.env, PATH: `${env.bin}:${process.env.PATH}` })).running).toBe('1.1.0');
      const fin = deploy(env, '1.0.0', true);
      started.push(Number(readFileSync(pidFile, 'utf8')));
      expect(fin.changes).toEqual(['restart kiln-app on release 1.0.0: it still runs release 1.1.0 (a deploy stopped before its restart)']);
      expect(fin.interp.failed).toBeUndefined();
      expect(fin.after.running).toBe('1.0.0');
      expect(releasePlan(fin.p, fin.prep, fin.after)).toEqual([]); // converged now
    } finally {
      for (const pid of started) {
        try {
          process.kill(pid);
        } catch {
          /* already ended */
        }
      }
    }
  });

  it('a failing first release has nothing to roll back to: the task fails saying so', () => {
    const env = setup();
    const r = deploy(env, '1.0.0', false);
    expect(r.out.code).toBe(4);
    expect(r.interp.failed).toContain('there is no previous release to roll back to');
  });
});
