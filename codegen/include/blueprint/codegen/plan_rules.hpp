// The validity rules of a shard plan, and the per-tensor facts the rules and the plan share:
// effective role, tensor-parallel piece, head size, expert count, pipeline stages.
//
// A rule that fails names itself twice: during constant evaluation by calling a non-constexpr
// function whose name is the rule (the compiler prints it), and at run time by throwing
// std::invalid_argument with the rule's sentence and the tensor's name. `static_plan` turns
// the same check into a static_assert whose message is the sentence and whose instantiation
// context names the tensor.
#pragma once

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <blueprint/dsl/tensor_spec.hpp>
#include <blueprint/kernels/segment.hpp>

#include "dtype_policy.hpp"
#include "layout.hpp"
#include "mesh.hpp"
#include "plan_options.hpp"

namespace blueprint {

enum class plan_rule : std::uint8_t {
  none,
  mesh_axes_positive,
  ep_divides_dp,
  world_size_at_most_max,
  pp_at_most_units,
  stage_boundaries_increasing,
  ep_divides_experts,
  split_dim_exists,
  tp_divides_fused_blocks,
  tp_divides_heads,
  tp_divides_kv_heads,
  tp_divides_split_dim,
  unequal_blocks_split_rows,
};

/// Each rule once: its sentence (exception texts, and — prefixed "plan: " — the static_assert
/// texts below), and the detail a run-time message adds with the two numbers of a plan_error.
struct plan_rule_info {
  plan_rule rule;
  std::string_view sentence;
  std::string_view value_label;   // "": no detail
  std::string_view degree_label;  // the mesh axis of the degree
  bool label_first = false;       // "(extent 50257, tp = 2)" rather than "(12 heads, tp = 5)"
};

inline constexpr plan_rule_info plan_rules[] = {
    {plan_rule::none, "no rule is violated", "", ""},
    {plan_rule::mesh_axes_positive, "every mesh axis must be at least 1", "", ""},
    {plan_rule::ep_divides_dp,
     "expert-parallel degree must divide the data-parallel degree (ep is carved out of dp)",
     "dp =", "ep", true},
    {plan_rule::world_size_at_most_max, "a mesh has at most 2^24 = 16777216 ranks (pp * dp * tp)",
     "ranks", "max", true},
    {plan_rule::pp_at_most_units,
     "pipeline-parallel degree must not exceed the number of pipeline units (embedding, "
     "blocks, head)",
     "units", "pp"},
    {plan_rule::stage_boundaries_increasing,
     "pipeline stage boundaries must be pp - 1 strictly increasing unit indices between 1 and "
     "the number of units - 1",
     "offending value", "pp", true},
    {plan_rule::ep_divides_experts, "expert-parallel degree must divide the number of experts",
     "experts", "ep"},
    {plan_rule::split_dim_exists, "a split_cols tensor must have at least two dimensions", "", ""},
    {plan_rule::tp_divides_fused_blocks,
     "tensor-parallel degree must divide each fused sub-block of the split dimension", "sub-block",
     "tp", true},
    {plan_rule::tp_divides_heads,
     "tensor-parallel degree must divide the number of attention heads", "heads", "tp"},
    {plan_rule::tp_divides_kv_heads,
     "tensor-parallel degree must divide the number of kv heads or be a multiple of it", "heads",
     "tp"},
    {plan_rule::tp_divides_split_dim,
     "tensor-parallel degree must divide the split dimension (for a vocab: or enable vocab "
     "padding)",
     "extent", "tp", true},
    {plan_rule::unequal_blocks_split_rows,
     "a tensor with unequal fused sub-blocks (q, k, v) can be split by tensor parallelism only "
     "along its rows",
     "", ""},
};

[[nodiscard]] constexpr const plan_rule_info& rule_info(plan_rule r) {
  return plan_rules[static_cast<std::size_t>(r)];
}
/// The sentence of a rule.
[[nodiscard]] constexpr std::string_view rule_sentence(plan_rule r) {
  return rule_info(r).sentence;
}

// The static_assert texts: C++20 wants string literals, so they are spelled here, each
// "plan: " + its rule's sentence (tests/unit/test_plan_rules.cpp holds them equal to the table).
// Instantiated with the offending tensor's name, so that the compiler's "required from" line
// names the tensor and the static_assert's message states the rule.
template <tensor_name Tensor, plan_rule Rule>
struct plan_rule_check {
  // clang-format off
  static_assert(Rule != plan_rule::mesh_axes_positive, "plan: every mesh axis must be at least 1");
  static_assert(Rule != plan_rule::ep_divides_dp, "plan: expert-parallel degree must divide the data-parallel degree (ep is carved out of dp)");
  static_assert(Rule != plan_rule::world_size_at_most_max, "plan: a mesh has at most 2^24 = 16777216 ranks (pp * dp * tp)");
  static_assert(Rule != plan_rule::pp_at_most_units, "plan: pipeline-parallel degree must not exceed the number of pipeline units (embedding, blocks, head)");
  static_assert(Rule != plan_rule::stage_boundaries_increasing, "plan: pipeline stage boundaries must be pp - 1 strictly increasing unit indices between 1 and the number of units - 1");
  static_assert(Rule != plan_rule::ep_divides_experts, "plan: expert-parallel degree must divide the number of experts");
  static_assert(Rule != plan_rule::split_dim_exists, "plan: a split_cols tensor must have at least two dimensions");
  static_assert(Rule != plan_rule::tp_divides_fused_blocks, "plan: tensor-parallel degree must divide each fused sub-block of the split dimension");
  static_assert(Rule != plan_rule::tp_divides_heads, "plan: tensor-parallel degree must divide the number of attention heads");
  static_assert(Rule != plan_rule::tp_divides_kv_heads, "plan: tensor-parallel degree must divide the number of kv heads or be a multiple of it");
  static_assert(Rule != plan_rule::tp_divides_split_dim, "plan: tensor-parallel degree must divide the split dimension (for a vocab: or enable vocab padding)");
  static_assert(Rule != plan_rule::unequal_blocks_split_rows, "plan: a tensor with unequal fused sub-blocks (q, k, v) can be split by tensor parallelism only along its rows");
  // clang-format on
  static constexpr bool value = true;
};

/// The first violated rule: which, on which tensor (no_tensor for mesh-wide rules), and two
/// numbers for the message (e.g. the extent and the degree).
struct plan_error {
  plan_rule rule = plan_rule::none;
  std::uint32_t tensor = no_tensor;
  std::uint64_t value = 0;   // the extent, count or unit that breaks the rule
  std::uint64_t degree = 0;  // the mesh degree involved
};

namespace rule {
// Not constexpr: when a rule fails during constant evaluation, the compiler's error names the
// rule by naming one of these functions.
inline void every_mesh_axis_must_be_at_least_1() {}
inline void expert_parallel_degree_must_divide_the_data_parallel_degree() {}
inline void a_mesh_has_at_most_2_to_the_24_ranks() {}
inline void pipeline_parallel_degree_must_not_exceed_the_number_of_units() {}
inline void pipeline_stage_boundaries_must_be_strictly_increasing_unit_indices() {}
inline void expert_parallel_degree_must_divide_the_number_of_experts() {}
inline void a_split_cols_tensor_must_have_at_least_two_dimensions() {}
inline void tensor_parallel_degree_must_divide_each_fused_sub_block() {}
inline void tensor_parallel_degree_must_divide_the_number_of_attention_heads() {}
inline void tensor_parallel_degree_must_divide_the_number_of_kv_heads_or_be_a_multiple_of_it() {}
inline void tensor_parallel_degree_must_divide_the_split_dimension() {}
inline void a_tensor_with_unequal_fused_sub_blocks_can_be_split_only_along_its_rows() {}
}  // namespace rule

/// Facts about the model that every rank's plan needs, computed once per query.
struct plan_context {
  std::vector<std::uint32_t> order;        // tensor indices, by unit, table order within a unit
  std::vector<std::uint32_t> unit_begin;   // into `order`; units + 1 entries
  std::vector<std::uint32_t> stage_begin;  // first unit of each stage; pp + 1 entries
  std::vector<parallel_role> roles;        // effective role per tensor
  std::uint32_t units = 0;
  std::uint32_t experts = 0;   // number of MoE experts (0: none)
  std::uint64_t head_dim = 0;  // --head-dim: for attention tensors whose record has no head size
};

/// One affine part of a tensor-parallel piece: local elements from `begin` (to the next part's
/// begin, or the piece's end) map to global elements `base + (k' / run) * stride + k' % run`,
/// k' counted from `begin`.
struct tp_part {
  std::uint64_t begin = 0;
  std::uint64_t base = 0, run = 1, stride = 1;
};

/// What one tensor-parallel rank holds of a tensor, before the dp axis: a local shape, and the
/// affine map from local row-major elements to global ones — one part, or one per fused
/// sub-block when the blocks are unequal (Megatron: the rank's own q rows, then its k rows,
/// then its v rows). Local elements [valid, numel) are padding (zeros): the vocab rows beyond
/// the vocabulary.
struct tp_piece {
  std::uint8_t rank = 0;
  std::uint64_t shape[max_rank]{};
  std::uint64_t numel = 0;
  std::uint64_t valid = 0;
  std::uint8_t part_count = 1;
  tp_part parts[3]{};
  bool counted = true;  // false: a replica of a piece some lower tp rank holds

  /// The part local element k lies in.
  [[nodiscard]] constexpr std::size_t part_of(std::uint64_t k) const {
    std::size_t j = 0;
    while (j + 1 < part_count && parts[j + 1].begin <= k) ++j;
    return j;
  }
  /// One past the last local element of part j.
  [[nodiscard]] constexpr std::uint64_t part_end(std::size_t j) const {
    return j + 1 < part_count ? parts[j + 1].begin : valid;
  }
  /// Global element of local element k (< valid).
  [[nodiscard]] constexpr std::uint64_t global_index(std::uint64_t k) const {
    const tp_part& q = parts[part_of(k)];
    const std::uint64_t r = k - q.begin;
    return q.base + (r / q.run) * q.stride + r % q.run;
  }
};

namespace detail {

[[nodiscard]] constexpr bool is_attention_tensor(const tensor_spec& t) {
  return t.heads != head_group::none;
}
[[nodiscard]] constexpr bool is_kv_tensor(const tensor_spec& t) {
  return t.heads == head_group::key_value;
}
[[nodiscard]] constexpr bool is_vocab_tensor(const tensor_spec& t) {
  return t.vocab;
}
[[nodiscard]] constexpr bool has_unequal_blocks(const tensor_spec& t) {
  return t.blocks[0] != 0;
}
/// The head size of an attention tensor: its record's, else the plan's --head-dim.
[[nodiscard]] constexpr std::uint64_t head_size_of(const tensor_spec& t, std::uint64_t fallback) {
  return t.head_size != 0 ? t.head_size : fallback;
}
[[nodiscard]] constexpr std::uint64_t ceil_div(std::uint64_t a, std::uint64_t b) {
  return (a + b - 1) / b;
}

}  // namespace detail

/// The role after the user's overrides (the last matching override wins).
[[nodiscard]] constexpr parallel_role effective_role(const tensor_spec& t, const plan_options& o) {
  parallel_role r = t.role;
  for (std::size_t i = 0; i < o.role_override_count; ++i)
    if (glob_match(o.role_overrides[i].glob(), t.name())) r = o.role_overrides[i].role;
  return r;
}

/// Storage dimension a role splits (0 rows, 1 cols); -1 for replicated.
[[nodiscard]] constexpr int split_dim(parallel_role r) {
  return r == parallel_role::split_rows ? 0 : r == parallel_role::split_cols ? 1 : -1;
}

/// The tensor-parallel piece of tensor `t` on tp rank `tp_index` of `tp`. `head_dim` is the
/// plan's --head-dim, used only for attention tensors whose record carries no head size.
/// @pre the tensor passed check_tensor (no rule violated)
[[nodiscard]] constexpr tp_piece tp_piece_of(const tensor_spec& t, parallel_role role,
                                             std::uint32_t tp, std::uint32_t tp_index,
                                             std::uint64_t head_dim, const plan_options& o) {
  tp_piece p;
  p.rank = t.rank;
  for (std::size_t d = 0; d < t.rank; ++d) p.shape[d] = t.shape[d];
  p.numel = t.numel;
  p.valid = t.numel;
  p.parts[0].run = p.parts[0].stride = t.numel == 0 ? 1 : t.numel;
  const int d = split_dim(role);
  if (tp == 1 || d < 0) {
    p.counted = tp_index == 0;
    return p;
  }
  std::uint64_t inner = 1;
  for (std::size_t i = static_cast<std::size_t>(d) + 1; i < t.rank; ++i) inner *= t.shape[i];
  const std::uint64_t extent = t.shape[d];
  if (detail::has_unequal_blocks(t)) {
    // Megatron's fused q/k/v with grouped-query attention: this rank's rows of each block,
    // one after the other (d == 0, checked).
    std::uint64_t begin = 0, block_row = 0, local_rows = 0;
    p.part_count = 0;
    for (std::uint64_t rows : t.blocks) {
      if (rows == 0) continue;
      const std::uint64_t mine = rows / tp;
      tp_part& part = p.parts[p.part_count++];
      part.begin = begin;
      part.base = (block_row + tp_index * mine) * inner;
      part.run = part.stride = mine * inner == 0 ? 1 : mine * inner;
      begin += mine * inner;
      block_row += rows;
      local_rows += mine;
    }
    p.shape[0] = local_rows;
    p.numel = p.valid = local_rows * inner;
    return p;
  }
  const std::uint64_t fused = t.fused == 0 ? 1 : t.fused;
  const std::uint64_t sub = extent / fused;
  std::uint64_t local_sub = sub / tp;
  std::uint64_t sub_begin = tp_index * local_sub;  // first row of the sub-block this rank holds
  const std::uint64_t head = detail::head_size_of(t, head_dim);
  if (fused == 1 && sub % tp != 0 && o.pad_vocab && d == 0 && detail::is_vocab_tensor(t)) {
    // Megatron vocab padding: ceil rows per rank, the rows past the vocab are zeros.
    local_sub = detail::ceil_div(sub, tp);
    sub_begin = tp_index * local_sub;
    const std::uint64_t rows = sub_begin >= sub ? 0 : std::min(local_sub, sub - sub_begin);
    p.valid = rows * inner;
  } else if (fused == 1 && head != 0 && o.replicate_kv_heads && detail::is_kv_tensor(t) &&
             sub % head == 0 && sub / head < tp && tp % (sub / head) == 0) {
    // GQA with tp > kv heads: kv head h on tp ranks [h * g, (h + 1) * g), g = tp / kv_heads.
    const std::uint64_t group = tp / (sub / head);
    local_sub = head;
    sub_begin = (tp_index / group) * head;
    p.counted = tp_index % group == 0;
  }
  p.shape[d] = fused * local_sub;
  p.numel = t.numel / extent * fused * local_sub;
  if (p.valid == t.numel) p.valid = p.numel;
  tp_part& part = p.parts[0];
  part.run = local_sub * inner;
  part.stride = sub * inner;
  part.base = sub_begin * inner;
  if (part.run == 0) part.run = part.stride = 1;
  return p;
}

/// The first rule tensor `t` breaks under tensor parallelism, or none.
[[nodiscard]] constexpr plan_error check_tensor(const tensor_spec& t, std::uint32_t index,
                                                parallel_role role, std::uint32_t tp,
                                                std::uint64_t head_dim, const plan_options& o) {
  const int d = split_dim(role);
  if (d < 0) return {};
  if (static_cast<std::size_t>(d) >= t.rank)
    return {plan_rule::split_dim_exists, index, t.rank, tp};
  if (tp == 1) return {};
  const std::uint64_t head = detail::head_size_of(t, head_dim);
  if (detail::has_unequal_blocks(t)) {
    if (d != 0) return {plan_rule::unequal_blocks_split_rows, index, 0, tp};
    for (std::size_t b = 0; b < 3; ++b) {
      const std::uint64_t rows = t.blocks[b];
      if (rows == 0) continue;
      if (head != 0 && rows % head == 0) {
        if ((rows / head) % tp != 0)
          return {b == 0 ? plan_rule::tp_divides_heads : plan_rule::tp_divides_kv_heads, index,
                  rows / head, tp};
      } else if (rows % tp != 0) {
        return {plan_rule::tp_divides_fused_blocks, index, rows, tp};
      }
    }
    return {};
  }
  const std::uint64_t extent = t.shape[d];
  const std::uint64_t fused = t.fused == 0 ? 1 : t.fused;
  const std::uint64_t sub = extent / fused;
  if (fused > 1 && sub % tp != 0) return {plan_rule::tp_divides_fused_blocks, index, sub, tp};
  if (head != 0 && detail::is_attention_tensor(t) && sub % head == 0) {
    const std::uint64_t heads = sub / head;
    if (detail::is_kv_tensor(t)) {
      const bool replicated = o.replicate_kv_heads && heads < tp && tp % heads == 0;
      if (heads % tp != 0 && !replicated) return {plan_rule::tp_divides_kv_heads, index, heads, tp};
    } else if (heads % tp != 0) {
      return {plan_rule::tp_divides_heads, index, heads, tp};
    }
    return {};
  }
  if (sub % tp != 0 && !(fused == 1 && o.pad_vocab && d == 0 && detail::is_vocab_tensor(t)))
    return {plan_rule::tp_divides_split_dim, index, sub, tp};
  return {};
}

/// The plan's --head-dim (for attention tensors declared without a head size), else 0.
[[nodiscard]] constexpr std::uint64_t infer_head_dim(std::span<const placed_tensor>,
                                                     const plan_options& o) {
  return o.head_dim;
}

[[nodiscard]] constexpr std::uint32_t count_experts(std::span<const placed_tensor> tensors) {
  std::int32_t most = -1;
  for (const placed_tensor& t : tensors) most = std::max(most, t.spec.expert);
  return static_cast<std::uint32_t>(most + 1);
}

/// The first violated rule of (layout, mesh, options), or plan_rule::none.
template <class Layout>
[[nodiscard]] constexpr plan_error find_violation(const Layout& layout, const mesh& m,
                                                  const plan_options& o) {
  if (m.pp == 0 || m.dp == 0 || m.tp == 0 || m.ep == 0) return {plan_rule::mesh_axes_positive};
  if (m.dp % m.ep != 0) return {plan_rule::ep_divides_dp, no_tensor, m.dp, m.ep};
  if (m.world_size_64() > mesh::max_world_size)
    return {plan_rule::world_size_at_most_max, no_tensor, m.world_size_64(), mesh::max_world_size};
  const std::span<const placed_tensor> tensors = layout.tensors();
  std::uint32_t units = 0;
  for (const placed_tensor& t : tensors) units = std::max(units, t.spec.unit + 1);
  if (m.pp > units) return {plan_rule::pp_at_most_units, no_tensor, units, m.pp};
  if (o.stage_boundary_count != 0) {
    if (o.stage_boundary_count != m.pp - 1)
      return {plan_rule::stage_boundaries_increasing, no_tensor, o.stage_boundary_count, m.pp};
    std::uint32_t previous = 0;
    for (std::size_t i = 0; i < o.stage_boundary_count; ++i) {
      const std::uint32_t b = o.stage_boundaries[i];
      if (b <= previous || b >= units)
        return {plan_rule::stage_boundaries_increasing, no_tensor, b, m.pp};
      previous = b;
    }
  }
  const std::uint32_t experts = count_experts(tensors);
  if (m.ep > 1 && experts > 0 && experts % m.ep != 0)
    return {plan_rule::ep_divides_experts, no_tensor, experts, m.ep};
  const std::uint64_t head_dim = infer_head_dim(tensors, o);
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const tensor_spec& t = tensors[i].spec;
    const plan_error e =
        check_tensor(t, static_cast<std::uint32_t>(i), effective_role(t, o), m.tp, head_dim, o);
    if (e.rule != plan_rule::none) return e;
  }
  return {};
}

/// "tensor 'x' (shape [a, b], split_rows): <sentence> (value, degree)".
template <class Layout>
[[nodiscard]] std::string describe_violation(const Layout& layout, const plan_error& e) {
  std::string s;
  if (e.tensor != no_tensor) {
    const placed_tensor& t = layout.tensors()[e.tensor];
    s = "tensor '" + std::string(t.name()) + "' (shape [";
    for (std::size_t d = 0; d < t.spec.rank; ++d)
      s += (d ? ", " : "") + std::to_string(t.spec.shape[d]);
    s += "], role " + std::string(role_name(t.spec.role));
    if (t.spec.fused > 1) s += ", fused " + std::to_string(t.spec.fused);
    s += "): ";
  }
  const plan_rule_info& info = rule_info(e.rule);
  s += std::string(info.sentence);
  if (!info.value_label.empty()) {
    const std::string value = std::to_string(e.value), label(info.value_label);
    s += " (" + (info.label_first ? label + " " + value : value + " " + label) + ", " +
         std::string(info.degree_label) + " = " + std::to_string(e.degree) + ")";
  }
  return s;
}

/// Fails the plan: a compile error naming the rule in constant evaluation, otherwise
/// std::invalid_argument with describe_violation's text.
template <class Layout>
constexpr void report_violation(const Layout& layout, const plan_error& e) {
  if (std::is_constant_evaluated()) {
    switch (e.rule) {
      case plan_rule::none:
        return;
      case plan_rule::mesh_axes_positive:
        rule::every_mesh_axis_must_be_at_least_1();
        break;
      case plan_rule::ep_divides_dp:
        rule::expert_parallel_degree_must_divide_the_data_parallel_degree();
        break;
      case plan_rule::world_size_at_most_max:
        rule::a_mesh_has_at_most_2_to_the_24_ranks();
        break;
      case plan_rule::pp_at_most_units:
        rule::pipeline_parallel_degree_must_not_exceed_the_number_of_units();
        break;
      case plan_rule::stage_boundaries_increasing:
        rule::pipeline_stage_boundaries_must_be_strictly_increasing_unit_indices();
        break;
      case plan_rule::ep_divides_experts:
        rule::expert_parallel_degree_must_divide_the_number_of_experts();
        break;
      case plan_rule::split_dim_exists:
        rule::a_split_cols_tensor_must_have_at_least_two_dimensions();
        break;
      case plan_rule::tp_divides_fused_blocks:
        rule::tensor_parallel_degree_must_divide_each_fused_sub_block();
        break;
      case plan_rule::tp_divides_heads:
        rule::tensor_parallel_degree_must_divide_the_number_of_attention_heads();
        break;
      case plan_rule::tp_divides_kv_heads:
        rule::tensor_parallel_degree_must_divide_the_number_of_kv_heads_or_be_a_multiple_of_it();
        break;
      case plan_rule::tp_divides_split_dim:
        rule::tensor_parallel_degree_must_divide_the_split_dimension();
        break;
      case plan_rule::unequal_blocks_split_rows:
        rule::a_tensor_with_unequal_fused_sub_blocks_can_be_split_only_along_its_rows();
        break;
    }
  } else if (e.rule != plan_rule::none) {
    throw std::invalid_argument("shard plan: " + describe_violation(layout, e));
  }
}

}  // namespace blueprint
