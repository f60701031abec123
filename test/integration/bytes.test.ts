/**
 * Bytes travel as bytes (issue 15, items 4 and 9), against a real OpenSSH server on loopback:
 * `copy: src:` of binary files (every byte value, NULs, random data) arrives byte-identical and
 * the next run is ok; `--diff` of binary content says "Binary files … differ", never mojibake;
 * `copy: content:` stays text; a dest whose name holds `\` or a newline (which sha256sum escapes)
 * converges; a playbook, vars file or template that is not UTF-8 is a located error before any
 * host is contacted.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kiln } from '../helpers/kiln.ts';
import { startSshd, type TestSshd, writeSshdInventory } from '../helpers/sshd.ts';

interface Report {
  tasks: { host: string; task: string; status: string; diff?: string }[];
}

let sshd: TestSshd;
let work: string;
let root: string;
let inv: string;
const all256 = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
const random64k = randomBytes(64 * 1024);
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

beforeAll(async () => {
  sshd = await startSshd();
  work = mkdtempSync(join(tmpdir(), 'kiln-bytes-'));
  root = join(work, 'target');
  mkdirSync(root);
  mkdirSync(join(work, 'inv'));
  inv = writeSshdInventory(sshd, join(work, 'inv'), { loop1: {} });
  mkdirSync(join(work, 'files'));
  writeFileSync(join(work, 'files', 'all256.bin'), all256);
  writeFileSync(join(work, 'files', 'random.bin'), random64k);
}, 30000);

afterAll(async () => {
  await sshd?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

function run(playbook: string, extra: string[] = []): { code: number; output: string; report: Report } {
  const json = join(work, `report-${Math.random().toString(36).slice(2)}.json`);
  const r = kiln(['apply', playbook, '-i', inv, '--json', json, ...extra]);
  const report = existsSync(json) ? (JSON.parse(readFileSync(json, 'utf8')) as Report) : { tasks: [] };
  return { code: r.code, output: r.output, report };
}

const statuses = (r: Report) => r.tasks.map((t) => `${t.task}: ${t.status}`);

describe('binary files travel as bytes', () => {
  it('copies every byte value and 64 KiB of random bytes identically, then reports ok', () => {
    const pb = join(work, 'copy.yml');
    writeFileSync(
      pb,
      `- hosts: all
  tasks:
    - name: all256
      copy: { src: all256.bin, dest: ${root}/all256.bin }
    - name: random
      copy: { src: random.bin, dest: ${root}/random.bin }
    - name: text
      copy: { content: "café ✓\\n", dest: ${root}/text.txt }
`,
    );
    const first = run(pb);
    expect(first.code, first.output).toBe(0);
    expect(statuses(first.report)).toEqual(['all256: changed', 'random: changed', 'text: changed']);
    expect(sha(readFileSync(join(root, 'all256.bin')))).toBe(sha(all256));
    expect(readFileSync(join(root, 'all256.bin')).length).toBe(256);
    expect(sha(readFileSync(join(root, 'random.bin')))).toBe(sha(random64k));
    expect(readFileSync(join(root, 'text.txt'), 'utf8')).toBe('café ✓\n');

    const second = run(pb);
    expect(second.code, second.output).toBe(0);
    expect(statuses(second.report)).toEqual(['all256: ok', 'random: ok', 'text: ok']);
  });

  it('--diff of binary content says the files differ and prints none of the bytes', () => {
    const changed = Buffer.from(all256);
    changed[0x80] = 0x00;
    writeFileSync(join(root, 'all256.bin'), changed);
    const pb = join(work, 'copy-one.yml');
    writeFileSync(pb, `- hosts: all\n  tasks:\n    - name: all256\n      copy: { src: all256.bin, dest: ${root}/all256.bin }\n`);
    const r = run(pb, ['--diff', '--check']);
    expect(r.code, r.output).toBe(0);
    expect(r.output).toContain(`Binary files ${root}/all256.bin (host) and ${root}/all256.bin (planned) differ`);
    expect(r.output).not.toContain('\ufffd');
    expect(r.report.tasks[0]!.diff).toContain('Binary files');
    // --check changed nothing; a real run restores the bytes.
    expect(readFileSync(join(root, 'all256.bin')).equals(changed)).toBe(true);
    expect(run(pb).code).toBe(0);
    expect(readFileSync(join(root, 'all256.bin')).equals(all256)).toBe(true);
  });
});

describe('names sha256sum escapes (a backslash, a newline)', () => {
  it('copy to such a dest converges: changed, then ok', () => {
    const pb = join(work, 'names.yml');
    writeFileSync(
      pb,
      `- hosts: all
  tasks:
    - name: backslash
      copy: { content: "b\\n", dest: "${root}/back\\\\slash.txt" }
    - name: newline
      copy: { content: "n\\n", dest: "${root}/new\\nline.txt" }
    - name: both binary
      copy: { src: all256.bin, dest: "${root}/x\\\\y\\nz.bin" }
`,
    );
    const first = run(pb);
    expect(first.code, first.output).toBe(0);
    expect(statuses(first.report)).toEqual(['backslash: changed', 'newline: changed', 'both binary: changed']);
    expect(readFileSync(join(root, 'back\\slash.txt'), 'utf8')).toBe('b\n');
    expect(readFileSync(join(root, 'new\nline.txt'), 'utf8')).toBe('n\n');
    expect(readFileSync(join(root, 'x\\y\nz.bin')).equals(all256)).toBe(true);
    const second = run(pb);
    expect(second.code, second.output).toBe(0);
    expect(statuses(second.report)).toEqual(['backslash: ok', 'newline: ok', 'both binary: ok']);
  });
});

describe('lineinfile and file on such names, and on a host file that is not UTF-8', () => {
  it('lineinfile edits the file whose name holds a newline or ends with one, then is ok', () => {
    writeFileSync(join(root, 'li\nne.conf'), 'a=1\n');
    writeFileSync(join(root, 'li'), 'decoy\n');
    writeFileSync(join(root, 'trail\n'), 'b=1\n');
    writeFileSync(join(root, 'trail'), 'decoy\n');
    const pb = join(work, 'lineinfile.yml');
    writeFileSync(
      pb,
      `- hosts: all
  tasks:
    - name: inner newline
      lineinfile: { path: "${root}/li\\nne.conf", regexp: "^a=", line: "a=2" }
    - name: trailing newline
      lineinfile: { path: "${root}/trail\\n", regexp: "^b=", line: "b=2" }
    - name: mode
      file: { path: "${root}/li\\nne.conf", mode: "0600" }
`,
    );
    const first = run(pb);
    expect(first.code, first.output).toBe(0);
    expect(statuses(first.report)).toEqual(['inner newline: changed', 'trailing newline: changed', 'mode: changed']);
    expect(readFileSync(join(root, 'li\nne.conf'), 'utf8')).toBe('a=2\n');
    expect(readFileSync(join(root, 'trail\n'), 'utf8')).toBe('b=2\n');
    expect(readFileSync(join(root, 'li'), 'utf8')).toBe('decoy\n');
    expect(readFileSync(join(root, 'trail'), 'utf8')).toBe('decoy\n');
    const second = run(pb);
    expect(statuses(second.report)).toEqual(['inner newline: ok', 'trailing newline: ok', 'mode: ok']);
  });

  it('a link whose target holds a newline or a backslash converges', () => {
    const pb = join(work, 'link.yml');
    writeFileSync(
      pb,
      `- hosts: all
  tasks:
    - name: link
      file: { path: "${root}/ln", src: "${root}/x\\\\y\\nz.bin", state: link }
    - name: trailing
      file: { path: "${root}/ln2", src: "${root}/trail\\n", state: link }
`,
    );
    const first = run(pb);
    expect(first.code, first.output).toBe(0);
    expect(statuses(first.report)).toEqual(['link: changed', 'trailing: changed']);
    expect(readlinkSync(join(root, 'ln'))).toBe(`${root}/x\\y\nz.bin`);
    expect(readlinkSync(join(root, 'ln2'))).toBe(`${root}/trail\n`);
    const second = run(pb);
    expect(statuses(second.report)).toEqual(['link: ok', 'trailing: ok']);
  });

  it('lineinfile refuses a host file that is not UTF-8 instead of rewriting its bytes', () => {
    const latin1 = Buffer.from('name=caf\xe9\nport=1\n', 'latin1');
    writeFileSync(join(root, 'latin1.conf'), latin1);
    const pb = join(work, 'latin1.yml');
    writeFileSync(
      pb,
      `- hosts: all\n  tasks:\n    - name: edit\n      lineinfile: { path: ${root}/latin1.conf, regexp: "^port=", line: "port=2" }\n`,
    );
    const r = run(pb);
    expect(r.code).not.toBe(0);
    expect(r.output).toContain(`${root}/latin1.conf is not UTF-8 text`);
    expect(readFileSync(join(root, 'latin1.conf')).equals(latin1)).toBe(true);
  });
});

describe('text that is not UTF-8 is refused where it is read, before any host', () => {
  const cases: { name: string; files: Record<string, Buffer>; playbook: string; at: string }[] = [
    {
      name: 'a playbook',
      files: { 'bad-pb.yml': Buffer.from('- hosts: all\n  tasks:\n    - debug: { msg: "caf\xe9" }\n', 'latin1') },
      playbook: 'bad-pb.yml',
      at: 'bad-pb.yml:3:25',
    },
    {
      name: 'a vars file',
      files: {
        'bad-vars.yml': Buffer.from('x: "\xff"\n', 'latin1'),
        'uses-vars.yml': Buffer.from('- hosts: all\n  vars_files: [bad-vars.yml]\n  tasks:\n    - debug: { var: x }\n'),
      },
      playbook: 'uses-vars.yml',
      at: 'bad-vars.yml:1:5',
    },
    {
      name: 'a template',
      files: {
        'templates/bad.j2': Buffer.from('line one\nhello \xff\xfe world\n', 'latin1'),
        'uses-tpl.yml': Buffer.from(`- hosts: all\n  tasks:\n    - template: { src: bad.j2, dest: ${'/tmp/never-written-kiln-c'} }\n`),
      },
      playbook: 'uses-tpl.yml',
      at: 'bad.j2:2:7',
    },
  ];
  for (const c of cases) {
    it(`${c.name}: exit 2 at the first bad byte, under validate and apply`, () => {
      for (const [f, b] of Object.entries(c.files)) {
        mkdirSync(join(work, f, '..'), { recursive: true });
        writeFileSync(join(work, f), b);
      }
      for (const cmd of ['validate', 'apply']) {
        const r = kiln([cmd, join(work, c.playbook), '-i', inv]);
        expect(r.code, r.output).toBe(2);
        expect(r.output).toContain(`${c.at}: this `);
        expect(r.output).toContain('is not valid UTF-8');
        expect(r.output).not.toContain('\ufffd');
      }
      expect(existsSync('/tmp/never-written-kiln-c')).toBe(false);
    });
  }

  it('an INI inventory that is not UTF-8', () => {
    const ini = join(work, 'bad.ini');
    writeFileSync(ini, Buffer.from(`loop1 address=127.0.0.1 port=${sshd.port} note=caf\xe9\n`, 'latin1'));
    writeFileSync(join(work, 'ok.yml'), '- hosts: all\n  tasks:\n    - debug: { msg: hi }\n');
    const r = kiln(['validate', join(work, 'ok.yml'), '-i', ini]);
    expect(r.code, r.output).toBe(2);
    expect(r.output).toMatch(/bad\.ini:1:\d+: this file is not valid UTF-8: byte 0xe9/);
  });
});
