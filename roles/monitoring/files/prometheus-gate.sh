#!/bin/sh
# Health gate of the `reload prometheus` and `restart prometheus` handlers (roles/monitoring),
# installed as /usr/local/lib/kiln/prometheus-gate. The service module runs it after the action,
# once a second until it exits 0 or the handler's timeout passes:
#
#   prometheus-gate BASE_URL        (e.g. http://127.0.0.1:9090)
#
# Healthy (exit 0) when /-/ready answers 200 and Prometheus loaded the configuration of this
# action: prometheus_config_last_reload_successful is 1 and its load time
# (prometheus_config_last_reload_success_timestamp_seconds) is after the action
# (KILN_HEALTH_SINCE, set by the service module). A reload is asynchronous (SIGHUP): until
# Prometheus has processed it the old values still read 1. A configuration Prometheus refuses at
# reload keeps the old one running and sets the metric to 0: that never passes.
set -u
base=$1
code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 3 -- "$base/-/ready" 2>&1)
if [ "$code" != 200 ]; then
  echo "GET $base/-/ready: $code"
  exit 1
fi
if ! m=$(curl -fsS --max-time 3 -- "$base/metrics" 2>&1); then
  echo "GET $base/metrics: $m"
  exit 1
fi
ok=$(printf '%s\n' "$m" | awk '$1 == "prometheus_config_last_reload_successful" { print $2 }')
at=$(printf '%s\n' "$m" | awk '$1 == "prometheus_config_last_reload_success_timestamp_seconds" { print $2 }')
if [ "$ok" != 1 ]; then
  echo "prometheus_config_last_reload_successful is ${ok:-missing}: Prometheus refused the configuration and still runs the previous one"
  exit 1
fi
if ! awk -v a="${at:-0}" -v b="${KILN_HEALTH_SINCE:-0}" 'BEGIN { exit !(a + 0 > b + 0) }'; then
  echo "the configuration was last loaded at ${at:-?}, before the action: not reloaded yet"
  exit 1
fi
