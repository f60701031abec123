/**
 * `kiln facts HOST`: what a host is, gathered in one round trip by one read-only script.
 *
 * This file holds the generic facts (OS, CPU, memory, network, disk). Facts about a role's
 * service come from the modules' folders (src/modules/mysql/facts.ts): the facts layer sits
 * above modules and composes their script fragments and parsers, never the other way round.
 * The script never changes the host and never fails on a missing tool.
 */
import { MYSQL_FACTS_SCRIPT, parseMysqlFacts } from '../modules/mysql/facts.ts';
import { parseKv } from '../sh/kv.ts';

/** Generic facts; the role-specific parts (MariaDB) are fragments their modules' folders own. */
const GENERIC_FACTS_SCRIPT = String.raw`
. /etc/os-release 2>/dev/null
echo "hostname=$(hostname 2>/dev/null)"
echo "fqdn=$(hostname -f 2>/dev/null || hostname)"
echo "os_id=$ID"; echo "os_version=$VERSION_ID"; echo "os_codename=$VERSION_CODENAME"; echo "os_pretty=$PRETTY_NAME"
echo "kernel=$(uname -r)"; echo "arch=$(uname -m)"
echo "cpus=$(nproc 2>/dev/null || getconf _NPROCESSORS_ONLN)"
awk '/^MemTotal:/ {print "memory_mb=" int($2/1024)} /^MemAvailable:/ {print "memory_available_mb=" int($2/1024)}' /proc/meminfo
echo "uptime_s=$(cut -d. -f1 /proc/uptime)"
echo "load=$(cut -d' ' -f1-3 /proc/loadavg)"
if [ -d /run/systemd/system ]; then echo init=systemd; echo "system_state=$(systemctl is-system-running 2>/dev/null)"; else echo init=sysv; fi
echo "virt=$(systemd-detect-virt 2>/dev/null || echo unknown)"
echo "ipv4=$(ip -o -4 addr show scope global 2>/dev/null | awk '{print $2 ":" $4}' | tr '\n' ' ')"
echo "default_route=$(ip -4 route show default 2>/dev/null | awk '{print $3; exit}')"
echo "python3=$(command -v python3 || true)"
echo "pkg_manager=$(command -v apt-get >/dev/null && echo apt || echo unknown)"
echo "disk_root=$(df -P / 2>/dev/null | awk 'NR==2 {print $2*1024 " " $4*1024}')"
echo "user=$(id -un)"
`;

export const FACTS_SCRIPT = `${GENERIC_FACTS_SCRIPT}${MYSQL_FACTS_SCRIPT}`;

export type Facts = Record<string, string | number | string[] | boolean | Record<string, unknown>>;

export function parseFacts(stdout: string): Facts {
  const kv = parseKv(stdout);
  const num = (k: string) => (kv[k] !== undefined && kv[k] !== '' ? Number(kv[k]) : undefined);
  const [diskTotal, diskFree] = (kv.disk_root ?? '').split(' ').map(Number);
  const facts: Facts = {
    hostname: kv.hostname ?? '',
    fqdn: kv.fqdn ?? '',
    os: { id: kv.os_id, version: kv.os_version, codename: kv.os_codename, pretty: kv.os_pretty },
    kernel: kv.kernel ?? '',
    arch: kv.arch ?? '',
    init: kv.init ?? '',
    virtualization: kv.virt ?? '',
    ipv4: (kv.ipv4 ?? '').trim().split(/\s+/).filter(Boolean),
    default_route: kv.default_route ?? '',
    python3: kv.python3 ?? '',
    pkg_manager: kv.pkg_manager ?? '',
    user: kv.user ?? '',
    load: kv.load ?? '',
  };
  for (const k of ['cpus', 'memory_mb', 'memory_available_mb', 'uptime_s'] as const) {
    const v = num(k);
    if (v !== undefined) facts[k] = v;
  }
  if (kv.system_state) facts.system_state = kv.system_state;
  if (diskTotal) facts.disk_root = { total_bytes: diskTotal, free_bytes: diskFree };
  const mysql = parseMysqlFacts(kv);
  if (mysql) facts.mysql = mysql;
  return facts;
}
