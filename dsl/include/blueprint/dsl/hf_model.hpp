// A model chosen at run time: a family and its config record, as a Hugging Face config.json
// describes it (runtime/hf_config.hpp reads one) or as a built-in names it.
//
// The table of an hf_model comes from the same family function its compile-time type runs
// (`emit_llama`, `emit_gpt2`, `emit_deepseek_v3`), so a model read from config.json and the
// `llama<"name", config>` declared with the same record have the same records.
#pragma once

#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "families/deepseek.hpp"
#include "families/gpt2.hpp"
#include "families/llama.hpp"
#include "model.hpp"

namespace blueprint {

/// The config record of one of the families.
using family_config = std::variant<dsl::gpt2_config, dsl::llama_config, dsl::deepseek_v3_config>;

struct hf_model {
  std::string name;        // a built-in's name, or the model directory's name
  std::string model_type;  // config.json's model_type ("qwen3", "mixtral", ...)
  family_config config;
  std::string config_json;             // the config.json text read ("" for a built-in)
  std::string generation_config_json;  // generation_config.json beside it, if any
  std::string source;                  // the config.json path ("" for a built-in)
  std::vector<std::string> notes;      // keys read but not applied, said out loud
};

/// The rule `config` breaks, as a sentence; "" when it passes.
[[nodiscard]] inline std::string_view config_problem(const family_config& config) {
  return std::visit(
      [](const auto& c) -> std::string_view {
        using C = std::decay_t<decltype(c)>;
        if constexpr (std::is_same_v<C, dsl::gpt2_config>)
          return dsl::gpt2_config_problem(c);
        else if constexpr (std::is_same_v<C, dsl::llama_config>)
          return dsl::llama_config_problem(c);
        else
          return dsl::deepseek_v3_config_problem(c);
      },
      config);
}

/// What the KV cache of one decoder layer holds per token, in elements (K and V together):
/// 2 × num_key_value_heads × head_dim; GPT-2 2 × n_embd; DeepSeek-V3 (MLA, as transformers
/// caches it after decompression) num_heads × (qk_nope + qk_rope + v_head_dim).
[[nodiscard]] constexpr std::uint64_t kv_cache_elements_per_token_layer(
    const family_config& config) {
  if (const auto* g = std::get_if<dsl::gpt2_config>(&config)) return 2 * g->hidden;
  if (const auto* l = std::get_if<dsl::llama_config>(&config))
    return 2 * l->kv_heads * (l->head_dim != 0 ? l->head_dim : l->hidden / l->heads);
  const auto& d = std::get<dsl::deepseek_v3_config>(config);
  return d.heads * (d.qk_nope_dim + d.qk_rope_dim + d.v_head_dim);
}

/// Decoder layers of `config` (the KV cache has one entry per layer).
[[nodiscard]] constexpr std::uint64_t decoder_layers(const family_config& config) {
  return std::visit([](const auto& c) { return c.layers; }, config);
}

/// The family function of `config`, run into a table (`group_experts`: see dsl::build_table).
/// @throws std::invalid_argument when the config breaks a family rule
[[nodiscard]] inline dsl::dynamic_table table_of(const family_config& config,
                                                 bool group_experts = true) {
  if (const std::string_view problem = config_problem(config); !problem.empty())
    throw std::invalid_argument("model config: " + std::string(problem));
  return std::visit(
      [&](const auto& c) {
        using C = std::decay_t<decltype(c)>;
        return dsl::build_table(
            [&](dsl::table_builder& b) {
              if constexpr (std::is_same_v<C, dsl::gpt2_config>)
                dsl::emit_gpt2(b, c);
              else if constexpr (std::is_same_v<C, dsl::llama_config>)
                dsl::emit_llama(b, c);
              else
                dsl::emit_deepseek_v3(b, c);
            },
            group_experts);
      },
      config);
}

}  // namespace blueprint
