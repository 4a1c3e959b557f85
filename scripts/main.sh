#!/usr/bin/env bash
# The README's main job: build the `blueprint` command and inspect a built-in model (and
# materialize it with `blueprint init` once that subcommand exists).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/setup.sh

launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_CUDA_COMPILER_LAUNCHER=ccache)
fi
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release "${launcher[@]}" >build.configure.log 2>&1 ||
  { cat build.configure.log; exit 1; }
cmake --build build --target blueprint_cli -j"$(nproc)"

blueprint=build/bin/blueprint
"${blueprint}" inspect gpt2 --dtype bf16
if "${blueprint}" --help 2>&1 | grep -qE '^[[:space:]]*init\b'; then
  "${blueprint}" init gpt2 --dtype bf16
fi
