#!/usr/bin/env bash
# Idempotent setup of a fresh Debian 12 machine (as root): system packages, .venv, pydm.
set -euo pipefail
cd "$(dirname "$0")/.."

# mydumper: the load-task tests; percona-toolkit: a real pt-online-schema-change (online DDL)
packages=(mariadb-server mariadb-client etcd-server mydumper percona-toolkit "$@")
if ! python3 -c "import ensurepip" >/dev/null 2>&1; then
    packages+=(python3-venv)  # Debian's own python3 needs it for `python3 -m venv`
fi
missing=()
for p in "${packages[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "setup: installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip 2>/dev/null || true
.venv/bin/python -m pip install -q -e '.[test]'
.venv/bin/dm-master --version >/dev/null
echo "setup: ready (.venv/bin/dm-master, dm-worker, dmctl)"
