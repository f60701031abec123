/**
 * OpenSSH client configuration (~/.ssh/config), read the way `ssh` reads it, so an inventory host
 * that works with `ssh web1` works with Kiln.
 *
 * Semantics implemented (see ssh_config(5)):
 * - For each parameter the FIRST obtained value wins (IdentityFile accumulates, in order).
 * - Options before the first `Host` line apply to every host.
 * - `Host` lines take several patterns with `*` and `?`; a pattern prefixed with `!` negates: if a
 *   negated pattern matches, the block does not apply, whatever the other patterns say.
 *   Matching is case-insensitive, like ssh (which lower-cases both sides).
 * - `Match` blocks are SKIPPED: their options never apply (Kiln does not evaluate `exec`, `user`,
 *   `localnetwork` … criteria). A `Host` line ends a `Match` block as usual.
 * - `Include` (global or inside a block) with globs; relative paths are relative to ~/.ssh.
 *   Lines of an included file start in the block of the `Include` line; a `Host` line inside the
 *   included file only changes the block for the rest of that file. Missing files are ignored.
 * - Keywords are case-insensitive; `Key Value` and `Key=Value` forms; double-quoted arguments;
 *   `#` starts a comment at the start of a line or of an argument.
 * - Tokens `%h` (host name; in HostName: the name given, elsewhere: the final HostName), `%n`
 *   (original name), `%p`, `%r`, `%u` (local user), `%d` (home), `%%` are expanded in HostName,
 *   IdentityFile and UserKnownHostsFile; `~` is expanded in IdentityFile, UserKnownHostsFile and
 *   Include.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { type Diagnostic, InputError } from '../../core/diagnostic.ts';
import { readInputBytes } from '../../core/limits.ts';
import { decodeUtf8 } from '../../core/text.ts';

export interface SshConfigOption {
  /** Lower-cased keyword. */
  keyword: string;
  args: string[];
  file: string;
  line: number;
  /** Host patterns of the block the option is in; null = global; 'match' = inside a Match block (never applies). */
  hosts: string[] | null | 'match';
}

export interface SshConfig {
  options: SshConfigOption[];
  /** Problems found while reading (bad Port value, Include too deep …), located. */
  diagnostics: Diagnostic[];
  /** Every file read, the main one first. */
  files: string[];
}

export interface SshConfigLookup {
  hostName?: string;
  user?: string;
  port?: number;
  identityFiles: string[];
  /** Raw ProxyJump value (`none` included: it disables a later value). */
  proxyJump?: string;
  userKnownHostsFiles?: string[];
  strictHostKeyChecking?: string;
}

export interface SshConfigParseOptions {
  /** Directory that relative Include paths are resolved against (default ~/.ssh). */
  sshDir?: string;
  homeDir?: string;
}

const MAX_INCLUDE_DEPTH = 16;

export function defaultSshConfigPath(): string {
  return join(homedir(), '.ssh', 'config');
}

/** Reads ~/.ssh/config (or `path`). A missing file is an empty config. */
export function loadSshConfig(path: string = defaultSshConfigPath(), opts: SshConfigParseOptions = {}): SshConfig {
  const file = expandTilde(path, opts.homeDir);
  if (!existsSync(file)) return { options: [], diagnostics: [], files: [] };
  const read = readConfigText(file);
  if (typeof read !== 'string') return { options: [], diagnostics: read, files: [file] };
  return parseSshConfig(read, file, opts);
}

/** A config file's text: past the input size limit, unreadable or not UTF-8 it is located diagnostics instead. */
function readConfigText(file: string): string | Diagnostic[] {
  try {
    return decodeUtf8(readInputBytes(file), file, 'ssh config file');
  } catch (err) {
    if (err instanceof InputError) return err.diagnostics;
    throw err;
  }
}

export function parseSshConfig(text: string, file: string, opts: SshConfigParseOptions = {}): SshConfig {
  const cfg: SshConfig = { options: [], diagnostics: [], files: [file] };
  parseInto(cfg, text, file, null, 0, opts);
  return cfg;
}

function parseInto(
  cfg: SshConfig,
  text: string,
  file: string,
  initial: SshConfigOption['hosts'],
  depth: number,
  opts: SshConfigParseOptions,
): void {
  const home = opts.homeDir ?? homedir();
  const sshDir = opts.sshDir ?? join(home, '.ssh');
  let block = initial;
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const raw = lines[i]!;
    const m = /^\s*([A-Za-z][A-Za-z0-9]*)(\s*=\s*|\s+|$)(.*)$/.exec(raw);
    if (!m) {
      if (raw.trim() && !raw.trim().startsWith('#')) {
        cfg.diagnostics.push({ file, line: lineNo, col: 1, message: `cannot parse ssh config line: ${raw.trim()}` });
      }
      continue;
    }
    const keyword = m[1]!.toLowerCase();
    const argStart = raw.length - m[3]!.length;
    const { args, error } = splitArgs(m[3]!);
    if (error) {
      cfg.diagnostics.push({ file, line: lineNo, col: argStart + 1, message: error });
      continue;
    }
    if (keyword === 'host') {
      block = args.length ? args : [];
      continue;
    }
    if (keyword === 'match') {
      block = 'match';
      continue;
    }
    if (keyword === 'include') {
      if (block === 'match') continue;
      if (depth >= MAX_INCLUDE_DEPTH) {
        cfg.diagnostics.push({ file, line: lineNo, col: 1, message: `Include nested too deeply (max ${MAX_INCLUDE_DEPTH})` });
        continue;
      }
      for (const a of args) {
        let p = expandTilde(a, home);
        if (!isAbsolute(p)) p = join(sshDir, p);
        for (const inc of expandGlob(p)) {
          cfg.files.push(inc);
          const read = readConfigText(inc);
          if (typeof read === 'string') parseInto(cfg, read, inc, block, depth + 1, opts);
          else cfg.diagnostics.push(...read);
        }
      }
      continue;
    }
    if (keyword === 'port') {
      const n = Number(args[0]);
      if (args.length !== 1 || !/^\d+$/.test(args[0]!) || n < 1 || n > 65535) {
        cfg.diagnostics.push({ file, line: lineNo, col: argStart + 1, message: `bad Port value '${args.join(' ')}' (expected 1-65535)` });
        continue;
      }
    }
    cfg.options.push({ keyword, args, file, line: lineNo, hosts: block });
  }
}

/** OpenSSH-style argument splitting: whitespace separated, double/single quotes, `#` comment at an argument start. */
function splitArgs(s: string): { args: string[]; error?: string } {
  const args: string[] = [];
  let i = 0;
  while (i < s.length) {
    while (i < s.length && /\s/.test(s[i]!)) i++;
    if (i >= s.length) break;
    if (s[i] === '#') break;
    let cur = '';
    while (i < s.length && !/\s/.test(s[i]!)) {
      const c = s[i]!;
      if (c === '"' || c === "'") {
        const end = s.indexOf(c, i + 1);
        if (end < 0) return { args, error: 'unterminated quoted argument' };
        cur += s.slice(i + 1, end);
        i = end + 1;
      } else if (c === '\\' && i + 1 < s.length) {
        cur += s[i + 1];
        i += 2;
      } else {
        cur += c;
        i++;
      }
    }
    args.push(cur);
  }
  return { args };
}

/** Wildcard match with `*` and `?` (whole string). */
export function matchWildcard(pattern: string, s: string, caseInsensitive = true): boolean {
  const re =
    '^' +
    pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.') +
    '$';
  return new RegExp(re, caseInsensitive ? 'is' : 's').test(s);
}

/**
 * OpenSSH pattern-list semantics: true if some positive pattern matches and no negated one does.
 */
export function matchPatternList(patterns: string[], s: string): boolean {
  let positive = false;
  for (const p of patterns) {
    if (p.startsWith('!')) {
      if (matchWildcard(p.slice(1), s)) return false;
    } else if (matchWildcard(p, s)) {
      positive = true;
    }
  }
  return positive;
}

export interface SshLookupOptions {
  localUser?: string;
  homeDir?: string;
}

/**
 * The settings that apply to `host`. Given several names (e.g. the inventory name and the
 * address), a Host block applies if it matches any of them; the first name is `%h`/`%n`.
 */
export function lookupSshConfig(cfg: SshConfig, host: string | string[], opts: SshLookupOptions = {}): SshConfigLookup {
  const names = (Array.isArray(host) ? host : [host]).filter((h, i, a) => h && a.indexOf(h) === i);
  const original = names[0] ?? '';
  const home = opts.homeDir ?? homedir();
  const localUser = opts.localUser ?? currentUser();
  const out: SshConfigLookup = { identityFiles: [] };
  const rawIdentity: string[] = [];
  let rawKnownHosts: string[] | undefined;
  for (const o of cfg.options) {
    if (o.hosts === 'match') continue;
    if (o.hosts !== null && !names.some((n) => matchPatternList(o.hosts as string[], n))) continue;
    const a0 = o.args[0];
    if (a0 === undefined) continue;
    switch (o.keyword) {
      case 'hostname':
        out.hostName ??= expandTokens(a0, { h: original, n: original, u: localUser, d: home });
        break;
      case 'user':
        out.user ??= a0;
        break;
      case 'port':
        out.port ??= Number(a0);
        break;
      case 'identityfile':
        rawIdentity.push(a0);
        break;
      case 'proxyjump':
        out.proxyJump ??= a0;
        break;
      case 'userknownhostsfile':
        rawKnownHosts ??= o.args;
        break;
      case 'stricthostkeychecking':
        out.strictHostKeyChecking ??= a0;
        break;
    }
  }
  const tokens = {
    h: out.hostName ?? original,
    n: original,
    p: String(out.port ?? 22),
    r: out.user ?? localUser,
    u: localUser,
    d: home,
  };
  for (const f of rawIdentity) {
    if (f.toLowerCase() === 'none') continue;
    const p = expandTilde(expandTokens(f, tokens), home);
    if (!out.identityFiles.includes(p)) out.identityFiles.push(p);
  }
  if (rawKnownHosts) {
    out.userKnownHostsFiles = rawKnownHosts
      .filter((f) => f.toLowerCase() !== 'none')
      .map((f) => expandTilde(expandTokens(f, tokens), home));
  }
  return out;
}

/** Expands `%x` tokens; `%%` is a literal percent. Unknown tokens are left as they are. */
export function expandTokens(s: string, tokens: Record<string, string>): string {
  return s.replace(/%(.)/g, (all, c: string) => (c === '%' ? '%' : (tokens[c] ?? all)));
}

export function expandTilde(p: string, home: string = homedir()): string {
  if (p === '~') return home;
  if (p.startsWith('~/')) return join(home, p.slice(2));
  return p;
}

export function currentUser(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? process.env.LOGNAME ?? 'root';
  }
}

/** Expands `*`/`?` in any path component; results sorted like glob(3). Non-glob paths: returned if they exist. */
function expandGlob(pattern: string): string[] {
  if (!/[*?]/.test(pattern)) return isFile(pattern) ? [pattern] : [];
  const parts = pattern.split('/');
  let bases = [parts[0] === '' ? '/' : parts[0]!];
  for (let i = 1; i < parts.length; i++) {
    const part = parts[i]!;
    if (!part) continue;
    const next: string[] = [];
    for (const b of bases) {
      if (!/[*?]/.test(part)) {
        next.push(join(b, part));
        continue;
      }
      let entries: string[] = [];
      try {
        entries = readdirSync(b);
      } catch {
        continue;
      }
      for (const e of entries.sort()) {
        if (e.startsWith('.') && !part.startsWith('.')) continue;
        if (matchWildcard(part, e, false)) next.push(join(b, e));
      }
    }
    bases = next;
  }
  return bases.filter(isFile);
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}
