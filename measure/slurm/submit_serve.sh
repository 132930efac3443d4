#!/bin/bash
# Queue one `measure serve` job, then the merge of its shard into DB after it.
#   measure/slurm/submit_serve.sh MODEL [DB] [measure serve arguments...]   (from the project folder)
set -euo pipefail
MODEL="${1:?usage: measure/slurm/submit_serve.sh MODEL [DB] [measure serve arguments...]}"
DB="${2:-data/energy.duckdb}"
shift $(( $# >= 2 ? 2 : 1 ))
HERE="$(cd "$(dirname "$0")" && pwd)"
job_id="$(sbatch --parsable "$HERE/serve.sbatch" "$MODEL" "$@")"
job_id="${job_id%%;*}"
merge_id="$(sbatch --parsable --dependency="afterany:$job_id" "$HERE/merge.sbatch" \
    "data/shards/$job_id" "$DB")"
echo "serve job $job_id, shard in data/shards/$job_id; merge job $merge_id into $DB"
