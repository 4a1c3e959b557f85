#!/usr/bin/env bash
# Builds every GPU test and benchmark on this machine (no GPU needed: nvcc compiles anywhere)
# into one folder that a GPU machine runs with `tests/gpu/run.sh --prebuilt DIR`.
#
#   tests/gpu/build_here.sh [DIR]      # default build-gpu-prebuilt (git-ignored)
#
# Why: GPU machines come for minutes at a time and start bare; compiling the five programs
# there costs minutes of that time. The GPU machines are x86-64 like this one, and nvcc links
# the CUDA runtime statically, so the binaries run there as they are; the NCCL test finds
# libnccl.so.2 at run time (run.sh looks in the system and in PyTorch's nvidia-nccl wheel).
# Debug information is stripped (line tables are kept in the device code for profilers), so the
# folder stays well under the 64 MiB a device call carries; the script checks the size.
# MANIFEST.txt records the commit, nvcc, the target and the sizes.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
DIR=${1:-$ROOT/build-gpu-prebuilt}
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
export PATH="$PATH:/usr/local/cuda/bin"
command -v nvcc >/dev/null || { echo "build_here: nvcc not found (CUDA toolkit)"; exit 2; }

# run.sh's build stage is the one definition of the flags; here it builds into DIR.
t0=$SECONDS
if ! BLUEPRINT_GPU_BUILD="$DIR" OUT="$DIR/build-out" bash "$ROOT/tests/gpu/run.sh" build; then
  echo "build_here: build FAILED (logs in $DIR/logs, $DIR/build-out)"
  exit 1
fi
cp "$DIR/logs/ptxas.txt" "$DIR/ptxas.txt" 2>/dev/null || true
rm -rf "$DIR/logs" "$DIR/out" "$DIR/build-out"

programs=(blueprint_gpu_tests blueprint_gpu_load_tests bench_gpu_init bench_gpu_load)
[ -x "$DIR/blueprint_gpu_nccl_tests" ] && programs+=(blueprint_gpu_nccl_tests)
for p in "${programs[@]}"; do strip --strip-debug "$DIR/$p"; done

# The fastsafetensors baseline (run.sh loadbase) as wheels for the pythons a GPU machine may
# have (it has no network); best effort: without them that baseline is reported as skipped.
mkdir -p "$DIR/wheels"
for v in 3.10 3.11 3.12 3.13; do
  python3 -m pip download --quiet --no-deps --only-binary=:all: --python-version "$v" \
    --platform manylinux_2_28_x86_64 -d "$DIR/wheels" "fastsafetensors==${FASTSAFETENSORS_VERSION:-0.5.0}" \
    2>/dev/null || echo "build_here: no fastsafetensors wheel for python $v (skipped)"
done

bytes=$(du -cb "${programs[@]/#/$DIR/}" "$DIR/wheels" | tail -1 | cut -f1)
{
  echo "commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$ROOT" diff --quiet 2>/dev/null || echo ' (with local changes)')"
  echo "built $(date -u +%Y-%m-%dT%H:%MZ) on $(uname -m) by $(nvcc --version | tail -1), sm_${BLUEPRINT_CUDA_ARCH:-90}"
  echo "size $((bytes / 1048576)) MiB:"
  for p in "${programs[@]}"; do echo "  $p $(($(stat -c %s "$DIR/$p") / 1048576)) MiB"; done
  echo "  wheels: $(ls "$DIR/wheels" | tr '\n' ' ')"
} >"$DIR/MANIFEST.txt"
cat "$DIR/MANIFEST.txt"
if [ "$bytes" -gt $((60 * 1048576)) ]; then
  echo "build_here: $((bytes / 1048576)) MiB is too much to carry (64 MiB per device call)"
  exit 1
fi
echo "build_here: done in $((SECONDS - t0)) s; on a GPU machine: tests/gpu/run.sh --prebuilt ${DIR#$ROOT/}"
