// The built-in models by name, for programs that choose a model at run time (the `blueprint`
// command, tests that loop over families).
//
// Each entry is a published config record from dsl/models.hpp; its layout is built at run
// time by the family function that also makes the compile-time `models::*` tables, so the
// two agree record for record (tests/unit/test_hf_config.cpp holds them equal).
#pragma once

#include <array>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

#include <blueprint/dsl/models.hpp>

#include "model_entry.hpp"

namespace blueprint {

inline constexpr std::array builtin_models{
    model_entry{"gpt2", "gpt2", models::gpt2_small_config},
    model_entry{"gpt2-medium", "gpt2", models::gpt2_medium_config},
    model_entry{"gpt2-large", "gpt2", models::gpt2_large_config},
    model_entry{"gpt2-xl", "gpt2", models::gpt2_xl_config},
    model_entry{"llama2-7b", "llama", models::llama2_7b_config},
    model_entry{"llama2-70b", "llama", models::llama2_70b_config},
    model_entry{"llama3-8b", "llama", models::llama3_8b_config},
    model_entry{"llama3-70b", "llama", models::llama3_70b_config},
    model_entry{"llama3.1-405b", "llama", models::llama3_1_405b_config},
    model_entry{"llama3.2-1b", "llama", models::llama3_2_1b_config},
    model_entry{"tinyllama-1.1b", "llama", models::tinyllama_1_1b_config},
    model_entry{"mistral-7b", "mistral", models::mistral_7b_config},
    model_entry{"mixtral-8x7b", "mixtral", models::mixtral_8x7b_config},
    model_entry{"qwen2.5-7b", "qwen2", models::qwen2_5_7b_config},
    model_entry{"qwen3-8b", "qwen3", models::qwen3_8b_config},
    model_entry{"qwen3-30b-a3b", "qwen3_moe", models::qwen3_30b_a3b_config},
    model_entry{"gemma-7b", "gemma", models::gemma_7b_config},
    model_entry{"phi3-mini", "phi3", models::phi3_mini_config},
    model_entry{"deepseek-v3", "deepseek_v3", models::deepseek_v3_671b_config},
    model_entry{"tiny-gpt2", "gpt2", models::tiny_gpt2_config},
    model_entry{"tiny-llama", "llama", models::tiny_llama_config},
    model_entry{"tiny-mixtral", "mixtral", models::tiny_mixtral_config},
    model_entry{"tiny-qwen2", "qwen2", models::tiny_qwen2_config},
    model_entry{"tiny-qwen3", "qwen3", models::tiny_qwen3_config},
    model_entry{"tiny-qwen3-moe", "qwen3_moe", models::tiny_qwen3_moe_config},
    model_entry{"tiny-gemma", "gemma", models::tiny_gemma_config},
    model_entry{"tiny-gemma2", "gemma2", models::tiny_gemma2_config},
    model_entry{"tiny-phi3", "phi3", models::tiny_phi3_config},
    model_entry{"tiny-deepseek-v3", "deepseek_v3", models::tiny_deepseek_v3_config},
};

/// True when a built-in model is called `name` (usable in static_assert: generated benchmark
/// programs check their MODEL with it).
[[nodiscard]] constexpr bool is_builtin_model(std::string_view name) {
  for (const model_entry& m : builtin_models)
    if (m.name == name) return true;
  return false;
}

/// The built-in model called `name`; throws std::invalid_argument listing the names otherwise.
[[nodiscard]] inline const model_entry& find_model(std::string_view name) {
  for (const model_entry& m : builtin_models)
    if (m.name == name) return m;
  std::string known;
  for (const model_entry& m : builtin_models)
    known += (known.empty() ? "" : ", ") + std::string(m.name);
  throw std::invalid_argument("unknown model '" + std::string(name) +
                              "'; built-in models: " + known);
}

}  // namespace blueprint
