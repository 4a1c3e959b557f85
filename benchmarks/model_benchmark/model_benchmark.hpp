// The contract between a generated benchmark program and its body (issue 13).
//
// `blueprint_add_model_benchmark(TARGET MODEL m DTYPE d ...)` writes one small translation unit
// per benchmark: it defines `benchmarked_model` — the model's name, where it came from, and the
// dtype, mesh, strategy and checkpoint the CMake call named — and `benchmarked_layout`, which
// builds the model's run-time layout (from the generated `inline constexpr` model type, or from
// the built-in registry). Everything else — the plan, the per-rank programs, every benchmark,
// the limits beside them — lives in model_benchmark_main.cpp, compiled once per project (and
// once more as CUDA when a benchmark asks for it): the body sees only a dynamic_layout, so no
// model type is compiled twice and nvcc never sees one (runtime/registry.hpp says why).
#pragma once

#include <string_view>

#include <blueprint/codegen/dtype_policy.hpp>
#include <blueprint/codegen/layout.hpp>

namespace blueprint::model_benchmark {

/// What the CMake call declared: the benchmark's fixed subject.
struct benchmarked_model_spec {
  std::string_view target;      // the CMake target (the program's name)
  std::string_view model;       // the model's name, as reports show it
  std::string_view origin;      // "config.json PATH" or "built-in"
  std::string_view dtype;       // DTYPE: f32, bf16, f16, f8_e4m3fn, f8_e5m2
  std::string_view mesh;        // MESH, e.g. "tp=8" ("dp=1" when not given)
  std::string_view strategy;    // STRATEGY: fsdp, zero3 or replicate
  std::string_view checkpoint;  // CHECKPOINT directory; empty: a seed checkpoint written once
};

/// Defined by the generated translation unit.
extern const benchmarked_model_spec benchmarked_model;

/// The model's layout under `policy`; defined by the generated translation unit.
[[nodiscard]] dynamic_layout benchmarked_layout(const dtype_policy& policy);

}  // namespace blueprint::model_benchmark
