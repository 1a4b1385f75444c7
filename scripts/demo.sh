#!/usr/bin/env bash
# Set up (idempotent), then run a real full migration between two sandbox MariaDB servers.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python scripts/demo.py "$@"
