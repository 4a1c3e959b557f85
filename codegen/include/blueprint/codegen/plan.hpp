// The shard plan: which bytes of which tensors every rank of a mesh holds, as that rank's
// materialization program (DESIGN.md "Mesh and shard plans").
//
// `plan(model, policy, mesh, strategy)` is a constexpr function returning a `shard_plan` that
// holds only the layout, the mesh, the strategy and the options; every query — a rank's byte
// totals, the largest rank, a rank's program — walks the tensor records of that rank's
// pipeline stage once, per tensor record and never per element, by the same code at compile
// time (`static_assert(plan.max_rank_bytes() <= 80_GiB)`) and at run time (`plan.program(r)`).
//
// Order of application, per tensor: the pipeline stage of its unit decides which ranks hold it
// at all; an expert tensor is held only by the ep index its expert belongs to; tensor
// parallelism cuts the tp piece by role (each fused sub-block separately); the dp axis then
// replicates the piece (DDP), cuts its dim 0 in ceil(rows / DP) chunks padded with zero rows
// (FSDP2), or concatenates the unit's pieces, pads the flat buffer to a multiple of DP and
// hands each dp rank an equal byte range (ZeRO-3 / FSDP1). Every piece is one affine segment;
// a flat range of it is at most three.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string_view>
#include <type_traits>
#include <vector>

#include <blueprint/dsl/model.hpp>
#include <blueprint/kernels/segment.hpp>

#include "layout.hpp"
#include "mesh.hpp"
#include "plan_options.hpp"
#include "plan_rules.hpp"
#include "program.hpp"

namespace blueprint {

/// What one rank's arena holds, in bytes. @post arena_bytes == parameter_bytes + padding_bytes
/// + alignment_bytes
struct rank_summary {
  std::uint32_t rank = 0;
  mesh_coords coords{};
  std::uint64_t arena_bytes = 0;      // the one allocation of this rank
  std::uint64_t parameter_bytes = 0;  // tensor elements (replicas included)
  std::uint64_t padding_bytes = 0;    // shard padding: FSDP rows, ZeRO-3 flat tail, vocab rows
  std::uint64_t alignment_bytes = 0;  // gaps that keep every tensor / flat chunk aligned
  std::uint64_t counted_bytes = 0;    // parameter bytes this rank contributes to cross-rank sums
  std::uint64_t transient_bytes = 0;  // memory needed beyond the arena to materialize: none
  std::uint32_t tensors = 0;          // local tensors (or flat pieces)
  std::uint32_t segments = 0;
};

/// Peak bytes per rank needed to build the same sharded model in other ways, for comparison.
struct memory_report {
  std::uint64_t max_rank_bytes = 0;  // ours: the largest arena, nothing transient
  std::uint64_t min_rank_bytes = 0;
  std::uint64_t total_bytes = 0;  // all arenas together
  std::uint64_t max_padding_bytes = 0;
  std::uint64_t transient_bytes = 0;         // ours: 0
  std::uint64_t model_bytes = 0;             // the unsharded model in its target dtypes
  std::uint64_t model_f32_bytes = 0;         // the unsharded model in float32
  std::uint64_t largest_unit_f32_bytes = 0;  // one unit, tensor-parallel-local, float32
  // FSDP1 unit-by-unit materialization: the rank's shard plus one whole (tp-local) unit built
  // in float32 before it is flattened and sharded.
  std::uint64_t fsdp1_unit_peak = 0;
  // DeepSpeed-style broadcast init: rank 0 builds the whole model in float32 and broadcasts.
  std::uint64_t broadcast_root_peak = 0;
  // Every rank builds the whole model in float32, then keeps its shard.
  std::uint64_t full_model_peak = 0;
  std::uint64_t full_model_host_total = 0;  // summed over the ranks
};

namespace detail {

enum class pad_reason : std::uint8_t { alignment, shard };

// Collects a rank's program.
struct program_sink {
  program* out;
  std::vector<std::uint8_t>* counted;
  std::span<const placed_tensor> tensors;
  constexpr void data(const segment& s, bool c) {
    append_data_segment(out->segments, s, tensors);  // zero rows may split it
    if (counted) counted->resize(out->segments.size(), c ? 1 : 0);
  }
  constexpr void pad(std::uint64_t offset, std::uint64_t bytes, pad_reason) {
    if (bytes == 0) return;
    append_padding(out->segments, offset, bytes);
    if (counted) counted->push_back(0);
  }
  constexpr void tensor(const local_tensor& t) { out->tensors.push_back(t); }
};

// Sums a rank's bytes without building anything.
struct summary_sink {
  rank_summary* out;
  constexpr void data(const segment& s, bool c) {
    out->parameter_bytes += s.bytes();
    if (c) out->counted_bytes += s.bytes();
    ++out->segments;
  }
  constexpr void pad(std::uint64_t, std::uint64_t bytes, pad_reason why) {
    if (bytes == 0) return;
    (why == pad_reason::shard ? out->padding_bytes : out->alignment_bytes) += bytes;
    ++out->segments;
  }
  constexpr void tensor(const local_tensor&) { ++out->tensors; }
};

}  // namespace detail

/// A shard plan over `Layout` (static_layout at compile time, dynamic_layout at run time).
template <class Layout>
class shard_plan {
 public:
  struct unchecked_t {};

  /// @throws std::invalid_argument (run time) / fails to compile (constant evaluation) when a
  /// validity rule is broken; the message names the rule and the tensor.
  constexpr shard_plan(Layout layout, mesh m, strategy s, plan_options o = {})
      : layout_(std::move(layout)), mesh_(m), strategy_(s), options_(o) {
    report_violation(layout_, find_violation(layout_, mesh_, options_));
  }
  constexpr shard_plan(unchecked_t, Layout layout, mesh m, strategy s, plan_options o = {})
      : layout_(std::move(layout)), mesh_(m), strategy_(s), options_(o) {}

  [[nodiscard]] constexpr const Layout& layout() const { return layout_; }
  [[nodiscard]] constexpr const blueprint::mesh& device_mesh() const { return mesh_; }
  [[nodiscard]] constexpr blueprint::strategy sharding() const { return strategy_; }
  [[nodiscard]] constexpr const plan_options& options() const { return options_; }
  [[nodiscard]] constexpr std::uint32_t world_size() const { return mesh_.world_size(); }

  /// Facts shared by all ranks (stage table, roles, ...): compute once when asking for many.
  [[nodiscard]] constexpr plan_context context() const {
    plan_context c;
    const auto tensors = layout_.tensors();
    const std::size_t n = tensors.size();
    for (const placed_tensor& t : tensors) c.units = std::max(c.units, t.spec.unit + 1);
    c.unit_begin.assign(c.units + 1, 0);
    for (const placed_tensor& t : tensors) ++c.unit_begin[t.spec.unit + 1];
    for (std::uint32_t u = 0; u < c.units; ++u) c.unit_begin[u + 1] += c.unit_begin[u];
    c.order.assign(n, 0);
    std::vector<std::uint32_t> fill(c.unit_begin.begin(), c.unit_begin.end() - 1);
    for (std::size_t i = 0; i < n; ++i)
      c.order[fill[tensors[i].spec.unit]++] = static_cast<std::uint32_t>(i);
    c.roles.resize(
        n, parallel_role{});  // with a value: libstdc++ 12's resize(n) is not constexpr under clang
    for (std::size_t i = 0; i < n; ++i) c.roles[i] = effective_role(tensors[i].spec, options_);
    c.experts = count_experts(tensors);
    c.head_dim = infer_head_dim(tensors, options_);
    c.stage_begin = stage_table(c);
    return c;
  }

  /// First unit of every pipeline stage, and the unit count last (pp + 1 entries).
  [[nodiscard]] constexpr std::vector<std::uint32_t> stages() const {
    return context().stage_begin;
  }

  /// The TP piece of tensor `i` on tp index `tp_index` (before the dp axis).
  [[nodiscard]] constexpr tp_piece piece(const plan_context& c, std::size_t i,
                                         std::uint32_t tp_index) const {
    return tp_piece_of(layout_.tensors()[i].spec, c.roles[i], mesh_.tp, tp_index, c.head_dim,
                       options_);
  }

  /// Whether rank `coords` holds expert tensor `t` at all (non-experts: always).
  [[nodiscard]] constexpr bool holds(const plan_context& c, const tensor_spec& t,
                                     const mesh_coords& at) const {
    if (t.expert < 0 || mesh_.ep == 1 || c.experts == 0) return true;
    return static_cast<std::uint32_t>(t.expert) / (c.experts / mesh_.ep) == at.ep;
  }

  /// Walks rank `rank`'s arena in order, handing data segments, padding and local tensor
  /// records to `sink`; returns the arena size.
  template <class Sink>
  constexpr std::uint64_t walk(const plan_context& c, std::uint32_t rank, Sink& sink) const {
    const mesh_coords at = mesh_.coords(rank);
    const auto tensors = layout_.tensors();
    const std::uint64_t alignment = layout_.options.alignment;
    std::uint64_t cursor = 0;
    const auto align = [&] {
      const std::uint64_t a = align_up(cursor, alignment);
      sink.pad(cursor, a - cursor, detail::pad_reason::alignment);
      cursor = a;
    };
    for (std::uint32_t u = c.stage_begin[at.pp]; u < c.stage_begin[at.pp + 1]; ++u) {
      const std::uint32_t first = c.unit_begin[u], last = c.unit_begin[u + 1];
      if (strategy_.dp == dp_mode::zero3) {
        for (int expert_group = 0; expert_group < 2; ++expert_group)
          walk_flat_unit(c, at, first, last, expert_group == 1, cursor, align, sink);
        continue;
      }
      for (std::uint32_t j = first; j < last; ++j) {
        const std::uint32_t i = c.order[j];
        const placed_tensor& t = tensors[i];
        if (!holds(c, t.spec, at)) continue;
        const tp_piece p = piece(c, i, at.tp);
        const std::uint64_t size = dtype_size(t.type);
        const bool expert_group = t.spec.expert >= 0 && mesh_.ep > 1;
        const std::uint32_t group = expert_group ? mesh_.expert_dp() : mesh_.dp;
        const std::uint32_t index = expert_group ? at.edp : at.dp;
        align();
        local_tensor l{};
        l.tensor_index = i;
        l.offset = cursor;
        l.type = t.type;
        l.rank = p.rank;
        for (std::size_t d = 0; d < p.rank; ++d) l.shape[d] = p.shape[d];
        std::uint64_t lo = 0, hi = p.numel, length = p.numel;
        if (strategy_.dp == dp_mode::fsdp) {
          const std::uint64_t rows = p.rank == 0 ? 1 : p.shape[0];
          const std::uint64_t width = rows == 0 ? 0 : p.numel / rows;
          const std::uint64_t chunk = detail::ceil_div(rows, group);
          const std::uint64_t row_lo = std::min(rows, index * chunk);
          const std::uint64_t row_hi = std::min(rows, (index + 1) * chunk);
          lo = row_lo * width;
          hi = row_hi * width;
          length = chunk * width;
          if (p.rank == 0) l.rank = 1;
          l.shape[0] = chunk;
        }
        const bool counted = p.counted && (strategy_.dp != dp_mode::replicate || index == 0);
        l.bytes = length * size;
        l.global_begin = lo < p.valid ? segment_global(p, lo) : 0;
        emit_range(p, t, i, lo, hi, cursor, counted, sink);
        sink.pad(cursor + (hi - lo) * size, (length - (hi - lo)) * size, detail::pad_reason::shard);
        sink.tensor(l);
        cursor += length * size;
      }
    }
    align();
    return cursor;
  }

  /// Byte totals of one rank. @pre rank < world_size()
  [[nodiscard]] constexpr rank_summary summary(const plan_context& c, std::uint32_t rank) const {
    rank_summary s;
    s.rank = rank;
    s.coords = mesh_.coords(rank);
    detail::summary_sink sink{&s};
    s.arena_bytes = walk(c, rank, sink);
    return s;
  }
  [[nodiscard]] constexpr rank_summary summary(std::uint32_t rank) const {
    return summary(context(), rank);
  }
  /// Every rank's totals, in rank order.
  [[nodiscard]] constexpr std::vector<rank_summary> summaries() const {
    const plan_context c = context();
    std::vector<rank_summary> all;
    for (std::uint32_t r = 0; r < world_size(); ++r) all.push_back(summary(c, r));
    return all;
  }

  /// The rank whose arena has the same size as `rank`'s: tp index 0, dp index = its ep index.
  /// A rank's arena size depends only on its pipeline stage and its ep index (tp pieces have
  /// the same shape on every tp rank, dp chunks the same length on every dp rank), so the
  /// whole-mesh totals below walk pp x ep ranks, not the world: that keeps
  /// `static_assert(plan.max_rank_bytes() <= ...)` within the compiler's constexpr limits for
  /// hundreds of ranks. The unit tests check the property rank by rank.
  [[nodiscard]] constexpr std::uint32_t representative(std::uint32_t rank) const {
    const mesh_coords at = mesh_.coords(rank);
    return mesh_.rank_of(at.pp, at.ep, 0);
  }

  /// The largest arena of any rank (what must fit one device).
  [[nodiscard]] constexpr std::uint64_t max_rank_bytes() const {
    const plan_context c = context();
    std::uint64_t most = 0;
    for (std::uint32_t s = 0; s < mesh_.pp; ++s)
      for (std::uint32_t e = 0; e < mesh_.ep; ++e)
        most = std::max(most, summary(c, mesh_.rank_of(s, e, 0)).arena_bytes);
    return most;
  }
  /// All arenas together.
  [[nodiscard]] constexpr std::uint64_t total_bytes() const {
    const plan_context c = context();
    std::uint64_t sum = 0;
    for (std::uint32_t s = 0; s < mesh_.pp; ++s)
      for (std::uint32_t e = 0; e < mesh_.ep; ++e)
        sum += summary(c, mesh_.rank_of(s, e, 0)).arena_bytes * (mesh_.dp / mesh_.ep) * mesh_.tp;
    return sum;
  }
  /// Rank `rank`'s arena size.
  [[nodiscard]] constexpr std::uint64_t rank_bytes(std::uint32_t rank) const {
    return summary(representative(rank)).arena_bytes;
  }

  /// Rank `rank`'s materialization program.
  /// @post segments sorted by arena_offset, disjoint, covering [0, arena_bytes); padding
  /// segments are zeros; tensors holds one record per local tensor or flat piece
  [[nodiscard]] constexpr ::blueprint::program program(std::uint32_t rank) const {
    return program(context(), rank);
  }
  [[nodiscard]] constexpr ::blueprint::program program(const plan_context& c,
                                                       std::uint32_t rank) const {
    ::blueprint::program p;
    detail::program_sink sink{&p, nullptr, layout_.tensors()};
    p.arena_bytes = walk(c, rank, sink);
    return p;
  }
  /// The program, with one flag per segment: 1 when the segment's elements count in a sum over
  /// ranks (the first replica of each piece: dp index 0 under DDP, tp index 0 for replicated
  /// tensors, the first rank of a replicated kv head); 0 for replicas and padding.
  [[nodiscard]] constexpr ::blueprint::program program(const plan_context& c, std::uint32_t rank,
                                                       std::vector<std::uint8_t>& counted) const {
    ::blueprint::program p;
    counted.clear();
    detail::program_sink sink{&p, &counted, layout_.tensors()};
    p.arena_bytes = walk(c, rank, sink);
    return p;
  }
  /// Only the segments that count in a cross-rank sum (see above), for fingerprints.
  [[nodiscard]] constexpr ::blueprint::program counted_program(std::uint32_t rank) const {
    std::vector<std::uint8_t> counted;
    ::blueprint::program all = program(context(), rank, counted);
    ::blueprint::program p;
    p.arena_bytes = all.arena_bytes;
    p.tensors = all.tensors;
    for (std::size_t k = 0; k < all.segments.size(); ++k)
      if (counted[k]) p.segments.push_back(all.segments[k]);
    return p;
  }

  /// Memory needed per rank, ours and the alternatives' (see memory_report).
  [[nodiscard]] constexpr memory_report report() const {
    const plan_context c = context();
    memory_report m;
    m.min_rank_bytes = ~std::uint64_t{0};
    for (std::uint32_t r = 0; r < world_size(); ++r) {
      const rank_summary s = summary(c, r);
      m.max_rank_bytes = std::max(m.max_rank_bytes, s.arena_bytes);
      m.min_rank_bytes = std::min(m.min_rank_bytes, s.arena_bytes);
      m.max_padding_bytes = std::max(m.max_padding_bytes, s.padding_bytes);
      m.total_bytes += s.arena_bytes;
    }
    const auto tensors = layout_.tensors();
    for (const placed_tensor& t : tensors) {
      m.model_bytes += t.bytes;
      m.model_f32_bytes += t.spec.numel * 4;
    }
    for (std::uint32_t u = 0; u < c.units; ++u) {
      std::uint64_t unit = 0;
      for (std::uint32_t j = c.unit_begin[u]; j < c.unit_begin[u + 1]; ++j)
        unit += piece(c, c.order[j], 0).numel * 4;
      m.largest_unit_f32_bytes = std::max(m.largest_unit_f32_bytes, unit);
    }
    m.fsdp1_unit_peak = m.max_rank_bytes + m.largest_unit_f32_bytes;
    m.broadcast_root_peak = m.max_rank_bytes + m.model_f32_bytes;
    m.full_model_peak = m.max_rank_bytes + m.model_f32_bytes;
    m.full_model_host_total = m.full_model_peak * world_size();
    return m;
  }

 private:
  Layout layout_;
  blueprint::mesh mesh_;
  blueprint::strategy strategy_;
  plan_options options_;

  [[nodiscard]] static constexpr std::uint64_t segment_global(const tp_piece& p, std::uint64_t k) {
    return p.global_index(k);
  }

  // Local elements [lo, hi) of piece p, written at arena byte `offset`: the data part as at
  // most three affine segments (partial run, whole runs, partial run), the vocab padding part
  // as zeros.
  template <class Sink>
  constexpr void emit_range(const tp_piece& p, const placed_tensor& t, std::uint32_t index,
                            std::uint64_t lo, std::uint64_t hi, std::uint64_t offset, bool counted,
                            Sink& sink) const {
    const std::uint64_t size = dtype_size(t.type);
    const std::uint64_t data_hi = std::min(hi, p.valid);
    std::uint64_t k = lo;
    while (k < data_hi) {
      const std::size_t j = p.part_of(k);
      const tp_part& part = p.parts[j];
      const std::uint64_t end = std::min(data_hi, p.part_end(j));
      const std::uint64_t r = k - part.begin;  // within the part
      segment s{};
      s.arena_offset = offset + (k - lo) * size;
      s.tensor_id = t.id();
      s.init = t.init;
      s.type = t.type;
      s.tensor_index = index;
      const std::uint64_t within = r % part.run;
      if (within != 0 || end - k < part.run) {
        s.count = std::min(part.run - within, end - k);
        s.base = part.base + (r / part.run) * part.stride + within;
        s.run = s.stride = s.count;
      } else {
        s.count = (end - k) / part.run * part.run;
        s.base = part.base + (r / part.run) * part.stride;
        s.run = part.run;
        s.stride = part.stride;
      }
      sink.data(s, counted);
      k += s.count;
    }
    const std::uint64_t pad_lo = std::max(lo, std::min(hi, p.valid));
    sink.pad(offset + (pad_lo - lo) * size, (hi - pad_lo) * size, detail::pad_reason::shard);
  }

  // ZeRO-3 / FSDP1: the unit's pieces (dense ones, or with ep > 1 the expert ones, which have
  // their own flat buffer over the expert-data-parallel group), each at an offset aligned to
  // its dtype, the whole padded to a multiple of group x the widest dtype; this rank holds the
  // index-th of `group` equal byte ranges.
  template <class Align, class Sink>
  constexpr void walk_flat_unit(const plan_context& c, const mesh_coords& at, std::uint32_t first,
                                std::uint32_t last, bool experts, std::uint64_t& cursor,
                                const Align& align, Sink& sink) const {
    const auto tensors = layout_.tensors();
    const auto member = [&](std::uint32_t i) {
      const tensor_spec& s = tensors[i].spec;
      return ((s.expert >= 0 && mesh_.ep > 1) == experts) && holds(c, s, at);
    };
    std::uint64_t flat = 0, widest = 0;
    for (std::uint32_t j = first; j < last; ++j) {
      const std::uint32_t i = c.order[j];
      if (!member(i)) continue;
      const std::uint64_t size = dtype_size(tensors[i].type);
      flat = align_up(flat, size) + piece(c, i, at.tp).numel * size;
      widest = std::max(widest, size);
    }
    if (widest == 0) return;
    const std::uint32_t group = experts ? mesh_.expert_dp() : mesh_.dp;
    const std::uint32_t index = experts ? at.edp : at.dp;
    const std::uint64_t chunk = align_up(flat, group * widest) / group;
    const std::uint64_t chunk_lo = index * chunk, chunk_hi = chunk_lo + chunk;
    align();
    const std::uint64_t start = cursor;
    std::uint64_t written = chunk_lo;  // flat bytes of the chunk emitted so far
    std::uint64_t offset = 0;
    for (std::uint32_t j = first; j < last && offset < chunk_hi; ++j) {
      const std::uint32_t i = c.order[j];
      if (!member(i)) continue;
      const placed_tensor& t = tensors[i];
      const std::uint64_t size = dtype_size(t.type);
      const tp_piece p = piece(c, i, at.tp);
      offset = align_up(offset, size);
      const std::uint64_t piece_lo = offset, piece_hi = offset + p.numel * size;
      offset = piece_hi;
      const std::uint64_t lo = std::max(piece_lo, chunk_lo), hi = std::min(piece_hi, chunk_hi);
      if (lo >= hi) continue;
      sink.pad(start + (written - chunk_lo), lo - written, detail::pad_reason::shard);
      const std::uint64_t k_lo = (lo - piece_lo) / size, k_hi = (hi - piece_lo) / size;
      emit_range(p, t, i, k_lo, k_hi, start + (lo - chunk_lo), p.counted, sink);
      local_tensor l{};
      l.tensor_index = i;
      l.offset = start + (lo - chunk_lo);
      l.bytes = hi - lo;
      l.rank = 1;
      l.shape[0] = k_hi - k_lo;
      l.type = t.type;
      l.global_begin = k_lo < p.valid ? segment_global(p, k_lo) : 0;
      sink.tensor(l);
      written = hi;
    }
    sink.pad(start + (written - chunk_lo), chunk_hi - written, detail::pad_reason::shard);
    cursor = start + chunk;
  }

  // Contiguous units per stage: the given boundaries, or the partition that minimizes the
  // largest stage's (unsharded) bytes, every stage non-empty.
  [[nodiscard]] constexpr std::vector<std::uint32_t> stage_table(const plan_context& c) const {
    std::vector<std::uint32_t> begin(mesh_.pp + 1, 0);
    begin[mesh_.pp] = c.units;
    if (options_.stage_boundary_count != 0 || mesh_.pp == 1) {
      for (std::size_t s = 1; s < mesh_.pp; ++s) begin[s] = options_.stage_boundaries[s - 1];
      return begin;
    }
    std::vector<std::uint64_t> unit_bytes(c.units, 0);
    const auto tensors = layout_.tensors();
    for (const placed_tensor& t : tensors) unit_bytes[t.spec.unit] += t.bytes;
    const auto stages_needed = [&](std::uint64_t capacity) {
      std::uint32_t stages = 1;
      std::uint64_t acc = 0;
      for (std::uint64_t b : unit_bytes) {
        if (acc + b > capacity && acc > 0) {
          ++stages;
          acc = 0;
        }
        acc += b;
      }
      return stages;
    };
    std::uint64_t lo = 0, hi = 0;
    for (std::uint64_t b : unit_bytes) {
      lo = std::max(lo, b);
      hi += b;
    }
    while (lo < hi) {
      const std::uint64_t mid = lo + (hi - lo) / 2;
      if (stages_needed(mid) <= mesh_.pp)
        hi = mid;
      else
        lo = mid + 1;
    }
    std::uint32_t s = 0;
    std::uint64_t acc = 0;
    for (std::uint32_t u = 0; u < c.units; ++u) {
      const std::uint32_t stages_left = mesh_.pp - 1 - s;
      if (s + 1 < mesh_.pp && u > begin[s] &&
          (acc + unit_bytes[u] > lo || c.units - u == stages_left)) {
        begin[++s] = u;
        acc = 0;
      }
      acc += unit_bytes[u];
    }
    return begin;
  }
};

/// The plan of model `M` (a constant expression when the arguments are).
template <dsl::Model M>
[[nodiscard]] constexpr auto plan(const M& model, const dtype_policy& policy, const mesh& m,
                                  const strategy& s, const plan_options& o = {},
                                  const layout_options& lo = {}) {
  return shard_plan<decltype(layout(model, policy, lo))>(layout(model, policy, lo), m, s, o);
}
/// The plan of an existing layout (e.g. a dynamic_layout chosen at run time).
template <class Tensors, class Ties>
[[nodiscard]] constexpr auto plan(const basic_layout<Tensors, Ties>& l, const mesh& m,
                                  const strategy& s, const plan_options& o = {}) {
  return shard_plan<basic_layout<Tensors, Ties>>(l, m, s, o);
}

/// One rank's program straight from (layout, mesh, strategy, rank): what a materializer or
/// the `init` command calls. @throws std::invalid_argument when a validity rule is broken.
template <class Layout>
[[nodiscard]] ::blueprint::program shard_program(const Layout& l, const mesh& m, const strategy& s,
                                                 std::uint32_t rank, const plan_options& o = {}) {
  if (rank >= m.world_size())
    throw std::invalid_argument("shard plan: rank " + std::to_string(rank) +
                                " is outside the mesh of " + std::to_string(m.world_size()) +
                                " ranks");
  return plan(l, m, s, o).program(rank);
}

// ---- static plans: validity as static_asserts ----------------------------------------------

/// A plan whose mesh and strategy are template arguments: a broken rule is a static_assert.
template <class M, mesh Mesh, strategy Strategy, dtype_policy Policy = dtype_policy::f32(),
          plan_options Options = plan_options{}>
struct static_plan {
  static constexpr auto layout_value = layout(M{}, Policy);
  static constexpr plan_error violation = find_violation(layout_value, Mesh, Options);
  static constexpr tensor_name offending = [] {
    tensor_name n{};
    if (violation.tensor != no_tensor) n = layout_value.entries[violation.tensor].spec.name_storage;
    return n;
  }();
  static_assert(plan_rule_check<offending, violation.rule>::value);
  static constexpr shard_plan<std::remove_const_t<decltype(layout_value)>> value{
      typename shard_plan<std::remove_const_t<decltype(layout_value)>>::unchecked_t{}, layout_value,
      Mesh, Strategy, Options};
};

}  // namespace blueprint
