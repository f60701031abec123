/**
 * set_fact (ansible.builtin.set_fact): host variables at the set_fact/registered level, for the
 * rest of the run. As Ansible 2.14's action plugin (jinja2_native off): every key must be a valid
 * identifier; a string value that is 'true', 'false', 'yes' or 'no' (any case) becomes a boolean;
 * `cacheable: yes` also makes them facts (`ansible_facts.<key>`). Registered:
 * `{ ansible_facts: {...}, changed: false }`.
 */
import { defineAction, ActionError } from '../action.ts';
import { isSecret } from '../../core/secret/secret.ts';
import { renderValue } from '../../template/engine.ts';

/** Python's str.isidentifier() for ASCII names, and not a keyword (ansible.utils.vars.isidentifier). */
const PY_KEYWORDS = new Set(
  'False None True and as assert async await break class continue def del elif else except finally for from global if import in is lambda nonlocal not or pass raise return try while with yield'.split(
    ' ',
  ),
);
export function isIdentifier(k: string): boolean {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(k) && !PY_KEYWORDS.has(k);
}

const BOOLISH: Record<string, boolean> = { true: true, yes: true, false: false, no: false };

export default defineAction<Record<string, unknown>>({
  name: 'set_fact',
  description: 'set host variables (facts) for the rest of the run, on the controller (no round trip)',
  schema: {
    type: 'object',
    properties: {
      cacheable: {
        type: 'boolean',
        description: "also store the variables as facts (ansible_facts.<key>), as Ansible's cacheable: yes",
      },
    },
    additionalProperties: true,
  },
  check(p) {
    const bad = Object.keys(p).find((k) => k !== 'cacheable' && !isIdentifier(k) && !/\{[{%]/.test(k));
    if (bad !== undefined)
      throw new Error(
        `The variable name '${bad}' is not valid. Variables must start with a letter or underscore character, and contain only letters, numbers and underscores.`,
      );
  },
  defines: (p) => {
    const keys = Object.keys(p).filter((k) => k !== 'cacheable');
    // A templated name is known only when it runs.
    return keys.some((k) => /\{[{%]/.test(k)) ? null : keys;
  },
  run(p, ctx) {
    const { cacheable = false, ...args } = p;
    if (!Object.keys(args).length)
      throw new ActionError('No key/value pairs provided, at least one is required for this action to succeed');
    const facts: Record<string, unknown> = {};
    for (const [key, v] of Object.entries(args)) {
      // Ansible templates the names too (`"{{ prefix }}_port": 80`).
      const k = /\{[{%]/.test(key) ? String(renderValue(key, ctx.vars, ctx.taskFile, ctx.render)) : key;
      if (!isIdentifier(k))
        throw new ActionError(
          `The variable name '${k}' is not valid. Variables must start with a letter or underscore character, and contain only letters, numbers and underscores.`,
        );
      const s = isSecret(v) ? undefined : typeof v === 'string' ? v.toLowerCase() : undefined;
      facts[k] = s !== undefined && Object.hasOwn(BOOLISH, s) ? BOOLISH[s] : v;
    }
    return {
      changed: false,
      result: { ansible_facts: facts },
      effects: [{ kind: 'set_fact', facts, cacheable: cacheable === true }],
    };
  },
});
