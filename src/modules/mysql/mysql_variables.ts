/**
 * `mysql_variables`: a global server variable set at runtime (SET GLOBAL), without a restart.
 * Pair it with the same setting in a my.cnf drop-in so it survives restarts. ON/OFF, 1/0 and
 * true/false compare equal; other values compare as strings (numbers as numbers).
 *
 * Invariants: the variable name is checked by the schema (an identifier) before it reaches SQL;
 * the value is a number or a SQL string literal; `apply` runs one SET GLOBAL per planned op.
 */
import {
  applySql,
  loginOf,
  notReachable,
  parseLines,
  parseServer,
  probeFrame,
  runSql,
  type ServerProbe,
  sqlString,
  LOGIN_PROPERTIES,
} from './sql.ts';
import { defineModule, type ExecResult, type FromSchema, type ModuleContext, type Planned } from '../contract.ts';

const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['variable', 'value'],
  properties: {
    variable: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$', description: 'global variable name, e.g. read_only' },
    value: { type: ['string', 'integer', 'boolean'], description: 'wanted value (ON/OFF, numbers, strings)' },
    ...LOGIN_PROPERTIES,
  },
} as const;

export type MysqlVariablesParams = FromSchema<typeof schema>;

/** The one thing this module does: SET GLOBAL the variable to the task's value. */
export type MysqlVariablesOp = { kind: 'set_global' };

export interface MysqlVariablesState extends ServerProbe {
  value?: string;
}

export function normalizeValue(v: string | number | boolean): string {
  const s = String(v).trim();
  if (/^(on|true|yes)$/i.test(s)) return '1';
  if (/^(off|false|no)$/i.test(s)) return '0';
  if (/^-?\d+(\.\d+)?$/.test(s)) return String(Number(s));
  return s;
}

export function valueSql(v: string | number | boolean): string {
  const n = normalizeValue(v);
  return /^-?\d+(\.\d+)?$/.test(n) ? n : sqlString(String(v));
}

export function mysqlVariablesPlan(
  p: MysqlVariablesParams,
  _prep: undefined,
  s: MysqlVariablesState,
  _ctx?: ModuleContext,
): Planned<MysqlVariablesOp>[] {
  if (s.server !== 'up')
    return [{ summary: `set global ${p.variable} = ${p.value} (${notReachable(s)})`, unpredictable: true, op: { kind: 'set_global' } }];
  if (s.value === undefined) throw new Error(`unknown server variable ${p.variable}`);
  if (normalizeValue(s.value) === normalizeValue(p.value)) return [];
  return [{ summary: `set global ${p.variable}: ${s.value} → ${p.value} (at runtime, no restart)`, op: { kind: 'set_global' } }];
}

/** The statements for the planned ops (pure). */
export function mysqlVariablesSql(p: MysqlVariablesParams, ops: MysqlVariablesOp[]): string[] {
  return ops.map((op) => {
    switch (op.kind) {
      case 'set_global':
        return `SET GLOBAL ${p.variable} = ${valueSql(p.value)};`;
    }
  });
}

export default defineModule<MysqlVariablesParams, MysqlVariablesState, MysqlVariablesOp>({
  name: 'mysql_variables',
  description: 'Set a MariaDB/MySQL global variable at runtime (SET GLOBAL), compared with its current value.',
  schema,
  probe: (p) => probeFrame(runSql(`SELECT CONCAT('value=', @@GLOBAL.${p.variable});`, { force: true }), loginOf(p)),
  parse: (out: ExecResult) => {
    const { kv, all } = parseLines(out.stdout);
    return { ...parseServer(kv, all.mysql_error ?? []), value: kv.value };
  },
  plan: mysqlVariablesPlan,
  apply: (p, _prep, _s, ops) => applySql(mysqlVariablesSql(p, ops).join('\n'), loginOf(p)),
  registerAfterApply: true,
  registerData: (p, _prep, s) => ({ variable: p.variable, value: s.value ?? null }),
});
