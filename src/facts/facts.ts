/** `kiln facts HOST`: what a host is, gathered in one round trip by one read-only script. */
import { parseKv } from '../sh/kv.ts';

export const FACTS_SCRIPT = String.raw`
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
# MariaDB/MySQL (role mysql): version, read_only, replication threads and lag. Read through the
# unix socket as root (sudo -n when not root); only when a client is installed.
if kiln_my=$(command -v mariadb || command -v mysql); then
  if [ "$(id -u)" = 0 ]; then kiln_su=; else kiln_su='sudo -n'; fi
  $kiln_su "$kiln_my" --protocol=socket --batch --skip-column-names 2>/dev/null <<'KILN_FACTS_SQL'
SELECT CONCAT('mysql_version=', VERSION());
SELECT CONCAT('mysql_read_only=', @@GLOBAL.read_only);
KILN_FACTS_SQL
  $kiln_su "$kiln_my" --protocol=socket --batch 2>/dev/null <<'KILN_FACTS_SQL' | awk -F'\t' 'NR==1{for(i=1;i<=NF;i++)h[$i]=i} NR==2{print "mysql_replica_source=" $h["Master_Host"] ":" $h["Master_Port"]; print "mysql_io_running=" $h["Slave_IO_Running"]; print "mysql_sql_running=" $h["Slave_SQL_Running"]; print "mysql_seconds_behind_master=" $h["Seconds_Behind_Master"]; print "mysql_gtid_io_pos=" $h["Gtid_IO_Pos"]}'
SHOW SLAVE STATUS;
KILN_FACTS_SQL
fi
`;

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
  if (kv.mysql_version) {
    const sbm = kv.mysql_seconds_behind_master;
    facts.mysql = {
      version: kv.mysql_version,
      read_only: /^(1|ON)$/.test(kv.mysql_read_only ?? ''),
      ...(kv.mysql_io_running !== undefined
        ? {
            replica: {
              source: kv.mysql_replica_source,
              io_running: kv.mysql_io_running,
              sql_running: kv.mysql_sql_running,
              seconds_behind_master: sbm && sbm !== 'NULL' ? Number(sbm) : null,
              gtid_io_pos: kv.mysql_gtid_io_pos,
            },
          }
        : {}),
    };
  }
  return facts;
}
