// Flattening: the declaration tree writes its tensor records into a builder.
//
// Every layer is a constexpr function over plain values that writes its records into a builder
// (layers.hpp); node types and families call those functions. The builder keeps the current
// name prefix ("model.layers.3") and the pipeline unit, so a repeated block is emitted by a
// plain loop over its index: compile-time work grows with the number of tensor records, never
// with the number of types. A builder without storage only counts: the same function first
// sizes the table (a constant at compile time, a vector's size at run time), then fills it.
// A builder that groups experts writes a definition table: one record per expert group,
// `*` in place of the expert index (expert_groups.hpp), so that DeepSeek-V3's 256 experts per
// layer cost three records, not 768, in constant evaluation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>

#include <blueprint/kernels/fingerprint.hpp>

#include "tensor_spec.hpp"

namespace blueprint::dsl {

/// Not constexpr on purpose: reaching it during constant evaluation is the compile error.
inline void name_longer_than_max_name_size() {}

/// A name past max_name_size: a compile error in constant evaluation, else an exception
/// naming the prefix.
template <class = void>  // a template: a constexpr function that never is constant is allowed
constexpr void reject_long_name(std::string_view prefix, std::string_view part) {
  if (std::is_constant_evaluated()) {
    name_longer_than_max_name_size();
  } else {
    throw std::length_error("tensor name '" + std::string(prefix) + "." + std::string(part) +
                            "' is longer than " + std::to_string(max_name_size) + " characters");
  }
}

/// The decimal digits of an index, most significant first, as names spell block and expert
/// indices.
struct decimal_index {
  char digits[20]{};
  std::size_t size = 0;

  constexpr explicit decimal_index(std::uint64_t i) {
    char reversed[20]{};
    do {
      reversed[size++] = static_cast<char>('0' + i % 10);
      i /= 10;
    } while (i != 0);
    for (std::size_t k = 0; k != size; ++k) digits[k] = reversed[size - 1 - k];
  }
  [[nodiscard]] constexpr std::string_view text() const { return {digits, size}; }
};

struct table_builder {
  tensor_spec* tensors = nullptr;  // null: count only
  std::size_t tensor_count = 0;
  std::size_t expanded_count = 0;  // records once expert groups are expanded
  bool group_experts = false;      // one record per expert group (a definition table)
  tie_spec* ties = nullptr;
  std::size_t tie_count = 0;
  std::uint64_t parameters = 0;  // parameters (persistent, not buffers), ties excluded; counted
                                 // by add_tensor (graph.hpp)
  tensor_spec scratch{};         // where a counting builder writes
  tie_spec scratch_tie{};

  char prefix[max_name_size + 1]{};
  std::size_t prefix_size = 0;

  std::uint32_t unit = 0;         // unit of the tensors emitted now
  std::uint32_t last_unit = 0;    // highest unit handed out so far
  bool unit_has_tensors = false;  // whether `unit` has received a tensor
  std::int32_t block = -1;
  std::int32_t blocks_seen = 0;
  std::int32_t expert = -1;
  std::uint32_t expert_count = 0;  // inside a grouped repeat_experts: the experts it stands for

  /// Appends `.part` to the prefix; returns the size to restore with pop().
  constexpr std::size_t push(std::string_view part) {
    const std::size_t saved = prefix_size;
    if (part.empty()) return saved;
    if (counting()) {  // sizes only: the filling pass builds (and checks) the names
      prefix_size += (prefix_size != 0 ? 1 : 0) + part.size();
      return saved;
    }
    if (prefix_size + 1 + part.size() > max_name_size)
      reject_long_name({prefix, prefix_size}, part);
    if (prefix_size != 0) prefix[prefix_size++] = '.';
    for (char c : part) prefix[prefix_size++] = c;
    return saved;
  }
  constexpr std::size_t push_index(std::uint64_t i) {
    const decimal_index index{i};
    const std::size_t saved = prefix_size;
    if (counting()) {
      prefix_size += (prefix_size != 0 ? 1 : 0) + index.size;
      return saved;
    }
    if (prefix_size + 1 + index.size > max_name_size)
      reject_long_name({prefix, prefix_size}, "<index>");
    if (prefix_size != 0) prefix[prefix_size++] = '.';
    for (char c : index.text()) prefix[prefix_size++] = c;
    return saved;
  }
  constexpr void pop(std::size_t saved) { prefix_size = saved; }

  [[nodiscard]] constexpr std::string_view full_name(std::string_view leaf) {
    const std::size_t saved = push(leaf);
    std::string_view name{prefix, prefix_size};
    prefix_size = saved;
    return name;  // valid until the next push
  }

  /// Pipeline units: blocks get one each; tensors between blocks share one.
  constexpr void begin_block() {
    if (unit_has_tensors) unit = ++last_unit;  // else reuse the current, still empty, unit
    unit_has_tensors = false;
    block = blocks_seen++;
  }
  constexpr void end_block() {
    block = -1;
    unit = ++last_unit;
    unit_has_tensors = false;
  }

  [[nodiscard]] constexpr bool counting() const { return tensors == nullptr; }

  constexpr tensor_spec& add(std::string_view leaf) {
    expanded_count += expert_count != 0 ? expert_count : 1;
    if (counting()) {
      ++tensor_count;
      unit_has_tensors = true;
      return scratch;
    }
    tensor_spec& t = tensors[tensor_count++];
    t.name_storage.assign(full_name(leaf));
    t.id = tensor_id_from_name(t.name());
    t.unit = unit;
    t.block = block;
    t.expert = expert;
    t.expert_count = expert_count;
    unit_has_tensors = true;
    return t;
  }

  constexpr void add_tie(std::string_view alias, std::string_view target) {
    if (counting()) {
      ++tie_count;
      return;
    }
    tie_spec& t = ties[tie_count++];
    t.name_storage.assign(full_name(alias));
    t.target_storage.assign(target);
  }
};

}  // namespace blueprint::dsl
