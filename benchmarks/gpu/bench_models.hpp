// The models the GPU benchmarks accept by name, as dynamic layouts.
//
// Model types appear only as deduced arguments: explicit template arguments naming them in host
// code of a .cu break cudafe++ (nvcc 12.x/13; see runtime/registry.hpp), so the names are mapped
// here, by hand, for the few models the benchmarks time.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string_view>

#include <blueprint/codegen/dtype_policy.hpp>
#include <blueprint/codegen/layout.hpp>
#include <blueprint/dsl/models.hpp>

namespace blueprint::gpu_bench {

/// The layout of model `name` under `policy`; an unknown name prints the known ones and exits 2.
inline dynamic_layout layout_by_name(std::string_view name, const dtype_policy& policy) {
  if (name == "gpt2-xl") return dynamic_layout_of(models::gpt2_xl, policy);
  if (name == "gpt2") return dynamic_layout_of(models::gpt2, policy);
  if (name == "llama3-8b") return dynamic_layout_of(models::llama3_8b, policy);
  if (name == "llama2-7b") return dynamic_layout_of(models::llama2_7b, policy);
  if (name == "tinyllama-1.1b") return dynamic_layout_of(models::tinyllama_1_1b, policy);
  std::fprintf(stderr,
               "unknown model '%.*s' (gpt2, gpt2-xl, llama3-8b, llama2-7b, tinyllama-1.1b)\n",
               static_cast<int>(name.size()), name.data());
  std::exit(2);
}

}  // namespace blueprint::gpu_bench
