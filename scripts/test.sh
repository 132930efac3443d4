#!/usr/bin/env bash
# Set up everything the tests need, run the lint and import-contract checks, then the
# whole suite.
# Installs the measurement and test extras (torch pinned to a CPU build) and, where
# this user may use apt-get, Debian's chromium for the real-browser tests; the
# browser tests skip with a reason where no chromium can be had.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh measure,test
if ! command -v chromium >/dev/null 2>&1; then
    if [[ "$(id -u)" == "0" ]] && command -v apt-get >/dev/null 2>&1; then
        echo "installing Debian chromium for the browser tests"
        (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver) >/dev/null 2>&1 \
            || echo "could not install chromium: browser tests will skip"
    else
        echo "chromium missing and apt-get unavailable to this user: browser tests will skip"
    fi
fi
echo "lint: ruff check, ruff format --check, import contracts (pyproject.toml)"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/lint-imports --no-cache
set +e
.venv/bin/python -m pytest "$@"
status=$?
set -e
if [[ $status -eq 5 ]]; then echo "pytest collected no tests"; exit 1; fi
exit $status
