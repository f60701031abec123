/**
 * Ansible's encoding and hashing filters (core.py, encryption.py, 2.14): b64encode, b64decode,
 * hash, md5, sha1, checksum, password_hash, to_uuid. `vault`/`unvault` are refused: Kiln's
 * secrets come from its own vault, not from templates.
 */
import { createHash } from 'node:crypto';
import type { FilterTable } from '../jinja/callables.ts';
import { toIndex } from '../jinja/convert.ts';
import { PyError, pyStr } from '../jinja/value.ts';
import { filter } from './args.ts';
import { CRYPT_ALGOS, cryptHash, randomSalt } from './crypt.ts';

/** Ansible's to_bytes(value, encoding): str() of a non-string, then the encoding. */
function toBytes(v: unknown, encoding = 'utf-8'): Buffer {
  const s = pyStr(v);
  const enc = encoding.toLowerCase().replace(/_/g, '-');
  if (['utf-8', 'utf8', 'u8'].includes(enc)) {
    if (/\p{Cs}/u.test(s)) {
      throw new PyError('UnicodeEncodeError', "'utf-8' codec can't encode a lone surrogate");
    }
    return Buffer.from(s, 'utf8');
  }
  if (['utf-16-le', 'utf-16le'].includes(enc)) return Buffer.from(s, 'utf16le');
  if (['utf-16', 'utf16'].includes(enc)) return Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(s, 'utf16le')]);
  if (['utf-16-be', 'utf-16be'].includes(enc)) return Buffer.from(s, 'utf16le').swap16();
  if (['latin-1', 'latin1', 'iso-8859-1', 'iso8859-1', 'ascii', 'us-ascii'].includes(enc)) {
    const max = enc.includes('ascii') ? 0x7f : 0xff;
    const bad = [...s].find((c) => c.codePointAt(0)! > max);
    if (bad)
      throw new PyError('UnicodeEncodeError', `'${enc.includes('ascii') ? 'ascii' : 'latin-1'}' codec can't encode character '${bad}'`);
    return Buffer.from(s, 'latin1');
  }
  throw new PyError('NotSupported', `the ${encoding} encoding is not supported by Kiln`);
}

/** Ansible's to_text(bytes, encoding, errors='surrogate_or_strict'); bytes that do not decode are refused. */
function toText(b: Buffer, encoding = 'utf-8'): string {
  const enc = encoding.toLowerCase().replace(/_/g, '-');
  if (['utf-8', 'utf8', 'u8'].includes(enc)) {
    try {
      return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(b);
    } catch {
      throw new PyError(
        'NotSupported',
        'the decoded bytes are not valid UTF-8 (Ansible would carry them as surrogate escapes): not supported by Kiln',
      );
    }
  }
  if (['utf-16-le', 'utf-16le'].includes(enc)) return new TextDecoder('utf-16le', { fatal: true, ignoreBOM: true }).decode(b);
  if (['utf-16', 'utf16'].includes(enc)) {
    if (b[0] === 0xfe && b[1] === 0xff) return new TextDecoder('utf-16be', { fatal: true, ignoreBOM: true }).decode(b.subarray(2));
    return new TextDecoder('utf-16le', { fatal: true, ignoreBOM: false }).decode(b);
  }
  if (['latin-1', 'latin1', 'iso-8859-1', 'iso8859-1'].includes(enc)) return b.toString('latin1');
  if (['ascii', 'us-ascii'].includes(enc)) {
    if (b.some((x) => x > 0x7f)) throw new PyError('NotSupported', 'the decoded bytes are not ASCII: not supported by Kiln');
    return b.toString('latin1');
  }
  throw new PyError('NotSupported', `the ${encoding} encoding is not supported by Kiln`);
}

const B64_VALUE = new Map([...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'].map((c, i) => [c.charCodeAt(0), i]));

/** CPython's binascii.a2b_base64 (non-strict): other characters skipped, padding checked. */
function a2bBase64(data: Buffer): Buffer {
  const out: number[] = [];
  let quad = 0;
  let left = 0;
  let pads = 0;
  for (const ch of data) {
    if (ch === 0x3d) {
      if (quad >= 2 && quad + ++pads >= 4) return Buffer.from(out);
      continue;
    }
    const v = B64_VALUE.get(ch);
    if (v === undefined) continue;
    pads = 0;
    if (quad === 0) {
      left = v;
      quad = 1;
    } else if (quad === 1) {
      out.push(((left << 2) | (v >> 4)) & 0xff);
      left = v & 0x0f;
      quad = 2;
    } else if (quad === 2) {
      out.push(((left << 4) | (v >> 2)) & 0xff);
      left = v & 0x03;
      quad = 3;
    } else {
      out.push(((left << 6) | v) & 0xff);
      quad = 0;
    }
  }
  if (quad === 1) {
    throw new PyError(
      'binascii.Error',
      `Invalid base64-encoded string: number of data characters (${Math.floor(out.length / 3) * 4 + 1}) cannot be 1 more than a multiple of 4`,
    );
  }
  if (quad !== 0) throw new PyError('binascii.Error', 'Incorrect padding');
  return Buffer.from(out);
}

const HASHES: Record<string, string> = {
  md5: 'md5',
  sha1: 'sha1',
  sha224: 'sha224',
  sha256: 'sha256',
  sha384: 'sha384',
  sha512: 'sha512',
  sha512_224: 'sha512-224',
  sha512_256: 'sha512-256',
  sha3_224: 'sha3-224',
  sha3_256: 'sha3-256',
  sha3_384: 'sha3-384',
  sha3_512: 'sha3-512',
  blake2b: 'blake2b512',
  blake2s: 'blake2s256',
};

function digest(algo: string, data: unknown): string {
  return createHash(algo).update(toBytes(data)).digest('hex');
}

const PASSLIB_NAMES: Record<string, string> = { md5: 'md5_crypt', blowfish: 'bcrypt', sha256: 'sha256_crypt', sha512: 'sha512_crypt' };

/** uuid.UUID(text): hex digits with optional braces, dashes and urn:uuid: prefix. */
function parseUuid(text: string): Buffer {
  const hex = text
    .replace(/^urn:uuid:/, '')
    .replace(/^\{|\}$/g, '')
    .replace(/-/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new PyError('ValueError', 'badly formed hexadecimal UUID string');
  return Buffer.from(hex, 'hex');
}

const ANSIBLE_NAMESPACE = '361E6D51-FAEC-444A-9079-341386DA8E2E';

function refuse(name: string) {
  return filter(
    name,
    [],
    () => {
      throw new PyError('NotSupported', `the '${name}' filter is not supported by Kiln (secrets come from Kiln's vault)`);
    },
    { varargs: true, varkw: true },
  );
}

export const ansibleCryptoFilters: FilterTable = {
  b64encode: filter('b64encode', [['encoding', 'utf-8']], (_env, v, a) => toBytes(v, pyStr(a.encoding)).toString('base64')),
  b64decode: filter('b64decode', [['encoding', 'utf-8']], (_env, v, a) => toText(a2bBase64(toBytes(v)), pyStr(a.encoding))),

  hash: filter('get_hash', [['hashtype', 'sha1']], (_env, v, a) => {
    const algo = HASHES[pyStr(a.hashtype).toLowerCase()];
    if (!algo) throw new PyError('AnsibleFilterError', `unsupported hash type ${pyStr(a.hashtype)}`);
    return digest(algo, v);
  }),
  md5: filter('md5s', [], (_env, v) => digest('md5', v)),
  sha1: filter('checksum_s', [], (_env, v) => digest('sha1', v)),
  checksum: filter('checksum_s', [], (_env, v) => digest('sha1', v)),

  password_hash: filter(
    'get_encrypted_password',
    [
      ['hashtype', 'sha512'],
      ['salt', null],
      ['salt_size', null],
      ['rounds', null],
      ['ident', null],
    ],
    (_env, v, a) => {
      const h = pyStr(a.hashtype);
      const name = Object.hasOwn(PASSLIB_NAMES, h) ? PASSLIB_NAMES[h]! : h;
      const algo = Object.hasOwn(CRYPT_ALGOS, name) ? CRYPT_ALGOS[name] : undefined;
      if (!algo) throw new PyError('NotSupported', `password_hash with '${name}' is not supported by Kiln (sha512, sha256 and md5 are)`);
      const rounds = a.rounds !== null && a.rounds !== 0 ? toIndex(a.rounds) : algo.defaultRounds;
      const salt =
        a.salt !== null && a.salt !== ''
          ? pyStr(a.salt)
          : randomSalt(a.salt_size !== null && a.salt_size !== 0 ? toIndex(a.salt_size) : algo.maxSalt);
      try {
        return cryptHash(algo, pyStr(v), salt, rounds);
      } catch (e) {
        if (e instanceof PyError && e.pyType === 'ValueError')
          throw new PyError('AnsibleFilterError', `Could not hash the secret.. ${e.message}`);
        throw e;
      }
    },
  ),

  to_uuid: filter('to_uuid', [['namespace', ANSIBLE_NAMESPACE]], (_env, v, a) => {
    let ns: Buffer;
    try {
      ns = parseUuid(pyStr(a.namespace));
    } catch (e) {
      throw new PyError('AnsibleFilterError', `Invalid value '${pyStr(a.namespace)}' for 'namespace': ${(e as Error).message}`);
    }
    const h = createHash('sha1').update(ns).update(toBytes(v)).digest().subarray(0, 16);
    h[6] = (h[6]! & 0x0f) | 0x50;
    h[8] = (h[8]! & 0x3f) | 0x80;
    const x = h.toString('hex');
    return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
  }),

  vault: refuse('vault'),
  unvault: refuse('unvault'),
};
