#!/usr/bin/env bash
# Static SASS instruction counts of the hot paths (benchmarks/gpu/sass_probe.cu), per kernel and
# per element: no GPU needed, nvcc and cuobjdump only. Counts every instruction of a probe
# kernel except NOPs and the final self-branch (so slow paths that rarely run, such as the
# correctly rounded sqrt's special cases or init stream v3's refined levels, are counted too:
# an upper bound of the dynamic count), and separately those up to the first EXIT (the main
# path and the branches inside it; out-of-line subroutines are placed after it).
#
#   benchmarks/gpu/sass_count.sh [INCLUDE_ROOT]   # default: this checkout's headers
#   PROBE=other_probe.cu benchmarks/gpu/sass_count.sh OLD_TREE   # e.g. an older commit's
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
INC=${1:-$ROOT}
export PATH="$PATH:/usr/local/cuda/bin"
ARCH=${BLUEPRINT_CUDA_ARCH:-90}
# cuobjdump: CUDA's, or the copy PyTorch's triton wheel ships (CUDA toolkits without it exist).
CUOBJDUMP=${CUOBJDUMP:-$(command -v cuobjdump || python3 -c 'import os, triton; print(os.path.join(os.path.dirname(triton.__file__), "backends/nvidia/bin/cuobjdump"))' 2>/dev/null || true)}
[ -x "$CUOBJDUMP" ] || { echo "sass_count: no cuobjdump (CUDA toolkit, or pip install triton)"; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
nvcc -std=c++20 -O3 --fmad=false -Xcompiler=-ffp-contract=off -cubin -arch="sm_${ARCH}" \
  -I"$INC/kernels/include" -I"$INC/dsl/include" -I"$INC/codegen/include" \
  "${PROBE:-$ROOT/benchmarks/gpu/sass_probe.cu}" -o "$work/probe.cubin"
"$CUOBJDUMP" -sass "$work/probe.cubin" | awk '
  /Function :/ {
    name = $3
    if (name !~ /^_ZN5probe/) { name = ""; next }  # out-of-line helpers: counted nowhere
    sub(/^_ZN5probe[0-9]+/, "", name); sub(/[^a-z_0-9].*/, "", name)
  }
  /Function :/ { after_main = 0 }
  /^ *\/\*[0-9a-f][0-9a-f][0-9a-f][0-9a-f]\*\// && name != "" {
    op = $2; if (op ~ /^@/) op = $3
    if (op ~ /^NOP/) next
    if (op ~ /^BRA/ && last_exit) next  # the self-branch after EXIT
    count[name]++; if (!after_main) main[name]++; last_exit = (op ~ /^EXIT/)
    if (last_exit) after_main = 1
  }
  END {
    per["normal_bf16_vector"] = 8; per["uniform_bf16_vector"] = 8; per["philox_block"] = 4
    per["box_muller_group"] = 4; per["segment_vector_bf16"] = 8
    per["normal_v2_bf16_vector"] = 8; per["icdf_group"] = 4
    per["normal_v3_bf16_vector"] = 8; per["icdf16_block"] = 8
    for (n in count)
      printf "%-22s %5d SASS instructions, %6.1f per element; before the first EXIT %5d, %6.1f\n",
             n, count[n], count[n] / per[n], main[n], main[n] / per[n]
  }' | sort
