// A model: the root of a declaration, and its flattened, checked tensor table.
//
// `model<"name", children...>` is an empty type; all it knows is static. `table()` is the
// constexpr array of tensor records (one per stored tensor, ties excluded) that every later
// phase consumes; it is computed once per model type and checked: tie targets exist and have
// the alias's shape, and fully-qualified names are unique.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "builder.hpp"
#include "fixed_string.hpp"
#include "graph.hpp"
#include "tensor_spec.hpp"

namespace blueprint::dsl {

/// The flattened declaration: tensors in declaration order, then ties.
template <std::size_t Tensors, std::size_t Ties>
struct tensor_table {
  std::array<tensor_spec, Tensors> tensors{};
  std::array<tie_spec, Ties> ties{};
  std::uint32_t unit_count = 0;  // pipeline / FSDP units (see tensor_spec::unit)
  std::uint32_t block_count = 0;
};

namespace detail {

template <class Root>
constexpr auto flatten() {
  tensor_table<Root::tensor_count, Root::tie_count> table{};
  table_builder b{};
  b.tensors = table.tensors.data();
  b.ties = table.ties.data();
  Root::emit(b);
  std::uint32_t units = 0;
  for (const tensor_spec& t : table.tensors) units = std::max(units, t.unit + 1);
  table.unit_count = units;
  table.block_count = static_cast<std::uint32_t>(b.blocks_seen);
  for (tie_spec& tie : table.ties) {
    tie.target = static_cast<std::uint32_t>(table.tensors.size());
    for (std::size_t i = 0; i < table.tensors.size(); ++i)
      if (table.tensors[i].name() == tie.target_name()) tie.target = static_cast<std::uint32_t>(i);
  }
  return table;
}

template <class Root>
inline constexpr auto table_v = flatten<Root>();

template <class Table>
constexpr bool names_are_unique(const Table& table) {
  constexpr std::size_t n = std::tuple_size_v<decltype(table.tensors)>;
  std::array<std::uint64_t, n + std::tuple_size_v<decltype(table.ties)>> ids{};
  std::size_t k = 0;
  for (const tensor_spec& t : table.tensors) ids[k++] = t.id;
  for (const tie_spec& t : table.ties) ids[k++] = tensor_id_from_name(t.name());
  std::sort(ids.begin(), ids.end());
  return std::adjacent_find(ids.begin(), ids.end()) == ids.end();
}

/// Checked once per tie at the model's top level; the tie's names appear in the compiler's
/// "required from" line when a rule fails.
template <const auto& Table, class Node>
struct tie_checked {
  static constexpr bool value = true;
};
template <const auto& Table, fixed_string Alias, fixed_string Target, class Shape>
struct tie_checked<Table, tie<Alias, Target, Shape>> {
  static constexpr std::optional<std::size_t> target_index() {
    for (std::size_t i = 0; i < Table.tensors.size(); ++i)
      if (Table.tensors[i].name() == Target.view()) return i;
    return std::nullopt;
  }
  static constexpr bool same_shape() {
    const tensor_spec& t = Table.tensors[*target_index()];
    if (t.rank != Shape::rank) return false;
    for (std::size_t d = 0; d < Shape::rank; ++d)
      if (t.shape[d] != Shape::dims[d]) return false;
    return true;
  }
  static_assert(target_index().has_value(), "tie: the tied tensor's target does not exist");
  static_assert(!target_index().has_value() || same_shape(),
                "tie: a tied tensor must have the same shape as its target");
  static constexpr bool value = true;
};

/// The checks of a whole model, instantiated on first use of its table (not when the model
/// type is merely named: including the built-in models then costs no flattening).
template <fixed_string Name, class Root, class... Children>
struct model_checks {
  static constexpr const auto& flat = table_v<Root>;
  static_assert((tie_checked<flat, Children>::value && ...));
  static_assert(names_are_unique(flat), "model: two tensors have the same fully-qualified name");
  static constexpr bool ok = true;
};

}  // namespace detail

/// The root of a declaration. Its children are the top-level layers and ties.
template <fixed_string Name, class... Children>
struct model {
  using root = scope<"", Children...>;
  using checks = detail::model_checks<Name, root, Children...>;

  static constexpr std::size_t tensor_count = root::tensor_count;
  static constexpr std::size_t tie_count = root::tie_count;

  [[nodiscard]] static constexpr std::string_view name() { return Name.view(); }
  /// The flattened, checked table.
  [[nodiscard]] static constexpr const auto& table() {
    static_assert(checks::ok);
    return checks::flat;
  }
  /// Stored tensors in declaration order (ties excluded).
  [[nodiscard]] static constexpr const auto& tensors() { return table().tensors; }
  [[nodiscard]] static constexpr const auto& ties() { return table().ties; }
  /// Elements of persistent tensors (buffers excluded), each tied tensor once.
  [[nodiscard]] static constexpr std::uint64_t parameter_count() {
    static_assert(checks::ok);
    return root::parameter_count;
  }
  [[nodiscard]] static constexpr std::uint32_t unit_count() { return table().unit_count; }
  [[nodiscard]] static constexpr std::uint32_t block_count() { return table().block_count; }

  /// Index of the tensor called `name` (ties resolve to their target).
  [[nodiscard]] static constexpr std::optional<std::size_t> find(std::string_view name) {
    for (std::size_t i = 0; i < tensors().size(); ++i)
      if (tensors()[i].name() == name) return i;
    for (const tie_spec& t : ties())
      if (t.name() == name) return t.target;
    return std::nullopt;
  }
};

template <class T>
struct is_model : std::false_type {};
template <fixed_string Name, class... Children>
struct is_model<model<Name, Children...>> : std::true_type {};

/// A model declaration: a `model<...>` or a type derived from one.
template <class M>
concept Model = requires {
  { M::name() } -> std::convertible_to<std::string_view>;
  { M::parameter_count() } -> std::convertible_to<std::uint64_t>;
  M::tensors();
  M::ties();
};

}  // namespace blueprint::dsl
