/**
 * mysql_query's values typed by column, as community.mysql returns them (MySQLdb's conversions):
 * the registered result of Kiln's apply output, recorded on a MariaDB 10.11 lab host, equals
 * Ansible's for the same query (fixtures/query-types.json, test/fixtures/ansible/mysql-query-types.yml).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import mysqlQuery, { type MysqlQueryParams, typesSql } from '../../../../src/modules/mysql/mysql_query.ts';
import { driverValue } from '../../../../src/modules/mysql/xml.ts';
import { PyFloat } from '../../../../src/template/jinja/value.ts';
import { ctx } from '../helpers.ts';

const dir = join(import.meta.dirname, 'fixtures');
const ANSIBLE = JSON.parse(readFileSync(join(dir, 'query-types.json'), 'utf8')) as Record<string, Record<string, unknown>>;
const APPLY = readFileSync(join(dir, 'query-types-apply.txt'), 'utf8');

/** Python's json: a float is written with its point (1.0). */
const pyJson = (v: unknown): unknown =>
  v instanceof PyFloat
    ? `float:${v.value}`
    : Array.isArray(v)
      ? v.map(pyJson)
      : v && typeof v === 'object'
        ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, pyJson(x)]))
        : v;

describe('mysql_query column types', () => {
  it("the recorded apply output registers exactly Ansible's query_result: '0012' in a CHAR stays text, INT is a number, DOUBLE a float, DATETIME isoformat", () => {
    const q = (ANSIBLE.q!.executed_queries as string[])[0]!;
    const p: MysqlQueryParams = { query: [q] };
    const bound = mysqlQuery.bind(p as Record<string, unknown>, ctx() as never);
    const res = bound.interpret!({ stdout: APPLY, stderr: '', code: 0 }, ctx());
    const want = (ANSIBLE.q!.query_result as Record<string, unknown>[][]).map((rows) =>
      rows.map((r) => ({ ...r, f: `float:${r.f as number}` })),
    );
    expect(pyJson(res.result!.query_result)).toEqual(want);
    expect(res.result!.rowcount).toEqual(ANSIBLE.q!.rowcount);
    expect(res.changed).toBe(false);
  });

  it('the types statement never reads a row (SELECT … LIMIT 0) and is only made for queries that return rows', () => {
    expect(typesSql('SELECT a FROM t WHERE b = 1;')).toBe('SELECT * FROM (SELECT a FROM t WHERE b = 1) AS kiln_types LIMIT 0;');
    expect(typesSql('show master status')).toBe('show master status;');
    expect(typesSql('UPDATE t SET a = 1')).toBeUndefined();
    expect(typesSql('INSERT INTO t SELECT 1')).toBeUndefined();
  });

  it('values by type; without a type the old rule (an integer text is an int)', () => {
    expect(driverValue('0012', 'VAR_STRING')).toBe('0012');
    expect(driverValue('0012', 'LONG')).toBe(12);
    expect(driverValue('12345678901234567890', 'LONGLONG')).toBe('12345678901234567890');
    expect(driverValue('2024-01-02 03:04:05.12', 'DATETIME')).toBe('2024-01-02T03:04:05.120000');
    expect(driverValue('1.50', 'NEWDECIMAL')).toBe('1.50');
    expect(driverValue(null, 'LONG')).toBeNull();
    expect(driverValue('0012', undefined)).toBe(12);
  });
});
