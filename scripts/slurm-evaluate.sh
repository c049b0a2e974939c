#!/bin/bash
# IWR-Bench on a Slurm cluster: one array task per shard (docs/scale-out.md). Submit from the harness folder:
#
#   jobid=$(sbatch --parsable --array=1-16 scripts/slurm-evaluate.sh)
#   sbatch --dependency=afterany:$jobid --wrap ".venv/bin/python evaluate.py --report-only --data $DATA --result $ROOT"
#
# Settings come from the environment (sbatch passes it on): DATA, ROOT, MODEL, JUDGE (default: offline),
# WORKERS, JUDGE_CONCURRENCY, IWRBENCH_CACHE_DIR. API keys too (or a .env file): never on the command line.
#SBATCH --job-name=iwrbench-eval
#SBATCH --cpus-per-task=4
#SBATCH --mem=8G
#SBATCH --time=04:00:00
#SBATCH --output=logs/eval-%A_%a.log
set -euo pipefail
: "${DATA:?set DATA to the data file (jsonl)}"
: "${ROOT:?set ROOT to the output root on the shared file system}"
: "${MODEL:?set MODEL to the model whose pages to make and evaluate}"
SHARDS=${SLURM_ARRAY_TASK_COUNT:?run as an array job: sbatch --array=1-N}
SHARD="${SLURM_ARRAY_TASK_ID}/${SHARDS}"
export IWRBENCH_CACHE_DIR=${IWRBENCH_CACHE_DIR:-$ROOT/.cache}  # response and OCR caches, shared by the jobs

judge=()
if [ -n "${JUDGE:-}" ]; then
    judge=(--judge "$JUDGE" --judge-concurrency "${JUDGE_CONCURRENCY:-4}")
fi
.venv/bin/python generate.py --data "$DATA" --result "$ROOT" --model "$MODEL" --shard "$SHARD" -q
# Exit 1 (some task an error) must not fail the array: the merge lists the errors, a rerun redoes them.
status=0
.venv/bin/python evaluate.py --data "$DATA" --result "$ROOT" --model "$MODEL" "${judge[@]}" \
    --shard "$SHARD" --workers "${WORKERS:-${SLURM_CPUS_PER_TASK:-4}}" -q || status=$?
[ "$status" -eq 0 ] || [ "$status" -eq 1 ]
