/**
 * mysql_db state dump / import (community.mysql's meaning): changed on every run and in --check,
 * a missing database (dump) or target (import) refused as the module does, compression by the
 * target's extension, the dump renamed into place, an archive tested before it is imported.
 */
import { describe, expect, it } from 'vitest';
import {
  compressorOf,
  dumpImportShell,
  type MysqlDbParams,
  mysqlDbParse,
  mysqlDbPlan,
  mysqlDbProbe,
  type MysqlDbState,
} from '../../../../src/modules/mysql/mysql_db.ts';
import { ctx, shSyntax } from '../helpers.ts';

const out = (stdout: string) => mysqlDbParse({ stdout, stderr: '', code: 0 });
const exists = out('mysql=up\nversion=10.11.19-MariaDB\ndb=utf8mb4\\tutf8mb4_general_ci\n');
const missing = out('mysql=up\nversion=10.11.19-MariaDB\n');
const plan = (p: MysqlDbParams, s: MysqlDbState, check = false) => mysqlDbPlan(p, undefined, s, ctx({ check }));

describe('mysql_db dump and import', () => {
  it('dump: an action on every run; a missing database fails as in Ansible; all databases', () => {
    const p: MysqlDbParams = { name: 'app', state: 'dump', target: '/srv/app.sql.xz' };
    expect(plan(p, exists).map((c) => [c.summary, c.action])).toEqual([['dump database app to /srv/app.sql.xz (xz)', true]]);
    expect(() => plan(p, missing)).toThrow("Cannot dump database(s) 'app' - not found");
    expect(plan({ name: 'all', state: 'dump', target: '/srv/all.sql' }, missing)[0]!.summary).toBe('dump all databases to /srv/all.sql');
    expect(() => plan({ name: 'app', state: 'dump' }, exists)).toThrow('with state=dump target is required');
    expect(() => plan({ name: 'app', target: '/x.sql' }, exists)).toThrow(/target: only with state dump or import/);
    expect(() => plan({ name: 'all' }, exists)).toThrow(/name is not allowed to equal 'all'/);
  });

  it('dump shell: options, a temp file beside the target, compression after the dump, renamed into place', () => {
    const p: MysqlDbParams = {
      name: 'app',
      state: 'dump',
      target: '/srv/app.sql.gz',
      single_transaction: true,
      ignore_tables: ['app.log'],
    };
    const sh = dumpImportShell(p, { kind: 'dump' });
    expect(sh).toContain(`--single-transaction=true --quick --ignore-table='app.log' 'app' > "$kiln_tmp"`);
    expect(sh).toContain('gzip -c < "$kiln_tmp" > "$kiln_tmp.z"');
    expect(sh).toMatch(/mv -f "\$kiln_tmp" '\/srv\/app\.sql\.gz'$/);
    expect(shSyntax(sh)).toBe('');
  });

  it('import: creates a missing database first, tests and decompresses the archive, --one-database', () => {
    const probe = out('mysql=up\nversion=10.11.19-MariaDB\ntarget=1\n');
    const p: MysqlDbParams = { name: 'app', state: 'import', target: '/srv/app.sql.bz2', encoding: 'utf8mb4' };
    const changes = plan(p, probe);
    expect(changes.map((c) => c.summary)).toEqual([
      'create database app (character set utf8mb4), then import /srv/app.sql.bz2 (bzip2) into database app',
    ]);
    const sh = dumpImportShell(p, changes[0]!.op as { kind: 'import'; create: boolean });
    expect(sh).toContain('CREATE DATABASE IF NOT EXISTS `app` CHARACTER SET utf8mb4;');
    expect(sh).toContain(
      `bzip2 -t '/srv/app.sql.bz2'\nbzip2 -dc '/srv/app.sql.bz2' | "$kiln_my" --protocol=socket --default-character-set='utf8mb4' --one-database 'app'`,
    );
    expect(shSyntax(sh)).toBe('');
    expect(shSyntax(mysqlDbProbe(p))).toBe('');
    expect(mysqlDbProbe(p)).toContain("if [ -f '/srv/app.sql.bz2' ]; then echo target=1");
  });

  it('import of a missing target: fails the run, unpredictable in --check (an earlier task may make it)', () => {
    const gone = out('mysql=up\nversion=10.11.19-MariaDB\ndb=utf8mb4\\tutf8mb4_general_ci\ntarget=0\n');
    const p: MysqlDbParams = { name: 'app', state: 'import', target: '/srv/app.sql' };
    expect(() => plan(p, gone)).toThrow('target /srv/app.sql does not exist on the host');
    expect(plan(p, gone, true)).toMatchObject([
      { unpredictable: true, summary: 'import /srv/app.sql into database app (/srv/app.sql is not there yet)' },
    ]);
  });

  it('compressors by extension', () => {
    expect([compressorOf('/a.gz'), compressorOf('/a.bz2'), compressorOf('/a.xz'), compressorOf('/a.sql')]).toEqual([
      'gzip',
      'bzip2',
      'xz',
      undefined,
    ]);
  });
});
