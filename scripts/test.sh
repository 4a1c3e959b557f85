#!/usr/bin/env bash
# Builds Blueprint and runs every test: the README's "build and pass every test" command, and
# what CI runs (.ci/run).
#
#   1. build/       Release (CUDA when nvcc is found): static, unit, compile-fail, header,
#                   consumer, MPI, Python tiers; GPU tests are compiled, run by tests/gpu/run.sh.
#                   The benchmark programs are not built here (BLUEPRINT_BUILD_BENCHMARKS=OFF:
#                   build only what tests need); the generated benchmarks' body is, by the MPI
#                   and consumer tests that build and run one (docs/BENCHMARKS.md)
#   2. build-asan/  the library's host tests (unit, MPI) under AddressSanitizer + UBSan at -O1
#                   (no CUDA, benchmarks or examples — the command's end-to-end tests run in
#                   the Release build —, no compile-fail or header tiers: sanitizers change no
#                   compile)
#   3. build-clang/ the second compiler, clang-19: the static_assert units, every host header
#                   in one unit, and the libFuzzer harnesses run briefly (BLUEPRINT_COMPILER_TIER)
#
# Exits non-zero on any failure and ends with one line, `N passed, M failed`, counting the tests
# of both builds (a failed configure or build counts as one failure).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/setup.sh --with-clang

# Open MPI refuses to run as root (CI, containers) unless told twice.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
jobs=$(nproc)
launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_CUDA_COMPILER_LAUNCHER=ccache)
fi

passed=0
failed=0
started=$SECONDS

# run_suite NAME BUILD_DIR CMAKE_ARGS...: configure, build, ctest; adds to passed/failed.
run_suite() {
  local name=$1 dir=$2
  shift 2
  local t0=$SECONDS
  echo "== ${name}: configure ${dir}"
  if ! cmake -S . -B "${dir}" "${launcher[@]}" "$@" >"${dir}.configure.log" 2>&1; then
    cat "${dir}.configure.log"
    echo "== ${name}: configure FAILED"
    failed=$((failed + 1))
    return
  fi
  echo "== ${name}: build (-j${jobs})"
  if ! cmake --build "${dir}" -j"${jobs}" >"${dir}.build.log" 2>&1; then
    # Show the errors, not the whole log; keep building what can be built for the tests.
    grep -E -B2 -A12 "error|Error [0-9]" "${dir}.build.log" | head -n 200 || true
    echo "== ${name}: build FAILED (full log: ${dir}.build.log)"
    failed=$((failed + 1))
    cmake --build "${dir}" -j"${jobs}" -- -k >/dev/null 2>&1 || true
  fi
  echo "== ${name}: built in $((SECONDS - t0)) s; ctest"
  local log="${dir}.ctest.log"
  (cd "${dir}" && ctest --output-on-failure -j"${jobs}") 2>&1 | tee "${log}" || true
  # "100% tests passed, 0 tests failed out of 42"
  local summary
  summary=$(grep -E "tests passed, [0-9]+ tests? failed out of [0-9]+" "${log}" | tail -n 1 || true)
  if [[ ${summary} =~ ([0-9]+)\ tests?\ failed\ out\ of\ ([0-9]+) ]]; then
    local f=${BASH_REMATCH[1]} total=${BASH_REMATCH[2]}
    passed=$((passed + total - f))
    failed=$((failed + f))
  elif grep -q "No tests were found" "${log}"; then
    echo "== ${name}: ctest found no tests"
    failed=$((failed + 1))
  else
    echo "== ${name}: no ctest summary"
    failed=$((failed + 1))
  fi
  echo "== ${name}: done in $((SECONDS - t0)) s"
}

run_suite release build -DCMAKE_BUILD_TYPE=Release -DBLUEPRINT_BUILD_BENCHMARKS=OFF
# -g1: line tables for the reports, not full debug info (a third of the compile time). The
# unit and MPI test programs build at -O1 (tests/CMakeLists.txt says why), the rest at -O0.
run_suite sanitize build-asan -DCMAKE_BUILD_TYPE=Debug "-DCMAKE_CXX_FLAGS_DEBUG=-O0 -g1" \
  -DBLUEPRINT_SANITIZE=ON \
  -DBLUEPRINT_CUDA=OFF -DBLUEPRINT_BUILD_BENCHMARKS=OFF -DBLUEPRINT_BUILD_EXAMPLES=OFF \
  -DBLUEPRINT_BUILD_TESTS=ON

# clang-19 builds at -O1 here: the harnesses are sanitized, the static units compile only.
run_suite clang build-clang -DCMAKE_CXX_COMPILER=clang++-19 -DCMAKE_BUILD_TYPE=Release \
  "-DCMAKE_CXX_FLAGS_RELEASE=-O1" -DBLUEPRINT_COMPILER_TIER=ON -DBLUEPRINT_CUDA=OFF \
  -DBLUEPRINT_BUILD_BENCHMARKS=OFF -DBLUEPRINT_BUILD_EXAMPLES=OFF -DBLUEPRINT_BUILD_TESTS=ON

echo "== all tests in $((SECONDS - started)) s"
echo "${passed} passed, ${failed} failed"
[[ ${failed} -eq 0 && ${passed} -gt 0 ]]
