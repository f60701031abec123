/**
 * The file lookups (lib/ansible/plugins/lookup/*.py, 2.14): file, template, fileglob and
 * first_found, searching LookupContext.searchPaths like Ansible searches the role's and the
 * playbook's files/ and templates/ directories.
 */
import { readFileSync } from 'node:fs';
import { PyError, pyStr, truthy, typeName, UndefinedError } from '../jinja/value.ts';
import { isTemplated } from './template-text.ts';
import * as posix from '../filters/posixpath.ts';
import { findFile, type LookupCall, type LookupPlugin, lookupError } from './plugin.ts';

/** A file's text; bytes that are not UTF-8 are refused (Ansible would carry surrogate escapes). */
export function readText(path: string): string {
  const bytes = readFileSync(path);
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw new PyError('NotSupported', `${path} is not valid UTF-8 text: not supported by Kiln`);
  }
}

const PY_WS = /^[\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/;
const PY_WS_END = /[\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/;

function stringTerm(name: string, t: unknown): string {
  if (typeof t !== 'string') throw lookupError(`the ${name} lookup expects file names, got ${typeName(t)}`);
  return t;
}

export const file: LookupPlugin = {
  options: { lstrip: false, rstrip: true },
  run(call, terms, o) {
    return terms.map((t) => {
      const term = stringTerm('file', t);
      const path = findFile(call, 'files', term);
      if (!path) throw new PyError('AnsibleError', `could not locate file in lookup: ${term}`);
      let text = readText(path);
      if (truthy(o.lstrip)) text = text.replace(PY_WS, '');
      if (truthy(o.rstrip)) text = text.replace(PY_WS_END, '');
      return text;
    });
  },
};

export const template: LookupPlugin = {
  options: {
    convert_data: true,
    template_vars: new Map(),
    jinja2_native: false,
    variable_start_string: '{{',
    variable_end_string: '}}',
    comment_start_string: '{#',
    comment_end_string: '#}',
  },
  run(call, terms, o) {
    for (const k of ['variable_start_string', 'variable_end_string', 'comment_start_string', 'comment_end_string'] as const) {
      if (o[k] !== template.options[k]) throw new PyError('NotSupported', `the template lookup's ${k} option is not supported by Kiln`);
    }
    if (!(o.template_vars instanceof Map) || o.template_vars.size) {
      throw new PyError('NotSupported', "the template lookup's template_vars option is not supported by Kiln");
    }
    return terms.map((t) => {
      const term = stringTerm('template', t);
      const path = findFile(call, 'templates', term);
      if (!path) throw new PyError('AnsibleError', `the template file ${term} could not be found for the lookup`);
      const source = readText(path);
      const out = call.env.renderString(source, path);
      // Templar.template(convert_data=True) turns a result that reads as a Python literal into data.
      if (
        truthy(o.convert_data) &&
        !truthy(o.jinja2_native) &&
        isTemplated(source) &&
        (/^[{[]/.test(out) || out === 'True' || out === 'False')
      ) {
        throw new PyError(
          'NotSupported',
          `the template lookup of ${term} renders text that Ansible would convert to data (convert_data): not supported by Kiln; pass convert_data=False to get the text`,
        );
      }
      return out;
    });
  },
};

export const fileglob: LookupPlugin = {
  options: {},
  run(call, terms) {
    const out: string[] = [];
    for (const t of terms) {
      const term = stringTerm('fileglob', t);
      const base = posix.basename(term);
      const dirs: (string | undefined)[] = [];
      if (base !== term) dirs.push(findFile(call, 'files', posix.dirname(term)));
      else for (const p of call.ctx.searchPaths('files')) dirs.push(p);
      for (const d of dirs) {
        if (!d) continue;
        const found = posix.glob(posix.join(d, base)).filter((g) => posix.isfile(g));
        if (found.length) {
          out.push(...found);
          break;
        }
      }
    }
    return out;
  },
};

/** first_found's _split_on: splits strings (and lists of strings) on any of `chars`. */
function splitOn(terms: unknown, chars: string): string[] {
  if (typeof terms === 'string') {
    const out: string[] = [];
    let v = '';
    for (const c of terms) {
      if (chars.includes(c)) {
        out.push(v);
        v = '';
      } else v += c;
    }
    out.push(v);
    return out;
  }
  if (Array.isArray(terms)) return terms.flatMap((t) => splitOn(t, chars));
  throw lookupError(`first_found: expected a string or a list of strings, got ${typeName(terms)}`);
}

/** A 'list' option value: a string is split on commas and stripped, like Ansible's config does. */
function listOption(v: unknown): unknown[] {
  if (typeof v === 'string') return v.split(',').map((x) => x.trim());
  if (Array.isArray(v)) return v;
  throw new PyError('AnsibleOptionsError', `Invalid type for configuration option: expected a list, got ${typeName(v)}`);
}

export const firstFound: LookupPlugin = {
  options: { files: [], paths: [], skip: false },
  run(call, terms, kwargs) {
    let total: string[] = [];
    let skip = false;
    const process = (list: unknown[]) => {
      for (const term of list) {
        let o: Record<string, unknown>;
        if (term instanceof Map) {
          o = { ...firstFound.options };
          for (const [k, v] of term) {
            if (!(String(k) in firstFound.options))
              throw new PyError('NotSupported', `first_found's '${pyStr(k)}' option is not supported by Kiln`);
            o[String(k)] = v;
          }
        } else if (typeof term === 'string') o = kwargs;
        else if (Array.isArray(term)) {
          process(term);
          continue;
        } else
          throw lookupError(
            `Invalid term supplied, can handle string, mapping or list of strings but got: ${typeName(term)} for ${pyStr(term)}`,
          );
        skip = truthy(o.skip);
        const files = splitOn(listOption(o.files), ',;');
        const paths = splitOn(listOption(o.paths), ',:;');
        if (paths.length) for (const p of paths) for (const f of files) total.push(posix.join(p, f));
        else if (files.length) total = files;
        else total.push(term as string);
      }
    };
    process(terms);
    for (let fn of total) {
      if (isTemplated(fn)) {
        try {
          fn = call.env.renderString(fn, '<first_found>');
        } catch (e) {
          if (e instanceof UndefinedError || (e as { variable?: string }).variable) continue;
          throw e;
        }
      }
      const path = findFile(call, 'files', fn);
      if (path !== undefined) return [path];
    }
    if (skip) return [];
    throw lookupError('No file was found when using first_found.');
  },
};
