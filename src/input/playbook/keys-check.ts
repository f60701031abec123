/** Checking a mapping's keys against Ansible's keyword tables (keywords.ts), and stable keys for role instances. */
import type { DiagnosticBag } from '../../core/diagnostic.ts';
import { isSecret } from '../../core/secret/secret.ts';
import type { YamlCursor } from '../yaml/document.ts';
import { pyScalar } from './fields.ts';
import { type KeywordRule, ONLY_VALUE, refusal } from './keywords.ts';

/** Checks a mapping's keys against a keyword table; returns how many were refused. */
export function keysCheck(
  c: YamlCursor,
  table: Readonly<Record<string, KeywordRule>>,
  where: string,
  bag: DiagnosticBag,
  unknown: (k: string) => string | undefined,
): number {
  let refused = 0;
  const raw = c.value as Record<string, unknown>;
  for (const k of Object.keys(raw)) {
    const rule = (Object.hasOwn(table, k) ? table[k] : undefined) ?? (k.startsWith('with_') ? table.loop_with : undefined);
    if (!rule) {
      const msg = unknown(k);
      if (msg) bag.add(c.child(k).diag(msg, true));
      continue;
    }
    if (rule.use === 'refused') {
      bag.add(c.child(k).diag(refusal(where, k, rule), true));
      refused++;
    } else if (Object.hasOwn(ONLY_VALUE, k) && raw[k] !== null && raw[k] !== undefined && raw[k] !== ONLY_VALUE[k]) {
      bag.add(c.child(k).diag(`${where} '${k}': not supported: ${k} ${pyScalar(raw[k])} (Kiln supports only '${ONLY_VALUE[k]}')`));
      refused++;
    }
  }
  return refused;
}

/** Stable text of a value (mapping keys sorted), for role instance keys. */
export function stable(v: unknown): string {
  if (isSecret(v)) return JSON.stringify(`secret:${v.reveal()}`);
  if (Array.isArray(v)) return `[${v.map(stable).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stable((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v ?? null);
}
