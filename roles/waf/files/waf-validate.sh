#!/bin/sh
# Validator of the waf role (roles/waf), installed as /usr/local/lib/kiln/waf-validate and used
# as the `validate:` of its two files, before a candidate replaces the live one:
#
#   waf-validate rules CANDIDATE     a candidate /etc/nginx/kiln-waf/modsecurity.conf
#   waf-validate snippet CANDIDATE   a candidate /etc/nginx/conf.d/kiln-waf.conf
#
# It checks the candidate with `nginx -t` TOGETHER WITH THE LIVE nginx.conf: a temporary copy of
# nginx.conf whose `include /etc/nginx/conf.d/*.conf;` reads a temporary copy of conf.d/ in
# which kiln-waf.conf is the candidate (or, for `rules`, loads the candidate rules file). So the
# modules, the other drop-ins and every CRS rule the candidate includes are parsed as nginx will
# parse them after the swap; the live files are not touched.
set -eu
mode=${1:?usage: waf-validate rules|snippet CANDIDATE}
cand=${2:?usage: waf-validate rules|snippet CANDIDATE}
# (WAF_VALIDATE_ETC: another /etc/nginx, for the role's unit test.)
etc=${WAF_VALIDATE_ETC:-/etc/nginx}
live=$etc/nginx.conf
confd=$etc/conf.d
include="include $confd/*.conf;"
if ! grep -qF -- "$include" "$live"; then
  echo "waf-validate: $live does not include $confd/*.conf: the WAF would not be loaded" >&2
  exit 1
fi
tmp=$(mktemp -d /tmp/kiln-waf-check.XXXXXX)
trap 'rm -rf -- "$tmp"' EXIT
mkdir "$tmp/conf.d"
for f in "$confd"/*.conf; do
  [ -e "$f" ] || continue
  [ "$f" = "$confd/kiln-waf.conf" ] && continue
  cp -p -- "$f" "$tmp/conf.d/"
done
case $mode in
  rules) printf 'modsecurity on;\nmodsecurity_rules_file %s;\n' "$cand" > "$tmp/conf.d/kiln-waf.conf" ;;
  snippet) cp -- "$cand" "$tmp/conf.d/kiln-waf.conf" ;;
  *) echo "waf-validate: unknown mode $mode (rules or snippet)" >&2; exit 2 ;;
esac
# The include line, literally, pointed at the temporary conf.d (awk: no regex or sed escaping).
awk -v from="$include" -v to="include $tmp/conf.d/*.conf;" '{ i = index($0, from); if (i) $0 = substr($0, 1, i - 1) to substr($0, i + length(from)); print }' "$live" > "$tmp/nginx.conf"
nginx -t -q -c "$tmp/nginx.conf"
