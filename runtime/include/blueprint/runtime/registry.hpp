// The built-in models by name, for programs that choose a model at run time (the `blueprint`
// command, tests that loop over families).
//
// Each entry builds its layout with the same constexpr code a static_assert would use, held in
// vectors (`dynamic_layout`).
#pragma once

#include <array>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

#include <blueprint/codegen/layout.hpp>
#include <blueprint/dsl/models.hpp>

namespace blueprint {

struct model_entry {
  std::string_view name;
  std::string_view family;
  std::uint64_t parameters;
  dynamic_layout (*make_layout)(const dtype_policy&, const layout_options&);
};

namespace detail {
template <class M>
constexpr model_entry entry(std::string_view family) {
  return {M::name(), family, M::parameter_count(),
          [](const dtype_policy& p, const layout_options& o) { return dynamic_layout_of(M{}, p, o); }};
}
}  // namespace detail

inline constexpr std::array builtin_models{
    detail::entry<models::gpt2_t>("gpt2"),
    detail::entry<models::gpt2_medium_t>("gpt2"),
    detail::entry<models::gpt2_large_t>("gpt2"),
    detail::entry<models::gpt2_xl_t>("gpt2"),
    detail::entry<models::llama2_7b_t>("llama"),
    detail::entry<models::llama2_70b_t>("llama"),
    detail::entry<models::llama3_8b_t>("llama"),
    detail::entry<models::llama3_70b_t>("llama"),
    detail::entry<models::llama3_1_405b_t>("llama"),
    detail::entry<models::llama3_2_1b_t>("llama"),
    detail::entry<models::tinyllama_1_1b_t>("llama"),
    detail::entry<models::mistral_7b_t>("mistral"),
    detail::entry<models::mixtral_8x7b_t>("mixtral"),
    detail::entry<models::qwen2_5_7b_t>("qwen2"),
    detail::entry<models::tiny_gpt2_t>("gpt2"),
    detail::entry<models::tiny_llama_t>("llama"),
    detail::entry<models::tiny_mixtral_t>("mixtral"),
    detail::entry<models::tiny_qwen2_t>("qwen2"),
};

/// The built-in model called `name`; throws std::invalid_argument listing the names otherwise.
[[nodiscard]] inline const model_entry& find_model(std::string_view name) {
  for (const model_entry& m : builtin_models)
    if (m.name == name) return m;
  std::string known;
  for (const model_entry& m : builtin_models) known += (known.empty() ? "" : ", ") + std::string(m.name);
  throw std::invalid_argument("unknown model '" + std::string(name) + "'; built-in models: " + known);
}

}  // namespace blueprint
