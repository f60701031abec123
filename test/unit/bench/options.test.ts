/** The benchmark driver's flags: defaults, every flag, lenient lists, and the errors (expected values taken from bin/kiln-bench.js before the move). */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseArgs, USAGE, type Options } from '../../../bench/driver/options.ts';

const defaults: Options = {
  figures: [1, 2, 3, 4, 5, 6],
  runs: 3,
  firstRuns: 2,
  scaleRuns: 2,
  sizes: [5, 20, 50],
  ansibleMax: 20,
  site: false,
  keepHosts: false,
  hosts: 7,
  tools: ['ansible', 'mitogen', 'pyinfra'],
  pyinfraVenv: '/var/cache/kiln/bench/pyinfra-venv',
  out: undefined,
};

describe('parseArgs', () => {
  const cases: [string, string[], Partial<Options>][] = [
    ['no arguments: the defaults', [], {}],
    [
      'every flag',
      [
        '--figures',
        '2,5',
        '--runs',
        '5',
        '--first-runs',
        '0',
        '--scale-runs',
        '4',
        '--sizes',
        '50, 5,x,-3,20',
        '--ansible-max-hosts',
        '0',
        '--site',
        '--keep-hosts',
        '--out',
        'r.md',
      ],
      {
        figures: [2, 5],
        runs: 5,
        firstRuns: 0,
        scaleRuns: 4,
        sizes: [50, 5, 20],
        ansibleMax: 0,
        site: true,
        keepHosts: true,
        out: path.resolve('r.md'),
      },
    ],
    ['a list keeps only positive integers', ['--sizes', '1.5,0,7'], { sizes: [7] }],
    ['a list of nothing valid is empty', ['--figures', 'x'], { figures: [] }],
    ['an empty count is 0 (Number(""))', ['--runs', ''], { runs: 0 }],
    ['a count in exponent form', ['--runs', '1e1'], { runs: 10 }],
    ['the last of a repeated flag wins', ['--runs', '1', '--runs', '4'], { runs: 4 }],
  ];
  it.each(cases)('%s', (_name, argv, expected) => {
    expect(parseArgs(argv)).toEqual({ ...defaults, ...expected });
  });

  const help: [string, string[]][] = [
    ['--help', ['--help']],
    ['-h', ['-h']],
    ['help before an unknown option', ['--help', '--bogus']],
    ['help after an invalid count (counts are checked at the end)', ['--runs', '-1', '--help']],
  ];
  it.each(help)('help: %s', (_name, argv) => {
    expect(parseArgs(argv)).toBe('help');
  });

  const errors: [string[], string][] = [
    [['--bogus'], `unknown option --bogus\n${USAGE}`],
    [['--bogus', '--help'], `unknown option --bogus\n${USAGE}`],
    [['--runs'], '--runs needs a value'],
    [['--out'], '--out needs a value'],
    [['--ansible-max-hosts'], '--ansible-max-hosts needs a value'],
    [['--runs', '-1'], '--runs must be a non-negative integer'],
    [['--runs', 'abc'], '--runs must be a non-negative integer'],
    [['--runs', '2.5'], '--runs must be a non-negative integer'],
    [['--first-runs', '1.5'], '--first-runs must be a non-negative integer'],
    [['--scale-runs', '-2'], '--scale-runs must be a non-negative integer'],
    [['--ansible-max-hosts', 'many'], '--ansible-max-hosts must be a non-negative integer'],
    [['--sizes', '5,60'], '--sizes: at most 50 hosts'],
    [['--sizes', '51'], '--sizes: at most 50 hosts'],
  ];
  it.each(errors)('%j throws %j', (argv, message) => {
    expect(() => parseArgs(argv)).toThrow(new Error(message));
  });
});

describe('USAGE', () => {
  it('names the new entry point and the 50-host limit', () => {
    expect(USAGE.split('\n')[0]).toBe(
      'npm run bench -- [options]      (or: node --import tsx/esm bench/driver/main.ts [options]; as root, with the lab up)',
    );
    expect(USAGE).toContain('  --sizes LIST          host counts for figure 4 (default 5,20,50; at most 50)');
    expect(USAGE.split('\n').at(-1)).toBe('  -h, --help');
  });
});

describe('parseArgs: the tools beside Kiln, the hosts of figures 1–3, the pyinfra venv', () => {
  const o = (argv: string[]) => parseArgs(argv) as Options;

  it('takes --tools as a list, ignores kiln and repeats, refuses an unknown tool', () => {
    expect(o(['--tools', 'pyinfra, kiln,mitogen,pyinfra']).tools).toEqual(['pyinfra', 'mitogen']);
    expect(o(['--tools', 'kiln']).tools).toEqual([]);
    expect(() => parseArgs(['--tools', 'ansible,salt'])).toThrow('--tools: unknown tool salt (ansible, mitogen, pyinfra)');
  });

  it('takes --hosts from 1 to 50', () => {
    expect(o(['--hosts', '5']).hosts).toBe(5);
    expect(() => parseArgs(['--hosts', '0'])).toThrow('--hosts must be an integer from 1 to 50');
    expect(() => parseArgs(['--hosts', '51'])).toThrow('--hosts must be an integer from 1 to 50');
  });

  it('makes --pyinfra-venv absolute', () => {
    expect(o(['--pyinfra-venv', 'venv']).pyinfraVenv).toBe(path.resolve('venv'));
  });

  it('documents them in the usage', () => {
    for (const f of ['--tools LIST', '--hosts N', '--pyinfra-venv DIR', 'bench/pyinfra/setup-venv.sh']) expect(USAGE).toContain(f);
  });
});
