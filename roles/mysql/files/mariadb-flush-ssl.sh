#!/bin/sh
# Managed by Kiln (role mysql). Usage: mariadb-flush-ssl ADDRESS PORT SERVER_CRT CA_CRT
# FLUSH SSL (MariaDB reloads ssl_cert, ssl_key and ssl_ca without a restart), then prove the server
# serves SERVER_CRT: a TLS handshake on ADDRESS:PORT, verified against CA_CRT, must present it.
set -eu
addr=$1 port=$2 crt=$3 ca=$4
mariadb --protocol=socket --batch -e 'FLUSH SSL'
want=$(openssl x509 -in "$crt" -noout -fingerprint -sha256)
i=0
while :; do
  got=$(openssl s_client -starttls mysql -connect "$addr:$port" -CAfile "$ca" -verify_return_error </dev/null 2>/dev/null |
    openssl x509 -noout -fingerprint -sha256 2>/dev/null) || got=''
  [ "$got" = "$want" ] && { echo "MariaDB serves $crt ($want)"; exit 0; }
  i=$((i + 1))
  [ "$i" -ge 10 ] && break
  sleep 1
done
echo "after FLUSH SSL, MariaDB on $addr:$port does not serve $crt verified by $ca (it presents: ${got:-no verifiable certificate}); it keeps its previous certificate" >&2
exit 1
