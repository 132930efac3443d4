#!/usr/bin/env bash
# Set up and run the dashboard on the default store (data/energy.duckdb), listening on
# 127.0.0.1 only. --public listens on every interface (0.0.0.0) instead: anyone who can
# reach this machine can then use the app and write stores in its data folder.
# Other arguments go to the app, e.g. scripts/app.sh --db other.duckdb
set -euo pipefail
cd "$(dirname "$0")/.."
address=127.0.0.1
app_args=()
for arg in "$@"; do
    if [[ "$arg" == "--public" ]]; then
        address=0.0.0.0
    else
        app_args+=("$arg")
    fi
done
bash scripts/setup.sh
exec .venv/bin/streamlit run app.py --server.address "$address" -- "${app_args[@]}"
