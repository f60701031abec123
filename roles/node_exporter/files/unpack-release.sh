#!/bin/sh
# Managed by Kiln (role node_exporter). Usage: unpack-release.sh TARBALL RELEASE_DIR
# Unpacks an upstream-style release (node_exporter-X.Y.Z.linux-amd64/node_exporter) into
# RELEASE_DIR atomically: into a temp dir beside it first, renamed only when the binary is there.
set -eu
tarball=$1
rel=$2
tmp=$(mktemp -d "$rel.tmp.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
tar -xzf "$tarball" -C "$tmp" --strip-components=1 --no-same-owner
if [ ! -f "$tmp/node_exporter" ]; then
  echo "$tarball has no node_exporter binary at <top dir>/node_exporter" >&2
  exit 3
fi
chmod 0755 "$tmp" "$tmp/node_exporter"
mv "$tmp" "$rel"
trap - EXIT
