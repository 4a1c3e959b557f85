#!/usr/bin/env bash
# The one command for a machine with a GPU: runs the GPU tests and benchmarks and the PyTorch /
# safetensors / transformers baselines, and writes a summary.
#
#   tests/gpu/run.sh --prebuilt DIR [--out OUT]   # binaries built here by tests/gpu/build_here.sh:
#                                                 # runs only (check test bench load torch loadbase)
#   tests/gpu/run.sh                              # builds on the GPU machine, then runs all stages
#   tests/gpu/run.sh build test                   # only some stages, in the order given
#
# GPU time is short (minutes per session), so the proof is built on the developer machine
# (nvcc compiles anywhere; the GPU machines are x86-64 too), carried, and only run there. The
# stages go most important first — bit-exactness (test), init figures (bench), load figures
# (load), then the baselines (torch, loadbase) — and each writes its results to OUT and
# rewrites summary.txt as it finishes, so a run cut off by its time limit still returns what
# it did. `check` (first in --prebuilt mode) verifies everything that needs no GPU — the
# binaries, their libraries, python3 with torch — and then fails cleanly with "no CUDA device"
# on a machine without one (exit 3).
#
# It installs nothing and needs no network. Building (stage `build`) uses nvcc and the
# repository's headers directly (no CMake configure of the root project, which requires Catch2
# and nlohmann_json that a GPU machine may not have); the baselines use the python3 that holds
# PyTorch, Transformers and Lightning. Results go to OUT (--out, $OUT, or BUILD/out), at most 8
# files: summary.txt, tests.log (materialize + load tests), tests_nccl.log, bench.log,
# bench.csv, torch.log, load.log (+ build logs on a failed build); other logs stay in LOGS.
# The build folder (build-gpu, or $BLUEPRINT_GPU_BUILD) is reused when it is there.
#
# Environment knobs:
#   BLUEPRINT_CUDA_ARCH     target (default 90: sm_90 code + compute_90 PTX)
#   BLUEPRINT_BENCH_MODELS  models for bench_gpu_init (default gpt2-xl,llama3-8b)
#   BLUEPRINT_TORCH_MODELS  models for the baselines (default gpt2-xl,llama3-8b)
#   BLUEPRINT_TORCH_MODES   baseline modes (default all: cpu,meta,fabric,cuda_direct,blueprint)
#   BLUEPRINT_BENCH_REPS    timed repetitions (default 20; the median is reported)
#   BLUEPRINT_LOAD_MODEL    model of the checkpoint-load benchmark (default llama3-8b)
#   BLUEPRINT_LOAD_DIR      where its bf16 checkpoint is written once (default $BUILD/ckpt-MODEL;
#                           /dev/shm/blueprint-ckpt-MODEL with --prebuilt when it has room)
#
# nlohmann/json.hpp (runtime's JSON) is taken from the system, or from $ROOT/.deps/include
# (stage build only: prebuilt binaries need no headers).
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PREBUILT=""
OUT_ARG=""
STAGES=()
while [ $# -gt 0 ]; do
  case $1 in
    --prebuilt) PREBUILT=${2:?"--prebuilt needs the folder build_here.sh wrote"}; shift 2 ;;
    --out) OUT_ARG=${2:?"--out needs a folder"}; shift 2 ;;
    -h|--help) sed -n '2,40p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) STAGES+=("$1"); shift ;;
  esac
done
if [ -n "$PREBUILT" ]; then
  BUILD=$(cd "$PREBUILT" 2>/dev/null && pwd) || { echo "== --prebuilt $PREBUILT: no such folder"; exit 2; }
  LOGS=${TMPDIR:-/tmp}/blueprint-gpu-logs  # the prebuilt folder may be read-only
  [ ${#STAGES[@]} -eq 0 ] && STAGES=(check test bench load torch loadbase)
else
  BUILD=${BLUEPRINT_GPU_BUILD:-$ROOT/build-gpu}
  LOGS=$BUILD/logs  # build logs stay here ($OUT gets them only on failure: the device tool
  [ ${#STAGES[@]} -eq 0 ] && STAGES=(build test bench load torch loadbase)  # brings back 8 files
fi
OUT=${OUT_ARG:-${OUT:-$BUILD/out}}
mkdir -p "$BUILD" "$OUT" "$LOGS"
NVCC=${NVCC:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}
ARCH=${BLUEPRINT_CUDA_ARCH:-90}
PY=${PYTHON:-python3}

declare -A STATUS
log() { echo "== $*"; }

# Bit-identity flags (docs/CUDA.md): no contraction on either compiler, no fast math.
NVFLAGS=(-std=c++20 -O3 --fmad=false -Xcompiler=-ffp-contract=off,-O2 -lineinfo
         "-gencode=arch=compute_${ARCH},code=[sm_${ARCH},compute_${ARCH}]"
         -Xptxas=-v,-warn-spills
         -I"$ROOT/kernels/include" -I"$ROOT/dsl/include" -I"$ROOT/codegen/include"
         -I"$ROOT/runtime/include" -lpthread)
[ -d "$ROOT/.deps/include" ] && NVFLAGS+=(-I"$ROOT/.deps/include")

# nccl.h and libnccl: the system's, or the pip wheel's next to PyTorch (nvidia-nccl-cu13).
find_nccl() {
  for d in /usr /usr/local /usr/local/cuda; do
    if [ -f "$d/include/nccl.h" ]; then echo "$d"; return; fi
  done
  "$PY" - <<'PYEOF' 2>/dev/null
import glob, os, site, sys
roots = list(site.getsitepackages()) + [site.getusersitepackages()]
for r in roots:
    for h in glob.glob(os.path.join(r, "nvidia", "**", "include", "nccl.h"), recursive=True):
        print(os.path.dirname(os.path.dirname(h)))
        sys.exit(0)
PYEOF
}

# The NCCL library for programs that link it: the system's, else the pip wheel's (torch's).
nccl_library_dir() {
  local nccl d
  nccl=$(find_nccl)
  for d in "$nccl"/lib "$nccl"/lib64 /usr/local/cuda/lib64 /usr/lib/x86_64-linux-gnu; do
    if [ -e "$d/libnccl.so.2" ]; then echo "$d"; return; fi
  done
}

PROGRAMS=(blueprint_gpu_tests blueprint_gpu_load_tests bench_gpu_init bench_gpu_load)

stage_check() {
  log "check: prebuilt binaries in $BUILD"
  local rc=0 p
  [ -f "$BUILD/MANIFEST.txt" ] && sed 's/^/   /' "$BUILD/MANIFEST.txt"
  for p in "${PROGRAMS[@]}"; do
    if [ ! -x "$BUILD/$p" ]; then log "missing $BUILD/$p (run tests/gpu/build_here.sh)"; rc=2; fi
  done
  local lib
  lib=$(nccl_library_dir)
  if [ -n "$lib" ]; then
    export LD_LIBRARY_PATH="$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    log "libnccl.so.2 from $lib"
  elif [ -x "$BUILD/blueprint_gpu_nccl_tests" ]; then
    log "libnccl.so.2 not found: the NCCL test cannot start"
  fi
  if "$PY" -c "import torch, safetensors, transformers" >/dev/null 2>&1; then
    log "python3: torch $("$PY" -c 'import torch; print(torch.__version__)'), transformers, safetensors"
  else
    log "python3 lacks torch, safetensors or transformers: the baselines will fail"
  fi
  if [ $rc -ne 0 ]; then STATUS[check]="FAILED (binaries missing)"; return $rc; fi
  # The binary loads (its libraries are found) and asks the driver for devices.
  local devices
  devices=$("$BUILD/blueprint_gpu_tests" --devices 2>&1)
  local drc=$?
  echo "$devices" | sed 's/^/   /'
  if [ $drc -ne 0 ]; then
    STATUS[check]="FAILED: no CUDA device"
    log "no CUDA device: everything else is in place; nothing to run here"
    return 3
  fi
  STATUS[check]=ok
  return 0
}

stage_build() {
  log "build with $NVCC ($("$NVCC" --version | tail -1)), sm_$ARCH"
  local t0=$SECONDS
  local nccl
  nccl=$(find_nccl)
  local p3=""
  if [ -n "$nccl" ]; then
    local lib="" d
    for d in "$nccl"/lib "$nccl"/lib64 /usr/local/cuda/lib64 /usr/lib/x86_64-linux-gnu; do
      if [ -e "$d/libnccl.so.2" ]; then lib=$d; break; fi
    done
    log "NCCL from $nccl"
    "$NVCC" "${NVFLAGS[@]}" -I"$nccl/include" "$ROOT/tests/gpu/test_gpu_nccl.cu" \
        -L"$lib" -l:libnccl.so.2 -Xlinker -rpath,"$lib" \
        -o "$BUILD/blueprint_gpu_nccl_tests" >"$LOGS/build_nccl.log" 2>&1 &
    p3=$!
  else
    log "no nccl.h found: the NCCL test is not built"
  fi
  if ! echo '#include <nlohmann/json.hpp>' | "$NVCC" -std=c++20 "${NVFLAGS[@]}" -x cu -E - \
      -o /dev/null >/dev/null 2>&1; then
    log "nlohmann/json.hpp not found: copy it to $ROOT/.deps/include (see the top of this file)"
  fi
  "$NVCC" "${NVFLAGS[@]}" "$ROOT/tests/gpu/test_gpu_materialize.cu" \
      -o "$BUILD/blueprint_gpu_tests" >"$LOGS/build_tests.log" 2>&1 &
  local p1=$!
  "$NVCC" "${NVFLAGS[@]}" "$ROOT/tests/gpu/test_gpu_load.cu" \
      -o "$BUILD/blueprint_gpu_load_tests" >"$LOGS/build_load_tests.log" 2>&1 &
  local p4=$!
  "$NVCC" "${NVFLAGS[@]}" "$ROOT/benchmarks/gpu/bench_gpu_load.cu" \
      -o "$BUILD/bench_gpu_load" >"$LOGS/build_bench_load.log" 2>&1 &
  local p5=$!
  "$NVCC" "${NVFLAGS[@]}" "$ROOT/benchmarks/gpu/bench_gpu_init.cu" \
      -o "$BUILD/bench_gpu_init" >"$LOGS/build_bench.log" 2>&1 &
  local p2=$!
  local rc=0
  wait $p1 || { rc=1; log "FAILED to build the tests:"; tail -30 "$LOGS/build_tests.log"; }
  wait $p2 || { rc=1; log "FAILED to build the benchmarks:"; tail -30 "$LOGS/build_bench.log"; }
  wait $p4 || { rc=1; log "FAILED to build the load tests:"; tail -30 "$LOGS/build_load_tests.log"; }
  wait $p5 || { rc=1; log "FAILED to build the load benchmark:"; tail -30 "$LOGS/build_bench_load.log"; }
  if [ -n "$p3" ]; then
    wait $p3 || { log "FAILED to build the NCCL test (the others go on):"; tail -30 "$LOGS/build_nccl.log"; rm -f "$BUILD/blueprint_gpu_nccl_tests"; }
  fi
  # The kernel's resource report (registers, stack, spills) for docs/KERNEL_NOTES.md.
  cat "$LOGS/build_bench.log" "$LOGS/build_load_tests.log" \
    | grep -A3 "materialize_kernel\|fingerprint_kernel\|coverage_kernel\|scatter_kernel" \
    | grep -E "Compiling entry|registers|stack frame" \
    | awk '/Compiling entry/ { skip = seen[$0]++ } !skip' | sed 's/^/   /' | tee "$LOGS/ptxas.txt"
  [ $rc -ne 0 ] && cp "$LOGS"/build_*.log "$OUT"/ 2>/dev/null
  log "build: $([ $rc -eq 0 ] && echo ok || echo FAILED) in $((SECONDS - t0)) s"
  STATUS[build]=$([ $rc -eq 0 ] && echo ok || echo FAILED)
  return $rc
}

stage_test() {
  log "tests"
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null \
    | tee "$LOGS/device.txt"
  "$BUILD/blueprint_gpu_tests" 2>&1 | tee "$OUT/tests.log"
  local rc=${PIPESTATUS[0]}
  STATUS[test]=$(grep "^gpu tests:" "$OUT/tests.log" | tail -1)
  [ -z "${STATUS[test]}" ] && STATUS[test]="crashed (exit $rc)"
  log "checkpoint load tests"
  "$BUILD/blueprint_gpu_load_tests" 2>&1 | tee -a "$OUT/tests.log"
  local rc3=${PIPESTATUS[0]}
  STATUS[load_test]=$(grep "^gpu tests:" "$OUT/tests.log" | tail -1)
  [ "${STATUS[load_test]}" = "${STATUS[test]}" ] && [ $rc3 -ne 0 ] && STATUS[load_test]="crashed (exit $rc3)"
  [ $rc3 -ne 0 ] && rc=1
  if [ -x "$BUILD/blueprint_gpu_nccl_tests" ]; then
    log "NCCL test, world size 1"
    env -u WORLD_SIZE -u RANK "$BUILD/blueprint_gpu_nccl_tests" 2>&1 | tee "$OUT/tests_nccl.log"
    local rc2=${PIPESTATUS[0]}
    STATUS[nccl]=$(grep "^gpu tests:" "$OUT/tests_nccl.log" | tail -1)
    [ -z "${STATUS[nccl]}" ] && STATUS[nccl]="crashed (exit $rc2)"
    [ $rc2 -ne 0 ] && rc=1
  else
    STATUS[nccl]="not built (no nccl.h)"
  fi
  return $rc
}

stage_bench() {
  log "bench_gpu_init"
  "$BUILD/bench_gpu_init" --reps "${BLUEPRINT_BENCH_REPS:-20}" \
      --models "${BLUEPRINT_BENCH_MODELS:-gpt2-xl,llama3-8b}" --csv "$OUT/bench.csv" 2>&1 \
    | tee "$OUT/bench.log"
  local rc=${PIPESTATUS[0]}
  STATUS[bench]=$([ $rc -eq 0 ] && echo ok || echo "FAILED (exit $rc)")
  return $rc
}

stage_torch() {
  log "PyTorch / Lightning baselines (end to end, process start to model ready)"
  "$PY" "$ROOT/benchmarks/gpu/torch_baselines.py" --ours "$BUILD/bench_gpu_init" \
      --models "${BLUEPRINT_TORCH_MODELS:-gpt2-xl,llama3-8b}" \
      --modes "${BLUEPRINT_TORCH_MODES:-cpu,meta,fabric,cuda_direct,blueprint}" \
      --csv "$LOGS/torch.csv" 2>&1 | tee "$OUT/torch.log"
  local rc=${PIPESTATUS[0]}
  STATUS[torch]=$([ $rc -eq 0 ] && echo ok || echo "FAILED (exit $rc)")
  return $rc
}

load_dir() {
  local model=$1
  if [ -n "${BLUEPRINT_LOAD_DIR:-}" ]; then echo "$BLUEPRINT_LOAD_DIR"; return; fi
  if [ -n "$PREBUILT" ] && [ -d /dev/shm ] &&
     [ "$(df -k --output=avail /dev/shm 2>/dev/null | tail -1)" -gt 40000000 ] 2>/dev/null; then
    echo "/dev/shm/blueprint-ckpt-$model"  # tmpfs: the load is not a disk benchmark
  elif [ -n "$PREBUILT" ]; then
    echo "${TMPDIR:-/tmp}/blueprint-ckpt-$model"
  else
    echo "$BUILD/ckpt-$model"
  fi
}

stage_load() {
  local model=${BLUEPRINT_LOAD_MODEL:-llama3-8b}
  local dir
  dir=$(load_dir "$model")
  log "checkpoint load: $model bf16 from the page cache ($dir)"
  "$BUILD/bench_gpu_load" --model "$model" --dir "$dir" --make \
      --reps "${BLUEPRINT_LOAD_REPS:-5}" --csv "$LOGS/load.csv" 2>&1 | tee "$OUT/load.log"
  local rc=${PIPESTATUS[0]}
  STATUS[load]=$([ $rc -eq 0 ] && echo ok || echo "FAILED (exit $rc)")
  return $rc
}

stage_loadbase() {
  local model=${BLUEPRINT_LOAD_MODEL:-llama3-8b}
  local dir
  dir=$(load_dir "$model")
  log "checkpoint load baselines: safetensors, transformers, device maps, fastsafetensors ($dir)"
  # fastsafetensors from the wheels build_here.sh carried (no network here), into a folder of
  # its own: nothing is installed into the machine's python.
  local wheels=$BUILD/wheels pydeps=$BUILD/pydeps
  if [ -d "$wheels" ] && ! "$PY" -c 'import fastsafetensors' 2>/dev/null; then
    "$PY" -m pip install --quiet --no-index --no-deps --find-links "$wheels" --target "$pydeps" \
      fastsafetensors >>"$OUT/load.log" 2>&1 || echo "fastsafetensors: no wheel for this python" |
      tee -a "$OUT/load.log"
  fi
  PYTHONPATH="$pydeps${PYTHONPATH:+:$PYTHONPATH}" \
  "$PY" "$ROOT/benchmarks/gpu/load_baselines.py" --model "$model" --dir "$dir" \
      --ours "$BUILD/bench_gpu_load" --csv "$LOGS/load_baselines.csv" 2>&1 | tee -a "$OUT/load.log"
  local rc=${PIPESTATUS[0]}
  STATUS[loadbase]=$([ $rc -eq 0 ] && echo ok || echo "FAILED (exit $rc)")
  return $rc
}

write_summary() {
  {
    echo
    echo "================ summary ================"
    [ -f "$LOGS/device.txt" ] && echo "device: $(cat "$LOGS/device.txt")"
    [ -f "$BUILD/MANIFEST.txt" ] && head -3 "$BUILD/MANIFEST.txt"
    [ -f "$LOGS/ptxas.txt" ] && cat "$LOGS/ptxas.txt"
    [ -f "$BUILD/ptxas.txt" ] && cat "$BUILD/ptxas.txt"
    for s in check build test load_test nccl bench load torch loadbase; do
      [ -n "${STATUS[$s]:-}" ] && printf '%-8s %s\n' "$s" "${STATUS[$s]}"
    done
    for f in "$OUT/tests.log" "$OUT/tests_nccl.log"; do
      [ -f "$f" ] && grep -A3 "^\[FAIL\]\|^    " "$f" | head -30
    done
    if [ -f "$OUT/bench.log" ]; then echo; grep -E "GB/s|first materialize" "$OUT/bench.log"; fi
    if [ -f "$OUT/torch.log" ]; then echo; sed -n '/^model /,$p' "$OUT/torch.log"; fi
    if [ -f "$OUT/load.log" ]; then echo; grep -E "GB/s|ms" "$OUT/load.log" | tail -20; fi
    echo "logs: $OUT"
  } > "$OUT/summary.txt"
}

overall=0
for s in "${STAGES[@]}"; do
  case $s in
    check) stage_check; rc=$?; if [ $rc -ne 0 ]; then write_summary; cat "$OUT/summary.txt"; exit $rc; fi ;;
    build) stage_build || { overall=1; write_summary; break; } ;;  # nothing to run without binaries
    test) stage_test || overall=1 ;;
    bench) stage_bench || overall=1 ;;
    load) stage_load || overall=1 ;;
    torch) stage_torch || overall=1 ;;
    loadbase) stage_loadbase || overall=1 ;;
    *) echo "unknown stage '$s' (check, build, test, bench, load, torch, loadbase)"; exit 2 ;;
  esac
  write_summary  # after every stage: a run cut off later still returns this much
done
cat "$OUT/summary.txt"
exit $overall
