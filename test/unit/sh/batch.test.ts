/**
 * Batched reads of a probe script (sh/batch.ts): a script framed `readOnly` reads its probes'
 * stats, hashes and lineinfile contents in one command each, and every probe prints exactly what
 * it prints when it runs its own commands (the same script framed without the batch). Run with
 * the machine's /bin/sh (dash on Debian) on files made here.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MAY_WRITE, batchLines, inlineProbe, scanRequests } from '../../../src/sh/batch.ts';
import { fileProbe } from '../../../src/modules/files/file.ts';
import { editProbe } from '../../../src/modules/files/textedit.ts';
import { guardProbe } from '../../../src/modules/system/guards.ts';
import { sha256 } from '../../../src/sh/bytes.ts';
import { frameScripts } from '../../../src/sh/frame.ts';
import { q } from '../../../src/sh/quote.ts';
import { lineinfileProbe } from '../../../src/modules/files/lineinfile.ts';
import { contentProbe } from '../../../src/modules/files/content.ts';
import { ctx } from '../modules/helpers.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'kiln-batch-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const at = (p: string) => path.join(dir, p);
writeFileSync(at('a.txt'), 'alpha\n');
writeFileSync(at('b.ini'), 'k1=v1\nk2=v2\n');
writeFileSync(at("it's here"), 'quote\n');
writeFileSync(at('new\nline'), 'a name with a newline\n');
writeFileSync(at('empty'), '');
mkdirSync(at('sub'));
chmodSync(at('sub'), 0o750);
symlinkSync('a.txt', at('link'));
symlinkSync('nowhere', at('dangling'));
mkdirSync(at('real'));
symlinkSync('real', at('via'));
writeFileSync(at('real/c.conf'), 'c=1\n');

const paths = ['a.txt', 'b.ini', "it's here", 'new\nline', 'empty', 'sub', 'link', 'dangling', 'missing', 'via/c.conf', 'sub/nope/x'].map(
  at,
);

function run(script: string): string {
  return execFileSync('/bin/sh', ['-s'], { input: script, maxBuffer: 64 << 20 }).toString();
}
function both(snippets: string[]) {
  const plain = frameScripts(snippets);
  const batched = frameScripts(snippets, { readOnly: true });
  return { plain: plain.parse(run(plain.script)), batched: batched.parse(run(batched.script)), script: batched.script };
}

describe('batched probe reads', () => {
  it('finds the literal arguments of the prelude calls', () => {
    const r = scanRequests([
      `kiln_stat ${q("/a'b")}`,
      `kiln_content '/c' abc 0\nkiln_lif '/d' 100 x`,
      "kiln_lif '/d' 50 x",
      "kiln_unit 'ssh.service'",
      'kiln_stat "$real"',
    ]);
    expect(r.stat).toEqual(["/a'b", '/c', '/d']);
    expect(r.hash).toEqual(['/c', '/d']);
    expect([...r.content]).toEqual([['/d', { max: 50, uses: 2 }]]);
    expect(r.units).toEqual(['ssh.service']);
    expect(batchLines({ stat: [], hash: [], content: new Map(), units: [] })).toBe('');
    // A probe with its task's environment runs its own commands.
    expect(scanRequests(["export LANG='C'\nkiln_stat '/e'"]).stat).toEqual([]);
  });

  it('gives every probe the same result as its own commands do', () => {
    const snippets = [
      ...paths.map((p) => `kiln_stat ${q(p)}`),
      ...paths.map((p) => `kiln_content ${q(p)} ${sha256('alpha\n')} 65536`),
      ...paths.map((p) => `kiln_content ${q(p)} 0000 65536`),
      ...paths.map((p) => lineinfileProbe({ path: p, line: 'x' } as never)),
      lineinfileProbe({ path: at('b.ini'), line: 'y' } as never),
      ...paths.map((p) => contentProbe({ dest: p, validate: 'sh -n %s' } as never, { content: 'alpha\n', sensitive: false }, ctx())),
      ...paths.map((p) => fileProbe({ path: p, state: 'directory' } as never)),
      ...paths.map((p) => editProbe(p)),
      guardProbe({ creates: at('a.txt'), chdir: at('sub') } as never),
    ];
    // all of these run without a subshell, but for a name with a newline (a line of its own: not recognized)
    expect(snippets.filter((s) => !s.includes('new\nline')).every(inlineProbe)).toBe(true);
    const { plain, batched, script } = both(snippets);
    expect(script).toContain('sha256sum -- "$@"');
    expect(batched).toEqual(plain);
    // and they are what the host holds
    const i = paths.indexOf(at('sub'));
    expect(batched[i]!.stdout).toMatch(/^exists=1\ntype=directory\nmode=0750\nowner=\S+\ngroup=\S+\nsize=\d+\n$/);
    expect(batched[paths.length + paths.indexOf(at('a.txt'))]!.stdout).toBe(`sha256=${sha256('alpha\n')}\n`);
  });

  it("runs only probes of prelude calls, tests and echoes in the script's own shell", () => {
    expect(
      inlineProbe("kiln_stat '/a'\nkiln_content '/a' 0123abc 0\nkiln_dirname '/a'; [ -d \"$kiln_d\" ] && echo parent=1 || echo parent=0"),
    ).toBe(true);
    expect(inlineProbe("kiln_stat '/a; exit 1'")).toBe(true); // the ; is inside the quoted word
    expect(inlineProbe("kiln_stat '/a'; exit 1")).toBe(false);
    expect(inlineProbe("export X='1'\nkiln_stat '/a'")).toBe(false);
    expect(inlineProbe('kiln_stat "$p"')).toBe(false);
    expect(inlineProbe("x=1; kiln_stat '/a'")).toBe(false);
    expect(inlineProbe(guardProbe({ creates: '/a', unless: 'true' } as never))).toBe(false);
  });

  it('a probe with its task environment reads with its own commands', () => {
    const f = frameScripts([`kiln_stat ${q(at('a.txt'))}`, `export LANG='C'\nkiln_stat ${q(at('a.txt'))}`], { readOnly: true });
    expect(f.script).toContain("kiln_nc=1\nexport LANG='C'");
    const r = f.parse(run(f.script));
    expect(r[1]).toEqual(r[0]);
  });

  it('reads the host anew after a probe that may write', () => {
    const f = at('late.txt');
    rmSync(f, { force: true });
    const snippets = [`kiln_stat ${q(f)}`, `echo hi > ${q(f)}\n${MAY_WRITE}`, `kiln_stat ${q(f)}`];
    const framed = frameScripts(snippets, { readOnly: true });
    const batched = framed.parse(run(framed.script));
    expect(batched[0]!.stdout).toBe('exists=0\n');
    expect(batched[2]!.stdout).toMatch(/^exists=1\ntype=file\n/);
  });

  // Processes a script starts, counted in a PID namespace of its own (root or user namespaces needed).
  const probeNs = spawnSync('unshare', ['-r', '--pid', '--fork', '--mount-proc', 'true']);
  it.skipIf(probeNs.status !== 0)('reads the stats of a whole window in one process', () => {
    const count = (script: string) => {
      // (cat, not dash's `read`: it reads a byte at a time, and /proc/sys answers only the first)
      const r = spawnSync(
        'unshare',
        [
          '-r',
          '--pid',
          '--fork',
          '--mount-proc',
          '/bin/sh',
          '-c',
          '/bin/sh -s >/dev/null; echo "last_pid=$(cat /proc/sys/kernel/ns_last_pid)"',
        ],
        {
          input: script,
          encoding: 'utf8',
        },
      );
      return Number(/last_pid=(\d+)/.exec(r.stdout)![1]) - 3; // sh -c, sh -s and cat
    };
    const files = Array.from({ length: 20 }, (_, k) => at(`n${k}`));
    for (const f of files) writeFileSync(f, `${f}\n`);
    const probes = (n: number) => files.slice(0, n).map((f) => `kiln_stat ${q(f)}\nkiln_content ${q(f)} ${sha256(`${f}\n`)} 0`);
    const b10 = count(frameScripts(probes(10), { readOnly: true }).script);
    const b20 = count(frameScripts(probes(20), { readOnly: true }).script);
    const p20 = count(frameScripts(probes(20)).script);
    // Batched and inline: ten more probes cost no process at all.
    expect(b20 - b10).toBe(0);
    expect(p20).toBeGreaterThan(b20 + 20 * 3);
  });
});
