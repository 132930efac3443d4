#!/usr/bin/env bash
# Set up and run the dashboard on the default store (data/energy.duckdb).
# Extra arguments go to the app, e.g. scripts/app.sh --db other.duckdb
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/streamlit run app.py -- "$@"
