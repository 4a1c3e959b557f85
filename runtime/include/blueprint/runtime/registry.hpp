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

#include "model_entry.hpp"

namespace blueprint {

namespace detail {
template <class M>
dynamic_layout make_layout_of(const dtype_policy& p, const layout_options& o) {
  return dynamic_layout_of(M{}, p, o);
}
// Deduced from an object, never spelled `entry<models::gpt2_t>`: nvcc 13's host-side code
// generation (cudafe++) cannot print explicit template arguments that contain class-type
// template arguments (it emits undeclared `__T0` names), so .cu files including this header
// would not compile.
template <class M>
constexpr model_entry entry(const M&, std::string_view family) {
  return {M::name(), family, M::parameter_count(), &make_layout_of<M>};
}
}  // namespace detail

inline constexpr std::array builtin_models{
    detail::entry(models::gpt2, "gpt2"),
    detail::entry(models::gpt2_medium, "gpt2"),
    detail::entry(models::gpt2_large, "gpt2"),
    detail::entry(models::gpt2_xl, "gpt2"),
    detail::entry(models::llama2_7b, "llama"),
    detail::entry(models::llama2_70b, "llama"),
    detail::entry(models::llama3_8b, "llama"),
    detail::entry(models::llama3_70b, "llama"),
    detail::entry(models::llama3_1_405b, "llama"),
    detail::entry(models::llama3_2_1b, "llama"),
    detail::entry(models::tinyllama_1_1b, "llama"),
    detail::entry(models::mistral_7b, "mistral"),
    detail::entry(models::mixtral_8x7b, "mixtral"),
    detail::entry(models::qwen2_5_7b, "qwen2"),
    detail::entry(models::tiny_gpt2, "gpt2"),
    detail::entry(models::tiny_llama, "llama"),
    detail::entry(models::tiny_mixtral, "mixtral"),
    detail::entry(models::tiny_qwen2, "qwen2"),
};

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
