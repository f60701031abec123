/**
 * `package`: Debian packages through apt.
 *
 * Probe: one `dpkg-query -W` for all names (status + version), the apt cache's age, and
 * `apt-cache policy` (slow, ~0.4 s) only for the names that need a candidate version: those not
 * installed, or all of them for state: latest. A converged `present` task never calls apt-cache.
 *
 * Plan pairs each summary with a typed op naming the package it touches; apply builds at most
 * one `apt-get update` and one install (or remove/purge) command from the ops alone.
 */
import { compareDebVersions } from './debversion.ts';
import { parseKv } from '../../sh/kv.ts';
import { q } from '../../sh/quote.ts';
import { defineModule, type ExecResult, type FromSchema, type ModuleContext, type Planned } from '../contract.ts';
import { ANYTHING, pathResource } from '../resources.ts';

const NAME = '^[a-z0-9][a-z0-9+.-]*(:[a-z0-9-]+)?(=[A-Za-z0-9.+~:-]+)?$';

const schema = {
  type: 'object',
  additionalProperties: false,
  // As Ansible's apt: a name, or only a cache update (`apt: update_cache=yes`).
  anyOf: [{ required: ['name'] }, { required: ['update_cache'] }],
  properties: {
    name: {
      type: ['string', 'array'],
      pattern: NAME,
      items: { type: 'string', pattern: NAME },
      minItems: 1,
      description:
        'package name, or a list of names (required unless the task only updates the cache: update_cache); "name=version" pins a version (present: that exact version is installed); "name:arch" selects an architecture',
    },
    state: {
      enum: ['present', 'absent', 'latest'],
      description: 'present (default): installed, any version; latest: installed at the candidate version; absent: removed',
    },
    update_cache: { type: 'boolean', description: 'run apt-get update before installing (see cache_valid_time)' },
    cache_valid_time: {
      type: 'integer',
      minimum: 0,
      description:
        'with update_cache: only update when the cache is older than this many seconds (age = newest of /var/lib/apt/periodic/update-success-stamp and /var/lib/apt/lists); without it the update runs every time',
    },
    purge: {
      type: 'boolean',
      description: 'state: absent also removes configuration files (apt-get purge); also purges packages left in config-files state',
    },
    install_recommends: {
      type: 'boolean',
      description: "false: pass --no-install-recommends; default: Debian's own setting (Recommends are installed)",
    },
    allow_downgrade: {
      type: 'boolean',
      description:
        'allow a pinned version ("name=version") older than the installed one to replace it (apt-get --allow-downgrades); default false: such a downgrade fails, as in Ansible',
    },
    default_release: {
      type: 'string',
      pattern: '^([A-Za-z0-9][A-Za-z0-9.+~_/-]*)?$',
      description:
        'target release (apt-get -t; empty: none, as in Ansible): its packages get priority 990, so candidates (and what state: latest means) come from it, e.g. bookworm-backports',
    },
    policy_rc_d: {
      type: 'integer',
      minimum: 0,
      maximum: 255,
      description:
        'while apt-get installs or removes, /usr/sbin/policy-rc.d exits with this code (101: packages do not start or restart services); an existing policy-rc.d is put back afterwards',
    },
  },
} as const;

export type PackageParams = FromSchema<typeof schema>;

/** What apply does; `key` is the package name as given, with its :arch but without =version. */
export type PackageOp =
  | { kind: 'update-cache' }
  /** Install, or change to the pinned version (also a name the cache update may provide). */
  | { kind: 'install'; key: string }
  | { kind: 'upgrade'; key: string }
  /** latest after a cache update: apt is asked, and upgrades only if there is a newer version. */
  | { kind: 'maybe-upgrade'; key: string }
  | { kind: 'reinstall'; key: string }
  /** Remove, or purge with `purge: true`. */
  | { kind: 'remove'; key: string };

export interface PkgInfo {
  /** dpkg status abbreviation, e.g. "ii ", "rc ", "un ". */
  status?: string;
  version?: string;
  /** apt-cache policy; undefined when not probed, null when apt does not know the name. */
  installedPolicy?: string | null;
  candidate?: string | null;
  /** Versions in apt-cache policy's version table. */
  versions?: string[];
}

export interface PackageState {
  /** Host clock, seconds. */
  now?: number;
  /** Newest mtime of the apt cache markers, seconds; 0 when there is no cache at all. */
  cacheMtime?: number;
  pkgs: Record<string, PkgInfo>;
}

interface Wanted {
  spec: string; // as given
  name: string; // without =version
  key: string; // name with :arch if given (what dpkg prints with ${binary:Package} for foreign archs)
  version?: string;
}

function names(p: PackageParams): string[] {
  return p.name === undefined ? [] : typeof p.name === 'string' ? [p.name] : p.name;
}

function wanted(p: PackageParams): Wanted[] {
  return names(p).map((spec) => {
    const eq = spec.indexOf('=');
    const name = eq >= 0 ? spec.slice(0, eq) : spec;
    return { spec, name, key: name, version: eq >= 0 ? spec.slice(eq + 1) : undefined };
  });
}

/** Installed = dpkg status letter 2 is i (installed), W or t (installed, triggers pending). */
function isInstalled(i: PkgInfo | undefined): boolean {
  return !!i?.status && 'iWt'.includes(i.status[1] ?? '');
}
/** Something of the package is on disk (half-installed, unpacked, config files...). */
function hasTraces(i: PkgInfo | undefined): boolean {
  return !!i?.status && (i.status[1] ?? 'n') !== 'n';
}

const DPKG_FMT = '${binary:Package}\\t${Package}\\t${db:Status-Abbrev}\\t${Version}\\n';

export function packageProbe(p: PackageParams): string {
  const state = p.state ?? 'present';
  const list = wanted(p)
    .map((w) => q(w.name))
    .join(' ');
  const lines = [
    'echo "now=$(date +%s)"',
    // Newest of the stamp (written by Kiln and apt's periodic job) and the lists directory.
    // (one stat for both: exit 0 is one line each, in order; else one stat each, as a file may have gone)
    'm=0; set --; for f in /var/lib/apt/periodic/update-success-stamp /var/lib/apt/lists; do [ ! -e "$f" ] || set -- "$@" "$f"; done',
    'if [ $# -gt 0 ] && ts=$(stat -c %Y -- "$@" 2>/dev/null); then for t in $ts; do [ "$t" -le "$m" ] || m=$t; done',
    'else for f in "$@"; do t=$(stat -c %Y -- "$f" 2>/dev/null) && [ "$t" -gt "$m" ] && m=$t; done; fi',
    'echo "cache_mtime=$m"',
    // No names (a cache update only): nothing to ask dpkg (with no names it lists every package).
    list ? `inst=$(dpkg-query -W -f='${DPKG_FMT}' -- ${list} 2>/dev/null </dev/null)` : 'inst=""',
    'echo "--dpkg"; [ -n "$inst" ] && printf \'%s\\n\' "$inst"',
  ];
  if (state !== 'absent' && list) {
    // apt-cache policy only for names that are not fully installed (or all of them for latest).
    lines.push(
      'need=""',
      `for n in ${list}; do`,
      state === 'latest'
        ? '  need="$need $n"'
        : // Installed: a line of dpkg-query's for the name whose status letter 2 is i, W or t (shell built-ins only).
          `  f=; while IFS='\t' read -r b k s v; do { [ "$b" = "$n" ] || [ "$k" = "$n" ]; } && case $s in ?[iWt]*) f=1;; esac; done <<KILN_DPKG\n$inst\nKILN_DPKG\n  [ -n "$f" ] || need="$need $n"`,
      'done',
      // $need is a list of names validated by the schema's pattern: safe to split unquoted.
      `echo "--policy"; [ -n "$need" ] && LC_ALL=C apt-cache${p.default_release ? ` -o APT::Default-Release=${q(p.default_release)}` : ''} policy -- $need 2>/dev/null </dev/null`,
    );
  }
  lines.push('true');
  return lines.join('\n');
}

export function packageParse(out: ExecResult, p: PackageParams): PackageState {
  const [head, rest = ''] = out.stdout.split(/^--dpkg$/m);
  const [dpkgPart, policyPart] = rest.split(/^--policy$/m);
  const kv = parseKv(head);
  const pkgs: Record<string, PkgInfo> = {};
  const ws = wanted(p);
  for (const w of ws) pkgs[w.key] = {};
  for (const line of dpkgPart.split('\n')) {
    const [bin, pkg, status, version] = line.split('\t');
    if (!status) continue;
    for (const w of ws) {
      if (w.key === bin || w.key === pkg) {
        // Multi-arch: prefer an installed instance over a not-installed one.
        if (!isInstalled(pkgs[w.key]) || !pkgs[w.key].status) pkgs[w.key] = { ...pkgs[w.key], status, version: version || undefined };
      }
    }
  }
  if (policyPart !== undefined) {
    const policy = parsePolicy(policyPart);
    for (const w of ws) {
      const pol = policy[w.key] ?? policy[w.key.split(':')[0]];
      if (pol) Object.assign(pkgs[w.key], { installedPolicy: pol.installed, candidate: pol.candidate, versions: pol.versions });
      else if (needsPolicy(p, pkgs[w.key])) Object.assign(pkgs[w.key], { installedPolicy: null, candidate: null, versions: [] });
    }
  }
  return {
    now: kv.now ? Number(kv.now) : undefined,
    cacheMtime: kv.cache_mtime ? Number(kv.cache_mtime) : undefined,
    pkgs,
  };
}

function needsPolicy(p: PackageParams, i: PkgInfo | undefined): boolean {
  return (p.state ?? 'present') === 'latest' || !isInstalled(i);
}

/** Parses `apt-cache policy a b` output (LC_ALL=C). */
export function parsePolicy(text: string): Record<string, { installed: string | null; candidate: string | null; versions: string[] }> {
  const out: Record<string, { installed: string | null; candidate: string | null; versions: string[] }> = {};
  let cur: string | undefined;
  for (const line of text.split('\n')) {
    const h = /^(\S+):$/.exec(line);
    if (h) {
      cur = h[1];
      out[cur] = { installed: null, candidate: null, versions: [] };
      continue;
    }
    const v = /^(?: \*\*\* |     )(\S+) -?\d+$/.exec(line);
    if (v && cur) {
      out[cur].versions.push(v[1]);
      continue;
    }
    const m = /^\s+(Installed|Candidate):\s*(\S+)/.exec(line);
    if (m && cur) {
      const v = m[2] === '(none)' ? null : m[2];
      if (m[1] === 'Installed') out[cur].installed = v;
      else out[cur].candidate = v;
    }
  }
  return out;
}

function cacheUpdateDue(p: PackageParams, s: PackageState): boolean {
  if (!p.update_cache) return false;
  if (p.cache_valid_time === undefined) return true;
  if (!s.cacheMtime || s.now === undefined) return true;
  return s.now - s.cacheMtime >= p.cache_valid_time;
}

export function packagePlan(p: PackageParams, s: PackageState, _ctx?: ModuleContext): Planned<PackageOp>[] {
  const state = p.state ?? 'present';
  const changes: Planned<PackageOp>[] = [];
  const update = cacheUpdateDue(p, s);
  if (update) {
    const age = s.cacheMtime && s.now !== undefined ? s.now - s.cacheMtime : undefined;
    const why =
      p.cache_valid_time === undefined
        ? ''
        : age === undefined
          ? ' (no cache yet)'
          : ` (cache is ${age} s old, valid for ${p.cache_valid_time} s)`;
    // Without cache_valid_time the update runs on every run: a one-shot action.
    changes.push({ summary: `update apt cache${why}`, action: p.cache_valid_time === undefined, op: { kind: 'update-cache' } });
  }
  const unknown: string[] = [];
  const downgrades: string[] = [];
  for (const w of wanted(p)) {
    const i = s.pkgs[w.key] ?? {};
    const key = w.key;
    if (state === 'absent') {
      if (isInstalled(i) || (i.status && 'HUF'.includes(i.status[1]))) {
        changes.push({
          summary: `${p.purge ? 'purge' : 'remove'} ${w.key}${i.version ? ` ${i.version}` : ''}`,
          op: { kind: 'remove', key },
        });
      } else if (p.purge && hasTraces(i)) {
        changes.push({ summary: `purge ${w.key} (configuration files left)`, op: { kind: 'remove', key } });
      }
      continue;
    }
    const installed = isInstalled(i);
    if (installed && i.status?.[2] && i.status[2] !== ' ') {
      changes.push({ summary: `reinstall ${w.key} (dpkg reports an error state: ${i.status.trim()})`, op: { kind: 'reinstall', key } });
      continue;
    }
    if (installed && (!w.version || w.version === i.version)) {
      if (state === 'latest' && !w.version) {
        if (i.candidate && i.candidate !== i.version) {
          changes.push({ summary: `upgrade ${w.key} ${i.version} → ${i.candidate}`, op: { kind: 'upgrade', key } });
        } else if (update) {
          changes.push({
            summary: `upgrade ${w.key} if the updated cache has a newer version than ${i.version}`,
            action: true,
            unpredictable: true,
            op: { kind: 'maybe-upgrade', key },
          });
        }
      }
      continue;
    }
    // Not installed, or installed at another version than the pinned one: apt must know it.
    const probed = i.candidate !== undefined || i.versions !== undefined;
    const available = !probed || (w.version ? (i.versions ?? []).includes(w.version) || i.candidate === w.version : !!i.candidate);
    if (!available) {
      if (update) {
        changes.push({
          summary: `install ${w.spec} (not in the apt cache yet; the cache update may provide it)`,
          unpredictable: true,
          op: { kind: 'install', key },
        });
      } else {
        unknown.push(w.spec);
      }
      continue;
    }
    if (installed && w.version && i.version && compareDebVersions(w.version, i.version) < 0) {
      if (!p.allow_downgrade) {
        downgrades.push(`${w.key} ${i.version} → ${w.version}`);
        continue;
      }
      changes.push({ summary: `downgrade ${w.key} ${i.version} → ${w.version}`, op: { kind: 'install', key } });
      continue;
    }
    const half = i.status && 'HUF'.includes(i.status[1]) ? ` (currently half-installed: ${i.status.trim()})` : '';
    const ver = w.version ?? i.candidate ?? '';
    const was = installed ? ` (installed: ${i.version})` : half;
    changes.push({ summary: `install ${w.key}${ver ? ` ${ver}` : ''}${was}`, op: { kind: 'install', key } });
  }
  if (downgrades.length) {
    throw new Error(
      `pinned version older than the installed one: ${downgrades.join(', ')}; apt refuses a downgrade unless allow_downgrade: true`,
    );
  }
  if (unknown.length) {
    throw new Error(
      `apt has no installation candidate for ${unknown.join(', ')}: check the name${unknown.some((u) => u.includes('=')) ? ' and version' : ''}` +
        `${p.update_cache ? '' : ', or set update_cache: true'} (a virtual package must be installed by the name of a real package providing it)`,
    );
  }
  return changes;
}

const APT = 'DEBIAN_FRONTEND=noninteractive apt-get -y -q -o DPkg::Lock::Timeout=120';
const CONF = '-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold';

export function packageApply(p: PackageParams, _s: PackageState, ops: readonly PackageOp[]): string {
  let update = false;
  let maybe = false;
  let reinstall = false;
  const touched = new Set<string>();
  for (const op of ops) {
    switch (op.kind) {
      case 'update-cache':
        update = true;
        break;
      case 'maybe-upgrade':
        maybe = true;
        touched.add(op.key);
        break;
      case 'reinstall':
        reinstall = true;
        touched.add(op.key);
        break;
      case 'install':
      case 'upgrade':
      case 'remove':
        touched.add(op.key);
        break;
    }
  }
  const lines = ['set -e', 'export DEBIAN_FRONTEND=noninteractive'];
  if (update) {
    lines.push(`${APT} update </dev/null`, 'mkdir -p /var/lib/apt/periodic && touch /var/lib/apt/periodic/update-success-stamp');
  }
  const state = p.state ?? 'present';
  const ws = wanted(p);
  if (state === 'absent') {
    const rm = ws.filter((w) => touched.has(w.key)).map((w) => q(w.key));
    if (rm.length) lines.push(...policyRcD(p, `${APT} ${p.purge ? 'purge' : 'remove'} -- ${rm.join(' ')} </dev/null`));
  } else {
    // "latest" after a cache update: ask apt for all the names; it upgrades only what is newer.
    const inst = ws.filter((w) => touched.has(w.key) || (maybe && state === 'latest'));
    const args = inst.map((w) => q(w.version ? `${w.key}=${w.version}` : w.key));
    if (args.length) {
      const rec = p.install_recommends === false ? ' --no-install-recommends' : '';
      // As Ansible: --allow-downgrades only when asked (plan refuses a downgrade without it).
      const down = p.allow_downgrade ? ' --allow-downgrades' : '';
      const rel = p.default_release ? ` -t ${q(p.default_release)}` : '';
      lines.push(
        ...policyRcD(p, `${APT} ${CONF}${rec}${down}${rel}${reinstall ? ' --reinstall' : ''} install -- ${args.join(' ')} </dev/null`),
      );
    }
  }
  return lines.join('\n');
}

/**
 * Ansible's PolicyRcD: around the apt-get command, /usr/sbin/policy-rc.d exits with `policy_rc_d`
 * (invoke-rc.d then neither starts nor restarts services for 101); an existing one is moved aside and
 * put back afterwards, a new one removed, also when apt-get fails.
 */
function policyRcD(p: PackageParams, cmd: string): string[] {
  if (p.policy_rc_d === undefined) return [cmd];
  return [
    'prc=/usr/sbin/policy-rc.d; prc_bak=""',
    'if [ -e "$prc" ] || [ -L "$prc" ]; then prc_bak=$(mktemp -d /tmp/kiln-policy-rc.XXXXXX) && mv -- "$prc" "$prc_bak/policy-rc.d"; fi',
    'prc_restore() { rm -f -- "$prc"; if [ -n "$prc_bak" ]; then mv -- "$prc_bak/policy-rc.d" "$prc" && rmdir -- "$prc_bak"; fi; }',
    `printf '#!/bin/sh\\nexit %d\\n' ${p.policy_rc_d} > "$prc" && chmod 0755 "$prc"`,
    `set +e; ${cmd}`,
    'rc=$?; set -e; prc_restore; [ "$rc" -eq 0 ] || exit "$rc"',
  ];
}

export default defineModule<PackageParams, PackageState, PackageOp>({
  name: 'package',
  description: 'Install, upgrade or remove Debian packages with apt (non-interactive, keeps changed conffiles).',
  schema,
  probe: (p) => packageProbe(p),
  // The probe reads the package database (and apt's lists for cache_valid_time); an install or
  // removal runs maintainer scripts: it may write anything. apt-get's failures exit non-zero.
  footprint: () => ({ reads: [{ kind: 'packages' }, pathResource('/var/lib/apt', true)], writes: [ANYTHING], exitStatusFails: true }),
  parse: (out, p) => packageParse(out, p),
  plan: (p, _prep, s, ctx) => packagePlan(p, s, ctx),
  apply: (p, _prep, s, ops) => packageApply(p, s, ops),
  interpret(_p, _prep, out) {
    const m = /(\d+) upgraded, (\d+) newly installed, (\d+) to remove/.exec(out.stdout);
    const result = {
      rc: out.code,
      stdout: out.stdout,
      stderr: out.stderr,
      ...(m ? { upgraded: +m[1], installed: +m[2], removed: +m[3] } : {}),
    };
    if (out.code === 0) return { result };
    // apt's own E: lines say what went wrong (unknown package, lock timeout, broken deps).
    const errs = out.stderr.split('\n').filter((l) => /^E: /.test(l));
    return {
      result,
      failed: `apt-get failed (exit ${out.code}): ${(errs.length ? errs : out.stderr.trim().split('\n').slice(-3)).join(' | ') || 'no error output'}`,
    };
  },
  registerAfterApply: true,
  registerData: (p, _prep, s) => ({
    packages: Object.fromEntries(
      Object.entries(s.pkgs).map(([k, i]) => [
        k,
        { installed: isInstalled(i), version: i.version ?? null, candidate: i.candidate ?? null },
      ]),
    ),
    cache_age: s.now !== undefined && s.cacheMtime ? s.now - s.cacheMtime : null,
    state: p.state ?? 'present',
  }),
});
