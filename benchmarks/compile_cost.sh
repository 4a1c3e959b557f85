#!/usr/bin/env bash
# Compile cost of model declarations (issue 2, "Compile cost"): g++ wall time, CPU time and
# peak RSS (/usr/bin/time -v) of a translation unit that declares a model, static_asserts its
# parameter count and computes its bf16 layout as a constant expression.
#
#   benchmarks/compile_cost.sh [--reps N] [--cxx g++-12] [--update-docs]
#
# Two ways a user writes such a TU, both measured:
#   umbrella    #include <blueprint/blueprint.hpp>, use blueprint::models::NAME
#   standalone  #include the family header and codegen/layout.hpp, declare the config locally
# plus a baseline per way that only includes the headers. Each figure is the minimum over
# --reps runs (default 3), compiled with -std=c++20 -O2 -c. CPU = user + sys seconds; on a
# loaded machine trust CPU more than wall. --update-docs rewrites the "Compile cost" section
# of docs/PERFORMANCE.md with the table.
# Target: Llama-3.1-405B under 10 s and 1 GB with g++ 12.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

reps=3
cxx=$(command -v g++-12 || command -v g++)
update_docs=0
while (($#)); do
  case $1 in
    --reps) reps=$2; shift 2 ;;
    --cxx) cxx=$2; shift 2 ;;
    --update-docs) update_docs=1; shift ;;
    *) echo "usage: $0 [--reps N] [--cxx COMPILER] [--update-docs]" >&2; exit 2 ;;
  esac
done
[[ -x /usr/bin/time ]] || { echo "compile_cost: needs /usr/bin/time (apt-get install time)" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
includes=()
for c in kernels dsl codegen runtime; do includes+=(-I "$root/$c/include"); done

# name | family header | built-in object | local declaration | parameter count
models=(
  "llama3.1-405b|llama|llama3_1_405b|llama<\"llama3.1-405b\", llama_config{.vocab = 128256, .hidden = 16384, .layers = 126, .heads = 128, .kv_heads = 8, .ffn = 53248, .rope_theta = 500000.0f}>|405'853'388'800"
  "llama3-70b|llama|llama3_70b|llama<\"llama3-70b\", llama_config{.vocab = 128256, .hidden = 8192, .layers = 80, .heads = 64, .kv_heads = 8, .ffn = 28672, .rope_theta = 500000.0f}>|70'553'706'496"
  "llama3-8b|llama|llama3_8b|llama<\"llama3-8b\", llama_config{.vocab = 128256, .kv_heads = 8, .ffn = 14336, .rope_theta = 500000.0f}>|8'030'261'248"
  "mixtral-8x7b|llama|mixtral_8x7b|llama<\"mixtral-8x7b\", llama_config{.kv_heads = 8, .ffn = 14336, .experts = 8, .rope_theta = 1e6f}>|46'702'792'704"
  "qwen3-8b|llama|qwen3_8b|llama<\"qwen3-8b\", llama_config{.vocab = 151936, .hidden = 4096, .layers = 36, .heads = 32, .kv_heads = 8, .ffn = 12288, .head_dim = 128, .rope_theta = 1e6f, .qk_norm = true}>|8'190'735'360"
  "phi3-mini|llama|phi3_mini|llama<\"phi3-mini\", llama_config{.vocab = 32064, .hidden = 3072, .layers = 32, .heads = 32, .kv_heads = 32, .ffn = 8192, .fused_projections = true, .pad_token = 32000}>|3'821'079'552"
  "gpt2|gpt2|gpt2|gpt2<\"gpt2\", gpt2_config{}>|124'439'808"
)

# measure FILE -> "wall cpu rss_mb" (minimum of each over the reps)
measure() {
  local src=$1 best_wall="" best_cpu="" best_rss=""
  for ((r = 0; r < reps; ++r)); do
    if ! /usr/bin/time -v -o "$work/time.txt" "$cxx" -std=c++20 -O2 "${includes[@]}" -c "$src" \
        -o "$work/out.o" 2>"$work/err.txt"; then
      echo "compile_cost: $src failed to compile:" >&2
      head -c 4000 "$work/err.txt" >&2
      exit 1
    fi
    read -r wall cpu rss < <(awk -F': ' '
      /Elapsed \(wall clock\)/ { n = split($2, p, ":"); w = 0; for (i = 1; i <= n; ++i) w = w * 60 + p[i] }
      /User time/ { u = $2 } /System time/ { s = $2 } /Maximum resident/ { m = $2 }
      END { printf "%.2f %.2f %.0f\n", w, u + s, m / 1024 }' "$work/time.txt")
    best_wall=$(awk -v a="$wall" -v b="${best_wall:-1e9}" 'BEGIN { print (a < b ? a : b) }')
    best_cpu=$(awk -v a="$cpu" -v b="${best_cpu:-1e9}" 'BEGIN { print (a < b ? a : b) }')
    best_rss=$(awk -v a="$rss" -v b="${best_rss:-1e9}" 'BEGIN { print (a < b ? a : b) }')
  done
  echo "$best_wall $best_cpu $best_rss"
}

# Baselines: the headers alone.
cat >"$work/base_umbrella.cpp" <<CPP
#include <blueprint/blueprint.hpp>
int main() {}
CPP
cat >"$work/base_standalone.cpp" <<CPP
#include <blueprint/codegen/layout.hpp>
#include <blueprint/dsl/families/gpt2.hpp>
#include <blueprint/dsl/families/llama.hpp>
int main() {}
CPP

rows=()
read -r uw uc ur < <(measure "$work/base_umbrella.cpp")
read -r sw sc sr < <(measure "$work/base_standalone.cpp")
rows+=("| headers only (baseline) | - | $uw | $uc | $ur | $sw | $sc | $sr |")

for entry in "${models[@]}"; do
  IFS='|' read -r name family object decl count <<<"$entry"
  cat >"$work/umbrella.cpp" <<CPP
#include <blueprint/blueprint.hpp>
constexpr auto m = blueprint::models::${object};
static_assert(m.parameter_count() == ${count});
constexpr auto plan = blueprint::layout(m, blueprint::dtype_policy::bf16());
static_assert(plan.total_bytes() >= 2 * m.parameter_count());
int main() { return plan.size() == 0; }
CPP
  cat >"$work/standalone.cpp" <<CPP
#include <blueprint/codegen/layout.hpp>
#include <blueprint/dsl/families/${family}.hpp>
using namespace blueprint::dsl;
constexpr ${decl} m{};
static_assert(m.parameter_count() == ${count});
constexpr auto plan = blueprint::layout(m, blueprint::dtype_policy::bf16());
static_assert(plan.total_bytes() >= 2 * m.parameter_count());
int main() { return plan.size() == 0; }
CPP
  read -r uw uc ur < <(measure "$work/umbrella.cpp")
  read -r sw sc sr < <(measure "$work/standalone.cpp")
  rows+=("| $name | ${count//\'/,} | $uw | $uc | $ur | $sw | $sc | $sr |")
done

version=$("$cxx" --version | head -n 1)
table=$(
  echo "| TU | parameters | umbrella wall s | umbrella CPU s | umbrella peak MB | standalone wall s | standalone CPU s | standalone peak MB |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
  printf '%s\n' "${rows[@]}"
)
echo "$version, -std=c++20 -O2 -c, minimum of $reps runs, $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "$table"

if ((update_docs)); then
  doc="$root/docs/PERFORMANCE.md"
  TABLE="$table" VERSION="$version" REPS="$reps" python3 - "$doc" <<'PY'
import os, re, sys
path = sys.argv[1]
text = open(path).read() if os.path.exists(path) else "# Performance\n"
marker_begin, marker_end = "<!-- compile_cost.sh: begin -->", "<!-- compile_cost.sh: end -->"
block = (f"{marker_begin}\n{os.environ['VERSION']}, `-std=c++20 -O2 -c`, minimum of "
         f"{os.environ['REPS']} runs:\n\n{os.environ['TABLE']}\n{marker_end}")
if marker_begin in text:
    text = re.sub(re.escape(marker_begin) + ".*?" + re.escape(marker_end), lambda _: block, text,
                  flags=re.S)
else:
    text = text.rstrip("\n") + "\n\n## Compile cost\n\n" + block + "\n"
open(path, "w").write(text)
PY
  echo "compile_cost: updated $doc"
fi
