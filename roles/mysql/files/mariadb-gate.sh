#!/bin/sh
# Health gate of the `restart mariadb` handlers (roles/mysql), installed as
# /usr/local/lib/kiln/mariadb-gate. The service module runs it after the restart, once a second
# until it exits 0 or the handler's timeout passes:
#
#   mariadb-gate primary|replica
#
# Healthy (exit 0) when the server answers a query through its socket (as root, unix socket
# authentication) and, on a replica, both replication threads run (Slave_IO_Running and
# Slave_SQL_Running = Yes: the IO thread may need a few seconds to reconnect to the primary).
# Otherwise it prints why (with MariaDB's Last_IO_Error / Last_SQL_Error) and exits 1.
set -u
role=${1:-primary}
if ! out=$(mariadb --protocol=socket --batch --skip-column-names -e 'SELECT 1' 2>&1 </dev/null); then
  echo "the server does not answer: $out"
  exit 1
fi
[ "$role" = replica ] || exit 0
st=$(mariadb --protocol=socket -e 'SHOW SLAVE STATUS\G' 2>&1 </dev/null) || { echo "SHOW SLAVE STATUS: $st"; exit 1; }
field() { printf '%s\n' "$st" | sed -n "s/^ *$1: //p" | head -n 1; }
io=$(field Slave_IO_Running) sql=$(field Slave_SQL_Running)
if [ -z "$io$sql" ]; then
  echo "not a replica: SHOW SLAVE STATUS is empty"
  exit 1
fi
if [ "$io" != Yes ] || [ "$sql" != Yes ]; then
  echo "replication: IO thread ${io:-?}, SQL thread ${sql:-?}"
  e=$(field Last_IO_Error) && [ -z "$e" ] || echo "Last_IO_Error: $e"
  e=$(field Last_SQL_Error) && [ -z "$e" ] || echo "Last_SQL_Error: $e"
  exit 1
fi
