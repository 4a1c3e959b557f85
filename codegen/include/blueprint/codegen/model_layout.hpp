// The layout of a model chosen at run time: a table a family function wrote for a config
// record (an hf_model read from config.json, a built-in by name), placed by the same code as
// `layout(M{}, ...)` places a compile-time model's. Kept out of layout.hpp so that a program
// declaring models at compile time does not pay for the run-time path.
#pragma once

#include <mutex>
#include <set>
#include <string>
#include <string_view>

#include <blueprint/dsl/hf_model.hpp>
#include <blueprint/dsl/model.hpp>

#include "layout.hpp"

namespace blueprint {

namespace detail {
/// A name that lives as long as the process: layouts hold their model's name as a
/// string_view, and a run-time model's name is a std::string its hf_model may outlive.
[[nodiscard]] inline std::string_view interned_name(std::string_view name) {
  static std::mutex mutex;
  static std::set<std::string, std::less<>> names;
  const std::lock_guard lock(mutex);
  return *names.emplace(name).first;
}
}  // namespace detail

/// The layout of a run-time table (dsl::build_table), by the same placement code.
[[nodiscard]] inline dynamic_layout layout_of_table(std::string_view name,
                                                    const dsl::dynamic_table& table,
                                                    const dtype_policy& policy,
                                                    const layout_options& options = {}) {
  dynamic_layout result{};
  result.model_name = detail::interned_name(name);
  result.policy = policy;
  result.options = options;
  result.entries.resize(table.tensors.size());
  result.arena_bytes = place_tensors(table.tensors, policy, options, result.entries);
  result.tie_entries = table.ties;
  result.parameters = table.parameters;
  result.units = table.unit_count;
  return result;
}

/// The layout of a model chosen at run time (a config.json, a built-in by name): the table
/// its family function writes for its config, placed as `layout(M{}, ...)` places a
/// compile-time model's. @throws std::invalid_argument when the config breaks a family rule
[[nodiscard]] inline dynamic_layout layout(const hf_model& model,
                                           const dtype_policy& policy = dtype_policy::f32(),
                                           const layout_options& options = {}) {
  return layout_of_table(model.name, table_of(model.config), policy, options);
}

}  // namespace blueprint
