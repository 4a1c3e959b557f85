#!/usr/bin/env bash
# Sharded init scaling: per-rank init time of one fixed model under mpirun -np 1, 2, ...
# Each rank materializes only its shard (FSDP2 over dp = world) with one thread, so the
# per-rank time should fall as 1/world while the fingerprint stays the whole model's.
#
#   benchmarks/mpi_scaling.sh [BUILD_DIR] [MODEL] [MAX_NP]     (defaults: build, gpt2, 2)
set -euo pipefail
build=${1:-build}
model=${2:-gpt2}
max_np=${3:-2}
exe=$build/tests/mpi/blueprint_mpi_tests
[ -x "$exe" ] || { echo "build the blueprint_mpi_tests target first ($exe)" >&2; exit 1; }
printf "%-12s %4s %14s %12s %12s %18s\n" model np "bytes/rank" "wall (s)" "cpu (s)" fingerprint
for np in $(seq 1 "$max_np"); do
  best=""
  best_cpu=""
  for rep in 1 2 3; do
    out=$(mpirun -np "$np" --oversubscribe --allow-run-as-root "$exe" init_json "$model" \
          --mesh "dp=$np" --strategy fsdp --dtype bf16 --threads 1 --seed 1 --json)
    t=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["init_seconds_max"])' <<<"$out")
    fp=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["fingerprint"])' <<<"$out")
    bytes=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["max_rank_bytes"])' <<<"$out")
    c=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["init_cpu_seconds_max"])' <<<"$out")
    if [ -z "$best" ] || python3 -c "import sys; sys.exit(0 if $t < $best else 1)"; then best=$t; fi
    if [ -z "$best_cpu" ] || python3 -c "import sys; sys.exit(0 if $c < $best_cpu else 1)"; then best_cpu=$c; fi
  done
  printf "%-12s %4s %14s %12.4f %12.4f %18s\n" "$model" "$np" "$bytes" "$best" "$best_cpu" "$fp"
done
