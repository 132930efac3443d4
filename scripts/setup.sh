#!/usr/bin/env bash
# Create .venv and install the project. Usage: scripts/setup.sh [EXTRAS]
# EXTRAS is a comma list of optional dependency groups, e.g. "measure,test".
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-}"
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
if [[ -n "$extras" ]]; then
    .venv/bin/python -m pip install --quiet -e ".[${extras}]"
else
    .venv/bin/python -m pip install --quiet -e .
fi
