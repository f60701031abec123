/**
 * lookup()/query() and the plugins, on real files in a temporary project: the search order, the
 * password lookup's storage (created once with mode 0600, read back, `/dev/null` new every time,
 * the salt kept for encrypt), the result marked secret, lookup's joining rules, and the refusals.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LookupContext } from '../../../../src/template/jinja/callables.ts';
import { PyError, Undefined } from '../../../../src/template/jinja/value.ts';
import { testEnv } from './call-env.ts';

let dir: string;
let ctx: LookupContext;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'kiln-lookups-'));
  for (const d of ['role/files', 'role/templates', 'play/files', 'play/templates']) mkdirSync(join(dir, d), { recursive: true });
  writeFileSync(join(dir, 'role/files/motd'), 'from the role\n');
  writeFileSync(join(dir, 'play/files/motd'), 'from the playbook\n');
  writeFileSync(join(dir, 'play/files/only-play.txt'), '  both sides  \n');
  writeFileSync(join(dir, 'play/templates/t.j2'), '{{ greeting }}');
  ctx = {
    searchPaths: (kind) => [join(dir, 'role', kind), join(dir, 'role'), join(dir, 'play', kind), join(dir, 'play')],
    env: { KILN_TEST_VAR: 'set', HOME: '/home/kiln' },
    projectDir: join(dir, 'play'),
  };
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('file lookups', () => {
  it('search the role before the playbook, strip trailing whitespace unless told', () => {
    const env = testEnv({ lookup: ctx });
    expect(env.global('lookup', ['file', 'motd'])).toBe('from the role');
    expect(env.global('lookup', ['file', 'only-play.txt'], { rstrip: false, lstrip: true })).toBe('both sides  \n');
    expect(env.global('lookup', ['file', join(dir, 'play/files/motd')])).toBe('from the playbook');
  });

  it('fail on a missing file unless errors=ignore', () => {
    const env = testEnv({ lookup: ctx });
    expect(() => env.global('lookup', ['file', 'nope'])).toThrow(/could not locate file in lookup: nope/);
    expect(env.global('lookup', ['file', 'nope'], { errors: 'ignore' })).toBeNull();
    expect(env.global('query', ['file', 'nope'], { errors: 'ignore' })).toEqual([]);
  });

  it('render a template with the render’s variables', () => {
    const env = testEnv({ lookup: ctx, render: (source) => source.replace('{{ greeting }}', 'hi') });
    expect(env.global('lookup', ['template', 't.j2'])).toBe('hi');
  });

  it('first_found returns the first existing path, and [] with skip', () => {
    const env = testEnv({ lookup: ctx });
    expect(env.global('lookup', ['first_found', ['nope', 'only-play.txt']])).toBe(join(dir, 'play/files/only-play.txt'));
    expect(env.global('query', ['first_found', ['nope']], { skip: true })).toEqual([]);
    expect(() => env.global('lookup', ['first_found', ['nope']])).toThrow(/No file was found when using first_found/);
  });
});

describe('env and vars lookups', () => {
  it('read the controller environment and the render’s variables', () => {
    const env = testEnv({ lookup: ctx, vars: { port: 80, name: 'web' } });
    expect(env.global('lookup', ['env', 'KILN_TEST_VAR'])).toBe('set');
    expect(env.global('lookup', ['env', 'KILN_TEST_UNSET'], { default: 'd' })).toBe('d');
    expect(env.global('lookup', ['vars', 'port'])).toBe(80);
    expect(env.global('lookup', ['vars', 'port', 'name'])).toEqual([80, 'web']);
    expect(env.global('lookup', ['vars', 'nope'], { default: 5 })).toBe(5);
    expect(() => env.global('lookup', ['vars', 'nope'])).toThrow(/No variable found with this name: nope/);
  });
});

describe('the password lookup', () => {
  it('creates the password file under the project once (0600 in a 0700 dir) and reads it back', () => {
    const env = testEnv({ lookup: ctx });
    const first = env.global('lookup', ['password', 'credentials/db length=24 chars=ascii_letters,digits']) as string;
    expect(first).toMatch(/^[A-Za-z0-9]{24}$/);
    const file = join(dir, 'play/credentials/db');
    expect(readFileSync(file, 'utf8')).toBe(`${first}\n`);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'play/credentials')).mode & 0o777).toBe(0o700);
    expect(env.global('lookup', ['password', 'credentials/db length=8'])).toBe(first);
  });

  it('marks the render secret', () => {
    const env = testEnv({ lookup: ctx });
    expect(env.secret).toBe(false);
    env.global('lookup', ['password', '/dev/null']);
    expect(env.secret).toBe(true);
  });

  it('gives a new password every time for /dev/null, with the default length and characters', () => {
    const env = testEnv({ lookup: ctx });
    const a = env.global('lookup', ['password', '/dev/null']) as string;
    const b = env.global('lookup', ['password', '/dev/null']) as string;
    expect(a).toMatch(/^[A-Za-z0-9.,:_-]{20}$/);
    expect(a).not.toBe(b);
  });

  it('is deterministic with a seed, like Python’s random.Random(seed)', () => {
    const env = testEnv({ lookup: ctx });
    const a = env.global('lookup', ['password', '/dev/null seed=inventory length=12']);
    expect(env.global('lookup', ['password', '/dev/null seed=inventory length=12'])).toBe(a);
  });

  it('stores the salt when asked to encrypt, so the hash stays the same', () => {
    const env = testEnv({ lookup: ctx });
    const hash = env.global('lookup', ['password', 'credentials/hashed encrypt=md5_crypt']) as string;
    const stored = readFileSync(join(dir, 'play/credentials/hashed'), 'utf8');
    const [plain, salt] = stored.trimEnd().split(' salt=') as [string, string];
    expect(salt).toMatch(/^[A-Za-z0-9./]{8}$/);
    expect(hash).toBe(env.filter('password_hash', plain, ['md5', salt]));
    expect(env.global('lookup', ['password', 'credentials/hashed encrypt=md5_crypt'])).toBe(hash);
  });

  it('refuses unknown parameters like Ansible', () => {
    const env = testEnv({ lookup: ctx });
    expect(() => env.global('lookup', ['password', '/dev/null lenght=5'])).toThrow(
      /Unrecognized parameter\(s\) given to password lookup: lenght/,
    );
  });
});

describe('lookup and query', () => {
  it('join strings with commas, return a single value as is, an empty result as []', () => {
    const env = testEnv({ lookup: ctx });
    expect(env.global('lookup', ['items', ['a', 'b']])).toBe('a,b');
    expect(env.global('lookup', ['items', [1, 2]])).toEqual([1, 2]);
    expect(env.global('lookup', ['items', [1]])).toBe(1);
    expect(env.global('lookup', ['items', []])).toEqual([]);
    expect(env.global('query', ['items', ['a']])).toEqual(['a']);
    expect(env.global('q', ['items', ['a']])).toEqual(['a']);
    expect(env.global('lookup', ['items', ['a']], { wantlist: true })).toEqual(['a']);
  });

  it('accept ansible.builtin names', () => {
    const env = testEnv({ lookup: ctx });
    expect(env.global('lookup', ['ansible.builtin.env', 'KILN_TEST_VAR'])).toBe('set');
  });

  it('refuse plugins Kiln does not have, unknown options, and terms that are templates', () => {
    const env = testEnv({ lookup: ctx });
    expect(() => env.global('lookup', ['pipe', 'date'])).toThrow(/lookup plugin 'pipe' is not supported by Kiln: it runs a command/);
    expect(() => env.global('lookup', ['nope', 'x'])).toThrow(/lookup plugin 'nope' not supported by Kiln/);
    expect(() => env.global('lookup', ['file', 'motd'], { strip: true })).toThrow(/the 'strip' option of lookup plugin 'file'/);
    expect(() => env.global('lookup', ['file', '{{ x }}'])).toThrow(/template syntax/);
    expect(() => env.global('lookup', ['file', 'motd'], { errors: 'warn' })).toThrow(/errors='warn'/);
  });

  it('are refused where no LookupContext is given', () => {
    const env = testEnv();
    expect(() => env.global('lookup', ['env', 'HOME'])).toThrow(expect.objectContaining({ pyType: 'NotSupported' }));
  });
});

describe('now() and undef()', () => {
  it('now() is a datetime of the current time; fmt formats it', () => {
    const env = testEnv();
    const before = new Date();
    const now = env.global('now', [], { utc: true }) as { year: number; toString(): string };
    expect(String(now)).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{6})?$/);
    expect(now.year).toBe(before.getUTCFullYear());
    expect(env.global('now', [], { utc: true, fmt: '%Y' })).toBe(String(before.getUTCFullYear()));
  });

  it('undef() is an Undefined with the hint as its message', () => {
    const env = testEnv();
    const u = env.global('undef', ['set me']);
    expect(u).toBeInstanceOf(Undefined);
    expect((u as Undefined).message).toBe('set me');
    expect((env.global('undef') as Undefined).message).toBe('Mandatory variable has not been overridden');
    expect(env.test('defined', u)).toBe(false);
  });
});

describe('errors', () => {
  it('are PyErrors with Python’s or Ansible’s text', () => {
    const env = testEnv();
    expect(() => env.filter('lower', 'x', [1])).toThrow(new PyError('TypeError', 'lower() takes 1 positional argument but 2 were given'));
    expect(() => env.filter('center', 'x', [], { fill: '-' })).toThrow(
      new PyError('TypeError', "center() got an unexpected keyword argument 'fill'"),
    );
    expect(() => env.filter('combine', new Map(), [[1]])).toThrow(
      /failed to combine variables, expected dicts but got a 'dict' and a 'int'/,
    );
    expect(() => env.filter('mandatory', new Undefined("'x' is undefined", 'x'))).toThrow("Mandatory variable 'x'  not defined.");
    expect(() => env.test('failed', 'ok')).toThrow("The 'failed' test expects a dictionary");
    expect(() => env.filter('list', 5)).toThrow("'int' object is not iterable");
    expect(() => env.filter('union', 'ab', ['cd'])).toThrow(expect.objectContaining({ pyType: 'NotSupported' }));
    expect(() => env.filter('type_debug', 'x')).toThrow(expect.objectContaining({ pyType: 'NotSupported' }));
  });
});
