import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { FACTS_SCRIPT, parseFacts } from '../../../../src/facts/facts.ts';
import { MYSQL_FACTS_SCRIPT, parseMysqlFacts } from '../../../../src/modules/mysql/facts.ts';
import { parseKv } from '../../../../src/sh/kv.ts';

describe('kiln facts: mysql section', () => {
  it('is valid sh', () => {
    expect(spawnSync('sh', ['-n'], { input: FACTS_SCRIPT, encoding: 'utf8' }).status).toBe(0);
  });
  it('shows version, read_only and the replica lag', () => {
    const f = parseFacts(
      [
        'mysql_version=10.11.19-MariaDB-0+deb12u1-log',
        'mysql_read_only=ON',
        'mysql_replica_source=10.77.0.31:3306',
        'mysql_io_running=Yes',
        'mysql_sql_running=Yes',
        'mysql_seconds_behind_master=2',
        'mysql_gtid_io_pos=0-31-40',
      ].join('\n'),
    );
    expect(f.mysql).toEqual({
      version: '10.11.19-MariaDB-0+deb12u1-log',
      read_only: true,
      replica: { source: '10.77.0.31:3306', io_running: 'Yes', sql_running: 'Yes', seconds_behind_master: 2, gtid_io_pos: '0-31-40' },
    });
  });
  it('a primary has no replica part; a stopped replica has no lag; no server, no section', () => {
    expect(parseFacts('mysql_version=10.11.19-MariaDB\nmysql_read_only=OFF\n').mysql).toEqual({
      version: '10.11.19-MariaDB',
      read_only: false,
    });
    expect(
      (
        parseFacts('mysql_version=x\nmysql_io_running=No\nmysql_seconds_behind_master=NULL\n').mysql as {
          replica: { seconds_behind_master: unknown };
        }
      ).replica.seconds_behind_master,
    ).toBeNull();
    expect(parseFacts('hostname=web1\n').mysql).toBeUndefined();
  });
  it('comes from the mysql modules folder: the facts script ends with its fragment, parseFacts uses its parser', () => {
    expect(FACTS_SCRIPT.endsWith(MYSQL_FACTS_SCRIPT)).toBe(true);
    expect(spawnSync('sh', ['-n'], { input: MYSQL_FACTS_SCRIPT, encoding: 'utf8' }).status).toBe(0);
    const out = 'hostname=db2\nmysql_version=10.11.19-MariaDB\nmysql_read_only=1\nmysql_io_running=Yes\nmysql_seconds_behind_master=0\n';
    expect(parseFacts(out).mysql).toEqual(parseMysqlFacts(parseKv(out)));
    expect(parseMysqlFacts(parseKv('hostname=web1\n'))).toBeUndefined();
  });
});
