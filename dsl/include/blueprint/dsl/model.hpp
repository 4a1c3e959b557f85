// A model: the root of a declaration, and its flattened, checked tensor table.
//
// `model<"name", children...>` (a declaration written as types) and `defined_model<"name",
// Definition>` (a family's emit function over a constexpr config) are empty types; all they
// know is static. `table()` is the constexpr array of tensor records (one per stored tensor,
// ties excluded) that every later phase consumes; it is computed once per model type and
// checked: tie targets exist and have the alias's shape, and fully-qualified names are unique.
// `build_table(emit)` runs the same emit function at run time into vectors, with the same
// checks as exceptions: a model read from config.json gets the table its compile-time twin
// gets, record for record.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "builder.hpp"
#include "expert_groups.hpp"
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

/// Points every tie at the index of its target (past the end when there is none).
template <class Table>
constexpr void resolve_ties(Table& table) {
  for (tie_spec& tie : table.ties) {
    tie.target = static_cast<std::uint32_t>(table.tensors.size());
    for (std::size_t i = 0; i < table.tensors.size(); ++i)
      if (table.tensors[i].name() == tie.target_name()) tie.target = static_cast<std::uint32_t>(i);
  }
}

/// Fills a table of known size with `emit`'s records and resolves ties and units; a grouping
/// builder writes a definition table (one record per expert group).
template <std::size_t Tensors, std::size_t Ties, class Emit>
constexpr tensor_table<Tensors, Ties> flatten_emitted(Emit&& emit, bool group_experts = false) {
  tensor_table<Tensors, Ties> table{};
  table_builder b{};
  b.tensors = table.tensors.data();
  b.ties = table.ties.data();
  b.group_experts = group_experts;
  emit(b);
  std::uint32_t units = 0;
  for (const tensor_spec& t : table.tensors) units = std::max(units, t.unit + 1);
  table.unit_count = units;
  table.block_count = static_cast<std::uint32_t>(b.blocks_seen);
  resolve_ties(table);
  return table;
}

/// A definition table with its expert groups expanded (`Tensors` = the expanded count).
template <std::size_t Tensors, class Definition>
constexpr auto expanded_table(const Definition& definition) {
  tensor_table<Tensors, std::tuple_size_v<decltype(definition.ties)>> table{};
  expand_expert_groups(definition.tensors, table.tensors.data());
  table.ties = definition.ties;
  table.unit_count = definition.unit_count;
  table.block_count = definition.block_count;
  resolve_ties(table);
  return table;
}

template <class Root>
constexpr auto flatten() {
  return flatten_emitted<Root::tensor_count, Root::tie_count>(
      [](table_builder& b) { Root::emit(b); });
}

template <class Root>
inline constexpr auto table_v = flatten<Root>();

/// Index of the tensor called `name` in a flattened table (ties resolve to their target).
template <class Table>
constexpr std::optional<std::size_t> find_in_table(const Table& table, std::string_view name) {
  for (std::size_t i = 0; i < table.tensors.size(); ++i)
    if (table.tensors[i].name() == name) return i;
  for (const tie_spec& t : table.ties)
    if (t.name() == name) return t.target;
  return std::nullopt;
}

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
    return detail::find_in_table(table(), name);
  }
};

namespace detail {
template <class Table>
constexpr bool ties_resolve(const Table& table) {
  for (const tie_spec& t : table.ties)
    if (t.target >= table.tensors.size()) return false;
  return true;
}

template <class Definition>
struct defined_counts {
  static constexpr record_counts value =
      count_records([](table_builder& b) { Definition::emit(b); }, /*group_experts=*/true);
};

/// The definition table: one record per expert group. Cheap for any model size.
template <fixed_string Name, class Definition>
struct definition_checks {
  static constexpr auto flat = flatten_emitted<defined_counts<Definition>::value.tensors,
                                               defined_counts<Definition>::value.ties>(
      [](table_builder& b) { Definition::emit(b); }, /*group_experts=*/true);
  static_assert(ties_resolve(flat), "model: the target of a tied tensor does not exist");
  static_assert(names_are_unique(flat), "model: two tensors have the same fully-qualified name");
  static constexpr bool ok = true;
};

/// The expanded table, one record per tensor: built on first use of `table()`.
template <fixed_string Name, class Definition>
struct defined_checks {
  static_assert(definition_checks<Name, Definition>::ok);
  static constexpr auto flat = expanded_table<defined_counts<Definition>::value.expanded>(
      definition_checks<Name, Definition>::flat);
  static_assert(names_are_unique(flat), "model: two tensors have the same fully-qualified name");
  static constexpr bool ok = true;
};
}  // namespace detail

/// A model whose tensors a definition's `static constexpr void emit(table_builder&)` writes: the
/// families' compile-time types (`llama<"name", llama_config{...}>`), whose Definition states
/// the family's rules as static_asserts and runs the family's emit function on the config.
/// `definition_table()` holds one record per expert group; `table()` one per tensor (for
/// DeepSeek-V3's 45,000 tensors, more constant evaluation than g++'s default limits allow:
/// build that model's table at run time, `dsl::build_table` or `hf_model`).
template <fixed_string Name, class Definition>
struct defined_model {
  using definition = Definition;
  using checks = detail::defined_checks<Name, Definition>;
  static constexpr record_counts counts = detail::defined_counts<Definition>::value;
  static constexpr std::size_t tensor_count = counts.expanded;
  static constexpr std::size_t tie_count = counts.ties;

  [[nodiscard]] static constexpr std::string_view name() { return Name.view(); }
  /// One record per tensor, expert groups expanded.
  [[nodiscard]] static constexpr const auto& table() {
    static_assert(checks::ok);
    return checks::flat;
  }
  /// One record per expert group (`experts.*.w1`, `expert_count` experts).
  [[nodiscard]] static constexpr const auto& definition_table() {
    static_assert(detail::definition_checks<Name, Definition>::ok);
    return detail::definition_checks<Name, Definition>::flat;
  }
  [[nodiscard]] static constexpr const auto& tensors() { return table().tensors; }
  [[nodiscard]] static constexpr const auto& ties() { return table().ties; }
  /// Elements of persistent tensors (buffers excluded), each tied tensor once.
  [[nodiscard]] static constexpr std::uint64_t parameter_count() { return counts.parameters; }
  [[nodiscard]] static constexpr std::uint32_t unit_count() { return table().unit_count; }
  [[nodiscard]] static constexpr std::uint32_t block_count() { return table().block_count; }
  /// Index of the tensor called `name` (ties resolve to their target).
  [[nodiscard]] static constexpr std::optional<std::size_t> find(std::string_view name) {
    return detail::find_in_table(table(), name);
  }
};

/// A tensor table held in vectors: what `build_table` makes at run time.
struct dynamic_table {
  std::vector<tensor_spec> tensors;
  std::vector<tie_spec> ties;
  std::uint32_t unit_count = 0;
  std::uint32_t block_count = 0;
  std::uint64_t parameters = 0;
};

/// Runs `emit` (a family's emit function bound to a config) into a dynamic table: a counting
/// pass sizes the vectors, the second pass fills them, and expert groups are expanded as a
/// model type's `table()` expands them (`group_experts = false` emits every expert directly:
/// the same records, the check of the expansion).
/// @throws std::invalid_argument naming a name longer than max_name_size, a duplicate name or
///         a tie whose target does not exist
template <class Emit>
[[nodiscard]] dynamic_table build_table(Emit&& emit, bool group_experts = true) {
  table_builder counter{};
  counter.group_experts = group_experts;
  emit(counter);
  std::vector<tensor_spec> definition(counter.tensor_count);
  dynamic_table table;
  table.ties.resize(counter.tie_count);
  table_builder b{};
  b.tensors = definition.data();
  b.ties = table.ties.data();
  b.group_experts = group_experts;
  emit(b);
  if (counter.expanded_count == definition.size()) {
    table.tensors = std::move(definition);
  } else {
    table.tensors.resize(counter.expanded_count);
    expand_expert_groups(definition, table.tensors.data());
  }
  table.parameters = b.parameters;
  table.block_count = static_cast<std::uint32_t>(b.blocks_seen);
  for (const tensor_spec& t : table.tensors)
    table.unit_count = std::max(table.unit_count, t.unit + 1);
  std::vector<std::pair<std::uint64_t, std::uint32_t>> ids;
  ids.reserve(table.tensors.size());
  for (std::size_t i = 0; i < table.tensors.size(); ++i)
    ids.emplace_back(table.tensors[i].id, static_cast<std::uint32_t>(i));
  std::sort(ids.begin(), ids.end());
  for (std::size_t i = 1; i < ids.size(); ++i)
    if (ids[i].first == ids[i - 1].first)
      throw std::invalid_argument("model: two tensors have the same fully-qualified name '" +
                                  std::string(table.tensors[ids[i].second].name()) + "'");
  for (tie_spec& tie : table.ties) {
    const auto it = std::lower_bound(ids.begin(), ids.end(),
                                     std::pair{tensor_id_from_name(tie.target_name()), 0u});
    if (it == ids.end() || it->first != tensor_id_from_name(tie.target_name()))
      throw std::invalid_argument("model: the target '" + std::string(tie.target_name()) +
                                  "' of the tied tensor '" + std::string(tie.name()) +
                                  "' does not exist");
    tie.target = it->second;
  }
  return table;
}

/// A model declaration: a `model<...>` or a type derived from one.
template <class M>
concept Model = requires {
  { M::name() } -> std::convertible_to<std::string_view>;
  { M::parameter_count() } -> std::convertible_to<std::uint64_t>;
  M::tensors();
  M::ties();
};

}  // namespace blueprint::dsl
