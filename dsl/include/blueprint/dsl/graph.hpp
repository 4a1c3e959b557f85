// The node kinds of a declaration: tensor leaves, named scopes, repeats, experts and ties.
//
// Every layer of the vocabulary (linear, attention, ...) is built from these five. A node is a
// type with static members only:
//   node_name        its name inside the parent scope ("q_proj"; "" for an unnamed group)
//   tensor_count     tensor records it emits        tie_count   tie records it emits
//   parameter_count  persistent elements it holds   model_dim   hidden size it works on, or 0
//   emit(builder)    writes its records, per record (never per element)
// Structure (counts, names, dims) lives in template arguments, so sizes of the flattened table
// are type-level constants and every rule is a static_assert whose instantiation context names
// the layer.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string_view>

#include "builder.hpp"
#include "fixed_string.hpp"
#include "tensor_spec.hpp"

namespace blueprint::dsl {

/// A static shape, row-major.
template <std::uint64_t... Dims>
struct shape {
  static_assert(sizeof...(Dims) >= 1 && sizeof...(Dims) <= max_rank,
                "shape: a tensor has between 1 and 4 dimensions");
  static_assert(((Dims > 0) && ...), "shape: every dimension must be positive");
  static constexpr std::uint8_t rank = sizeof...(Dims);
  static constexpr std::array<std::uint64_t, sizeof...(Dims)> dims{Dims...};
  static constexpr std::uint64_t numel = (std::uint64_t{1} * ... * Dims);
};

/// Everything about a tensor leaf but its name and shape.
struct tensor_options {
  parallel_role role = parallel_role::replicated;
  tensor_kind kind = tensor_kind::weight;
  init_spec init = init::zeros();
  std::uint64_t fan_in = 0;
  std::uint64_t fan_out = 0;
  bool persistent = true;
  std::uint8_t fused = 1;
  head_group heads = head_group::none;  // see tensor_spec
  std::uint32_t head_size = 0;
  bool vocab = false;
  std::uint64_t blocks[3]{};
  std::int64_t zero_row = -1;
};

/// Writes one tensor record: the leaf every layer function and node type ends in.
constexpr tensor_spec& add_tensor(table_builder& b, std::string_view name,
                                  std::span<const std::uint64_t> dims, const tensor_options& o) {
  tensor_spec& t = b.add(name);
  t.rank = static_cast<std::uint8_t>(dims.size());
  t.numel = 1;
  for (std::size_t i = 0; i < dims.size(); ++i) {
    t.shape[i] = dims[i];
    t.numel *= dims[i];
  }
  t.role = o.role;
  t.kind = o.kind;
  t.init = o.init;
  t.fan_in = o.fan_in;
  t.fan_out = o.fan_out;
  t.persistent = o.persistent;
  t.fused = o.fused;
  t.heads = o.heads;
  t.head_size = o.head_size;
  t.vocab = o.vocab;
  for (std::size_t i = 0; i < 3; ++i) t.blocks[i] = o.blocks[i];
  t.zero_row = o.zero_row;
  // transformers' count: parameters only; buffers, even persistent ones, are not counted.
  // A grouped expert record counts once per expert it stands for.
  if (o.persistent && o.kind != tensor_kind::buffer)
    b.parameters += t.numel * (b.expert_count != 0 ? b.expert_count : 1);
  return t;
}
constexpr tensor_spec& add_tensor(table_builder& b, std::string_view name,
                                  std::initializer_list<std::uint64_t> dims,
                                  const tensor_options& o) {
  return add_tensor(b, name, std::span<const std::uint64_t>(dims.begin(), dims.size()), o);
}

/// The prefix `name` for the lifetime of this object: `const named_scope s{b, "self_attn"};`.
struct named_scope {
  table_builder& b;
  std::size_t saved;
  constexpr named_scope(table_builder& builder, std::string_view name)
      : b(builder), saved(builder.push(name)) {}
  constexpr ~named_scope() { b.pop(saved); }
  named_scope(const named_scope&) = delete;
  named_scope& operator=(const named_scope&) = delete;
};

/// `count` repeated blocks `name.0` ... `name.(count-1)`, each its own pipeline / FSDP unit;
/// `each(i)` emits block i.
template <class Each>
constexpr void repeat_blocks(table_builder& b, std::string_view name, std::uint64_t count,
                             Each&& each) {
  const named_scope outer{b, name};
  const bool outermost = b.block < 0;
  for (std::uint64_t i = 0; i < count; ++i) {
    const std::size_t saved = b.push_index(i);
    if (outermost) b.begin_block();
    each(i);
    if (outermost) b.end_block();
    b.pop(saved);
  }
}

/// `count` experts `name.0` ... `name.(count-1)`, each with the records `each()` emits (the
/// same for every expert): their tensors carry the expert index, which the shard plan
/// distributes over the `ep` mesh axis. A grouping builder gets them once, as `name.*`.
template <class Each>
constexpr void repeat_experts(table_builder& b, std::string_view name, std::uint64_t count,
                              Each&& each) {
  const named_scope outer{b, name};
  if (b.group_experts) {
    const std::size_t saved = b.push("*");
    b.expert_count = static_cast<std::uint32_t>(count);
    each();
    b.expert_count = 0;
    b.pop(saved);
    return;
  }
  for (std::uint64_t e = 0; e < count; ++e) {
    const std::size_t saved = b.push_index(e);
    b.expert = static_cast<std::int32_t>(e);
    each();
    b.expert = -1;
    b.pop(saved);
  }
}

/// How many records a layer function writes, and its persistent elements: the same function
/// run on a builder that only counts.
struct record_counts {
  std::size_t tensors = 0;  // records written (one per expert group when grouping)
  std::size_t ties = 0;
  std::uint64_t parameters = 0;
  std::size_t expanded = 0;  // records once expert groups are expanded
};
template <class Emit>
[[nodiscard]] constexpr record_counts count_records(Emit&& emit, bool group_experts = false) {
  table_builder b{};
  b.group_experts = group_experts;
  emit(b);
  return {b.tensor_count, b.tie_count, b.parameters, b.expanded_count};
}

/// A leaf: one parameter or buffer.
template <fixed_string Name, class Shape, tensor_options Options = tensor_options{}>
struct tensor {
  static_assert(Name.size() > 0, "tensor: every tensor needs a name");
  static_assert(Options.fused >= 1, "tensor: fused sub-block count must be at least 1");
  static_assert(Options.role == parallel_role::replicated ||
                    (Options.role == parallel_role::split_rows ? Shape::dims[0]
                                                               : Shape::dims[Shape::rank - 1]) %
                            Options.fused ==
                        0,
                "tensor: fused sub-blocks must divide the split dimension");

  static constexpr std::string_view node_name = Name.view();
  static constexpr std::size_t tensor_count = 1;
  static constexpr std::size_t tie_count = 0;
  static constexpr std::uint64_t parameter_count =
      Options.persistent && Options.kind != tensor_kind::buffer ? Shape::numel : 0;
  static constexpr std::uint64_t model_dim = 0;

  static constexpr void emit(table_builder& b) { add_tensor(b, node_name, Shape::dims, Options); }
};

namespace detail {
template <class... Nodes>
constexpr std::uint64_t first_model_dim() {
  std::uint64_t dim = 0;
  ((dim = dim != 0 ? dim : Nodes::model_dim), ...);
  return dim;
}

/// Instantiated once per (dimension, child): the failing child's type, with its name, appears
/// in the compiler's "required from" line.
template <std::uint64_t Dim, class Child>
struct dim_agrees {
  static_assert(Dim == 0 || Child::model_dim == 0 || Child::model_dim == Dim,
                "block: this layer's input dimension differs from the model dimension");
  static constexpr bool value = true;
};

template <class... Nodes>
constexpr bool names_unique() {
  constexpr std::array<std::string_view, sizeof...(Nodes)> names{Nodes::node_name...};
  for (std::size_t i = 0; i < names.size(); ++i)
    for (std::size_t j = i + 1; j < names.size(); ++j)
      if (!names[i].empty() && names[i] == names[j]) return false;
  return true;
}
}  // namespace detail

/// A named group of nodes: its name prefixes every tensor inside ("self_attn" ->
/// "self_attn.q_proj.weight"). An empty name groups without adding a prefix.
template <fixed_string Name, class... Children>
struct scope {
  static_assert(detail::names_unique<Children...>(),
                "scope: two layers or tensors in the same scope have the same name");
  static constexpr std::string_view node_name = Name.view();
  static constexpr std::size_t tensor_count = (std::size_t{0} + ... + Children::tensor_count);
  static constexpr std::size_t tie_count = (std::size_t{0} + ... + Children::tie_count);
  static constexpr std::uint64_t parameter_count =
      (std::uint64_t{0} + ... + Children::parameter_count);
  static constexpr std::uint64_t model_dim = detail::first_model_dim<Children...>();
  static_assert((detail::dim_agrees<model_dim, Children>::value && ...));

  static constexpr void emit(table_builder& b) {
    const std::size_t saved = b.push(node_name);
    (Children::emit(b), ...);
    b.pop(saved);
  }
};

/// An unnamed group whose layers must all work on `Dim` (a transformer block).
template <std::uint64_t Dim, class... Children>
struct block : scope<"", Children...> {
  static_assert((detail::dim_agrees<Dim, Children>::value && ...));
  static constexpr std::uint64_t model_dim = Dim;
};

/// N copies of Block named Name.0 ... Name.(N-1); each copy is one pipeline / FSDP unit.
/// One type however large N is: emitting is a loop, not a recursion.
template <fixed_string Name, std::size_t N, class Block>
struct repeat {
  static_assert(N >= 1, "repeat: a repeat needs at least one copy");
  static_assert(Block::tie_count == 0,
                "repeat: tied parameters inside a repeated block are not supported");
  static constexpr std::string_view node_name = Name.view();
  static constexpr std::size_t tensor_count = N * Block::tensor_count;
  static constexpr std::size_t tie_count = 0;
  static constexpr std::uint64_t parameter_count = N * Block::parameter_count;
  static constexpr std::uint64_t model_dim = Block::model_dim;
  static constexpr std::size_t count = N;

  static constexpr void emit(table_builder& b) {
    repeat_blocks(b, node_name, N, [&](std::uint64_t) { Block::emit(b); });
  }
};

/// E mixture-of-experts experts named Name.0 ... Name.(E-1); their tensors carry the expert
/// index, which the shard plan distributes over the `ep` mesh axis.
template <fixed_string Name, std::size_t E, class Expert>
struct experts {
  static_assert(E >= 1, "experts: a mixture of experts needs at least one expert");
  static_assert(Expert::tie_count == 0,
                "experts: tied parameters inside an expert are not supported");
  static constexpr std::string_view node_name = Name.view();
  static constexpr std::size_t tensor_count = E * Expert::tensor_count;
  static constexpr std::size_t tie_count = 0;
  static constexpr std::uint64_t parameter_count = E * Expert::parameter_count;
  static constexpr std::uint64_t model_dim = Expert::model_dim;
  static constexpr std::size_t count = E;

  static constexpr void emit(table_builder& b) {
    repeat_experts(b, node_name, E, [&] { Expert::emit(b); });
  }
};

/// `Alias` (relative to the enclosing scope) names the same tensor as `Target` (a
/// fully-qualified name). The alias is declared with the shape its layer expects; a different
/// shape from the target's is a compile error. Ties live at the model's top level.
template <fixed_string Alias, fixed_string Target, class Shape>
struct tie {
  static constexpr std::string_view node_name = Alias.view();
  static constexpr std::string_view target_name = Target.view();
  using declared_shape = Shape;
  static constexpr std::size_t tensor_count = 0;
  static constexpr std::size_t tie_count = 1;
  static constexpr std::uint64_t parameter_count = 0;
  static constexpr std::uint64_t model_dim = 0;

  static constexpr void emit(table_builder& b) { b.add_tie(node_name, target_name); }
};

}  // namespace blueprint::dsl
