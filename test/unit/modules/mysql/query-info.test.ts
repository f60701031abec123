import { describe, expect, it } from 'vitest';
import mysqlQuery, { changedBy, querySql, queryResult, substitute } from '../../../../src/modules/mysql/mysql_query.ts';
import { infoSql, mysqlInfoResult, type MysqlInfoState, wantedSubsets } from '../../../../src/modules/mysql/mysql_info.ts';
import { parseResultSets } from '../../../../src/modules/mysql/xml.ts';
import { Secret } from '../../../../src/core/secret/secret.ts';
import { ctx, shSyntax } from '../helpers.ts';

const rs = (statement: string, rows: Record<string, string | null>[]) =>
  `<?xml version="1.0"?>\n\n<resultset statement="${statement}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">${rows
    .map(
      (r) =>
        `\n  <row>\n${Object.entries(r)
          .map(([k, v]) => (v === null ? `\t<field name="${k}" xsi:nil="true" />` : `\t<field name="${k}">${v}</field>`))
          .join('\n')}\n  </row>`,
    )
    .join('')}\n</resultset>\n`;

describe('mysql XML output', () => {
  it('reads rows, NULLs, entities and multi-line values', () => {
    const xml = `${rs('SELECT 1', [{ a: '1', b: null, c: 'a&lt;b&amp;&quot;c', d: 'x\ny' }])}${rs('SHOW SLAVE STATUS', [])}`;
    expect(parseResultSets(xml)).toEqual([
      { statement: 'SELECT 1', rows: [{ a: '1', b: null, c: 'a<b&"c', d: 'x\ny' }] },
      { statement: 'SHOW SLAVE STATUS', rows: [] },
    ]);
  });
});

describe('mysql_query', () => {
  it('substitutes arguments as PyMySQL does', () => {
    expect(substitute('SELECT %s, %s, %s, %s, 100%%', { query: '', positional_args: ["it's", 3, null, true] })).toBe(
      "SELECT 'it\\'s', 3, NULL, 1, 100%",
    );
    expect(substitute('SELECT %(a)s', { query: '', named_args: { a: 'x' } })).toBe("SELECT 'x'");
    expect(substitute('SELECT 100%', { query: '' })).toBe('SELECT 100%');
    expect(() => substitute('SELECT %s', { query: '', positional_args: [1, 2] })).toThrow(/not all arguments converted/);
    expect(() => substitute('SELECT %(b)s', { query: '', named_args: { a: 1 } })).toThrow(/named_args has no "b"/);
  });
  it('a secret argument reaches the SQL (on stdin) only', () => {
    const sql = querySql({ query: 'SET PASSWORD = PASSWORD(%s)', positional_args: [new Secret('pw-s3cret-9') as unknown as string] });
    expect(sql).toContain("PASSWORD('pw-s3cret-9')");
    const script = mysqlQuery.apply({ query: 'SELECT %s', positional_args: ['x'] }, undefined, { server: 'up' }, [{ kind: 'run' }], ctx());
    expect(shSyntax(script)).toBe('');
    expect(script).toMatch(/<<'KILN_SQL_[0-9a-f]{12}'/);
  });
  it('wraps each query between a marker and ROW_COUNT(), in one transaction when asked', () => {
    expect(querySql({ query: ['SELECT 1;', 'DELETE FROM t'], login_db: 'app', single_transaction: true }).split('\n')).toEqual([
      'USE `app`;',
      'SET autocommit = 0;',
      'START TRANSACTION;',
      'SELECT 0 AS kiln_query_start;',
      'SELECT 1;',
      'SELECT ROW_COUNT() AS kiln_rowcount;',
      'SELECT 1 AS kiln_query_start;',
      'DELETE FROM t;',
      'SELECT ROW_COUNT() AS kiln_rowcount;',
      'COMMIT;',
    ]);
  });
  it('is changed as community.mysql decides: DML with rows affected, any DDL', () => {
    expect(changedBy('insert into t values (1)', 1)).toBe(true);
    expect(changedBy('UPDATE t SET a=1', 0)).toBe(false);
    expect(changedBy('SELECT 1', 5)).toBe(false);
    expect(changedBy('CREATE TABLE IF NOT EXISTS t (a int)', 0)).toBe(true);
  });
  it("reads the results back in Ansible's shape", () => {
    const xml = [
      rs('SELECT 0 AS kiln_query_start', [{ kiln_query_start: '0' }]),
      rs('SELECT a', [
        { a: '1', b: 'x' },
        { a: '2', b: null },
      ]),
      rs('SELECT ROW_COUNT() AS kiln_rowcount', [{ kiln_rowcount: '-1' }]),
      rs('SELECT 1 AS kiln_query_start', [{ kiln_query_start: '1' }]),
      rs('SELECT ROW_COUNT() AS kiln_rowcount', [{ kiln_rowcount: '3' }]),
    ].join('');
    expect(queryResult({ query: ['SELECT a, b FROM t', 'DELETE FROM t'] }, xml)).toEqual({
      result: {
        executed_queries: ['SELECT a, b FROM t', 'DELETE FROM t'],
        query_result: [
          [
            { a: 1, b: 'x' },
            { a: 2, b: null },
          ],
          [],
        ],
        rowcount: [2, 3],
      },
      changed: true,
      done: 2,
    });
  });
  it('is an unpredictable action on every run', () => {
    const [c] = mysqlQuery.plan({ query: 'SELECT 1', login_db: 'app' }, undefined, { server: 'up' }, ctx());
    expect(c).toMatchObject({ summary: 'run SQL: SELECT 1 in app', action: true, unpredictable: true });
  });
});

describe('mysql_info', () => {
  it('selects subsets as Ansible does (includes win, ! excludes, unknown ignored)', () => {
    expect(wantedSubsets(['version', '!users'])).toEqual({ wanted: ['version'], ignored: [] });
    expect(wantedSubsets(['!settings', '!users', 'bogus']).wanted).toEqual([
      'version',
      'databases',
      'global_status',
      'engines',
      'master_status',
      'slave_hosts',
      'slave_status',
    ]);
    expect(wantedSubsets(['bogus']).ignored).toEqual(['bogus']);
    expect(infoSql({}, ['version', 'settings'])).toBe('SHOW GLOBAL VARIABLES;');
  });
  it("builds Ansible's result from the server's answers", () => {
    const sizeSql =
      'SELECT table_schema AS "name", SUM(data_length + index_length) AS "size" FROM information_schema.TABLES GROUP BY table_schema';
    const xml = [
      rs('SHOW GLOBAL VARIABLES', [
        { Variable_name: 'version', Value: '10.11.6-MariaDB-0+deb12u1' },
        { Variable_name: 'max_connections', Value: '151' },
        { Variable_name: 'datadir', Value: '/var/lib/mysql/' },
      ]),
      rs(sizeSql.replace(/"/g, '&quot;'), [
        { name: 'app', size: '16384' },
        { name: 'empty_views', size: null },
      ]),
      rs('SHOW DATABASES', [{ Database: 'app' }, { Database: 'new' }]),
      rs('SHOW ENGINES', [{ Engine: 'InnoDB', Support: 'DEFAULT', Transactions: 'YES', XA: 'YES', Savepoints: 'YES', Comment: 'x' }]),
      rs('SELECT * FROM mysql.user', [{ Host: 'localhost', User: 'root', max_connections: '0', plugin: 'unix_socket' }]),
      rs('SHOW MASTER STATUS', [{ File: 'mysql-bin.000002', Position: '344', Binlog_Do_DB: '', Binlog_Ignore_DB: '' }]),
      rs('SHOW SLAVE STATUS', [
        { Master_Host: 'db1', Master_Port: '3306', Master_User: 'repl', Seconds_Behind_Master: '0', Last_Error: '' },
      ]),
    ].join('');
    const s: MysqlInfoState = { server: 'up', sets: parseResultSets(xml), ...wantedSubsets([]) };
    const r = mysqlInfoResult({ return_empty_dbs: true }, s);
    expect(r.version).toEqual({ major: 10, minor: 11, release: 6, suffix: 'MariaDB-0+deb12u1', full: '10.11.6-MariaDB-0+deb12u1' });
    expect(r.settings).toEqual({ version: '10.11.6-MariaDB-0+deb12u1', max_connections: 151, datadir: '/var/lib/mysql/' });
    expect(r.databases).toEqual({ app: { size: 16384 }, empty_views: { size: 0 }, new: { size: 0 } });
    expect(r.engines).toEqual({ InnoDB: { Support: 'DEFAULT', Transactions: 'YES', XA: 'YES', Savepoints: 'YES', Comment: 'x' } });
    expect(r.users).toEqual({ localhost: { root: { max_connections: 0, plugin: 'unix_socket' } } });
    expect(r.master_status).toEqual({ File: 'mysql-bin.000002', Position: 344, Binlog_Do_DB: '', Binlog_Ignore_DB: '' });
    expect(r.slave_status).toEqual({ db1: { '3306': { repl: { Seconds_Behind_Master: 0, Last_Error: '' } } } });
    expect(r.slave_hosts).toEqual({});
    expect(r.global_status).toEqual({});
  });
});
