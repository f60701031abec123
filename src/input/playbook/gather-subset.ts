/**
 * `gather_subset`: which of Ansible's fact collectors run, as ansible-core 2.14's
 * `get_collector_names` chooses them (module_utils/facts/collector.py): `min` is always added
 * first, `all` adds every subset, `!x` excludes (`!all` keeps the minimal set, `!min` drops it),
 * a subset named explicitly is kept even when excluded otherwise, and a fact name (`mounts`,
 * `distribution_version`) selects the collector that gathers it. `facter` and `ohai` are valid
 * names that gather nothing here (Ansible gathers nothing either when those tools are missing).
 */

import type { DiagnosticBag } from '../../core/diagnostic.ts';
import type { YamlCursor } from '../yaml/document.ts';
import { isTemplate } from './fields.ts';

/** Kiln's collectors, by Ansible's collector names. */
export type Collector =
  | 'apparmor'
  | 'caps'
  | 'chroot'
  | 'cmdline'
  | 'date_time'
  | 'distribution'
  | 'dns'
  | 'env'
  | 'fibre_channel_wwn'
  | 'fips'
  | 'hardware'
  | 'iscsi'
  | 'loadavg'
  | 'local'
  | 'lsb'
  | 'network'
  | 'nvme'
  | 'pkg_mgr'
  | 'platform'
  | 'python'
  | 'selinux'
  | 'service_mgr'
  | 'ssh_pub_keys'
  | 'user'
  | 'virtual'
  | 'facter'
  | 'ohai';

/** The fact names (Ansible's `_fact_ids`) that select a collector, besides its own name. */
const FACT_IDS: Record<Collector, string[]> = {
  apparmor: [],
  caps: ['system_capabilities', 'system_capabilities_enforced'],
  chroot: ['is_chroot'],
  cmdline: [],
  date_time: [],
  distribution: ['distribution_version', 'distribution_release', 'distribution_major_version', 'os_family'],
  dns: [],
  env: [],
  fibre_channel_wwn: [],
  fips: [],
  hardware: ['devices', 'mounts', 'processor', 'processor_cores', 'processor_count'],
  iscsi: [],
  loadavg: [],
  local: [],
  lsb: [],
  network: ['interfaces', 'all_ipv4_addresses', 'all_ipv6_addresses', 'default_ipv4', 'default_ipv6'],
  nvme: [],
  pkg_mgr: [],
  platform: ['system', 'kernel', 'kernel_version', 'machine', 'python_version', 'architecture', 'machine_id'],
  python: [],
  selinux: [],
  service_mgr: [],
  ssh_pub_keys: [
    'ssh_host_pub_keys',
    'ssh_host_key_dsa_public',
    'ssh_host_key_rsa_public',
    'ssh_host_key_ecdsa_public',
    'ssh_host_key_ed25519_public',
  ],
  user: [
    'user_id',
    'user_uid',
    'user_gid',
    'user_gecos',
    'user_dir',
    'user_shell',
    'real_user_id',
    'effective_user_id',
    'effective_group_ids',
  ],
  virtual: ['virtualization_type', 'virtualization_role', 'virtualization_tech_guest', 'virtualization_tech_host'],
  facter: [],
  ohai: [],
};

/** Ansible's minimal set: gathered even with `!all`. */
const MINIMAL: Collector[] = [
  'apparmor',
  'caps',
  'cmdline',
  'date_time',
  'distribution',
  'dns',
  'env',
  'fips',
  'local',
  'lsb',
  'pkg_mgr',
  'platform',
  'python',
  'selinux',
  'service_mgr',
  'ssh_pub_keys',
  'user',
];

/** Collectors that need others' facts (Ansible's `required_facts`, resolved to collectors). */
const REQUIRES: Partial<Record<Collector, Collector[]>> = {
  network: ['platform', 'distribution'],
  hardware: ['platform'],
  virtual: ['platform', 'distribution'],
};

const COLLECTORS = Object.keys(FACT_IDS) as Collector[];

/** Every name `gather_subset` accepts (besides `all` and `min`), as Ansible lists them. */
export const VALID_SUBSETS: readonly string[] = [
  ...new Set([...COLLECTORS, ...COLLECTORS.flatMap((c) => FACT_IDS[c]), 'ssh_pub_keys']),
].sort();

/** The collector a subset name selects (its own name or one of its fact names). */
function collectorsOf(name: string): Collector[] {
  return COLLECTORS.filter((c) => c === name || FACT_IDS[c].includes(name));
}

/** A bad subset name: Ansible's own message. */
export class BadSubsetError extends Error {}

/** `gather_subset` as a list (a string is split on commas, as Ansible's `list` option does). */
export function subsetList(v: unknown): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') {
    return v
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  }
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
  return undefined;
}

/** The collectors `gather_subset` selects; throws BadSubsetError with Ansible's message. */
export function collectorsFor(gatherSubset: readonly string[] = ['all']): Set<Collector> {
  const spec = gatherSubset.length ? gatherSubset : ['all'];
  const add = new Set<Collector>();
  const exclude = new Set<Collector>();
  const explicit = new Set<Collector>();
  for (const subset of ['min', ...spec]) {
    if (subset === 'min') {
      for (const c of MINIMAL) add.add(c);
      continue;
    }
    if (subset === 'all') {
      for (const c of COLLECTORS) add.add(c);
      continue;
    }
    if (subset.startsWith('!')) {
      const name = subset.slice(1);
      if (name === 'min') {
        for (const c of MINIMAL) exclude.add(c);
      } else if (name === 'all') {
        for (const c of COLLECTORS) if (!MINIMAL.includes(c)) exclude.add(c);
      } else {
        for (const c of collectorsOf(name)) exclude.add(c);
      }
      continue;
    }
    const cs = collectorsOf(subset);
    if (!cs.length) {
      throw new BadSubsetError(`Bad subset '${subset}' given to Ansible. gather_subset options allowed: all, ${VALID_SUBSETS.join(', ')}`);
    }
    for (const c of cs) {
      explicit.add(c);
      add.add(c);
    }
  }
  if (!add.size) for (const c of COLLECTORS) add.add(c);
  for (const c of exclude) if (!explicit.has(c)) add.delete(c);
  for (const c of [...add]) for (const r of REQUIRES[c] ?? []) add.add(r);
  return add;
}

/** A play's gather_subset, gather_timeout and fact_path, checked (bad values: located errors). */
export function gatherKeywords(c: YamlCursor, bag: DiagnosticBag): { gatherSubset?: string[]; gatherTimeout?: number; factPath?: string } {
  const out: { gatherSubset?: string[]; gatherTimeout?: number; factPath?: string } = {};
  const gs = c.child('gather_subset');
  if (gs.value !== undefined && gs.value !== null) {
    const list = subsetList(gs.value);
    if (!list) bag.add(gs.diag('gather_subset must be a subset name, a comma-separated string of them, or a list of them'));
    else if (list.some(isTemplate)) bag.add(gs.diag('gather_subset: a templated value is not supported'));
    else {
      try {
        collectorsFor(list);
        out.gatherSubset = list;
      } catch (err) {
        if (!(err instanceof BadSubsetError)) throw err;
        const i = Array.isArray(gs.value) ? list.findIndex((s) => err.message.startsWith(`Bad subset '${s.replace(/^!/, '')}'`)) : -1;
        bag.add((i >= 0 ? gs.child(i) : gs).diag(`gather_subset: ${err.message}`));
      }
    }
  }
  const gt = c.child('gather_timeout');
  if (gt.value !== undefined && gt.value !== null) {
    const v = typeof gt.value === 'string' && /^\d+$/.test(gt.value.trim()) ? Number(gt.value) : gt.value;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1)
      bag.add(gt.diag('gather_timeout must be a whole number of seconds (1 or more)'));
    else out.gatherTimeout = v;
  }
  const fp = c.child('fact_path');
  if (fp.value !== undefined && fp.value !== null) {
    if (typeof fp.value !== 'string' || !fp.value.trim()) bag.add(fp.diag('fact_path must be a directory path'));
    else if (isTemplate(fp.value)) bag.add(fp.diag('fact_path: a templated value is not supported'));
    else out.factPath = fp.value;
  }
  return out;
}
