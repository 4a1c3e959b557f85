// The name index of one arena: what the host model and the device model share.
//
// A materialized model is a layout (every tensor of the model), a program (what this arena
// holds of them: the whole model, or one rank's shard) and memory. Everything except the memory
// is this index: name -> the local tensor, ties resolved to their target, the errors of a
// lookup (with the closest name as a suggestion), the owner of an arena byte for coverage
// errors, and the counted program — the elements this arena contributes to the whole model's
// fingerprint (replicas counted once). materialized_model (materialize.hpp) and device_model
// (cuda.hpp) differ only in where the bytes live and how they are filled.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <blueprint/codegen/layout.hpp>
#include <blueprint/codegen/program.hpp>

#include "poison.hpp"

namespace blueprint {

/// Thrown by a model's operator[] for a name the model (or this arena) lacks.
class tensor_not_found : public std::out_of_range {
 public:
  using std::out_of_range::out_of_range;
};

namespace detail {
inline std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] != b[j - 1] ? 1u : 0u)});
      diag = up;
    }
  }
  return row[b.size()];
}
}  // namespace detail

class arena_index {
 public:
  /// @param counted the part of `prog` that counts toward the whole model's fingerprint (a
  ///        plan's counted_program(rank); `prog` itself for a whole model)
  /// @throws std::invalid_argument when `prog` would write outside its arena or holds an
  ///         unresolved init (validate_program)
  arena_index(dynamic_layout layout, program prog, program counted)
      : layout_(std::move(layout)), program_(std::move(prog)), counted_(std::move(counted)) {
    validate_program(layout_.tensors(), program_);
    local_of_tensor_.assign(layout_.size(), -1);
    for (std::size_t i = 0; i < program_.tensors.size(); ++i) {
      const std::uint32_t t = program_.tensors[i].tensor_index;
      if (t < local_of_tensor_.size() && local_of_tensor_[t] < 0)
        local_of_tensor_[t] = static_cast<std::int64_t>(i);
    }
  }

  /// The local tensor called `name` (a tied name resolves to the stored tensor).
  /// @throws tensor_not_found naming `name` and the model, with the closest name, when the model
  ///         has no such tensor; naming the rank's part when this arena does not hold it
  [[nodiscard]] const local_tensor& find(std::string_view name) const {
    const auto index = layout_.find(name);
    if (!index) throw tensor_not_found(not_found_message(name));
    const std::int64_t local = local_of_tensor_[*index];
    if (local < 0)
      throw tensor_not_found("tensor '" + std::string(name) + "' of model '" +
                             std::string(layout_.model_name) +
                             "' is not held by this arena (another rank or stage holds it)");
    return program_.tensors[static_cast<std::size_t>(local)];
  }
  /// True if find(name) would succeed.
  [[nodiscard]] bool contains(std::string_view name) const {
    const auto index = layout_.find(name);
    return index && local_of_tensor_[*index] >= 0;
  }
  /// The stored tensor's name of a local tensor.
  [[nodiscard]] std::string_view name_of(const local_tensor& t) const {
    return t.tensor_index < layout_.size() ? layout_.tensors()[t.tensor_index].name()
                                           : std::string_view{};
  }
  /// Which tensor owns arena byte `byte` ("'name' (element k of its segment)", "padding", ...).
  [[nodiscard]] std::string owner_of(std::uint64_t byte) const {
    return detail::describe_byte(layout_.tensors(), program_, byte);
  }

  [[nodiscard]] const dynamic_layout& layout() const { return layout_; }
  [[nodiscard]] const blueprint::program& program() const { return program_; }
  [[nodiscard]] const blueprint::program& counted_program() const { return counted_; }

 private:
  [[nodiscard]] std::string not_found_message(std::string_view name) const {
    std::string message = "no tensor named '" + std::string(name) + "' in model '" +
                          std::string(layout_.model_name) + "'";
    std::string_view best;
    std::size_t best_distance = std::numeric_limits<std::size_t>::max();
    auto consider = [&](std::string_view candidate) {
      const std::size_t d = detail::edit_distance(name, candidate);
      if (d < best_distance) best_distance = d, best = candidate;
    };
    for (const placed_tensor& t : layout_.tensors()) consider(t.name());
    for (const tie_spec& t : layout_.ties()) consider(t.name());
    if (!best.empty() && best_distance <= std::max<std::size_t>(3, name.size() / 3))
      message += "; did you mean '" + std::string(best) + "'?";
    return message;
  }

  dynamic_layout layout_;
  blueprint::program program_;
  blueprint::program counted_;
  std::vector<std::int64_t> local_of_tensor_;
};

}  // namespace blueprint
