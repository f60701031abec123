/**
 * The password lookup (lib/ansible/plugins/lookup/password.py, 2.14): `lookup('password',
 * 'credentials/db length=20 chars=ascii_letters,digits')` creates the file (mode 0600, its
 * directory 0700) under the project with a random password on first use and reads it back
 * afterwards; `/dev/null` gives a new one every time. `encrypt=sha512_crypt` returns the hash and
 * stores the salt (`password salt=…`) so the hash stays the same. The result is a secret: the
 * render is marked sensitive and the value is registered with the redactor.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { registerSecretValue } from '../../core/secret/secret.ts';
import { toInt } from '../jinja/convert.ts';
import { PyError, pyStr } from '../jinja/value.ts';
import { CRYPT_ALGOS, cryptHash } from '../filters/crypt.ts';
import * as posix from '../filters/posixpath.ts';
import { PyRandom, type RandomSource, systemRandom } from '../filters/pyrandom.ts';
import { parseKv } from './kv.ts';
import type { LookupPlugin } from './plugin.ts';

const VALID = new Set(['length', 'encrypt', 'chars', 'ident', 'seed']);

/** Python's string module constants the chars option may name. */
const STRING_CONSTANTS: Record<string, string> = {
  ascii_letters: 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ',
  ascii_lowercase: 'abcdefghijklmnopqrstuvwxyz',
  ascii_uppercase: 'ABCDEFGHIJKLMNOPQRSTUVWXYZ',
  digits: '0123456789',
  hexdigits: '0123456789abcdefABCDEF',
  octdigits: '01234567',
  punctuation: '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~',
  whitespace: ' \t\n\r\x0b\x0c',
};
STRING_CONSTANTS.printable = `${STRING_CONSTANTS.digits}${STRING_CONSTANTS.ascii_letters}${STRING_CONSTANTS.punctuation}${STRING_CONSTANTS.whitespace}`;

function candidateChars(specs: string[]): string {
  return specs
    .map((s) => (Object.hasOwn(STRING_CONSTANTS, s) ? STRING_CONSTANTS[s] : s))
    .join('')
    .replace(/["']/g, '');
}

function randomPassword(length: number, chars: string, seed: unknown): string {
  const r: RandomSource = seed === null ? systemRandom : new PyRandom(seed);
  const cps = [...chars];
  if (!cps.length) throw new PyError('IndexError', 'Cannot choose from an empty sequence');
  let out = '';
  for (let i = 0; i < length; i++) out += cps[Number(r.below(BigInt(cps.length)))];
  return out;
}

const SALT_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789./';

function parseContent(content: string): { password: string; salt: string | null; ident: string | null } {
  let password = content;
  let salt: string | null = null;
  let ident: string | null = null;
  const sep = content.lastIndexOf(' salt=');
  let rem = '';
  if (sep >= 0) {
    rem = content.slice(sep + 6);
    password = content.slice(0, sep);
  }
  if (rem) {
    const i = rem.lastIndexOf(' ident=');
    if (i < 0) salt = rem;
    else {
      ident = rem.slice(i + 7);
      salt = rem.slice(0, i);
    }
  }
  return { password, salt, ident };
}

export const password: LookupPlugin = {
  options: { length: 20, encrypt: null, ident: null, seed: null, chars: ['ascii_letters', 'digits', '.,:-_'] },
  run(call, terms, o) {
    const out: string[] = [];
    for (const t of terms) {
      const term = pyStr(t);
      const space = term.indexOf(' ');
      let relpath = space < 0 ? term : term.slice(0, space);
      const params = space < 0 ? new Map<string, string>() : parseKv(term.slice(space + 1));
      const raw = params.get('_raw_params');
      if (raw !== undefined) {
        relpath = `${relpath} ${raw}`;
        params.delete('_raw_params');
        if (!term.startsWith(relpath))
          throw new PyError('AnsibleError', 'Unrecognized value after key=value parameters given to password lookup');
      }
      const invalid = [...params.keys()].filter((k) => !VALID.has(k));
      if (invalid.length) throw new PyError('AnsibleError', `Unrecognized parameter(s) given to password lookup: ${invalid.join(', ')}`);
      const length = Number(toInt(params.get('length') ?? o.length));
      const encrypt = params.get('encrypt') ?? (o.encrypt as string | null);
      const seed = params.get('seed') ?? o.seed;
      let charSpecs: string[];
      const chars = params.get('chars') ?? o.chars;
      if (typeof chars === 'string') {
        charSpecs = chars.includes(',,') ? [','] : [];
        charSpecs.push(...chars.replace(/,,/g, ',').split(',').filter(Boolean));
      } else charSpecs = (chars as unknown[]).map((c) => pyStr(c));
      const algo = encrypt && Object.hasOwn(CRYPT_ALGOS, encrypt) ? CRYPT_ALGOS[encrypt] : undefined;
      if (encrypt && !algo)
        throw new PyError(
          'NotSupported',
          `the password lookup's encrypt=${encrypt} is not supported by Kiln (sha512_crypt, sha256_crypt and md5_crypt are)`,
        );
      if (params.has('ident') || o.ident !== null)
        throw new PyError('NotSupported', "the password lookup's ident option (bcrypt) is not supported by Kiln");

      const path =
        relpath.startsWith('/') || relpath.startsWith('~')
          ? posix.expanduser(relpath, call.ctx.env)
          : posix.join(call.ctx.projectDir, relpath);
      const file = posix.normpath(path);
      const devnull = file === '/dev/null';
      let plaintext: string;
      let salt: string | null = null;
      let changed = false;
      const content = !devnull && existsSync(file) ? readFileSync(file, 'utf8').replace(/[\s]+$/, '') : null;
      if (content === null) {
        plaintext = randomPassword(length, candidateChars(charSpecs), seed);
        changed = true;
      } else ({ password: plaintext, salt } = parseContent(content));
      if (algo && !salt) {
        salt = randomPassword(algo.maxSalt, SALT_CHARS, null);
        changed = true;
      }
      if (changed && !devnull) {
        mkdirSync(posix.dirname(file) || '.', { recursive: true, mode: 0o700 });
        writeFileSync(file, `${algo || salt ? `${plaintext} salt=${salt}` : plaintext}\n`, { mode: 0o600 });
        chmodSync(file, 0o600);
      }
      registerSecretValue(plaintext);
      call.env.markSecret();
      out.push(algo ? cryptHash(algo, plaintext, salt!, algo.defaultRounds) : plaintext);
    }
    return out;
  },
};
