/**
 * The read-only script that gathers what Ansible's setup module reads, for the selected
 * collectors, in one round trip. It only prints raw material (files, command outputs) in framed
 * sections; `parse.ts` turns them into Ansible's facts with Ansible's own rules. It never changes
 * the host and never fails on a missing tool or file (a missing section is a missing fact source).
 *
 * Sections: a line `@@kf:NAME` then the content up to the next such line; `@@kf:NAME:b64` holds
 * base64 (environment, local facts: arbitrary bytes).
 */
import { q as quote } from '../../../sh/quote.ts';
import type { Collector } from '../../../input/playbook/gather-subset.ts';

const PRELUDE = String.raw`
kf() { printf '\n@@kf:%s\n' "$1"; }
kfb() { printf '\n@@kf:%s:b64\n' "$1"; base64 -w0 2>/dev/null; }
kfcat() { [ -r "$2" ] && { kf "$1"; cat "$2" 2>/dev/null; }; }
`;

const PLATFORM = String.raw`
kf uname; uname -s; uname -r; uname -v; uname -m; uname -n
kfcat machine_id /etc/machine-id || kfcat machine_id /var/lib/dbus/machine-id
kpy=/usr/bin/python3; [ -x $kpy ] || kpy=$(command -v python3 2>/dev/null)
if [ -n "$kpy" ]; then
  kf python; $KT $kpy -c 'import sys,socket,platform,struct
print(sys.executable)
print(".".join(str(x) for x in sys.version_info[:3]))
print(sys.version_info.releaselevel); print(sys.version_info.serial)
print(platform.python_implementation().lower())
try:
  import ssl; print(hasattr(ssl, "SSLContext"))
except Exception: print(False)
print(struct.calcsize("P")*8)
print(socket.getfqdn())
' 2>/dev/null
fi
kf fqdn_fallback; getent hosts "$(uname -n)" 2>/dev/null | head -n1
`;

const DISTRIBUTION = String.raw`
kfcat os_release /etc/os-release || kfcat os_release /usr/lib/os-release
kfcat debian_version /etc/debian_version
`;

const LSB = String.raw`
if command -v lsb_release >/dev/null 2>&1; then kf lsb_release; $KT lsb_release -a 2>/dev/null; else kfcat lsb_file /etc/lsb-release; fi
`;

const USER = String.raw`
kf user; echo "\${LOGNAME:-\${USER:-\${LNAME:-$USERNAME}}}"; id -u; id -g; id -ru; id -rg; id -un
kf passwd; getent passwd "$(id -un)" 2>/dev/null; getent passwd "\${LOGNAME:-\${USER:-\${LNAME:-$USERNAME}}}" 2>/dev/null
`.replace(/\\\$/g, '$');

const ENV = String.raw`
kf env:b64; cat /proc/$$/environ 2>/dev/null | base64 -w0 2>/dev/null
`;

const DATE_TIME = String.raw`
kf date_time; kft=$(date +%s.%N); kfs=\${kft%.*}
date -d "@$kfs" '+%Y|%m|%d|%H|%M|%S|%A|%w|%W|%Z|%z|%j'; date -u -d "@$kfs" '+%Y-%m-%dT%H:%M:%SZ'; echo "$kft"
date -d "$(date +%Y)-01-01 12:00" +%Z:%z; date -d "$(date +%Y)-07-01 12:00" +%Z:%z
`.replace(/\\\$/g, '$');

const DNS = 'kfcat resolv /etc/resolv.conf\n';
const SELINUX = String.raw`
kf selinux; for l in /lib/*/libselinux.so.1 /usr/lib/*/libselinux.so.1 /lib64/libselinux.so.1 /usr/lib64/libselinux.so.1; do [ -e "$l" ] && { echo lib; break; }; done
if [ -e /sys/fs/selinux/enforce ]; then echo "enforce=$(cat /sys/fs/selinux/enforce)"; echo "policyvers=$(cat /sys/fs/selinux/policyvers 2>/dev/null)"; grep -E '^SELINUX(TYPE)?=' /etc/selinux/config 2>/dev/null; fi
`;
const APPARMOR = `kf apparmor; [ -e /sys/kernel/security/apparmor ] && echo enabled || echo disabled\n`;
const SERVICE_MGR = String.raw`
kf service_mgr; cat /proc/1/comm 2>/dev/null || echo "-"; readlink /sbin/init 2>/dev/null || echo "-"
for f in systemctl initctl; do command -v $f >/dev/null 2>&1 && echo "bin:$f"; done
for p in /run/systemd/system/ /dev/.run/systemd/ /dev/.systemd/ /etc/init/ /sbin/openrc /etc/init.d/; do [ -e $p ] && echo "path:$p"; done
`;
const PKG_MGR = String.raw`
kf pkg_mgr; for p in /usr/bin/rpm-ostree /usr/bin/yum /usr/bin/dnf /usr/bin/apt-get /usr/bin/zypper /usr/sbin/urpmi /usr/bin/pacman /bin/opkg /usr/pkg/bin/pkgin /opt/local/bin/pkgin /opt/tools/bin/pkgin /opt/local/bin/port /usr/local/bin/brew /opt/homebrew/bin/brew /sbin/apk /usr/sbin/pkg /usr/sbin/swlist /usr/bin/emerge /usr/sbin/pkgadd /usr/bin/pkg /usr/bin/xbps-install /usr/local/sbin/pkg /usr/bin/swupd /usr/sbin/sorcery /usr/bin/installp; do [ -e $p ] && echo $p; done
`;
const CMDLINE = 'kfcat cmdline /proc/cmdline\n';
const FIPS = 'kfcat fips /proc/sys/crypto/fips_enabled\n';
const CAPS = `if command -v capsh >/dev/null 2>&1; then kf caps; $KT capsh --print 2>/dev/null; fi\n`;
const SSH_PUB_KEYS = String.raw`
for t in dsa rsa ecdsa ed25519; do for d in /etc/ssh /etc/openssh /etc; do if [ -r $d/ssh_host_\${t}_key.pub ]; then kf ssh_$t; cat $d/ssh_host_\${t}_key.pub; break; fi; done; done
`.replace(/\\\$/g, '$');
const CHROOT = String.raw`
kf chroot; echo "\${debian_chroot:-}"; stat -c '%d:%i' / 2>/dev/null; stat -c '%d:%i' /proc/1/root/. 2>/dev/null || echo "-"; stat -fc %T / 2>/dev/null
`.replace(/\\\$/g, '$');
const LOADAVG = 'kfcat loadavg /proc/loadavg\n';
const FC_WWN = `kf fc_wwn; for f in /sys/class/fc_host/*/port_name; do [ -r "$f" ] && cat "$f"; done\n`;
const ISCSI = 'kfcat iscsi /etc/iscsi/initiatorname.iscsi\n';
const NVME = 'kfcat nvme /etc/nvme/hostnqn\n';

const NETWORK = String.raw`
kf route4; $KT ip -4 route get 8.8.8.8 2>/dev/null
kf route6; $KT ip -6 route get 2404:6800:400a:800::1012 2>/dev/null
kf ifaces; ls -U /sys/class/net 2>/dev/null
for d in /sys/class/net/*; do
  [ -d "$d" ] || continue; n=\${d##*/}
  kf "if:$n"
  for a in address mtu flags type speed operstate; do printf '%s=%s\n' $a "$(cat $d/$a 2>/dev/null)"; done
  [ -e $d/device/driver/module ] && printf 'module=%s\n' "$(basename "$(readlink $d/device/driver/module)")"
  [ -e $d/device ] && printf 'pciid=%s\n' "$(basename "$(readlink $d/device)")"
  if [ -d $d/bridge ]; then printf 'bridge_id=%s\nbridge_stp=%s\nbridge_ports=%s\n' "$(cat $d/bridge/bridge_id)" "$(cat $d/bridge/stp_state)" "$(ls -U $d/brif 2>/dev/null | tr '\n' ' ')"; fi
  [ -d $d/bonding ] && printf 'bonding=1\n'
  printf 'ip_primary\n'; ip addr show primary "$n" 2>/dev/null
  printf 'ip_secondary\n'; ip addr show secondary "$n" 2>/dev/null
done
`.replace(/\\\$/g, '$');

const HARDWARE = String.raw`
kfcat meminfo /proc/meminfo
kfcat cpuinfo /proc/cpuinfo
kf nproc; nproc 2>/dev/null
kfcat uptime /proc/uptime
kf dmi; for f in bios_date bios_vendor bios_version board_asset_tag board_name board_serial board_vendor board_version chassis_asset_tag chassis_serial chassis_vendor chassis_version product_name product_serial product_uuid product_version sys_vendor chassis_type; do printf '%s=%s\n' $f "$(cat /sys/devices/virtual/dmi/id/$f 2>/dev/null || echo NA)"; done
kf mounts; while read -r dev mnt fs opts rest; do
  case "$dev" in /*) ;; *) continue ;; esac
  m=$(printf '%b' "$mnt"); s=$($KT stat -fc '%s %S %b %f %a %c %d' "$m" 2>/dev/null) || continue
  printf '%s\t%s\t%s\t%s\t%s\n' "$dev" "$m" "$fs" "$opts" "$s"
done < /proc/mounts
kf uuids; ls -l /dev/disk/by-uuid 2>/dev/null
kf lvm; command -v vgs >/dev/null 2>&1 && echo have-vgs
`;

const VIRTUAL = String.raw`
kfcat cgroup1 /proc/1/cgroup
kf environ1; tr '\0' '\n' 2>/dev/null </proc/1/environ | grep '^container=' 
kf virt_paths; for p in /proc/vz /proc/lve /proc/bc /.dockerenv /.dockerinit /proc/xen /dev/kvm /rhev/; do [ -e $p ] && echo $p; done
kfcat systemd_container /run/systemd/container
kfcat xen_caps /proc/xen/capabilities
kf virt_dmi; for f in product_name sys_vendor product_family bios_vendor; do printf '%s=%s\n' $f "$(cat /sys/devices/virtual/dmi/id/$f 2>/dev/null)"; done
kf vxid; grep '^VxID:' /proc/self/status 2>/dev/null
kf cpuinfo_virt; grep -E '^(model name|vendor_id|machine)' /proc/cpuinfo 2>/dev/null
kf modules; cut -d' ' -f1 /proc/modules 2>/dev/null
`;

const LOCAL = (factPath: string) => String.raw`
for f in ${quote(factPath)}/*.fact; do
  [ -f "$f" ] || continue
  kf "local:$(basename "$f" .fact)"
  m=$(stat -c %a "$f" 2>/dev/null); case "$m" in *[1357]??) x=1 ;; *) x=0 ;; esac
  if [ "$x" = 1 ]; then e=$(mktemp 2>/dev/null || echo /dev/null); o=$($KT "$f" 2>"$e"); rc=$?; echo "exec $rc"; printf '%s' "$o" | base64 -w0; echo; base64 -w0 < "$e"; [ "$e" = /dev/null ] || rm -f "$e"
  else echo file; base64 -w0 < "$f"; fi
done
`;

const PARTS: Record<Collector, string> = {
  apparmor: APPARMOR,
  caps: CAPS,
  chroot: CHROOT,
  cmdline: CMDLINE,
  date_time: DATE_TIME,
  distribution: DISTRIBUTION,
  dns: DNS,
  env: ENV,
  fibre_channel_wwn: FC_WWN,
  fips: FIPS,
  hardware: HARDWARE,
  iscsi: ISCSI,
  loadavg: LOADAVG,
  local: '',
  lsb: LSB,
  network: NETWORK,
  nvme: NVME,
  pkg_mgr: PKG_MGR,
  platform: PLATFORM,
  python: '',
  selinux: SELINUX,
  service_mgr: SERVICE_MGR,
  ssh_pub_keys: SSH_PUB_KEYS,
  user: USER,
  virtual: VIRTUAL,
  facter: '',
  ohai: '',
};

export interface GatherOptions {
  collectors: Set<Collector>;
  /** Ansible's default: /etc/ansible/facts.d. */
  factPath?: string;
  /** Seconds each external command may take (Ansible's gather_timeout, default 10). */
  timeout?: number;
}

/** The gathering script for these collectors. `python` and `selinux` facts come from the platform part's python3 call. */
export function ansibleFactsScript(opts: GatherOptions): string {
  const cs = new Set(opts.collectors);
  if (cs.has('python') || cs.has('selinux')) cs.add('platform');
  const timeout = opts.timeout ?? 10;
  let s = `${PRELUDE}KT=; command -v timeout >/dev/null 2>&1 && KT="timeout ${Math.max(1, Math.floor(timeout))}"\n`;
  for (const c of Object.keys(PARTS) as Collector[]) if (cs.has(c)) s += PARTS[c];
  if (opts.collectors.has('local')) s += LOCAL(opts.factPath ?? '/etc/ansible/facts.d');
  return `${s}\nprintf '\\n@@kf:end\\n'\n`;
}

/** The sections of the script's output: name → content (base64 sections decoded to bytes as latin1-safe Buffer text). */
export function splitSections(stdout: string): Map<string, string> {
  const out = new Map<string, string>();
  // (a framed probe's output has lost its first newline)
  const parts = `\n${stdout}`.split(/\n@@kf:/);
  for (const p of parts.slice(1)) {
    const nl = p.indexOf('\n');
    const head = nl < 0 ? p : p.slice(0, nl);
    let body = nl < 0 ? '' : p.slice(nl + 1);
    if (head.endsWith(':b64')) {
      out.set(head.slice(0, -4), Buffer.from(body.trim(), 'base64').toString('utf8'));
      continue;
    }
    if (body.endsWith('\n')) body = body.slice(0, -1);
    out.set(head, body);
  }
  return out;
}
