#!/bin/sh
# Health gate of the `reload haproxy` handler (roles/haproxy), installed as
# /usr/local/lib/kiln/haproxy-gate. The service module runs it after the reload (or start), once a
# second until it exits 0 or the handler's timeout passes:
#
#   haproxy-gate ADMIN_SOCKET HTTPS_PORT PATH
#
# Healthy (exit 0) when, all at once:
#   1. the process answering on the admin socket started after the action (KILN_HEALTH_SINCE, set
#      by the service module): right after `systemctl reload` the old process may still answer,
#      and its backends prove nothing about the new configuration;
#   2. every backend that has servers has at least one server UP whose last check passed (L4OK,
#      L6OK, L7OK, L7OKC). A fresh process starts its servers UP before it checked them: a check
#      not run yet (INI) is not a pass, so the gate cannot pass before the new process's first
#      check result;
#   3. GET https://127.0.0.1:HTTPS_PORT/PATH through the frontend answers 2xx (-k: this proves the
#      frontend serves; the certificate names the site, not 127.0.0.1).
# Otherwise it prints why (the servers with their status and last check) and exits 1 — or 100
# ("unhealthy for good": the service module stops waiting and restores at once) when every server
# of a backend has already failed a check in the new process: HAProxy would mark them all DOWN
# after `fall` checks, and waiting for that only prolongs the 503s.
set -u
sock=$1 port=$2 path=$3
if ! out=$(printf 'show info;show stat\n' | socat -t 3 stdio "UNIX-CONNECT:$sock" 2>&1); then
  echo "no answer on the admin socket $sock: $out"
  exit 1
fi
pid=$(printf '%s\n' "$out" | sed -n 's/^Pid: //p')
if [ -z "$pid" ]; then
  echo "no process information on the admin socket $sock: $(printf '%s' "$out" | head -c 200)"
  exit 1
fi
if [ -n "${KILN_HEALTH_SINCE:-}" ]; then
  # Its start time (epoch, 10 ms resolution): field 22 of /proc/PID/stat is the start in clock
  # ticks since boot (the fields after the command name, which may hold spaces, from the 3rd on).
  started=$(awk -v hz="$(getconf CLK_TCK)" -v up="$(cut -d' ' -f1 /proc/uptime)" -v now="$(date +%s.%N)" \
    '{ sub(/^.*\) /, ""); printf "%.2f\n", now - up + $20 / hz }' "/proc/$pid/stat" 2>/dev/null)
  if [ -z "$started" ] || ! awk -v a="$started" -v b="$KILN_HEALTH_SINCE" 'BEGIN { exit !(a > b) }'; then
    echo "the HAProxy process answering (pid $pid) started before the reload: the new one is not serving yet"
    exit 1
  fi
fi
# show stat is CSV with a "# pxname,svname,…" header: columns are found by name.
printf '%s\n' "$out" | awk -F, '
  /^# pxname,/ { sub(/^# /, ""); for (i = 1; i <= NF; i++) col[$i] = i; next }
  !("check_status" in col) || NF < col["check_status"] { next }
  $2 == "FRONTEND" || $2 == "BACKEND" { next }
  {
    px = $1; st = $col["status"]; ck = $col["check_status"]; sub(/^\* /, "", ck)
    seen[px] = 1; n[px]++
    if (st != "no check" && ck != "" && ck != "INI" && ck !~ /^L[467]OK/) failed[px]++
    servers[px] = servers[px] " " $2 " " st (ck == "" ? "" : " (" ck ")")
    if ((st ~ /^UP/ && ck ~ /^L[467]OK/) || st == "no check") good[px] = 1
  }
  END {
    bad = 0
    for (px in seen) if (!(px in good)) {
      if (failed[px] == n[px]) { print "backend " px ": every server failed its check in the new process:" servers[px]; bad = 100 }
      else { print "backend " px ": no server UP with a passed check yet:" servers[px]; if (!bad) bad = 1 }
    }
    exit bad
  }'
rc=$?
[ "$rc" -eq 0 ] || exit "$rc"
url="https://127.0.0.1:$port$path"
code=$(curl -k -sS -o /dev/null -w '%{http_code}' --max-time 3 -- "$url" 2>&1)
case $code in
  2??) exit 0 ;;
  *) echo "GET $url through the frontend: $code"; exit 1 ;;
esac
