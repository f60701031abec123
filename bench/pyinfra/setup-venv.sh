#!/bin/sh
# Builds the Python virtualenv the benchmark runs pyinfra from (bench/README.md, "pyinfra"):
#   bench/pyinfra/setup-venv.sh [VENV]        (as root; default VENV /var/cache/kiln/bench/pyinfra-venv)
#
# The Python package index is not reachable here, so nothing comes from it:
# - the venv is made with Debian's Python (/usr/bin/python3 -m venv --system-site-packages) and every
#   dependency of pyinfra is a Debian package (apt-get install, below);
# - pyinfra itself (tag $PYINFRA_TAG) is installed from its public repository's source with
#   `pip install --no-deps --no-build-isolation`;
# - typeguard: pyinfra 3 needs typeguard >= 3 (TypeCheckError) and Debian 12 has 2.2.2, so typeguard
#   (tag $TYPEGUARD_TAG, the last release whose dependencies Debian 12 satisfies: typing_extensions
#   4.4) is installed from its public repository's source into the venv the same way.
# Sources: a git directory holding the tag (PYINFRA_GIT / TYPEGUARD_GIT; default: the local mirror
# under /work/.mirror when it exists, else the GitHub repository, cloned shallowly).
# Idempotent: when the venv already runs the wanted versions it only says so.
set -eu

VENV=${1:-/var/cache/kiln/bench/pyinfra-venv}
PYINFRA_TAG=${PYINFRA_TAG:-v3.0b0}
PYINFRA_VERSION=${PYINFRA_TAG#v}
TYPEGUARD_TAG=${TYPEGUARD_TAG:-3.0.2}
default_git() { # owner+name, url
  if [ -d "/work/.mirror/$1/repo" ]; then echo "/work/.mirror/$1/repo"; else echo "$2"; fi
}
PYINFRA_GIT=${PYINFRA_GIT:-$(default_git pyinfra-dev+pyinfra https://github.com/pyinfra-dev/pyinfra.git)}
TYPEGUARD_GIT=${TYPEGUARD_GIT:-$(default_git agronholm+typeguard https://github.com/agronholm/typeguard.git)}

installed() { # the versions the venv runs, or nothing
  [ -x "$VENV/bin/pyinfra" ] || return 0
  # pkg_resources.require: every requirement of pyinfra resolves (its connectors load through it)
  "$VENV/bin/python" -W ignore -c 'import importlib.metadata as m, pkg_resources; pkg_resources.require("pyinfra"); print(m.version("pyinfra"), m.version("typeguard"))' 2>/dev/null || true
}
if [ "$(installed)" = "$PYINFRA_VERSION $TYPEGUARD_TAG" ]; then
  echo "pyinfra $PYINFRA_VERSION (typeguard $TYPEGUARD_TAG) is already installed in $VENV"
  exit 0
fi

# pyinfra's install_requires (setup.py) from Debian: gevent, paramiko, click, jinja2, python-dateutil,
# setuptools, pywinrm, distro, typing-extensions (imported unconditionally); configparser and
# graphlib are in Python 3.11's standard library. setuptools-scm builds typeguard; venv and pip make the venv.
DEBS="python3-venv python3-pip python3-setuptools python3-setuptools-scm python3-gevent python3-paramiko
python3-click python3-jinja2 python3-dateutil python3-winrm python3-distro python3-packaging python3-typing-extensions"
missing=""
for p in $DEBS; do
  dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "installing Debian packages:$missing"
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive apt-get install -y $missing
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export_tag() { # git source, tag, destination: the tag's tree, without .git
  src=$1
  case "$src" in
    http*://* | git@*)
      git clone --quiet --bare --depth 1 --branch "$2" "$src" "$tmp/clone-$2"
      src="$tmp/clone-$2"
      ;;
  esac
  mkdir -p "$3"
  git -C "$src" archive --format=tar "$2" | tar -x -C "$3"
}
export_tag "$PYINFRA_GIT" "$PYINFRA_TAG" "$tmp/pyinfra"
export_tag "$TYPEGUARD_GIT" "$TYPEGUARD_TAG" "$tmp/typeguard"
# setup.py requires "configparser", the PyPI backport of a module that is in Python 3's standard
# library: no Debian package provides that distribution, and pkg_resources refuses to load pyinfra's
# connectors without it. The requirement is dropped (the standard library's module is what runs).
sed -i '/^ *"configparser",$/d' "$tmp/pyinfra/setup.py"
grep -q '"configparser"' "$tmp/pyinfra/setup.py" && { echo "setup-venv: could not drop the configparser requirement" >&2; exit 1; }

mkdir -p "$(dirname "$VENV")"
rm -rf "$VENV"
/usr/bin/python3 -m venv --system-site-packages "$VENV"
pip() { PIP_NO_INDEX=1 PIP_DISABLE_PIP_VERSION_CHECK=1 "$VENV/bin/python" -m pip "$@"; }
# typeguard takes its version from git tags (setuptools-scm); the exported tree has none.
SETUPTOOLS_SCM_PRETEND_VERSION=$TYPEGUARD_TAG pip install --quiet --no-deps --no-build-isolation "$tmp/typeguard"
pip install --quiet --no-deps --no-build-isolation "$tmp/pyinfra"
got=$(installed)
if [ "$got" != "$PYINFRA_VERSION $TYPEGUARD_TAG" ]; then
  echo "setup-venv: the venv at $VENV runs '$got', not pyinfra $PYINFRA_VERSION / typeguard $TYPEGUARD_TAG" >&2
  exit 1
fi
"$VENV/bin/pyinfra" --version
echo "pyinfra $PYINFRA_VERSION installed in $VENV"
