#!/usr/bin/env bash
# Set up (idempotent) and run every check: lint, types, unit and integration tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check src tests bench scripts
.venv/bin/mypy
.venv/bin/pytest -q -p no:cacheprovider "$@"
