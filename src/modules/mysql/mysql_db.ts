/**
 * `mysql_db`: a MariaDB/MySQL database, present (with charset and collation) or absent.
 *
 * Probe: information_schema.SCHEMATA through the local client over the unix socket (become).
 * When the server is not installed or not running yet (an earlier task only predicted its
 * install in a dry run), the plan says so and flags its change as unpredictable.
 *
 * state dump / import (community.mysql's meaning): dump writes `mariadb-dump` of the database
 * (or of all, name: all) to `target`, compressed by its extension (.gz, .bz2, .xz); import loads
 * `target` (decompressed likewise) with --one-database, creating the database first when it is
 * missing. Neither is idempotent: both report changed on every run and in --check, as the module
 * does. A dump is written to a temp file beside the target and renamed into place (never a half
 * file, and a failing mariadb-dump fails the task even when compressing); a missing database
 * (dump) or target file (import) fails the plan.
 *
 * Invariants: the name is a SQL string literal in the probe and a quoted identifier in apply;
 * `apply` builds its SQL from the typed ops alone (never from summaries), one statement per run.
 */
import {
  applySql,
  FIND_CLIENT,
  loginOf,
  loginSetup,
  ident,
  notReachable,
  parseLines,
  parseServer,
  probeFrame,
  runSql,
  type ServerProbe,
  sqlString,
  unescapeBatch,
  unknownState,
  LOGIN_PROPERTIES,
} from './sql.ts';
import { q } from '../../sh/quote.ts';
import { defineModule, type ExecResult, type FromSchema, type ModuleContext, type Planned } from '../contract.ts';

const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: {
    name: {
      type: 'string',
      minLength: 1,
      maxLength: 64,
      pattern: '^[^/\\\\.\\n]+$',
      description: 'database name (all: every database, with state dump or import)',
    },
    state: {
      enum: ['present', 'absent', 'dump', 'import'],
      description:
        'present (default), absent (DROP DATABASE: its data is lost), dump (write it to target) or import (load target into it); dump and import run on every run (changed), as in Ansible',
    },
    target: {
      type: 'string',
      minLength: 1,
      pattern: '^/[^\\n]*$',
      description: 'dump/import: the SQL file on the host (absolute path); .gz, .bz2 or .xz is (de)compressed with gzip, bzip2 or xz',
    },
    ...LOGIN_PROPERTIES,
    single_transaction: { type: 'boolean', description: 'dump: --single-transaction=true (a consistent InnoDB snapshot)' },
    quick: { type: 'boolean', description: 'dump: --quick (default true: rows are streamed, not buffered)' },
    skip_lock_tables: { type: 'boolean', description: 'dump: --skip-lock-tables' },
    hex_blob: { type: 'boolean', description: 'dump: --hex-blob (binary columns in hex)' },
    force: { type: 'boolean', description: 'dump: --force (go on after an SQL error); import: -f' },
    master_data: { enum: [0, 1, 2], description: 'dump: --master-data=1|2 (the binary log position, as a statement or a comment)' },
    ignore_tables: {
      type: 'array',
      items: { type: 'string', pattern: '^[^.\\s]+\\.[^.\\s]+$' },
      description: 'dump: tables to leave out, as db.table (--ignore-table)',
    },
    encoding: {
      type: 'string',
      pattern: '^[A-Za-z0-9_]+$',
      description: 'default character set, e.g. utf8mb4 (an existing database is altered when it differs)',
    },
    collation: {
      type: 'string',
      pattern: '^[A-Za-z0-9_]+$',
      description: 'default collation, e.g. utf8mb4_unicode_ci (altered when it differs)',
    },
  },
} as const;

export type MysqlDbParams = FromSchema<typeof schema>;

/** What apply does: CREATE (with charset/collation), DROP, or ALTER one attribute (one ALTER for all). */
export type MysqlDbOp =
  | { kind: 'create' }
  | { kind: 'drop' }
  | { kind: 'alter'; attribute: 'charset' | 'collation' }
  | { kind: 'dump' }
  | { kind: 'import'; create: boolean };

export interface MysqlDbState extends ServerProbe {
  exists: boolean;
  encoding?: string;
  collation?: string;
  /** import: does target exist on the host? */
  targetExists?: boolean;
}

const isAll = (p: MysqlDbParams) => p.name === 'all' && (p.state === 'dump' || p.state === 'import');

/** The (de)compressor a target's extension names, as community.mysql picks it. */
export function compressorOf(target: string): 'gzip' | 'bzip2' | 'xz' | undefined {
  return target.endsWith('.gz') ? 'gzip' : target.endsWith('.bz2') ? 'bzip2' : target.endsWith('.xz') ? 'xz' : undefined;
}

export function mysqlDbProbe(p: MysqlDbParams): string {
  const sql = `SELECT CONCAT('db=', DEFAULT_CHARACTER_SET_NAME, '\\t', DEFAULT_COLLATION_NAME) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ${sqlString(p.name)};`;
  const target = p.state === 'import' && p.target ? `\nif [ -f ${q(p.target)} ]; then echo target=1; else echo target=0; fi` : '';
  return `${probeFrame(runSql(sql), loginOf(p))}${target}`;
}

export function mysqlDbParse(out: ExecResult): MysqlDbState {
  const { kv, all } = parseLines(out.stdout);
  const server = parseServer(kv, all.mysql_error ?? []);
  const targetExists = kv.target === undefined ? undefined : kv.target === '1';
  if (server.server !== 'up' || kv.db === undefined) return { ...server, exists: false, targetExists };
  const [encoding, collation] = unescapeBatch(kv.db).split('\t');
  return { ...server, exists: true, encoding, collation, targetExists };
}

export function mysqlDbPlan(p: MysqlDbParams, _prep: undefined, s: MysqlDbState, _ctx?: ModuleContext): Planned<MysqlDbOp>[] {
  const state = p.state ?? 'present';
  if (state === 'dump' || state === 'import') return dumpImportPlan(p, state, s, _ctx?.check ?? false);
  if (p.target !== undefined) throw new Error(`target: only with state dump or import (state is ${state})`);
  if (p.name === 'all') throw new Error("name is not allowed to equal 'all' unless state equals import, or dump.");
  if (unknownState(s)) {
    // Nothing can exist on a server that is not installed; a stopped one may hold anything.
    if (state === 'absent')
      return s.server === 'missing'
        ? []
        : [{ summary: `drop database ${p.name} (${notReachable(s)})`, unpredictable: true, op: { kind: 'drop' } }];
    return [{ summary: `create database ${p.name}${describeOpts(p)} (${notReachable(s)})`, unpredictable: true, op: { kind: 'create' } }];
  }
  if (state === 'absent') return s.exists ? [{ summary: `drop database ${p.name}`, op: { kind: 'drop' } }] : [];
  if (!s.exists) return [{ summary: `create database ${p.name}${describeOpts(p)}`, op: { kind: 'create' } }];
  const out: Planned<MysqlDbOp>[] = [];
  if (p.encoding && p.encoding.toLowerCase() !== s.encoding?.toLowerCase()) {
    out.push({
      summary: `character set of database ${p.name}: ${s.encoding} → ${p.encoding}`,
      op: { kind: 'alter', attribute: 'charset' },
    });
  }
  if (p.collation && p.collation.toLowerCase() !== s.collation?.toLowerCase()) {
    out.push({
      summary: `collation of database ${p.name}: ${s.collation} → ${p.collation}`,
      op: { kind: 'alter', attribute: 'collation' },
    });
  }
  return out;
}

function dumpImportPlan(p: MysqlDbParams, state: 'dump' | 'import', s: MysqlDbState, check: boolean): Planned<MysqlDbOp>[] {
  if (p.target === undefined) throw new Error(`with state=${state} target is required`);
  const what = isAll(p) ? 'all databases' : `database ${p.name}`;
  const z = compressorOf(p.target);
  const how = z ? ` (${z})` : '';
  if (state === 'dump') {
    if (unknownState(s))
      return [
        { summary: `dump ${what} to ${p.target}${how} (${notReachable(s)})`, action: true, unpredictable: true, op: { kind: 'dump' } },
      ];
    if (!isAll(p) && !s.exists) throw new Error(`Cannot dump database(s) '${p.name}' - not found`);
    return [{ summary: `dump ${what} to ${p.target}${how}`, action: true, op: { kind: 'dump' } }];
  }
  if (s.targetExists === false && !check) throw new Error(`target ${p.target} does not exist on the host`);
  const create = !isAll(p) && !s.exists;
  const summary = `${create ? `create database ${p.name}${describeOpts(p)}, then ` : ''}import ${p.target}${how} into ${what}`;
  if (unknownState(s))
    return [{ summary: `${summary} (${notReachable(s)})`, action: true, unpredictable: true, op: { kind: 'import', create: !isAll(p) } }];
  // --check: the file may come from an earlier task of the run (Ansible's check mode does not look).
  if (s.targetExists === false)
    return [{ summary: `${summary} (${p.target} is not there yet)`, action: true, unpredictable: true, op: { kind: 'import', create } }];
  return [{ summary, action: true, op: { kind: 'import', create } }];
}

/** Shell for a dump or an import (after FIND_CLIENT; set -e). */
export function dumpImportShell(p: MysqlDbParams, op: { kind: 'dump' } | { kind: 'import'; create: boolean }): string {
  const target = p.target!;
  const z = compressorOf(target);
  const db = isAll(p) ? '--all-databases' : q(p.name);
  const enc = p.encoding ? ` --default-character-set=${q(p.encoding)}` : '';
  // As the module's get_bin_path(…, required=True): say which program is missing before anything runs.
  const need = z ? [`command -v ${z} >/dev/null 2>&1 || { echo "Failed to find required executable ${z}" >&2; exit 3; }`] : [];
  if (op.kind === 'dump') {
    const flags = [
      p.force ? '--force' : '',
      p.skip_lock_tables ? '--skip-lock-tables' : '',
      enc.trim(),
      p.single_transaction ? '--single-transaction=true' : '',
      (p.quick ?? true) ? '--quick' : '',
      ...(p.ignore_tables ?? []).map((t) => `--ignore-table=${q(t)}`),
      p.hex_blob ? '--hex-blob' : '',
      p.master_data ? `--master-data=${p.master_data}` : '',
    ]
      .filter(Boolean)
      .join(' ');
    return [
      ...need,
      'kiln_dump=$(command -v mariadb-dump 2>/dev/null || command -v mysqldump)',
      `kiln_tmp=$(mktemp ${q(`${target}.kiln-XXXXXX`)})`,
      `trap 'rm -f "$kiln_tmp" "$kiln_tmp.z"${loginOf(p) ? '; if [ -n "$kiln_lt" ]; then rm -rf "$kiln_lt"; fi' : ''}' EXIT`,
      // The dump and the compression are separate steps: a failing dump fails the task.
      // With a login, the dump client reads the same option file (the login's, first).
      `"$kiln_dump" \${kiln_lt:+"--defaults-extra-file=$kiln_lt/login.cnf"} --protocol=socket ${flags} ${db} > "$kiln_tmp"`,
      ...(z ? [`${z} -c < "$kiln_tmp" > "$kiln_tmp.z"`, 'mv -f "$kiln_tmp.z" "$kiln_tmp"'] : []),
      // As the module's shell redirection creates it: 0666 less the umask.
      'chmod "$(printf %o $((0666 & ~0$(umask))))" "$kiln_tmp"',
      `mv -f "$kiln_tmp" ${q(target)}`,
    ].join('\n');
  }
  const client = `"$kiln_my" --protocol=socket${p.force ? ' -f' : ''}${enc}${isAll(p) ? '' : ` --one-database ${q(p.name)}`}`;
  return [
    ...need,
    ...(op.create ? [runSql(`CREATE DATABASE IF NOT EXISTS ${ident(p.name)}${specSql(p)};`).trimEnd()] : []),
    // The archive is tested first: a broken one must not feed half a dump to the client.
    ...(z ? [`${z} -t ${q(target)}`, `${z} -dc ${q(target)} | ${client}`] : [`${client} < ${q(target)}`]),
  ].join('\n');
}

function describeOpts(p: MysqlDbParams): string {
  const o = [p.encoding ? `character set ${p.encoding}` : '', p.collation ? `collation ${p.collation}` : ''].filter(Boolean);
  return o.length ? ` (${o.join(', ')})` : '';
}

function specSql(p: MysqlDbParams): string {
  return `${p.encoding ? ` CHARACTER SET ${p.encoding}` : ''}${p.collation ? ` COLLATE ${p.collation}` : ''}`;
}

/**
 * The statements for the planned ops (pure; unit-tested). ALTER states both attributes the task
 * names, once, whichever of them differ.
 */
export function mysqlDbSql(p: MysqlDbParams, ops: MysqlDbOp[]): string[] {
  const db = ident(p.name);
  const sql: string[] = [];
  for (const op of ops) {
    switch (op.kind) {
      case 'drop':
        sql.push(`DROP DATABASE IF EXISTS ${db};`);
        break;
      case 'create':
        sql.push(`CREATE DATABASE IF NOT EXISTS ${db}${specSql(p)};`);
        break;
      case 'alter': {
        const stmt = `ALTER DATABASE ${db}${specSql(p)};`;
        if (!sql.includes(stmt)) sql.push(stmt);
        break;
      }
    }
  }
  return sql;
}

export default defineModule<MysqlDbParams, MysqlDbState, MysqlDbOp>({
  name: 'mysql_db',
  description: 'Create or drop a MariaDB/MySQL database, with its character set and collation (SQL over the local unix socket).',
  schema,
  probe: (p) => mysqlDbProbe(p),
  parse: (out) => mysqlDbParse(out),
  plan: mysqlDbPlan,
  apply: (p, _prep, _s, ops) => {
    const op = ops[0];
    if (op?.kind === 'dump' || op?.kind === 'import')
      return [
        'set -e',
        FIND_CLIENT,
        '[ -n "$kiln_my" ] || { echo "no mariadb or mysql client on this host" >&2; exit 3; }',
        loginSetup(loginOf(p)),
        dumpImportShell(p, op),
      ].join('\n');
    return applySql(mysqlDbSql(p, ops).join('\n'), loginOf(p));
  },
  registerAfterApply: true,
  registerData: (p, _prep, s) => ({
    name: p.name,
    exists: s.exists,
    encoding: s.encoding ?? null,
    collation: s.collation ?? null,
    server_version: s.version?.raw ?? null,
  }),
});
