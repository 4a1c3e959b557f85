// Materializing a model on the CPU: one arena, one pass, the target dtype, every core.
//
//   auto model = blueprint::materialize(layout, blueprint::cpu{}, {.source = blueprint::init{.seed
//   = 7}}); auto shard = blueprint::materialize(plan, rank, blueprint::cpu{},
//                                       {.source = blueprint::checkpoint{.path = "ckpt/"}});
//   blueprint::tensor_view w = model["model.layers.0.self_attn.q_proj.weight"];
//   std::uint64_t fp = blueprint::fingerprint(shard, comm);  // the whole model's
//
// One entry per target (this file: `cpu`; cuda.hpp: `cuda`), the source an option
// (source.hpp). The arena is allocated once (arena.hpp); the program (the whole model, or one
// rank's shard of a plan) is cut into chunks that threads pull from a counter (work_split.hpp);
// each chunk computes, casts and stores its elements directly in the arena (kernels/fill.hpp),
// or the load program (load.hpp) reads them from the checkpoint. No float32 copy of anything
// exists at any time, and the bytes do not depend on the thread count or on how the program is
// cut. `{.poison = true}` proves that every byte was written (poison.hpp).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <blueprint/codegen/device_map.hpp>
#include <blueprint/codegen/layout.hpp>
#include <blueprint/codegen/plan.hpp>
#include <blueprint/codegen/program.hpp>
#include <blueprint/kernels/fill.hpp>

#include "arena.hpp"
#include "arena_index.hpp"
#include "communicator.hpp"
#include "key_match.hpp"
#include "load.hpp"
#include "poison.hpp"
#include "source.hpp"
#include "tensor_view.hpp"
#include "work_split.hpp"

namespace blueprint {

/// The host CPU as the materialization target.
struct cpu {
  static constexpr device_tier map_tier = device_tier::cpu;  // a device map's host tier
  unsigned threads = 0;                                      // 0: one per hardware thread
};

/// How to materialize, for every target. huge_pages and populate concern host memory.
struct materialize_options {
  blueprint::model_source source = init{};  // init{.seed}, checkpoint{.path, ...} or no_init{}
  bool poison = false;     // fill with 0xFF first, then prove every byte was written
  bool huge_pages = true;  // ask for transparent huge pages (fewer page faults)
  bool populate = false;   // pre-fault the arena in the allocation (MAP_POPULATE)
};

namespace detail {

inline double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

/// memset of [0, bytes) split across threads (first touch of the pages happens in parallel).
inline void parallel_memset(std::byte* data, int value, std::uint64_t bytes, unsigned threads) {
  constexpr std::uint64_t piece = 8u << 20;
  std::vector<work_chunk> chunks;
  for (std::uint64_t b = 0; b < bytes; b += piece)
    chunks.push_back({0, b, std::min(bytes, b + piece)});
  run_chunks(chunks, threads, [&](const work_chunk& c, unsigned) {
    std::memset(data + c.k_begin, value, static_cast<std::size_t>(c.k_end - c.k_begin));
  });
}

}  // namespace detail

/// Runs the init program `prog` into `arena` (at least prog.arena_bytes bytes) on
/// `target.threads` threads: every element of every segment computed, cast and stored once.
/// The bytes do not depend on the thread count. Use it to re-initialize an existing arena.
/// @pre validate_program(tensors, prog) passed; arena.size() >= prog.arena_bytes
inline void run_init_program(const program& prog, std::uint64_t seed, std::span<std::byte> arena,
                             cpu target = {}) {
  if (arena.size() < prog.arena_bytes)
    throw std::invalid_argument("run_init_program: the arena holds " +
                                std::to_string(arena.size()) + " bytes, the program needs " +
                                std::to_string(prog.arena_bytes));
  const unsigned threads = resolve_threads(target.threads);
  const std::vector<work_chunk> chunks = split_work(prog.segments, threads);
  std::byte* const base = arena.data();
  run_chunks(chunks, threads, [&](const work_chunk& c, unsigned) {
    fill_segment_range(prog.segments[c.segment], seed, c.k_begin, c.k_end, base);
  });
}

/// A model (or one rank's part of it) living in one host arena. Move-only; views handed out stay
/// valid while it lives, also across moves. Made by materialize().
class materialized_model {
 public:
  materialized_model(materialized_model&&) noexcept = default;
  materialized_model& operator=(materialized_model&&) noexcept = default;
  materialized_model(const materialized_model&) = delete;
  materialized_model& operator=(const materialized_model&) = delete;

  /// The tensor called `name` (a tied name resolves to the stored tensor; the view's name is the
  /// stored tensor's). @throws tensor_not_found (arena_index::find)
  [[nodiscard]] tensor_view operator[](std::string_view name) const {
    return view_of(index_.find(name));
  }
  /// True if operator[] would succeed.
  [[nodiscard]] bool contains(std::string_view name) const { return index_.contains(name); }
  /// Every tensor (or piece) this arena holds, in program order.
  [[nodiscard]] std::vector<tensor_view> tensors() const {
    std::vector<tensor_view> out;
    out.reserve(program().tensors.size());
    for (const local_tensor& t : program().tensors) out.push_back(view_of(t));
    return out;
  }

  [[nodiscard]] std::span<std::byte> arena() { return arena_.bytes(); }
  [[nodiscard]] std::span<const std::byte> arena() const { return arena_.bytes(); }

  /// This arena's contribution to the whole model's fingerprint: the sum (mod 2^64) of
  /// element_fingerprint(tensor id, global index, stored bits) over the elements of its
  /// counted program (replicas of a plan counted once; padding adds nothing), computed from the
  /// bytes now in the arena, in parallel. The free function fingerprint(m[, comm]) is the
  /// documented way in.
  [[nodiscard]] std::uint64_t fingerprint() const { return fingerprint(threads_); }
  /// The same on `threads` threads (the value does not depend on it).
  [[nodiscard]] std::uint64_t fingerprint(unsigned threads) const {
    threads = resolve_threads(threads);
    const std::vector<segment>& segments = index_.counted_program().segments;
    const std::vector<work_chunk> chunks = split_work(segments, threads);
    std::vector<std::uint64_t> partial(threads, 0);
    const std::byte* const base = arena_.data();
    run_chunks(chunks, threads, [&](const work_chunk& c, unsigned w) {
      partial[w] += segment_fingerprint(segments[c.segment], c.k_begin, c.k_end, base);
    });
    std::uint64_t sum = 0;
    for (std::uint64_t p : partial) sum += p;
    return sum;
  }

  /// Re-runs the poison content check on the current bytes (e.g. after a load into a poisoned
  /// `no_init` arena, where every byte must have been overwritten).
  void verify_coverage() const {
    check_coverage(layout().tensors(), program());
    verify_poisoned_arena(layout().tensors(), program(), seed_, arena_.data(), threads_);
  }

  [[nodiscard]] const arena_index& index() const { return index_; }
  [[nodiscard]] const blueprint::program& program() const { return index_.program(); }
  [[nodiscard]] const dynamic_layout& layout() const { return index_.layout(); }
  /// The init seed: what a fresh init used, and what a reload gives missing tensors.
  [[nodiscard]] std::uint64_t seed() const { return seed_; }
  [[nodiscard]] unsigned threads() const { return threads_; }
  [[nodiscard]] std::uint64_t bytes() const { return arena_.size(); }
  /// Seconds spent in the allocation (mmap, and the kernel's pre-faulting if `populate`).
  [[nodiscard]] double alloc_seconds() const { return alloc_seconds_; }
  /// Seconds spent filling the arena (init or load; page faults of fresh memory included).
  [[nodiscard]] double init_seconds() const { return init_seconds_; }
  /// Seconds spent writing the poison pattern and verifying (0 without poison).
  [[nodiscard]] double poison_seconds() const { return poison_seconds_; }
  [[nodiscard]] double verify_seconds() const { return verify_seconds_; }

  /// The report of the checkpoint load that filled this arena; null for an init.
  [[nodiscard]] const blueprint::load_report* load_report() const {
    return report_ ? &*report_ : nullptr;
  }

 private:
  friend materialized_model materialize_on_cpu(arena_index, cpu, const materialize_options&,
                                               arena_options);
  friend class mapped_model;

  materialized_model(arena_index index, unsigned threads, std::uint64_t seed)
      : index_(std::move(index)), threads_(threads), seed_(seed) {}

  [[nodiscard]] tensor_view view_of(const local_tensor& t) const {
    return {index_.name_of(t),
            {t.shape, t.rank},
            t.type,
            const_cast<std::byte*>(arena_.data()) + t.offset,
            t.bytes};
  }

  arena_index index_;
  blueprint::arena arena_;
  std::optional<blueprint::load_report> report_;
  unsigned threads_ = 1;
  std::uint64_t seed_ = 0;
  double alloc_seconds_ = 0, init_seconds_ = 0, poison_seconds_ = 0, verify_seconds_ = 0;
};

/// The common path of every CPU materialize: the checkpoint's headers, index and keys are
/// validated before the arena is allocated; then allocate, poison, fill (init or load), verify.
/// `backing`: where the arena lives (anonymous memory by default; a file region for a device
/// map's disk tier).
inline materialized_model materialize_on_cpu(arena_index index, cpu target,
                                             const materialize_options& options,
                                             arena_options backing = {}) {
  std::optional<matched_checkpoint> matched;
  const auto* source = std::get_if<checkpoint>(&options.source);
  if (source != nullptr) matched = match_checkpoint(index.layout(), *source);

  materialized_model m(std::move(index), resolve_threads(target.threads), seed_of(options.source));
  auto t0 = std::chrono::steady_clock::now();
  const std::uint64_t bytes = m.program().arena_bytes;
  backing.huge_pages = options.huge_pages;
  backing.populate = options.populate;
  m.arena_ = blueprint::arena(bytes, backing);
  m.alloc_seconds_ = detail::seconds_since(t0);
  if (options.poison) {
    t0 = std::chrono::steady_clock::now();
    detail::parallel_memset(m.arena_.data(), 0xFF, bytes, m.threads_);
    m.poison_seconds_ = detail::seconds_since(t0);
  }
  t0 = std::chrono::steady_clock::now();
  if (source != nullptr) {
    checkpoint load = *source;
    load.seed = m.seed_;
    if (load.threads == 0) load.threads = std::min(m.threads_, 8u);
    m.report_ = load_arena(m.layout(), m.program(), m.arena(), *matched->files,
                           std::move(matched->match), load);
  } else if (std::holds_alternative<init>(options.source)) {
    run_init_program(m.program(), m.seed_, m.arena(), cpu{m.threads_});
  } else {
    return m;  // no_init: the arena reads zero (and 0xFF under poison: nothing to verify)
  }
  m.init_seconds_ = detail::seconds_since(t0);
  if (options.poison) {
    t0 = std::chrono::steady_clock::now();
    m.verify_coverage();
    m.verify_seconds_ = detail::seconds_since(t0);
  }
  return m;
}

/// The whole model of `layout` on the CPU.
/// @throws checkpoint_error / checkpoint_key_error (before allocating) for a checkpoint source;
///         arena_allocation_error when the memory cannot be had; poison_error when poison mode
///         finds an unwritten byte
template <Layout L>
[[nodiscard]] materialized_model materialize(const L& layout, cpu target = {},
                                             const materialize_options& options = {}) {
  program prog = program_of(layout);
  program counted = prog;
  return materialize_on_cpu(arena_index(to_dynamic(layout), std::move(prog), std::move(counted)),
                            target, options);
}

/// Rank `rank`'s shard of `plan` on the CPU: it allocates exactly plan.rank_bytes(rank) and
/// writes (or reads from the checkpoint) only its own elements.
/// @throws std::invalid_argument when rank is outside the mesh; as the overload above
template <class L>
[[nodiscard]] materialized_model materialize(const shard_plan<L>& plan, std::uint32_t rank,
                                             cpu target = {},
                                             const materialize_options& options = {}) {
  if (rank >= plan.world_size())
    throw std::invalid_argument("materialize: rank " + std::to_string(rank) +
                                " is outside the mesh of " + std::to_string(plan.world_size()) +
                                " ranks");
  return materialize_on_cpu(
      arena_index(to_dynamic(plan.layout()), plan.program(rank), plan.counted_program(rank)),
      target, options);
}

/// An explicit program over `layout` (a program cut by hand, or built elsewhere); all of it
/// counts toward the fingerprint.
/// @pre prog was made from `layout` (tensor_index refers to layout.tensors())
template <Layout L>
[[nodiscard]] materialized_model materialize(const L& layout, program prog, cpu target,
                                             const materialize_options& options = {}) {
  program counted = prog;
  return materialize_on_cpu(arena_index(to_dynamic(layout), std::move(prog), std::move(counted)),
                            target, options);
}

/// Reloads `model`'s arena from a checkpoint, following its program: the same loader as
/// materialize's checkpoint source. Missing tensors, under `init_missing`, get the model's own
/// seed unless `source.seed` says otherwise, so they equal what a fresh materialization gives.
/// @throws checkpoint_error (format), checkpoint_key_error (strict key policies) before writing
///         any byte of the arena
inline load_report load(materialized_model& model, checkpoint source) {
  matched_checkpoint matched = match_checkpoint(model.layout(), source);
  if (!source.seed) source.seed = model.seed();
  if (source.threads == 0) source.threads = std::min(model.threads(), 8u);
  return load_arena(model.layout(), model.program(), model.arena(), *matched.files,
                    std::move(matched.match), source);
}

/// The whole model's fingerprint, for a whole model or any shard: this arena's counted part,
/// summed over the ranks of `comm` (one all-reduce). Two jobs that print the same fingerprint
/// hold the same model, whatever their meshes.
[[nodiscard]] inline std::uint64_t fingerprint(const materialized_model& model,
                                               communicator& comm) {
  return comm.allreduce_sum_u64(model.fingerprint());
}
/// One process: the whole model's fingerprint when `model` holds all of it, else this shard's
/// contribution (fingerprints of all ranks add up, mod 2^64, to the whole model's).
[[nodiscard]] inline std::uint64_t fingerprint(const materialized_model& model) {
  return model.fingerprint();
}

}  // namespace blueprint
