#!/bin/sh
# keepalived's vrrp_script (roles/keepalived), installed as /usr/local/lib/kiln-keepalived/keepalived-check-haproxy:
#
#   keepalived-check-haproxy PORT PATH TIMEOUT
#
# Healthy (exit 0) when HAProxy's HTTPS frontend on 127.0.0.1:PORT (the haproxy role's loopback
# `alive` frontend, which HAProxy answers itself: no backend sees the checks) completes a TLS handshake and
# answers PATH with any HTTP status within TIMEOUT seconds: HAProxy itself answers (a 503 while
# every backend is down still counts: the peer would have the same backends). No answer (refused,
# TLS failure, timeout) twice, 0.3 s apart, is a failure: keepalived (fall 1 by default) moves the
# VIP to a peer. The second attempt keeps one lost connection from moving the VIP; keepalived's
# interval is whole seconds, so the retry inside the script detects a dead HAProxy faster than
# `fall 2` would (about 1.3 s instead of 2 to 3 s).
ask() {
  code=$(curl -k -s -o /dev/null -w '%{http_code}' --max-time "$3" -- "https://127.0.0.1:$1$2")
  [ -n "$code" ] && [ "$code" != 000 ]
}
ask "$@" && exit 0
sleep 0.3
ask "$@"
