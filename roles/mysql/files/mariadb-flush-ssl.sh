#!/bin/sh
# Managed by Kiln (role mysql). Usage: mariadb-flush-ssl SERVER_CRT
# FLUSH LOCAL SSL (MariaDB reloads ssl_cert, ssl_key and ssl_ca without a restart; LOCAL: not written
# to the binary log, where a replica would run it as a replicated event), then prove the server
# loaded SERVER_CRT: the certificate it serves (status Ssl_server_not_before/not_after) must have
# the file's validity dates. (A TLS handshake from the host itself is not used: its own address
# has no account, and MariaDB answers such a client with an error instead of a greeting.)
set -eu
crt=$1
status() { mariadb --protocol=socket --batch --skip-column-names -e "SHOW GLOBAL STATUS LIKE '$1'" | cut -f2; }
mariadb --protocol=socket --batch -e 'FLUSH LOCAL SSL'
want="$(openssl x509 -in "$crt" -noout -startdate | cut -d= -f2) / $(openssl x509 -in "$crt" -noout -enddate | cut -d= -f2)"
got="$(status Ssl_server_not_before) / $(status Ssl_server_not_after)"
if [ "$got" = "$want" ]; then
  echo "MariaDB serves $crt (valid $want)"
  exit 0
fi
echo "after FLUSH SSL, MariaDB does not serve $crt (valid $want): it serves a certificate valid ${got:-?}; it keeps its previous certificate when the new files cannot be loaded (see the journal)" >&2
exit 1
