#!/bin/bash
# Queue one sweep per line of TASKS_FILE as a Slurm array, then the merge into DB after it.
#   measure/slurm/submit.sh TASKS_FILE [DB]      (run from the project folder)
set -euo pipefail
TASKS_FILE="${1:?usage: measure/slurm/submit.sh TASKS_FILE [DB]}"
DB="${2:-data/energy.duckdb}"
HERE="$(cd "$(dirname "$0")" && pwd)"
n="$(grep -c -v -e '^[[:space:]]*#' -e '^[[:space:]]*$' "$TASKS_FILE" || true)"
[ "$n" -gt 0 ] || { echo "submit.sh: no tasks in $TASKS_FILE" >&2; exit 2; }
array_id="$(sbatch --parsable --array="0-$((n - 1))" "$HERE/sweep_array.sbatch" "$TASKS_FILE")"
array_id="${array_id%%;*}"
merge_id="$(sbatch --parsable --dependency="afterany:$array_id" "$HERE/merge.sbatch" \
    "data/shards/$array_id" "$DB")"
echo "sweep array $array_id ($n tasks), shards in data/shards/$array_id; merge job $merge_id into $DB"
