/**
 * A template whose `src` is itself templated is only read at apply time (the path is known once
 * the host's vars are): it gets the same input size limit and strict UTF-8 as every other input,
 * a located error, and the host's file is never written. Real OpenSSH server on loopback.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kiln } from '../helpers/kiln.ts';
import { startSshd, type TestSshd, writeSshdInventory } from '../helpers/sshd.ts';

let sshd: TestSshd;
let work: string;
let inv: string;

beforeAll(async () => {
  sshd = await startSshd();
  work = mkdtempSync(join(tmpdir(), 'kiln-tsrc-'));
  mkdirSync(join(work, 'inv'));
  inv = writeSshdInventory(sshd, join(work, 'inv'), { loop1: {} });
  mkdirSync(join(work, 'templates'));
  writeFileSync(join(work, 'templates', 'big.j2'), `${'x'.repeat(2000)}\n`);
  writeFileSync(join(work, 'templates', 'small.j2'), 'hello {{ who }}\n');
}, 30000);

afterAll(async () => {
  await sshd?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

const playbook = (name: string, dest: string) => {
  const pb = join(work, `${name}.yml`);
  writeFileSync(
    pb,
    `- hosts: all\n  gather_facts: false\n  vars: { t: ${name}, who: world }\n  tasks:\n    - template: { src: "{{ t }}.j2", dest: ${dest} }\n`,
  );
  return pb;
};

describe('a templated template src at apply', () => {
  it('past the input limit: a located error naming the template, nothing written', () => {
    const dest = join(work, 'out-big.txt');
    const r = kiln(['apply', playbook('big', dest), '-i', inv], { env: { KILN_MAX_INPUT_BYTES: '1000' } });
    expect(r.code, r.output).not.toBe(0);
    expect(r.output).toMatch(/templates\/big\.j2:1:1: file is 2\.0 KiB \(2001 bytes\): larger than Kiln's input limit of 1000 bytes/);
    expect(existsSync(dest)).toBe(false);
  });

  it('under the limit it is rendered as before', () => {
    const dest = join(work, 'out-small.txt');
    const r = kiln(['apply', playbook('small', dest), '-i', inv], { env: { KILN_MAX_INPUT_BYTES: '1000' } });
    expect(r.code, r.output).toBe(0);
    expect(existsSync(dest)).toBe(true);
  });
});
