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
# two test files at a time (each file's tests in one process, sharing its servers): the
# tests mostly wait on servers, so two at once take 16 minutes instead of 25 on 2 cores
.venv/bin/pytest -q -p no:cacheprovider -n 2 --dist loadfile --durations=30 tests/integration
