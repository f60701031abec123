/**
 * `mysql_info`: facts about the server, as community.mysql's mysql_info returns them (read-only).
 *
 * The subsets (version, databases, settings, global_status, engines, users, master_status,
 * slave_status, slave_hosts) are read in the probe, which rides the batched probe script (no
 * extra round trip); `filter` (with `!name` to exclude), `exclude_fields: [db_size]` and
 * `return_empty_dbs` mean what they mean in Ansible. Values are converted as the collection does
 * (an integer's text becomes an int; engines keep their text). Kiln connects as root over the
 * server's socket, like its other mysql modules: the login_* options are refused.
 */
import { sha256 } from '../../sh/bytes.ts';
import { fromB64 } from '../../sh/bytes.ts';
import { defineModule, type ExecResult, type FromSchema } from '../contract.ts';
import { ident, loginOf, parseLines, parseServer, probeFrame, type ServerProbe, LOGIN_PROPERTIES } from './sql.ts';
import { parseResultSets, type ResultSet, toInt, xmlSql } from './xml.ts';

export const SUBSETS = [
  'version',
  'databases',
  'settings',
  'global_status',
  'engines',
  'users',
  'master_status',
  'slave_hosts',
  'slave_status',
] as const;
type Subset = (typeof SUBSETS)[number];

const schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    filter: {
      type: ['string', 'array'],
      items: { type: 'string' },
      description: `subsets to return (default all): ${SUBSETS.join(', ')}; '!name' excludes one (a string is split on commas)`,
    },
    exclude_fields: {
      type: ['string', 'array'],
      items: { enum: ['db_size'] },
      description: 'fields to leave out: db_size (databases without their size)',
    },
    return_empty_dbs: { type: 'boolean', description: 'also list databases without tables (default false, as in Ansible)' },
    ...LOGIN_PROPERTIES,
    login_db: { type: 'string', minLength: 1, description: 'database to connect to (it must exist)' },
  },
} as const;

export type MysqlInfoParams = FromSchema<typeof schema>;

export interface MysqlInfoState extends ServerProbe {
  sets: ResultSet[];
  sqlError?: string;
  /** The subsets asked for (after filter), in Ansible's order. */
  wanted: Subset[];
  /** Filter elements Ansible warns about and ignores. */
  ignored: string[];
}

const list = (v: string | string[] | undefined): string[] =>
  v === undefined ? [] : typeof v === 'string' ? v.split(',').map((s) => s.trim()) : v;

/** Ansible's get_info: the subsets a filter selects (includes win over excludes), and the ignored elements. */
export function wantedSubsets(filter: string[]): { wanted: Subset[]; ignored: string[] } {
  const inc: string[] = [];
  const exc: string[] = [];
  const ignored: string[] = [];
  for (const f of filter.filter(Boolean)) {
    const name = f.replace(/^!+/, '');
    if (!(SUBSETS as readonly string[]).includes(name)) ignored.push(f);
    else if (f.startsWith('!')) exc.push(name);
    else inc.push(name);
  }
  const wanted = inc.length ? SUBSETS.filter((s) => inc.includes(s)) : SUBSETS.filter((s) => !exc.includes(s));
  return { wanted, ignored };
}

const STATEMENTS: Record<Exclude<Subset, 'version'>, (p: MysqlInfoParams) => string[]> = {
  settings: () => ['SHOW GLOBAL VARIABLES'],
  databases: (p) => [
    list(p.exclude_fields).includes('db_size')
      ? 'SELECT table_schema AS "name" FROM information_schema.TABLES GROUP BY table_schema'
      : 'SELECT table_schema AS "name", SUM(data_length + index_length) AS "size" FROM information_schema.TABLES GROUP BY table_schema',
    ...(p.return_empty_dbs ? ['SHOW DATABASES'] : []),
  ],
  global_status: () => ['SHOW GLOBAL STATUS'],
  engines: () => ['SHOW ENGINES'],
  users: () => ['SELECT * FROM mysql.user'],
  master_status: () => ['SHOW MASTER STATUS'],
  slave_status: () => ['SHOW SLAVE STATUS'],
  slave_hosts: () => ['SHOW SLAVE HOSTS'],
};

export function infoSql(p: MysqlInfoParams, wanted: Subset[]): string {
  const stmts = new Set<string>();
  for (const s of wanted) {
    if (s === 'version') stmts.add('SHOW GLOBAL VARIABLES');
    else for (const q of STATEMENTS[s](p)) stmts.add(q);
  }
  return [...(p.login_db ? [`USE ${ident(p.login_db)};`] : []), ...[...stmts].map((q) => `${q};`)].join('\n');
}

export function mysqlInfoProbe(p: MysqlInfoParams): string {
  const { wanted } = wantedSubsets(list(p.filter));
  const sql = infoSql(p, wanted);
  return probeFrame(xmlSql(sql, 'info', `KILN_INFO_${sha256(sql).slice(0, 12)}`), loginOf(p));
}

export function mysqlInfoParse(out: ExecResult, p: MysqlInfoParams): MysqlInfoState {
  const { kv, all } = parseLines(out.stdout);
  const { wanted, ignored } = wantedSubsets(list(p.filter));
  const text = fromB64(kv.info_b64);
  return {
    ...parseServer(kv, all.mysql_error ?? []),
    sets: parseResultSets(text),
    sqlError: kv.info_rc !== undefined && kv.info_rc !== '0' ? text.trim().split('\n').slice(-2).join(' ') : undefined,
    wanted,
    ignored,
  };
}

const rowsOf = (s: MysqlInfoState, statement: string) => s.sets.find((r) => r.statement === statement)?.rows ?? [];
const convertRow = (row: Record<string, string | null>, skip: string[]) =>
  Object.fromEntries(
    Object.entries(row)
      .filter(([k]) => !skip.includes(k))
      .map(([k, v]) => [k, toInt(v)]),
  );

/** The registered result: each wanted subset in Ansible's shape. */
export function mysqlInfoResult(p: MysqlInfoParams, s: MysqlInfoState): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const settings: Record<string, unknown> = {};
  for (const r of rowsOf(s, 'SHOW GLOBAL VARIABLES')) settings[r.Variable_name ?? ''] = toInt(r.Value ?? null);
  for (const subset of s.wanted) {
    switch (subset) {
      case 'version': {
        const full = String(settings.version ?? '');
        const parts = full.split('.');
        const rel = (parts[2] ?? '').split('-');
        out.version = full
          ? {
              major: Number(parts[0]),
              minor: Number(parts[1]),
              release: Number(rel[0]),
              suffix: rel.length > 1 ? (parts[2] ?? '').split('-').slice(1).join('-') : '',
              full,
            }
          : {};
        break;
      }
      case 'settings':
        out.settings = settings;
        break;
      case 'databases': {
        const noSize = list(p.exclude_fields).includes('db_size');
        const dbs: Record<string, Record<string, number>> = {};
        const sizeSql = noSize
          ? 'SELECT table_schema AS "name" FROM information_schema.TABLES GROUP BY table_schema'
          : 'SELECT table_schema AS "name", SUM(data_length + index_length) AS "size" FROM information_schema.TABLES GROUP BY table_schema';
        for (const r of rowsOf(s, sizeSql)) dbs[r.name ?? ''] = noSize ? {} : { size: r.size === null ? 0 : Math.trunc(Number(r.size)) };
        if (p.return_empty_dbs) for (const r of rowsOf(s, 'SHOW DATABASES')) dbs[r.Database ?? ''] ??= noSize ? {} : { size: 0 };
        out.databases = dbs;
        break;
      }
      case 'global_status': {
        const st: Record<string, unknown> = {};
        for (const r of rowsOf(s, 'SHOW GLOBAL STATUS')) st[r.Variable_name ?? ''] = toInt(r.Value ?? null);
        out.global_status = st;
        break;
      }
      case 'engines':
        out.engines = Object.fromEntries(
          rowsOf(s, 'SHOW ENGINES').map((r) => [r.Engine, Object.fromEntries(Object.entries(r).filter(([k]) => k !== 'Engine'))]),
        );
        break;
      case 'users': {
        const users: Record<string, Record<string, unknown>> = {};
        for (const r of rowsOf(s, 'SELECT * FROM mysql.user')) (users[r.Host ?? ''] ??= {})[r.User ?? ''] = convertRow(r, ['Host', 'User']);
        out.users = users;
        break;
      }
      case 'master_status': {
        const m: Record<string, unknown> = {};
        for (const r of rowsOf(s, 'SHOW MASTER STATUS')) Object.assign(m, convertRow(r, []));
        out.master_status = m;
        break;
      }
      case 'slave_status': {
        const st: Record<string, Record<string, Record<string, unknown>>> = {};
        for (const r of rowsOf(s, 'SHOW SLAVE STATUS')) {
          // Ansible keys by host, then port (an int), then user.
          ((st[r.Master_Host ?? ''] ??= {})[String(toInt(r.Master_Port ?? null))] ??= {} as Record<string, unknown>)[r.Master_User ?? ''] =
            convertRow(r, ['Master_Host', 'Master_Port', 'Master_User']);
        }
        out.slave_status = st;
        break;
      }
      case 'slave_hosts': {
        const h: Record<string, unknown> = {};
        for (const r of rowsOf(s, 'SHOW SLAVE HOSTS')) h[String(toInt(r.Server_id ?? null))] = convertRow(r, ['Server_id']);
        out.slave_hosts = h;
        break;
      }
    }
  }
  return out;
}

export default defineModule<MysqlInfoParams, MysqlInfoState, { kind: 'none' }>({
  name: 'mysql_info',
  description:
    "Read facts about the MariaDB/MySQL server (version, databases, settings, status, users, replication), in community.mysql's mysql_info shape; read-only.",
  schema,
  probe: (p) => mysqlInfoProbe(p),
  parse: (out, p) => mysqlInfoParse(out, p),
  plan: (_p, _prep, s) => {
    if (s.server === 'missing') throw new Error('no mariadb or mysql client on this host: is the server installed?');
    if (s.server === 'down') throw new Error(`the MariaDB/MySQL server does not answer: ${s.error ?? ''}`.trim());
    if (s.sqlError) throw new Error(`mysql_info: ${s.sqlError}`);
    return [];
  },
  apply: () => 'true',
  note: (_p, _prep, s) => (s.ignored.length ? `filter element(s) ${s.ignored.join(', ')} not allowable, ignored` : undefined),
  registerData: (p, _prep, s) => mysqlInfoResult(p, s),
});
