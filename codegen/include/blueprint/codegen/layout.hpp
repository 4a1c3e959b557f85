// The memory layout of a whole model in one arena: every tensor's dtype, byte offset and size.
//
// `layout(model, policy)` is a constexpr function: the same code gives `static_assert`-able
// totals at compile time and the table the runtime allocates from. Offsets are aligned
// (default 256 bytes, what cudaMalloc guarantees and wide vector stores want). The result
// holds plain records only, so a runtime copy (`dynamic_layout`) is a vector of the same
// records, made by the same function.
#pragma once

#include <array>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <blueprint/dsl/model.hpp>
#include <blueprint/dsl/tensor_spec.hpp>
#include <blueprint/kernels/dtype.hpp>

#include "dtype_policy.hpp"
#include "init_scheme.hpp"

namespace blueprint {

struct layout_options {
  std::uint64_t alignment = 256;  // bytes; a power of two, 16 to 2^30
  init_scheme scheme = init_scheme::declared;
  init_stream stream = init_stream::v1;  // how normal values are drawn (init.hpp)
};

/// `alignment` as layout_options takes it. @throws std::invalid_argument naming the value
[[nodiscard]] inline std::uint64_t checked_alignment(std::uint64_t alignment) {
  // 16: the vector stores of the kernels; 2^30: beyond it an arena is mostly padding.
  if (alignment < 16 || alignment > (1ull << 30) || (alignment & (alignment - 1)) != 0)
    throw std::invalid_argument("alignment " + std::to_string(alignment) +
                                ": expected a power of two from 16 to 2^30 bytes");
  return alignment;
}

/// A tensor record with its place in the arena.
struct placed_tensor {
  tensor_spec spec;
  dtype type = dtype::f32;
  std::uint64_t offset = 0;  // bytes from the arena's start
  std::uint64_t bytes = 0;   // numel * dtype_size
  init_spec init{};          // concrete (schemes resolved)

  [[nodiscard]] constexpr std::string_view name() const { return spec.name(); }
  [[nodiscard]] constexpr std::span<const std::uint64_t> shape() const {
    return {spec.shape, spec.rank};
  }
  [[nodiscard]] constexpr std::uint64_t numel() const { return spec.numel; }
  [[nodiscard]] constexpr std::uint64_t id() const { return spec.id; }
  [[nodiscard]] constexpr parallel_role role() const { return spec.role; }
};
static_assert(std::is_standard_layout_v<placed_tensor> &&
              std::is_trivially_copyable_v<placed_tensor>);

[[nodiscard]] constexpr std::uint64_t align_up(std::uint64_t x, std::uint64_t a) {
  return (x + a - 1) / a * a;
}

/// Places `tensors` in order; returns the arena size.
/// @pre out.size() == tensors.size(); options.alignment is a power of two
/// @post out[i].offset % alignment == 0; regions are disjoint and in order
constexpr std::uint64_t place_tensors(std::span<const tensor_spec> tensors,
                                      const dtype_policy& policy, const layout_options& options,
                                      std::span<placed_tensor> out) {
  std::uint64_t offset = 0;
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    placed_tensor& p = out[i];
    p.spec = tensors[i];
    p.type = policy.resolve(tensors[i]);
    p.bytes = tensors[i].numel * dtype_size(p.type);
    p.offset = align_up(offset, options.alignment);
    p.init = resolve_init(tensors[i], options.scheme, options.stream);
    offset = p.offset + p.bytes;
  }
  return align_up(offset, options.alignment);
}

/// The layout: placed tensors, ties, totals. `Tensors` / `Ties` are std::array (compile time)
/// or std::vector (run time).
template <class Tensors, class Ties>
struct basic_layout {
  std::string_view model_name;
  Tensors entries{};
  Ties tie_entries{};
  dtype_policy policy{};
  layout_options options{};
  std::uint64_t arena_bytes = 0;
  std::uint64_t parameters = 0;
  std::uint32_t units = 0;

  [[nodiscard]] constexpr std::span<const placed_tensor> tensors() const { return entries; }
  [[nodiscard]] constexpr std::span<const tie_spec> ties() const { return tie_entries; }
  /// Arena bytes including alignment padding.
  [[nodiscard]] constexpr std::uint64_t total_bytes() const { return arena_bytes; }
  /// Bytes of the tensors themselves (no alignment padding).
  [[nodiscard]] constexpr std::uint64_t tensor_bytes() const {
    std::uint64_t sum = 0;
    for (const placed_tensor& t : entries) sum += t.bytes;
    return sum;
  }
  /// Elements of persistent tensors (what checkpoints hold), each tied tensor once.
  [[nodiscard]] constexpr std::uint64_t parameter_count() const { return parameters; }
  [[nodiscard]] constexpr std::size_t size() const { return entries.size(); }
  [[nodiscard]] constexpr std::uint32_t unit_count() const { return units; }

  /// Index of `name` (ties resolve to their target).
  [[nodiscard]] constexpr std::optional<std::size_t> find(std::string_view name) const {
    for (std::size_t i = 0; i < entries.size(); ++i)
      if (entries[i].name() == name) return i;
    for (const tie_spec& t : tie_entries)
      if (t.name() == name) return t.target;
    return std::nullopt;
  }
};

template <std::size_t N, std::size_t T>
using static_layout = basic_layout<std::array<placed_tensor, N>, std::array<tie_spec, T>>;
using dynamic_layout = basic_layout<std::vector<placed_tensor>, std::vector<tie_spec>>;

/// What the runtime materializes from: a static or dynamic layout (anything with the tensors,
/// the ties, the totals and what a checkpoint is matched against).
template <class L>
concept Layout = requires(const L& l) {
  { l.tensors() } -> std::convertible_to<std::span<const placed_tensor>>;
  { l.ties() } -> std::convertible_to<std::span<const tie_spec>>;
  { l.total_bytes() } -> std::convertible_to<std::uint64_t>;
  l.model_name;
  l.policy;
  l.options;
  l.units;
};

/// The same layout held in vectors: the run-time form every materialized model keeps.
template <class Tensors, class Ties>
[[nodiscard]] dynamic_layout to_dynamic(const basic_layout<Tensors, Ties>& l) {
  dynamic_layout d;
  d.model_name = l.model_name;
  d.entries.assign(l.tensors().begin(), l.tensors().end());
  d.tie_entries.assign(l.ties().begin(), l.ties().end());
  d.policy = l.policy;
  d.options = l.options;
  d.arena_bytes = l.arena_bytes;
  d.parameters = l.parameters;
  d.units = l.units;
  return d;
}

/// The layout of model `M` under `policy`, as a constant expression when its inputs are.
template <dsl::Model M>
[[nodiscard]] constexpr auto layout(const M&, const dtype_policy& policy = dtype_policy::f32(),
                                    const layout_options& options = {}) {
  static_layout<M::tensor_count, M::tie_count> result{};
  result.model_name = M::name();
  result.policy = policy;
  result.options = options;
  result.arena_bytes = place_tensors(M::tensors(), policy, options, result.entries);
  result.tie_entries = M::ties();
  result.parameters = M::parameter_count();
  result.units = M::unit_count();
  return result;
}

/// The same layout, held in vectors (for run-time model selection).
template <dsl::Model M>
[[nodiscard]] dynamic_layout dynamic_layout_of(const M&, const dtype_policy& policy,
                                               const layout_options& options = {}) {
  dynamic_layout result{};
  result.model_name = M::name();
  result.policy = policy;
  result.options = options;
  result.entries.resize(M::tensor_count);
  result.arena_bytes = place_tensors(M::tensors(), policy, options, result.entries);
  result.tie_entries.assign(M::ties().begin(), M::ties().end());
  result.parameters = M::parameter_count();
  result.units = M::unit_count();
  return result;
}

}  // namespace blueprint
