/**
 * The Ansible oracle of the inspect modules (test/fixtures/inspect/oracle.json, made by its
 * generate.py with ansible-core 2.14 on the tree tree.sh builds), and a temp dir with that tree.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PyFloat } from '../../../../src/template/jinja/value.ts';

const FIXTURES = join(import.meta.dirname, '../../../fixtures/inspect');

export interface OracleCase {
  module: string;
  args: string;
  result: Record<string, unknown>;
}

export const oracle: Record<string, OracleCase> = JSON.parse(readFileSync(join(FIXTURES, 'oracle.json'), 'utf8'));

/** A fresh temp dir holding the oracle's tree. */
export function oracleTree(): string {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-inspect-'));
  const r = spawnSync('sh', [join(FIXTURES, 'tree.sh'), dir], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tree.sh: ${r.stderr}`);
  return dir;
}

/** An oracle case's args (`k=v k=v`) with @DIR@ replaced, as module params (booleans as booleans). */
export function oracleArgs(c: OracleCase, dir: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const kv of c.args.split(' ')) {
    const i = kv.indexOf('=');
    const v = kv.slice(i + 1).replace('@DIR@', dir);
    out[kv.slice(0, i)] = v === 'true' ? true : v === 'false' ? false : v;
  }
  return out;
}

/** A value's JSON type as Python would have it ('float' for PyFloat and non-integral numbers). */
export function pyType(v: unknown): string {
  if (v instanceof PyFloat) return 'float';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'list';
  return typeof v;
}

/** The oracle result with @DIR@ replaced by `dir`. */
export function oracleResult(c: OracleCase, dir: string): Record<string, unknown> {
  return JSON.parse(JSON.stringify(c.result).replaceAll('@DIR@', dir));
}
