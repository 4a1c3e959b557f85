// Flattening: the declaration tree writes its tensor records into a builder.
//
// Every node type has `static constexpr void emit(table_builder&)`. The builder keeps the
// current name prefix ("model.layers.3") and the pipeline unit, so a repeated block is emitted
// by a plain loop over its index: compile-time work grows with the number of tensor records,
// never with the number of types (there is one block type however many layers repeat it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include <blueprint/kernels/fingerprint.hpp>

#include "tensor_spec.hpp"

namespace blueprint::dsl {

/// Not constexpr on purpose: reaching it during constant evaluation is the compile error.
inline void name_longer_than_max_name_size() {}

struct table_builder {
  tensor_spec* tensors = nullptr;
  std::size_t tensor_count = 0;
  tie_spec* ties = nullptr;
  std::size_t tie_count = 0;

  char prefix[max_name_size + 1]{};
  std::size_t prefix_size = 0;

  std::uint32_t unit = 0;         // unit of the tensors emitted now
  std::uint32_t last_unit = 0;    // highest unit handed out so far
  bool unit_has_tensors = false;  // whether `unit` has received a tensor
  std::int32_t block = -1;
  std::int32_t blocks_seen = 0;
  std::int32_t expert = -1;

  /// Appends `.part` to the prefix; returns the size to restore with pop().
  constexpr std::size_t push(std::string_view part) {
    const std::size_t saved = prefix_size;
    if (part.empty()) return saved;
    if (prefix_size + 1 + part.size() > max_name_size) name_longer_than_max_name_size();
    if (prefix_size != 0) prefix[prefix_size++] = '.';
    for (char c : part) prefix[prefix_size++] = c;
    return saved;
  }
  constexpr std::size_t push_index(std::uint64_t i) {
    char digits[20]{};
    std::size_t n = 0;
    do {
      digits[n++] = static_cast<char>('0' + i % 10);
      i /= 10;
    } while (i != 0);
    const std::size_t saved = prefix_size;
    if (prefix_size != 0) prefix[prefix_size++] = '.';
    while (n != 0) prefix[prefix_size++] = digits[--n];
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

  constexpr tensor_spec& add(std::string_view leaf) {
    tensor_spec& t = tensors[tensor_count++];
    t.name_storage.assign(full_name(leaf));
    t.id = tensor_id_from_name(t.name());
    t.unit = unit;
    t.block = block;
    t.expert = expert;
    unit_has_tensors = true;
    return t;
  }

  constexpr void add_tie(std::string_view alias, std::string_view target) {
    tie_spec& t = ties[tie_count++];
    t.name_storage.assign(full_name(alias));
    t.target_storage.assign(target);
  }
};

}  // namespace blueprint::dsl
