#!/bin/sh
# Part of the health gate of the `reload nginx` handler (roles/nginx), installed as
# /usr/local/lib/kiln/nginx-gate. The service module runs it after the reload (or start), once a
# second until it exits 0 and the handler's health_url (a request through nginx to the app's
# health endpoint) answers, or the handler's timeout passes:
#
#   nginx-gate [UNIT [URL]]        (default nginx)
#
# Healthy (exit 0) when the configuration of the action is the one serving: nginx has worker
# processes accepting connections, and every one of them started after the action
# (KILN_HEALTH_SINCE, set by the service module). Right after `systemctl reload` the old workers
# may still accept a request, and an answer from them proves nothing about the new configuration;
# a reload nginx refused at runtime (the master keeps the old workers) never passes. Old workers
# finishing their requests ("worker process is shutting down") no longer accept: not counted.
#
# With URL, it also requests URL the way the load balancers' health checks do (HAProxy's
# `option httpchk GET <path>`: HTTP/1.0, no Host, no User-Agent, no Accept) and needs a 2xx. The
# handler's health_url request is curl's (HTTP/1.1 with those headers): a filter in nginx that
# treats the two differently (the application firewall's protocol rules, from paranoia level 2,
# answer such a bare request 403) would otherwise pass the gate and take the host out of the
# load balancers' pool.
set -u
unit=${1:-nginx}
lburl=${2:-}
main=$(systemctl show -p MainPID --value -- "$unit" 2>/dev/null)
if [ -z "$main" ] || [ "$main" = 0 ]; then
  echo "$unit is not running"
  exit 1
fi
hz=$(getconf CLK_TCK)
new=0 old=0
for pid in $(pgrep -P "$main"); do
  title=$(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null) || continue
  case $title in
    *"worker process is shutting down"*) continue ;;
    *"worker process"*) ;;
    *) continue ;;
  esac
  # Its start time (epoch, 10 ms resolution): field 22 of /proc/PID/stat is the start in clock
  # ticks since boot (the fields after the command name, which may hold spaces, from the 3rd on).
  started=$(awk -v hz="$hz" -v up="$(cut -d' ' -f1 /proc/uptime)" -v now="$(date +%s.%N)" \
    '{ sub(/^.*\) /, ""); printf "%.2f\n", now - up + $20 / hz }' "/proc/$pid/stat" 2>/dev/null) || continue
  if awk -v a="$started" -v b="${KILN_HEALTH_SINCE:-0}" 'BEGIN { exit !(a > b) }'; then new=$((new + 1)); else old=$((old + 1)); fi
done
if [ "$new" -eq 0 ] || [ "$old" -ne 0 ]; then
  echo "$unit: $new worker process(es) of the new configuration, $old from before the reload still accepting connections"
  exit 1
fi
if [ -n "$lburl" ]; then
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -0 -H 'Host:' -H 'User-Agent:' -H 'Accept:' -- "$lburl" 2>/dev/null) || code=${code:-000}
  case $code in
    2??) ;;
    *)
      echo "$lburl as the load balancers' health checks send it (HTTP/1.0, no Host, no User-Agent): HTTP $code"
      exit 1
      ;;
  esac
fi
