#!/usr/bin/env bash
# Set up (idempotent) and run every check: lint, types, then unit tests (fast, fail first),
# then integration tests against real servers. Arguments go to a single pytest run instead.
set -euo pipefail
cd "$(dirname "$0")/.."
# a real Prometheus and promtool (metrics tests), openssl (the cluster TLS test's
# certificates), a real headless Chromium (the web page and Swagger UI tests)
bash scripts/setup.sh prometheus openssl chromium
.venv/bin/ruff check src tests bench scripts monitoring
.venv/bin/mypy src tests bench  # strict (pyproject.toml), tests and benchmarks too
.venv/bin/mypy --strict monitoring/dashboards.py
if (($#)); then
    exec .venv/bin/pytest -q -p no:cacheprovider "$@"
fi
.venv/bin/pytest -q -p no:cacheprovider -x tests/unit
.venv/bin/pytest -q -p no:cacheprovider --durations=30 tests/integration  # the slowest, to keep CI short
