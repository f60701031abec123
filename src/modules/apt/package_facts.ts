/**
 * `package_facts`: the installed packages as Ansible's package_facts with its apt backend returns
 * them, `ansible_facts.packages`: name → list of `{ name, version, arch, category, origin, source:
 * 'apt' }` (python-apt's installed version: its section, and the Origin of the first apt list that
 * carries that version, '' when only dpkg's status has it). The engine merges a result's
 * `ansible_facts` into the host's facts, as for setup.
 *
 * Read-only, no python3-apt needed: the probe reads dpkg's database (`dpkg-query`) and apt's lists
 * (/var/lib/apt/lists, decompressed by apt-helper), and rides the probe batch (no extra round trip).
 */
import { q } from '../../sh/quote.ts';
import { defineModule, type ExecResult, type FromSchema } from '../contract.ts';

const MANAGERS = ['auto', 'apt'] as const;

const schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    manager: {
      anyOf: [{ enum: MANAGERS }, { type: 'array', items: { enum: MANAGERS }, minItems: 1 }],
      description:
        "package managers to read: auto (default) or apt, the only one on Debian (Ansible's rpm, portage, pkg, pacman, apk and pkg_info are other systems' and refused)",
    },
    strategy: {
      enum: ['first', 'all'],
      description: 'first (default) or all available managers: the same on Debian, where apt is the one manager',
    },
  },
} as const;

export type PackageFactsParams = FromSchema<typeof schema>;

export interface PackageEntry {
  name: string;
  version: string;
  arch: string;
  category: string;
  origin: string;
  source: 'apt';
}

export interface PackageFactsState {
  packages: Record<string, PackageEntry[]>;
}

// Installed for apt: a current version (every dpkg state but not-installed and config-files).
const DPKG_FMT = '${db:Status-Abbrev}\\t${Package}\\t${Version}\\t${Architecture}\\t${Section}\\n';

export function packageFactsProbe(): string {
  return [
    'command -v dpkg-query >/dev/null 2>&1 || { echo "dpkg-query not found: package_facts reads the dpkg database" >&2; exit 3; }',
    'echo "native=$(dpkg --print-architecture)"',
    `inst=$(dpkg-query -W -f=${q(DPKG_FMT)} 2>/dev/null | awk -F'\\t' 'substr($1,2,1) !~ /[nc]/')`,
    'echo "--dpkg"; printf \'%s\\n\' "$inst"',
    'echo "--origins"',
    // For each apt list (Release/InRelease + its Packages indexes): the installed (name, version, arch) it carries.
    'for r in /var/lib/apt/lists/*_InRelease /var/lib/apt/lists/*_Release; do',
    '  [ -f "$r" ] || continue',
    '  o=$(sed -n \'s/^Origin: //p\' "$r" | head -n 1)',
    '  pre=${r%_InRelease}; pre=${pre%_Release}',
    '  for p in "$pre"_*Packages "$pre"_*Packages.*; do',
    '    [ -f "$p" ] || continue',
    '    { printf \'%s\\n\' "$inst"; echo "--index"; /usr/lib/apt/apt-helper cat-file "$p" 2>/dev/null; } | awk -v o="$o" \'',
    '      BEGIN { FS = "\\t" } !idx && $0 == "--index" { idx = 1; FS = ": "; next }',
    '      !idx { want[$2 "\\t" $3 "\\t" $4] = 1; next }',
    '      /^Package: / { n = substr($0, 10) } /^Version: / { v = substr($0, 10) } /^Architecture: / { a = substr($0, 15) }',
    '      /^$/ { if ((n "\\t" v "\\t" a) in want) printf "%s\\t%s\\t%s\\t%s\\n", o, n, v, a; n = v = a = "" }',
    '      END { if ((n "\\t" v "\\t" a) in want) printf "%s\\t%s\\t%s\\t%s\\n", o, n, v, a }\'',
    '  done',
    'done',
    'true',
  ].join('\n');
}

export function packageFactsParse(out: ExecResult): PackageFactsState {
  const [head, rest = ''] = out.stdout.split(/^--dpkg$/m);
  const [dpkgPart, originPart = ''] = rest.split(/^--origins$/m);
  const native = /^native=(.*)$/m.exec(head)?.[1] ?? '';
  const origin = new Map<string, string>();
  for (const line of originPart.split('\n')) {
    const [o, n, v, a] = line.split('\t');
    if (a === undefined) continue;
    const k = `${n}\t${v}\t${a}`;
    if (!origin.has(k)) origin.set(k, o);
  }
  const packages: Record<string, PackageEntry[]> = {};
  for (const line of dpkgPart.split('\n')) {
    const [status, pkg, version, arch, section = ''] = line.split('\t');
    if (!status || arch === undefined) continue;
    // python-apt's cache key: the name, qualified with the architecture when it is a foreign one.
    const name = arch === native || arch === 'all' ? pkg : `${pkg}:${arch}`;
    const entry: PackageEntry = {
      name,
      version,
      arch,
      category: section,
      origin: origin.get(`${pkg}\t${version}\t${arch}`) ?? '',
      source: 'apt',
    };
    (packages[name] ??= []).push(entry);
  }
  return { packages };
}

const packageFacts = defineModule<PackageFactsParams, PackageFactsState, { kind: 'none' }>({
  name: 'package_facts',
  description:
    "The installed packages as Ansible's package_facts (apt): ansible_facts.packages, name → list of {name, version, arch, category, origin, source}. Read-only.",
  schema,
  probe: () => packageFactsProbe(),
  parse: (out) => packageFactsParse(out),
  plan: () => [],
  apply: () => 'true',
  registerData: (_p, _prep, s) => ({ ansible_facts: { packages: s.packages } }),
});

/**
 * The host variable a task defines (`packages`, a fact injected under its own name): validation and
 * the probe window treat it as registered by this task, so later tasks using it are rendered after it ran.
 */
export default Object.assign(packageFacts, { defines: (): string[] => ['packages'] });
