#!/bin/sh
# keepalived's notify script (roles/keepalived), installed as /usr/local/lib/kiln-keepalived/keepalived-notify:
#
#   keepalived-notify VIP TEXTFILE_DIR STATE_DIR  TYPE NAME STATE PRIORITY   (the last four from keepalived)
#
# On every state change of the VRRP instance it records the state (STATE_DIR/NAME: MASTER, BACKUP,
# FAULT or STOP, read by the reload gate) and writes node_exporter's textfile metric
#   kiln_vip_master{vip="VIP"} 1   (this host holds the VIP) or 0
# to TEXTFILE_DIR/kiln_vip.prom. Both through a temp file in the same directory and a rename, so
# a reader never sees half a file.
set -u
vip=$1 dir=$2 states=$3 name=$5 state=$6
mkdir -p "$states"
printf '%s\n' "$state" > "$states/.$name.tmp" && mv -f "$states/.$name.tmp" "$states/$name"
[ "$state" = MASTER ] && v=1 || v=0
if [ -d "$dir" ]; then
  tmp="$dir/.kiln_vip.prom.$$"
  {
    echo '# HELP kiln_vip_master 1 when this host holds the floating address (keepalived MASTER), else 0.'
    echo '# TYPE kiln_vip_master gauge'
    echo "kiln_vip_master{vip=\"$vip\"} $v"
  } > "$tmp" && chmod 0644 "$tmp" && mv -f "$tmp" "$dir/kiln_vip.prom"
fi
logger -t keepalived-notify "$name $state: kiln_vip_master{vip=\"$vip\"} $v"
exit 0
