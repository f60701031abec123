/**
 * `-e key=value`, `-e '{"k": 1}'` and `-e @file.yml` (may be a vault file), merged left to right.
 * Connection variables among them (`user`, `ansible_port`, `kiln_command_timeout`, …) are checked
 * as in an inventory: a bad value is an input error.
 */
import { parse as parseYaml } from 'yaml';
import { InputError } from '../core/diagnostic.ts';
import { extraConnectionVars } from '../input/inventory/index.ts';
import type { VaultOptions } from '../core/secret/vault.ts';
import { loadYamlFile, YamlCursor } from '../input/yaml/document.ts';
import { reservedVarNameProblem } from '../core/var-name.ts';

export function parseExtraVars(args: string[], vault: VaultOptions = {}): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const a of args) {
    if (a.startsWith('@')) {
      const y = loadYamlFile(a.slice(1), vault);
      if (!y.value || typeof y.value !== 'object' || Array.isArray(y.value)) {
        throw new InputError({ file: a.slice(1), line: 1, col: 1, message: 'an extra-vars file must be a mapping' });
      }
      const root = new YamlCursor(y, []);
      const bad = Object.keys(y.value).flatMap((k) => {
        const problem = reservedVarNameProblem(k);
        return problem ? [root.child(k).diag(problem, true)] : [];
      });
      if (bad.length) throw new InputError(bad);
      Object.assign(out, y.value);
    } else if (/^\s*[{[]/.test(a)) {
      let v: unknown;
      try {
        v = parseYaml(a);
      } catch (err) {
        throw new InputError({ file: '-e', message: `cannot parse ${JSON.stringify(a)}: ${(err as Error).message}` });
      }
      if (!v || typeof v !== 'object' || Array.isArray(v))
        throw new InputError({ file: '-e', message: `${JSON.stringify(a)} is not a mapping` });
      const bad = Object.keys(v).flatMap((k) => {
        const problem = reservedVarNameProblem(k);
        return problem ? [{ file: '-e', message: problem }] : [];
      });
      if (bad.length) throw new InputError(bad);
      Object.assign(out, v);
    } else {
      for (const pair of a.split(/\s+(?=[A-Za-z_][A-Za-z0-9_]*=)/)) {
        const i = pair.indexOf('=');
        if (i <= 0)
          throw new InputError({ file: '-e', message: `expected key=value, @file.yml or a YAML mapping, got ${JSON.stringify(pair)}` });
        const raw = pair.slice(i + 1);
        let value: unknown = raw;
        try {
          value = raw === '' ? '' : parseYaml(raw);
        } catch {
          value = raw;
        }
        out[pair.slice(0, i)] = value;
      }
    }
  }
  const { errors } = extraConnectionVars(out);
  if (errors.length) throw new InputError(errors);
  return out;
}
