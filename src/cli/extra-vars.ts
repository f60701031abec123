/**
 * `-e key=value` (strings, as Ansible's parse_kv makes them), `-e '{"k": 1}'` (YAML) and `-e @file.yml`
 * (may be a vault file), merged left to right.
 * Connection variables among them (`user`, `ansible_port`, `kiln_command_timeout`, …) are checked
 * as in an inventory: a bad value is an input error.
 */
import { parse as parseYaml } from 'yaml';
import { parseKv } from '../input/playbook/splitter.ts';
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
      // As Ansible's parse_kv: words split like a shell's (quotes kept together, then removed),
      // escapes decoded, and every value a STRING (`-e port=8080` is "8080", as in Ansible: a
      // role that needs a number says `| int`, or the value comes as YAML: `-e '{"port": 8080}'`).
      let kv: Record<string, string>;
      try {
        kv = parseKv(a);
      } catch (err) {
        throw new InputError({ file: '-e', message: `cannot parse ${JSON.stringify(a)}: ${(err as Error).message}` });
      }
      if (kv._raw_params !== undefined)
        throw new InputError({
          file: '-e',
          message: `expected key=value, @file.yml or a YAML mapping, got ${JSON.stringify(kv._raw_params)} (Ansible would set a variable named _raw_params)`,
        });
      const bad = Object.keys(kv).flatMap((k) => {
        const problem = reservedVarNameProblem(k);
        return problem ? [{ file: '-e', message: problem }] : [];
      });
      if (bad.length) throw new InputError(bad);
      Object.assign(out, kv);
    }
  }
  const { errors } = extraConnectionVars(out);
  if (errors.length) throw new InputError(errors);
  return out;
}
