/**
 * The gathering script's sections → Ansible's facts, with the rules of ansible-core 2.14's
 * collectors (module_utils/facts/…) for a Linux host: same names (prefixed `ansible_`, as the
 * setup module returns them), same types, same values. What Kiln does not gather: `devices`,
 * `device_links` (block devices), ethtool's per-interface `features`/`timestamping`, the `bind`
 * mark on bind mounts' options, `discovered_interpreter_python` (Kiln does not discover
 * interpreters) and the lvm volume list (`ansible_lvm` is 'N/A' without `vgs` and absent with it).
 */
import { splitSections } from './script.ts';
import type { Collector } from '../../../input/playbook/gather-subset.ts';

type Facts = Record<string, unknown>;

/** Ansible's OS_FAMILY_MAP, for the families a Debian-only tool can meet (others: the name itself). */
const OS_FAMILY: Record<string, string> = Object.fromEntries(
  (
    [
      [
        'Debian',
        [
          'Debian',
          'Ubuntu',
          'Raspbian',
          'Neon',
          'KDE neon',
          'Linux Mint',
          'SteamOS',
          'Devuan',
          'Kali',
          'Cumulus-linux',
          'Pop!_OS',
          'Parrot',
          'Pardus GNU/Linux',
          'Uos',
          'Deepin',
          'OSMC',
        ],
      ],
      [
        'RedHat',
        [
          'RedHat',
          'RHEL',
          'Fedora',
          'CentOS',
          'Scientific',
          'SLC',
          'Ascendos',
          'CloudLinux',
          'PSBM',
          'OracleLinux',
          'OVS',
          'OEL',
          'Amazon',
          'Virtuozzo',
          'XenServer',
          'Alibaba',
          'EulerOS',
          'openEuler',
          'AlmaLinux',
          'Rocky',
          'TencentOS',
          'EuroLinux',
          'Kylin Linux Advanced Server',
        ],
      ],
      ['Suse', ['SuSE', 'SLES', 'SLED', 'openSUSE', 'openSUSE Tumbleweed', 'SLES_SAP', 'SUSE_LINUX', 'openSUSE Leap']],
      ['Archlinux', ['Archlinux', 'Antergos', 'Manjaro']],
      ['Alpine', ['Alpine']],
      ['Gentoo', ['Gentoo', 'Funtoo']],
    ] as [string, string[]][]
  ).flatMap(([family, names]) => names.map((n) => [n, family])),
);

const INTERFACE_TYPE: Record<string, string> = { '1': 'ether', '32': 'infiniband', '512': 'ppp', '772': 'loopback', '65534': 'tunnel' };

const FORM_FACTOR = [
  'Unknown',
  'Other',
  'Unknown',
  'Desktop',
  'Low Profile Desktop',
  'Pizza Box',
  'Mini Tower',
  'Tower',
  'Portable',
  'Laptop',
  'Notebook',
  'Hand Held',
  'Docking Station',
  'All In One',
  'Sub Notebook',
  'Space-saving',
  'Lunch Box',
  'Main Server Chassis',
  'Expansion Chassis',
  'Sub Chassis',
  'Bus Expansion Chassis',
  'Peripheral Chassis',
  'RAID Chassis',
  'Rack Mount Chassis',
  'Sealed-case PC',
  'Multi-system',
  'CompactPCI',
  'AdvancedTCA',
  'Blade',
  'Blade Enclosure',
  'Tablet',
  'Convertible',
  'Detachable',
  'IoT Gateway',
  'Embedded PC',
  'Mini PC',
  'Stick PC',
];

const PKG_MGRS: [string, string][] = [
  ['/usr/bin/rpm-ostree', 'atomic_container'],
  ['/usr/bin/yum', 'yum'],
  ['/usr/bin/dnf', 'dnf'],
  ['/usr/bin/apt-get', 'apt'],
  ['/usr/bin/zypper', 'zypper'],
  ['/usr/sbin/urpmi', 'urpmi'],
  ['/usr/bin/pacman', 'pacman'],
  ['/bin/opkg', 'opkg'],
  ['/usr/pkg/bin/pkgin', 'pkgin'],
  ['/opt/local/bin/pkgin', 'pkgin'],
  ['/opt/tools/bin/pkgin', 'pkgin'],
  ['/opt/local/bin/port', 'macports'],
  ['/usr/local/bin/brew', 'homebrew'],
  ['/opt/homebrew/bin/brew', 'homebrew'],
  ['/sbin/apk', 'apk'],
  ['/usr/sbin/pkg', 'pkgng'],
  ['/usr/sbin/swlist', 'swdepot'],
  ['/usr/bin/emerge', 'portage'],
  ['/usr/sbin/pkgadd', 'svr4pkg'],
  ['/usr/bin/pkg', 'pkg5'],
  ['/usr/bin/xbps-install', 'xbps'],
  ['/usr/local/sbin/pkg', 'pkgng'],
  ['/usr/bin/swupd', 'swupd'],
  ['/usr/sbin/sorcery', 'sorcery'],
  ['/usr/bin/installp', 'installp'],
];

const lines = (s: string | undefined): string[] => (s === undefined || s === '' ? [] : s.split('\n'));
const kv = (s: string | undefined): Record<string, string> => {
  const out: Record<string, string> = {};
  for (const l of lines(s)) {
    const i = l.indexOf('=');
    if (i > 0) out[l.slice(0, i)] = l.slice(i + 1);
  }
  return out;
};
/** os-release style `KEY="value"`. */
function shellVars(s: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of lines(s)) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(l.trim());
    if (!m) continue;
    let v = m[2]!;
    if ((v.startsWith('"') && v.endsWith('"')) || (v.startsWith("'") && v.endsWith("'"))) v = v.slice(1, -1);
    out[m[1]!] = v.replace(/\\(["$`\\])/g, '$1');
  }
  return out;
}

/** Python's str.split() (whitespace, no empty pieces). */
const words = (s: string): string[] => s.trim().split(/\s+/).filter(Boolean);

/** shlex.split(posix=False) as Ansible uses it for the kernel command line (quotes kept). */
function shlexNonPosix(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote: string | undefined;
  let has = false;
  for (const ch of s) {
    if (quote) {
      cur += ch;
      if (ch === quote) quote = undefined;
    } else if (/\s/.test(ch)) {
      if (has) out.push(cur);
      cur = '';
      has = false;
    } else {
      if (ch === '"' || ch === "'") quote = ch;
      cur += ch;
      has = true;
    }
  }
  if (quote) throw new Error('No closing quotation');
  if (has) out.push(cur);
  return out;
}

function cmdline(data: string | undefined, multi: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (data === undefined) return out;
  let pieces: string[];
  try {
    pieces = shlexNonPosix(data);
  } catch {
    return out;
  }
  for (const piece of pieces) {
    const i = piece.indexOf('=');
    const [k, v]: [string, unknown] = i < 0 ? [piece, true] : [piece.slice(0, i), piece.slice(i + 1)];
    if (multi && k in out) {
      const prev = out[k];
      out[k] = Array.isArray(prev) ? [...prev, v] : [prev, v];
    } else out[k] = v;
  }
  return out;
}

function ipv4Info(address: string, prefix: string) {
  const a = address.split('.').map(Number);
  const bin = (((a[0]! << 24) | (a[1]! << 16) | (a[2]! << 8) | a[3]!) >>> 0) as number;
  const n = Number(prefix);
  const mask = n === 0 ? 0 : (0xffffffff << (32 - n)) >>> 0;
  const dot = (x: number) => [24, 16, 8, 0].map((s) => (x >>> s) & 255).join('.');
  return { netmask: dot(mask), network: dot((bin & mask) >>> 0) };
}

/** A Python configparser read of a local fact (keys lowercased, DEFAULT merged), or undefined when it is no INI. */
function parseIni(text: string): Record<string, Record<string, string>> | undefined {
  const sections = new Map<string, Record<string, string>>();
  const defaults: Record<string, string> = {};
  let cur: Record<string, string> | undefined;
  let lastKey: string | undefined;
  for (const raw of text.split(/\r?\n/)) {
    if (!raw.trim() || /^\s*[#;]/.test(raw)) {
      lastKey = undefined;
      continue;
    }
    if (/^\s/.test(raw) && cur && lastKey !== undefined) {
      cur[lastKey] = `${cur[lastKey]}\n${raw.trim()}`;
      continue;
    }
    const sec = /^\[([^\]]+)\]/.exec(raw);
    if (sec) {
      const name = sec[1]!;
      if (name === 'DEFAULT') cur = defaults;
      else {
        if (sections.has(name)) return undefined; // DuplicateSectionError
        cur = {};
        sections.set(name, cur);
      }
      lastKey = undefined;
      continue;
    }
    if (!cur) return undefined; // MissingSectionHeaderError
    const m = /^([^=:]+?)\s*[=:]\s*(.*)$/.exec(raw.trim());
    if (!m) return undefined; // ParsingError
    lastKey = m[1]!.toLowerCase();
    cur[lastKey] = m[2]!.trim();
  }
  const out: Record<string, Record<string, string>> = {};
  for (const [name, opts] of sections)
    out[name] = { ...opts, ...Object.fromEntries(Object.entries(defaults).filter(([k]) => !(k in opts))) };
  return out;
}

export interface ParseOptions {
  collectors: Set<Collector>;
  gatherSubset: string[];
  factPath?: string;
}

/** The facts, `ansible_`-prefixed as the setup module returns them in `ansible_facts`. */
export function parseAnsibleFacts(stdout: string, opts: ParseOptions): Facts {
  const sec = splitSections(stdout);
  const cs = opts.collectors;
  const f: Facts = {};

  // platform
  const uname = lines(sec.get('uname'));
  const py = lines(sec.get('python'));
  if (cs.has('platform') && uname.length >= 5) {
    const [system, kernel, kernelVersion, machine, node] = uname as [string, string, string, string, string];
    f.system = system;
    f.kernel = kernel;
    f.kernel_version = kernelVersion;
    f.machine = machine;
    if (py[1]) f.python_version = py[1];
    const fallback = words(sec.get('fqdn_fallback') ?? '');
    const fqdn = py[7] ?? [fallback[1], ...fallback.slice(2)].find((n) => n?.includes('.')) ?? fallback[1] ?? node;
    f.fqdn = fqdn;
    f.hostname = node.split('.')[0];
    f.nodename = node;
    f.domain = fqdn.split('.').slice(1).join('.');
    const bits = py[6] ?? (/64/.test(machine) ? '64' : '32');
    f.userspace_bits = bits;
    if (machine === 'x86_64') {
      f.architecture = machine;
      if (bits === '64') f.userspace_architecture = 'x86_64';
      else if (bits === '32') f.userspace_architecture = 'i386';
    } else if (/i([3456]86|86pc)/.test(machine)) {
      f.architecture = 'i386';
      if (bits === '64') f.userspace_architecture = 'x86_64';
      else if (bits === '32') f.userspace_architecture = 'i386';
    } else f.architecture = machine;
    const mid = sec.get('machine_id');
    if (mid) f.machine_id = mid.split('\n')[0];
  }

  // distribution
  if (cs.has('distribution')) {
    const osr = shellVars(sec.get('os_release'));
    const id = osr.ID ?? '';
    const name =
      id === 'rhel' ? 'Redhat' : id === 'amzn' ? 'Amazon' : id ? id.charAt(0).toUpperCase() + id.slice(1).toLowerCase() : 'OtherLinux';
    let version = osr.VERSION_ID ?? '';
    const debVersion = (sec.get('debian_version') ?? '').trim();
    // distro's best version for debian: the most precise of VERSION_ID and /etc/debian_version.
    if (id === 'debian' && /^\d+(\.\d+)*$/.test(debVersion) && debVersion.split('.').length > version.split('.').length)
      version = debVersion;
    const d: Facts = {
      distribution: name,
      distribution_version: version || 'NA',
      distribution_release: osr.VERSION_CODENAME ?? osr.UBUNTU_CODENAME ?? 'NA',
    };
    d.distribution_major_version = (d.distribution_version as string).split('.')[0] || 'NA';
    if (sec.has('os_release')) {
      const data = sec.get('os_release') ?? '';
      d.distribution_file_path = '/etc/os-release';
      d.distribution_file_variety = 'Debian';
      d.distribution_file_parsed = true;
      if (data.includes('Debian') || data.includes('Raspbian')) {
        d.distribution = 'Debian';
        const rel = /PRETTY_NAME=[^(]+ \(?([^)]+?)\)/.exec(data);
        if (rel) d.distribution_release = rel[1];
        const m = /(\d+)\.(\d+)/.exec(debVersion);
        if (m) d.distribution_minor_version = m[2];
      } else if (data.includes('Ubuntu')) d.distribution = 'Ubuntu';
      else if (data.includes('Kali')) d.distribution = 'Kali';
      else if (data.includes('Devuan')) d.distribution = 'Devuan';
      else {
        delete d.distribution_file_path;
        delete d.distribution_file_variety;
        delete d.distribution_file_parsed;
      }
    }
    d.os_family = OS_FAMILY[d.distribution as string] ?? d.distribution;
    Object.assign(f, d);
  }

  if (cs.has('python') && py.length >= 6) {
    const [maj, min, mic] = py[1]!.split('.').map(Number) as [number, number, number];
    const serial = Number(py[3]);
    f.python = {
      executable: py[0],
      has_sslcontext: py[5] === 'True',
      type: py[4],
      version: { major: maj, micro: mic, minor: min, releaselevel: py[2], serial },
      version_info: [maj, min, mic, py[2], serial],
    };
  }

  if (cs.has('lsb')) {
    const lsb: Record<string, string> = {};
    if (sec.has('lsb_release')) {
      for (const l of lines(sec.get('lsb_release'))) {
        if (!l || !l.includes(':')) continue;
        const v = l.slice(l.indexOf(':') + 1).trim();
        if (l.includes('LSB Version:')) lsb.release = v;
        else if (l.includes('Distributor ID:')) lsb.id = v;
        else if (l.includes('Description:')) lsb.description = v;
        else if (l.includes('Release:')) lsb.release = v;
        else if (l.includes('Codename:')) lsb.codename = v;
      }
    }
    if (!Object.keys(lsb).length && sec.has('lsb_file')) {
      for (const l of lines(sec.get('lsb_file'))) {
        const v = l.includes('=') ? l.slice(l.indexOf('=') + 1).trim() : '';
        if (l.includes('DISTRIB_ID')) lsb.id = v;
        else if (l.includes('DISTRIB_RELEASE')) lsb.release = v;
        else if (l.includes('DISTRIB_DESCRIPTION')) lsb.description = v;
        else if (l.includes('DISTRIB_CODENAME')) lsb.codename = v;
      }
    }
    if (lsb.release !== undefined) lsb.major_release = lsb.release.split('.')[0]!;
    for (const [k, v] of Object.entries(lsb)) if (v) lsb[k] = v.replace(/^['"\\]+|['"\\]+$/g, '');
    f.lsb = lsb;
  }

  if (cs.has('user')) {
    const u = lines(sec.get('user'));
    const name = u[0] || u[5] || '';
    const pw = lines(sec.get('passwd')).map((l) => l.split(':'));
    const ent = pw.find((p) => p[0] === name) ?? pw[0];
    f.user_id = name;
    if (ent) {
      f.user_uid = Number(ent[2]);
      f.user_gid = Number(ent[3]);
      f.user_gecos = ent[4];
      f.user_dir = ent[5];
      f.user_shell = ent[6];
    }
    f.real_user_id = Number(u[3]);
    f.effective_user_id = Number(u[1]);
    f.real_group_id = Number(u[4]);
    f.effective_group_id = Number(u[4]);
  }

  if (cs.has('env')) {
    const env: Record<string, string> = {};
    for (const e of (sec.get('env') ?? '').split('\0')) {
      const i = e.indexOf('=');
      if (i > 0) env[e.slice(0, i)] = e.slice(i + 1);
    }
    f.env = env;
  }

  if (cs.has('date_time') && sec.has('date_time')) {
    const [local, utc, stamp, jan, jul] = lines(sec.get('date_time')) as [string, string, string, string, string];
    const [Y, m, d, H, M, S, A, w, W, Z, z] = local.split('|') as string[];
    const [secs, nanos = '0'] = stamp.split('.');
    const micro = nanos.padEnd(9, '0').slice(0, 6);
    const [janZ, janOff] = (jan ?? '').split(':');
    const [julZ, julOff] = (jul ?? '').split(':');
    const tzDst = janZ === julZ ? janZ : Number(julOff) > Number(janOff) ? julZ : janZ;
    f.date_time = {
      date: `${Y}-${m}-${d}`,
      day: d,
      epoch: secs,
      epoch_int: String(Number(secs)),
      hour: H,
      iso8601: utc,
      iso8601_basic: `${Y}${m}${d}T${H}${M}${S}${micro}`,
      iso8601_basic_short: `${Y}${m}${d}T${H}${M}${S}`,
      iso8601_micro: `${utc.slice(0, -1)}.${micro}Z`,
      minute: M,
      month: m,
      second: S,
      time: `${H}:${M}:${S}`,
      tz: Z,
      tz_dst: tzDst,
      tz_offset: z,
      weekday: A,
      weekday_number: w,
      weeknumber: W,
      year: Y,
    };
  }

  if (cs.has('dns')) {
    const dns: Record<string, unknown> = {};
    for (const line of lines(sec.get('resolv'))) {
      if (line.startsWith('#') || line.startsWith(';') || line.trim() === '') continue;
      const t = words(line);
      if (t[0] === 'nameserver') dns.nameservers = [...((dns.nameservers as string[]) ?? []), ...t.slice(1)];
      else if (t[0] === 'domain') {
        if (t.length > 1) dns.domain = t[1];
      } else if (t[0] === 'search') dns.search = t.slice(1);
      else if (t[0] === 'sortlist') dns.sortlist = t.slice(1);
      else if (t[0] === 'options') {
        const o: Record<string, unknown> = {};
        for (const opt of t.slice(1)) {
          const i = opt.indexOf(':');
          o[i < 0 ? opt : opt.slice(0, i)] = i < 0 || opt.slice(i + 1) === '' ? true : opt.slice(i + 1);
        }
        dns.options = o;
      }
    }
    f.dns = dns;
  }

  if (cs.has('selinux')) {
    const s = lines(sec.get('selinux'));
    if (!s.includes('lib')) {
      f.selinux = { status: 'Missing selinux Python library' };
      f.selinux_python_present = false;
    } else {
      f.selinux_python_present = true;
      const k = kv(sec.get('selinux'));
      if (k.enforce === undefined) f.selinux = { status: 'disabled' };
      else {
        const mode = (v: string | undefined) => ({ '1': 'enforcing', '0': 'permissive', '-1': 'disabled' })[v ?? ''] ?? 'unknown';
        const cfg = { enforcing: '1', permissive: '0', disabled: '-1' }[k.SELINUX ?? ''];
        f.selinux = {
          status: 'enabled',
          policyvers: k.policyvers ? Number(k.policyvers) : 'unknown',
          config_mode: mode(cfg),
          mode: mode(k.enforce),
          type: k.SELINUXTYPE ?? 'unknown',
        };
      }
    }
  }

  if (cs.has('apparmor')) f.apparmor = { status: (sec.get('apparmor') ?? 'disabled').trim() };

  if (cs.has('service_mgr')) {
    const s = lines(sec.get('service_mgr'));
    let proc1: string | undefined = s[0] === '-' || s[0] === undefined ? undefined : s[0];
    if (proc1 === undefined && s[1] && s[1] !== '-') proc1 = s[1];
    if (proc1 !== undefined) proc1 = proc1.split('/').pop()!.trim();
    if (proc1 !== undefined && (proc1 === 'init' || proc1.endsWith('sh'))) proc1 = undefined;
    const map: Record<string, string> = { procd: 'openwrt_init', 'runit-init': 'runit', svscan: 'svc', 'openrc-init': 'openrc' };
    const has = (x: string) => s.includes(x);
    let name: string | undefined;
    if (proc1 !== undefined) name = map[proc1] ?? proc1;
    else if (has('bin:systemctl') && (has('path:/run/systemd/system/') || has('path:/dev/.run/systemd/') || has('path:/dev/.systemd/')))
      name = 'systemd';
    else if (has('bin:initctl') && has('path:/etc/init/')) name = 'upstart';
    else if (has('path:/sbin/openrc')) name = 'openrc';
    else if (has('bin:systemctl') && s[1] && s[1].split('/').pop() === 'systemd') name = 'systemd';
    else if (has('path:/etc/init.d/')) name = 'sysvinit';
    f.service_mgr = name || 'service';
  }

  if (cs.has('pkg_mgr')) {
    const present = new Set(lines(sec.get('pkg_mgr')));
    let name = 'unknown';
    for (const [p, n] of PKG_MGRS) if (present.has(p)) name = n;
    if (f.os_family === 'Debian') name = 'apt';
    f.pkg_mgr = name;
  }

  if (cs.has('cmdline')) {
    const data = sec.get('cmdline');
    if (data !== undefined) {
      f.cmdline = cmdline(data, false);
      f.proc_cmdline = cmdline(data, true);
    }
  }

  if (cs.has('fips')) f.fips = (sec.get('fips') ?? '').trim() === '1';

  if (cs.has('caps')) {
    f.system_capabilities_enforced = 'N/A';
    f.system_capabilities = 'N/A';
    if (sec.has('caps')) {
      let enforced = 'NA';
      let caps: string[] = [];
      for (const l of lines(sec.get('caps'))) {
        if (!l.startsWith('Current:')) continue;
        if (l.split(':')[1]!.trim() === '=ep') enforced = 'False';
        else {
          enforced = 'True';
          caps = l
            .split('=')[1]!
            .split(',')
            .map((x) => x.trim());
        }
      }
      f.system_capabilities_enforced = enforced;
      f.system_capabilities = caps;
    }
  }

  if (cs.has('ssh_pub_keys')) {
    for (const t of ['dsa', 'rsa', 'ecdsa', 'ed25519']) {
      const data = sec.get(`ssh_${t}`);
      if (data === undefined) continue;
      const [keytype, key] = words(data);
      f[`ssh_host_key_${t}_public`] = key;
      f[`ssh_host_key_${t}_public_keytype`] = keytype;
    }
  }

  if (cs.has('chroot') && sec.has('chroot')) {
    const [deb, root, proc1root, fstype] = lines(sec.get('chroot'));
    if (deb) f.is_chroot = true;
    else if (proc1root && proc1root !== '-') f.is_chroot = root !== proc1root;
    else {
      const ino = Number((root ?? '').split(':')[1]);
      f.is_chroot = ino !== (fstype?.includes('btrfs') ? 256 : fstype?.includes('xfs') ? 128 : 2);
    }
  }

  if (cs.has('loadavg') && sec.has('loadavg')) {
    const [a, b, c] = words(sec.get('loadavg')!).map(Number);
    f.loadavg = { '1m': a, '5m': b, '15m': c };
  }
  if (cs.has('fibre_channel_wwn')) f.fibre_channel_wwn = lines(sec.get('fc_wwn')).map((l) => l.trim().replace(/^0x/, ''));
  if (cs.has('iscsi')) {
    const m = /^InitiatorName=(.*)$/m.exec(sec.get('iscsi') ?? '');
    f.iscsi_iqn = m ? m[1]!.trim() : '';
  }
  if (cs.has('nvme')) f.hostnqn = (sec.get('nvme') ?? '').trim();

  if (cs.has('network')) Object.assign(f, networkFacts(sec));
  if (cs.has('hardware')) Object.assign(f, hardwareFacts(sec, f));
  if (cs.has('virtual')) Object.assign(f, virtualFacts(sec));
  if (cs.has('local')) f.local = localFacts(sec, opts.factPath ?? '/etc/ansible/facts.d');

  const out: Facts = {};
  for (const [k, v] of Object.entries(f)) if (v !== undefined) out[`ansible_${k.replace(/-/g, '_')}`] = v;
  out.gather_subset = opts.gatherSubset;
  out.module_setup = true;
  return out;
}

function networkFacts(sec: Map<string, string>): Facts {
  const route = (name: string, target: string) => {
    const out: Record<string, unknown> = {};
    const w = words(lines(sec.get(name))[0] ?? '');
    if (w[0] !== target) return out;
    for (let i = 0; i < w.length - 1; i++) {
      if (w[i] === 'dev') out.interface = w[i + 1];
      else if (w[i] === 'src') out.address = w[i + 1];
      else if (w[i] === 'via' && w[i + 1] !== target) out.gateway = w[i + 1];
    }
    return out;
  };
  const v4 = route('route4', '8.8.8.8');
  const v6 = route('route6', '2404:6800:400a:800::1012');
  const interfaces: Record<string, Record<string, unknown>> = {};
  const all4: string[] = [];
  const all6: string[] = [];
  const order = lines(sec.get('ifaces')).filter((n) => sec.has(`if:${n}`));
  for (const device of order) {
    const body = sec.get(`if:${device}`) ?? '';
    const [attrs, rest = ''] = body.split('\nip_primary\n');
    const [primary = '', secondary = ''] = rest.split('\nip_secondary\n');
    const a = kv(attrs);
    const i: Record<string, unknown> = { device };
    interfaces[device] = i;
    const macaddress = a.address ?? '';
    if (macaddress && macaddress !== '00:00:00:00:00:00') i.macaddress = macaddress;
    if (a.mtu) i.mtu = Number(a.mtu);
    if (a.operstate !== undefined) i.active = a.operstate !== 'down';
    if (a.module) i.module = a.module;
    if (a.type !== undefined) i.type = INTERFACE_TYPE[a.type] ?? 'unknown';
    if (a.bridge_id !== undefined) {
      i.type = 'bridge';
      i.interfaces = words(a.bridge_ports ?? '');
      i.id = a.bridge_id;
      i.stp = a.bridge_stp === '1';
    }
    if (a.bonding) i.type = 'bonding';
    if (a.pciid) i.pciid = a.pciid;
    if (a.speed !== undefined && /^-?\d+$/.test(a.speed)) i.speed = Number(a.speed);
    if (a.flags) i.promisc = (Number.parseInt(a.flags, 16) & 0x100) > 0;
    const parse = (output: string, secondary: boolean) => {
      for (const line of output.split('\n')) {
        if (!line.trim()) continue;
        const w = words(line);
        if (w[0] === 'inet') {
          let address: string;
          let len: string;
          let broadcast = '';
          if (w[1]!.includes('/')) {
            [address, len] = w[1]!.split('/') as [string, string];
            if (w.length > 3 && w[2] === 'brd') broadcast = w[3]!;
          } else {
            address = w[1]!;
            len = '32';
          }
          const { netmask, network } = ipv4Info(address, len);
          const entry = { address, broadcast, netmask, network, prefix: len };
          const iface = w[w.length - 1]!;
          if (iface !== device) interfaces[iface] = {};
          const target = interfaces[iface]!;
          if (!secondary && !('ipv4' in target)) target.ipv4 = entry;
          else target.ipv4_secondaries = [...((target.ipv4_secondaries as unknown[]) ?? []), { ...entry }];
          if (secondary) {
            i.ipv4_secondaries ??= [];
            if (device !== iface) (i.ipv4_secondaries as unknown[]).push({ ...entry });
          }
          if (v4.address === address) {
            Object.assign(v4, {
              broadcast,
              netmask,
              network,
              prefix: len,
              macaddress,
              mtu: i.mtu,
              type: i.type ?? 'unknown',
              alias: iface,
            });
          }
          if (!address.startsWith('127.')) all4.push(address);
        } else if (w[0] === 'inet6') {
          let address: string;
          let prefix: string;
          let scope: string;
          if (w[2] === 'peer') {
            address = w[1]!;
            prefix = w[3]!.split('/')[1]!;
            scope = w[5]!;
          } else {
            [address, prefix] = w[1]!.split('/') as [string, string];
            scope = w[3]!;
          }
          i.ipv6 = [...((i.ipv6 as unknown[]) ?? []), { address, prefix, scope }];
          if (v6.address === address) Object.assign(v6, { prefix, scope, macaddress, mtu: i.mtu, type: i.type ?? 'unknown' });
          if (address !== '::1') all6.push(address);
        }
      }
    };
    parse(primary, false);
    parse(secondary, true);
  }
  const out: Facts = {
    interfaces: Object.keys(interfaces),
    all_ipv4_addresses: all4,
    all_ipv6_addresses: all6,
    default_ipv4: v4,
    default_ipv6: v6,
  };
  for (const [name, data] of Object.entries(interfaces)) out[name.replace(/:/g, '_')] = data;
  out.interfaces = Object.keys(interfaces).map((n) => n.replace(/:/g, '_'));
  return out;
}

function hardwareFacts(sec: Map<string, string>, f: Facts): Facts {
  const out: Facts = {};
  // memory
  const mem: Record<string, number> = {};
  for (const l of lines(sec.get('meminfo'))) {
    const i = l.indexOf(':');
    if (i < 0) continue;
    mem[l.slice(0, i).toLowerCase()] = Math.floor(Number(words(l.slice(i + 1))[0]) / 1024);
  }
  if (sec.has('meminfo')) {
    out.memtotal_mb = mem.memtotal;
    out.memfree_mb = mem.memfree;
    out.swaptotal_mb = mem.swaptotal;
    out.swapfree_mb = mem.swapfree;
    const nocacheFree = (mem.cached ?? 0) + (mem.memfree ?? 0) + (mem.buffers ?? 0);
    out.memory_mb = {
      real: { total: mem.memtotal, used: (mem.memtotal ?? 0) - (mem.memfree ?? 0), free: mem.memfree },
      nocache: { free: nocacheFree, used: (mem.memtotal ?? 0) - nocacheFree },
      swap: { total: mem.swaptotal, free: mem.swapfree, used: (mem.swaptotal ?? 0) - (mem.swapfree ?? 0), cached: mem.swapcached },
    };
  }
  // cpu
  if (sec.has('cpuinfo')) {
    const processor: string[] = [];
    let i = 0;
    let vendorN = 0;
    let modelN = 0;
    let procN = 0;
    let physid = '0';
    let coreid = '0';
    const sockets = new Map<string, number>();
    const cores = new Map<string, number>();
    for (const l of lines(sec.get('cpuinfo'))) {
      const j = l.indexOf(':');
      const key = (j < 0 ? l : l.slice(0, j)).trim();
      const val = j < 0 ? '' : l.slice(j + 1).trim();
      if (['model name', 'Processor', 'vendor_id', 'cpu', 'Vendor', 'processor'].includes(key)) {
        processor.push(val);
        if (key === 'vendor_id') vendorN++;
        if (key === 'model name') modelN++;
        if (key === 'processor') procN++;
        i++;
      } else if (key === 'physical id') {
        physid = val;
        if (!sockets.has(physid)) sockets.set(physid, 1);
      } else if (key === 'core id') {
        coreid = val;
        if (!sockets.has(coreid)) cores.set(coreid, 1);
      } else if (key === 'cpu cores') sockets.set(physid, Number(val));
      else if (key === 'siblings') cores.set(coreid, Number(val));
    }
    if (vendorN > 0 && vendorN === modelN) i = vendorN;
    if (/^(armv|aarch|ppc)/.test(String(f.architecture ?? ''))) i = procN;
    out.processor = processor;
    out.processor_count = sockets.size ? sockets.size : i;
    const sv = [...sockets.values()];
    const cores0 = sv.length && sv[0] ? sv[0] : 1;
    out.processor_cores = cores0;
    const cv = [...cores.values()];
    out.processor_threads_per_core = cv.length ? Math.floor(cv[0]! / cores0) : Math.floor(1 / cores0);
    out.processor_vcpus = (out.processor_threads_per_core as number) * (out.processor_count as number) * cores0;
    const nproc = Number((sec.get('nproc') ?? '').trim());
    out.processor_nproc = Number.isFinite(nproc) && nproc > 0 ? nproc : procN;
  }
  // dmi
  const dmi = kv(sec.get('dmi'));
  if (sec.has('dmi')) {
    for (const k of [
      'bios_date',
      'bios_vendor',
      'bios_version',
      'board_asset_tag',
      'board_name',
      'board_serial',
      'board_vendor',
      'board_version',
      'chassis_asset_tag',
      'chassis_serial',
      'chassis_vendor',
      'chassis_version',
      'product_name',
      'product_serial',
      'product_uuid',
      'product_version',
    ])
      out[k] = dmi[k] || 'NA';
    out.system_vendor = dmi.sys_vendor || 'NA';
    const ct = dmi.chassis_type;
    out.form_factor = ct && ct !== 'NA' ? (FORM_FACTOR[Number(ct)] ?? 'unknown form factor') : 'NA';
  }
  if (sec.has('uptime')) out.uptime_seconds = Math.floor(Number(words(sec.get('uptime')!)[0]));
  // mounts
  const uuids = new Map<string, string>();
  for (const l of lines(sec.get('uuids'))) {
    const m = /\s(\S+) -> (?:\.\.\/)*(\S+)$/.exec(l);
    if (m) uuids.set(`/dev/${m[2]}`, m[1]!);
  }
  if (sec.has('mounts')) {
    out.mounts = lines(sec.get('mounts'))
      .map((l) => l.split('\t'))
      .filter((p) => p.length === 5)
      .map(([device, mount, fstype, options, st]) => {
        const [bsize, frsize, blocks, _bfree, bavail, files, ffree] = words(st!).map(Number) as number[];
        return {
          block_available: bavail,
          block_size: bsize,
          block_total: blocks,
          block_used: blocks! - bavail!,
          device,
          fstype,
          inode_available: ffree,
          inode_total: files,
          inode_used: files! - ffree!,
          mount,
          options,
          size_available: frsize! * bavail!,
          size_total: frsize! * blocks!,
          uuid: uuids.get(device!) ?? 'N/A',
        };
      });
  }
  if (sec.has('lvm') && !(sec.get('lvm') ?? '').includes('have-vgs')) out.lvm = 'N/A';
  return out;
}

function virtualFacts(sec: Map<string, string>): Facts {
  const v: Record<string, unknown> = {};
  const guest = new Set<string>();
  const host = new Set<string>();
  let found = false;
  const set = (type: string, role?: string) => {
    if (found) return;
    v.virtualization_type = type;
    if (role) v.virtualization_role = role;
    found = true;
  };
  for (const line of lines(sec.get('cgroup1'))) {
    if (/\/docker(\/|-[0-9a-f]+\.scope)/.test(line)) {
      guest.add('docker');
      set('docker', 'guest');
    }
    if (/\/lxc\//.test(line) || /\/machine\.slice\/machine-lxc/.test(line)) {
      guest.add('lxc');
      set('lxc', 'guest');
    }
    if (/\/system\.slice\/containerd\.service/.test(line)) {
      guest.add('containerd');
      set('containerd', 'guest');
    }
  }
  for (const line of lines(sec.get('environ1'))) {
    if (/container=lxc/.test(line)) {
      guest.add('lxc');
      set('lxc', 'guest');
    }
    if (/container=podman/.test(line)) {
      guest.add('podman');
      set('podman', 'guest');
    }
    if (/^container=./.test(line)) {
      guest.add('container');
      set('container', 'guest');
    }
  }
  const paths = new Set(lines(sec.get('virt_paths')));
  if (paths.has('/proc/vz') && !paths.has('/proc/lve')) {
    v.virtualization_type = 'openvz';
    if (paths.has('/proc/bc')) {
      host.add('openvz');
      if (!found) v.virtualization_role = 'host';
    } else {
      guest.add('openvz');
      if (!found) v.virtualization_role = 'guest';
    }
    found = true;
  }
  const sc = (sec.get('systemd_container') ?? '').trim();
  if (sc) {
    guest.add(sc);
    set(sc, 'guest');
  }
  if (paths.has('/.dockerenv') || paths.has('/.dockerinit')) {
    guest.add('docker');
    set('docker', 'guest');
  }
  if (['docker', 'lxc', 'podman', 'openvz', 'containerd'].some((t) => guest.has(t)) || sc) guest.add('container');
  if (paths.has('/proc/xen')) {
    if ((sec.get('xen_caps') ?? '').includes('control_d')) {
      host.add('xen');
      if (!found) Object.assign(v, { virtualization_type: 'xen', virtualization_role: 'host' });
    } else if (!found) Object.assign(v, { virtualization_type: 'xen', virtualization_role: 'guest' });
    found = true;
  }
  if (!found) v.virtualization_role = 'guest';
  const dmi = kv(sec.get('virt_dmi'));
  const typeOnly = (tech: string, type = tech) => {
    guest.add(tech);
    if (!found) {
      v.virtualization_type = type;
      found = true;
    }
  };
  const pn = dmi.product_name ?? '';
  const sv = dmi.sys_vendor ?? '';
  if (['KVM', 'KVM Server', 'Bochs', 'AHV'].includes(pn)) typeOnly('kvm');
  if (sv === 'oVirt') typeOnly('oVirt');
  if (sv === 'Red Hat') {
    if (dmi.product_family === 'RHV') typeOnly('RHV');
    else if (pn === 'RHEV Hypervisor') typeOnly('RHEV');
  }
  if (['VMware Virtual Platform', 'VMware7,1'].includes(pn)) typeOnly('VMware');
  if (['OpenStack Compute', 'OpenStack Nova'].includes(pn)) typeOnly('openstack');
  const bv = dmi.bios_vendor ?? '';
  if (bv === 'Xen') typeOnly('xen');
  if (bv === 'innotek GmbH') typeOnly('virtualbox');
  if (['Amazon EC2', 'DigitalOcean', 'Hetzner'].includes(bv)) typeOnly('kvm');
  if (['QEMU', 'Amazon EC2', 'DigitalOcean', 'Google', 'Scaleway', 'Nutanix'].includes(sv)) typeOnly('kvm');
  if (sv === 'KubeVirt') typeOnly('KubeVirt');
  if (sv === 'Microsoft Corporation') typeOnly('VirtualPC');
  if (sv === 'Parallels Software International Inc.') typeOnly('parallels');
  if (sv === 'OpenStack Foundation') typeOnly('openstack');
  if (!found) delete v.virtualization_role;
  const vx = /^VxID:\s+(\d+)/m.exec(sec.get('vxid') ?? '');
  if (vx) {
    if (!found) v.virtualization_type = 'linux_vserver';
    if (vx[1] === '0') {
      host.add('linux_vserver');
      if (!found) v.virtualization_role = 'host';
    } else {
      guest.add('linux_vserver');
      if (!found) v.virtualization_role = 'guest';
    }
    found = true;
  }
  for (const line of lines(sec.get('cpuinfo_virt'))) {
    let tech: string | undefined;
    if (/^model name.*QEMU Virtual CPU/.test(line)) tech = 'kvm';
    else if (/^vendor_id.*User Mode Linux/.test(line) || /^model name.*UML/.test(line)) tech = 'uml';
    else if (/^machine.*CHRP IBM pSeries .emulated by qemu./.test(line)) tech = 'kvm';
    else if (/^vendor_id.*PowerVM Lx86/.test(line)) tech = 'powervm_lx86';
    else continue;
    guest.add(tech);
    if (!found) {
      v.virtualization_type = tech;
      v.virtualization_role = 'guest';
      found = true;
    }
  }
  const modules = new Set(lines(sec.get('modules')));
  if (sec.has('modules')) {
    if (modules.has('kvm')) {
      host.add('kvm');
      if (!found) Object.assign(v, { virtualization_type: 'kvm', virtualization_role: 'host' });
      found = true;
    }
    if (modules.has('vboxdrv')) {
      host.add('virtualbox');
      if (!found) {
        Object.assign(v, { virtualization_type: 'virtualbox', virtualization_role: 'host' });
        found = true;
      }
    }
    if (modules.has('virtio')) {
      host.add('kvm');
      if (!found) {
        Object.assign(v, { virtualization_type: 'kvm', virtualization_role: 'guest' });
        found = true;
      }
    }
  }
  if (paths.has('/dev/kvm')) {
    host.add('kvm');
    if (!found) {
      Object.assign(v, { virtualization_type: 'kvm', virtualization_role: 'host' });
      found = true;
    }
  }
  if (!found) Object.assign(v, { virtualization_type: 'NA', virtualization_role: 'NA' });
  v.virtualization_tech_guest = [...guest];
  v.virtualization_tech_host = [...host];
  return v;
}

function localFacts(sec: Map<string, string>, factPath: string): Record<string, unknown> {
  const local: Record<string, unknown> = {};
  const names = [...sec.keys()].filter((k) => k.startsWith('local:')).sort();
  for (const key of names) {
    const base = key.slice('local:'.length);
    const fn = `${factPath}/${base}.fact`;
    const [head = '', b64 = '', errB64 = ''] = (sec.get(key) ?? '').split('\n');
    let out: string;
    if (head.startsWith('exec')) {
      const rc = Number(head.split(' ')[1]);
      if (rc !== 0) {
        const err = Buffer.from(errB64, 'base64').toString('utf8');
        local[base] = `Failure executing fact script (${fn}), rc: ${rc}, err: ${err}`;
        continue;
      }
      out = Buffer.from(b64, 'base64').toString('utf8');
    } else out = Buffer.from(b64, 'base64').toString('utf8');
    try {
      local[base] = JSON.parse(out);
      continue;
    } catch {
      // not JSON: INI, as Ansible tries next
    }
    local[base] = parseIni(out) ?? `error loading facts as JSON or ini - please check content: ${fn}`;
  }
  return local;
}
