/**
 * PyYAML's YAML 1.1 Resolver (resolver.py): the tag of a plain scalar from its text, which both
 * the dumper (to quote strings that would read back as something else) and the loader use.
 */
import { compile, match } from './pyre.ts';

export const TAG = 'tag:yaml.org,2002:';

// PyYAML's implicit resolvers (resolver.py), keyed by the first character they apply to.
const RESOLVERS: [string, string, ReturnType<typeof compile>][] = [
  [
    'bool',
    'yYnNtTfFoO',
    compile(
      `^(?:yes|Yes|YES|no|No|NO
                    |true|True|TRUE|false|False|FALSE
                    |on|On|ON|off|Off|OFF)$`,
      { verbose: true },
    ),
  ],
  [
    'float',
    '-+0123456789.',
    compile(
      `^(?:[-+]?(?:[0-9][0-9_]*)\\.[0-9_]*(?:[eE][-+][0-9]+)?
                    |\\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?
                    |[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\\.[0-9_]*
                    |[-+]?\\.(?:inf|Inf|INF)
                    |\\.(?:nan|NaN|NAN))$`,
      { verbose: true },
    ),
  ],
  [
    'int',
    '-+0123456789',
    compile(
      `^(?:[-+]?0b[0-1_]+
                    |[-+]?0[0-7_]+
                    |[-+]?(?:0|[1-9][0-9_]*)
                    |[-+]?0x[0-9a-fA-F_]+
                    |[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$`,
      { verbose: true },
    ),
  ],
  ['merge', '<', compile('^(?:<<)$')],
  [
    'null',
    '~nN',
    compile(
      `^(?: ~
                    |null|Null|NULL
                    | )$`,
      { verbose: true },
    ),
  ],
  [
    'timestamp',
    '0123456789',
    compile(
      `^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]
                    |[0-9][0-9][0-9][0-9] -[0-9][0-9]? -[0-9][0-9]?
                     (?:[Tt]|[ \\t]+)[0-9][0-9]?
                     :[0-9][0-9] :[0-9][0-9] (?:\\.[0-9]*)?
                     (?:[ \\t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$`,
      { verbose: true },
    ),
  ],
  ['value', '=', compile('^(?:=)$')],
];

/** The tag PyYAML's Resolver gives a plain scalar with this text (YAML 1.1 implicit types). */
export function resolvePlain(value: string): string {
  const first = value === '' ? '' : value[0]!;
  for (const [tag, firsts, re] of RESOLVERS) {
    if (value === '' ? tag !== 'null' : !firsts.includes(first)) continue;
    if (match(re, value)) return TAG + tag;
  }
  return `${TAG}str`;
}
