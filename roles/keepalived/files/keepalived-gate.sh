#!/bin/sh
# Health gate of the `reload keepalived` handler (roles/keepalived), installed as
# /usr/local/lib/kiln-keepalived/keepalived-gate. The service module runs it after the reload (or start),
# once a second until it exits 0 or the handler's timeout passes:
#
#   keepalived-gate STATE_FILE VIP IFACE
#
# Healthy (exit 0) when, all at once:
#   1. keepalived runs (systemd's MainPID is alive) and has been for at least 2 s after the action
#      (KILN_HEALTH_SINCE): a SIGHUP reload re-reads the file within that time;
#   2. the VRRP instance's state, written by the notify script on each transition, is MASTER or
#      BACKUP — not FAULT (its interface is down or the HAProxy check fails) nor STOP/absent;
#   3. the VIP is on IFACE if and only if the instance is MASTER.
set -u
statefile=$1 vip=$2 iface=$3
pid=$(systemctl show -p MainPID --value keepalived)
if [ -z "$pid" ] || [ "$pid" = 0 ] || ! kill -0 "$pid" 2>/dev/null; then
  echo "keepalived is not running"; exit 1
fi
if [ -n "${KILN_HEALTH_SINCE:-}" ] && ! awk -v s="$KILN_HEALTH_SINCE" -v now="$(date +%s.%N)" 'BEGIN { exit !(now - s >= 2) }'; then
  echo "waiting for keepalived to apply the configuration"; exit 1
fi
state=$(cat "$statefile" 2>/dev/null)
has=no
ip -o addr show dev "$iface" | grep -q " ${vip%/*}/" && has=yes
case $state in
  MASTER) [ "$has" = yes ] && exit 0; echo "MASTER but ${vip} is not on $iface"; exit 1 ;;
  BACKUP) [ "$has" = no ] && exit 0; echo "BACKUP but ${vip} is still on $iface"; exit 1 ;;
  *) echo "the VRRP instance is ${state:-in no known state} (not MASTER or BACKUP)$( [ "$state" = FAULT ] && echo ': its interface is down or the HAProxy check fails')"; exit 1 ;;
esac
