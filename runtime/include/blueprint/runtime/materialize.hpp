// Materializing a model on the CPU: one arena, one pass, the target dtype, every core.
//
//   auto model = blueprint::materialize(layout, blueprint::cpu{}, {.seed = 1234});
//   blueprint::tensor_view w = model["model.layers.0.self_attn.q_proj.weight"];
//   std::uint64_t fp = model.fingerprint();
//
// The arena is allocated once (arena.hpp); the program (program_of(layout) for a whole model, or
// one rank's program from a shard plan) is cut into chunks that threads pull from a counter
// (work_split.hpp); each chunk computes, casts and stores its elements directly in the arena
// (kernels/fill.hpp). No float32 copy of anything exists at any time, and the bytes do not
// depend on the thread count or on how the program is cut. `{.init = blueprint::skip}` only
// allocates (the bytes read zero until a checkpoint load fills them); `{.poison = true}` proves
// that every byte was written (poison.hpp).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <blueprint/codegen/layout.hpp>
#include <blueprint/codegen/program.hpp>
#include <blueprint/kernels/fill.hpp>

#include "arena.hpp"
#include "load.hpp"
#include "poison.hpp"
#include "tensor_view.hpp"
#include "work_split.hpp"

namespace blueprint {

/// What the materializer writes into the arena.
enum class init_mode : std::uint8_t {
  random,  // run the init program: every tensor gets its declared (deterministic) init
  skip,    // allocate only: the arena reads zero until something (a checkpoint load) fills it
};
/// `{.init = blueprint::skip}`
inline constexpr init_mode skip = init_mode::skip;

/// The host CPU as the materialization target.
struct cpu {
  unsigned threads = 0;  // 0: one per hardware thread
};

struct materialize_options {
  std::uint64_t seed = 0;
  init_mode init = init_mode::random;
  bool poison = false;     // fill with 0xFF first, then prove every byte was written
  bool huge_pages = true;  // ask for transparent huge pages (fewer page faults)
  bool populate = false;   // pre-fault the arena in the allocation (MAP_POPULATE)
  /// Non-empty: fill the arena from this safetensors checkpoint (directory, file or index)
  /// instead of the init; each rank reads only its own bytes (docs/CHECKPOINTS.md).
  std::string checkpoint{};
  /// Tensors the checkpoint lacks: an error listing them (strict, default), or their
  /// deterministic init (`blueprint::init_missing`), identical to a fresh init.
  missing_policy missing = missing_policy::error;
};

/// Thrown by materialized_model::operator[] for a name the model (or this arena) lacks.
class tensor_not_found : public std::out_of_range {
 public:
  using std::out_of_range::out_of_range;
};

namespace detail {

template <class L>
concept layout_like = requires(const L& l) {
  { l.tensors() } -> std::convertible_to<std::span<const placed_tensor>>;
  { l.ties() } -> std::convertible_to<std::span<const tie_spec>>;
  { l.total_bytes() } -> std::convertible_to<std::uint64_t>;
};

template <class L>
dynamic_layout to_dynamic_layout(const L& l) {
  if constexpr (std::is_same_v<L, dynamic_layout>) {
    return l;
  } else {
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
}

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
/// valid while it lives, also across moves.
class materialized_model {
 public:
  materialized_model(dynamic_layout layout, blueprint::program prog, unsigned threads,
                     const materialize_options& options)
      : layout_(std::move(layout)),
        program_(std::move(prog)),
        threads_(threads),
        options_(options) {
    local_of_tensor_.assign(layout_.size(), -1);
    for (std::size_t i = 0; i < program_.tensors.size(); ++i) {
      const std::uint32_t t = program_.tensors[i].tensor_index;
      if (t < local_of_tensor_.size() && local_of_tensor_[t] < 0)
        local_of_tensor_[t] = static_cast<std::int64_t>(i);
    }
    validate_program(layout_.tensors(), program_);

    auto t0 = std::chrono::steady_clock::now();
    arena_ = blueprint::arena(program_.arena_bytes,
                              {.huge_pages = options.huge_pages, .populate = options.populate});
    alloc_seconds_ = detail::seconds_since(t0);

    if (options.poison) {
      t0 = std::chrono::steady_clock::now();
      detail::parallel_memset(arena_.data(), 0xFF, arena_.size(), threads_);
      poison_seconds_ = detail::seconds_since(t0);
    }
    if (options.init == init_mode::skip) return;

    t0 = std::chrono::steady_clock::now();
    run_init_program(program_, options_.seed, arena_.bytes(), cpu{threads_});
    init_seconds_ = detail::seconds_since(t0);

    if (options.poison) {
      t0 = std::chrono::steady_clock::now();
      check_coverage(layout_.tensors(), program_);
      verify_poisoned_arena(layout_.tensors(), program_, options_.seed, arena_.data(), threads_);
      verify_seconds_ = detail::seconds_since(t0);
    }
  }

  materialized_model(materialized_model&&) noexcept = default;
  materialized_model& operator=(materialized_model&&) noexcept = default;
  materialized_model(const materialized_model&) = delete;
  materialized_model& operator=(const materialized_model&) = delete;

  /// The tensor called `name` (a tied name resolves to the stored tensor; the view's name is the
  /// stored tensor's). Throws tensor_not_found naming `name`, with the closest name, if the
  /// model has no such tensor or this arena does not hold it.
  [[nodiscard]] tensor_view operator[](std::string_view name) const {
    const auto index = layout_.find(name);
    if (!index) throw tensor_not_found(not_found_message(name));
    const std::int64_t local = local_of_tensor_[*index];
    if (local < 0)
      throw tensor_not_found("tensor '" + std::string(name) + "' of model '" +
                             std::string(layout_.model_name) +
                             "' is not held by this arena (another rank or stage holds it)");
    return view_of(static_cast<std::size_t>(local));
  }
  /// True if operator[] would succeed.
  [[nodiscard]] bool contains(std::string_view name) const {
    const auto index = layout_.find(name);
    return index && local_of_tensor_[*index] >= 0;
  }
  /// Every tensor (or piece) this arena holds, in program order.
  [[nodiscard]] std::vector<tensor_view> tensors() const {
    std::vector<tensor_view> out;
    out.reserve(program_.tensors.size());
    for (std::size_t i = 0; i < program_.tensors.size(); ++i) out.push_back(view_of(i));
    return out;
  }

  [[nodiscard]] std::span<std::byte> arena() { return arena_.bytes(); }
  [[nodiscard]] std::span<const std::byte> arena() const { return arena_.bytes(); }

  /// The order-free hash of the stored model: the sum (mod 2^64) over every tensor element held
  /// here of element_fingerprint(tensor id, global index, stored bits). Padding adds nothing.
  /// Computed from the bytes now in the arena (so also after a checkpoint load), in parallel.
  /// Fingerprints of the ranks of a sharded model add up to the whole model's (replicas once).
  [[nodiscard]] std::uint64_t fingerprint() const { return fingerprint(threads_); }
  [[nodiscard]] std::uint64_t fingerprint(unsigned threads) const {
    threads = resolve_threads(threads);
    const std::vector<work_chunk> chunks = split_work(program_.segments, threads);
    std::vector<std::uint64_t> partial(threads, 0);
    const std::byte* const base = arena_.data();
    run_chunks(chunks, threads, [&](const work_chunk& c, unsigned w) {
      partial[w] += segment_fingerprint(program_.segments[c.segment], c.k_begin, c.k_end, base);
    });
    std::uint64_t sum = 0;
    for (std::uint64_t p : partial) sum += p;
    return sum;
  }

  /// Re-runs the poison content check on the current bytes (e.g. after a load into a poisoned
  /// `skip` arena, where every byte must have been overwritten).
  void verify_coverage() const {
    check_coverage(layout_.tensors(), program_);
    verify_poisoned_arena(layout_.tensors(), program_, options_.seed, arena_.data(), threads_);
  }

  [[nodiscard]] const blueprint::program& program() const { return program_; }
  [[nodiscard]] const dynamic_layout& layout() const { return layout_; }
  [[nodiscard]] const materialize_options& options() const { return options_; }
  [[nodiscard]] unsigned threads() const { return threads_; }
  [[nodiscard]] std::uint64_t bytes() const { return arena_.size(); }
  /// Seconds spent in the allocation (mmap, and the kernel's pre-faulting if `populate`).
  [[nodiscard]] double alloc_seconds() const { return alloc_seconds_; }
  /// Seconds spent running the init program (page faults of fresh memory included); 0 for skip.
  [[nodiscard]] double init_seconds() const { return init_seconds_; }
  /// Seconds spent writing the poison pattern and verifying (0 without poison).
  [[nodiscard]] double poison_seconds() const { return poison_seconds_; }
  [[nodiscard]] double verify_seconds() const { return verify_seconds_; }

  /// The report of the checkpoint load that filled this arena (materialize_options::checkpoint),
  /// if one did.
  [[nodiscard]] const std::optional<load_report>& checkpoint_report() const { return load_report_; }
  void set_load_report(load_report r) { load_report_ = std::move(r); }

 private:
  [[nodiscard]] tensor_view view_of(std::size_t local) const {
    const local_tensor& t = program_.tensors[local];
    const std::string_view name = t.tensor_index < layout_.size()
                                      ? layout_.tensors()[t.tensor_index].name()
                                      : std::string_view{};
    return {
        name, {t.shape, t.rank}, t.type, const_cast<std::byte*>(arena_.data()) + t.offset, t.bytes};
  }

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
  std::optional<load_report> load_report_;
  blueprint::program program_;
  blueprint::arena arena_;
  std::vector<std::int64_t> local_of_tensor_;
  unsigned threads_ = 1;
  materialize_options options_;
  double alloc_seconds_ = 0, init_seconds_ = 0, poison_seconds_ = 0, verify_seconds_ = 0;
};

namespace detail {
/// The load options a materialization from a checkpoint implies (its seed and missing
/// policy), after the key check: key errors are thrown here, before anything is allocated.
template <class Layout>
[[nodiscard]] load_options checked_load_options(const Layout& layout, const checkpoint& ckpt,
                                                const materialize_options& options) {
  load_options load{};
  load.missing = options.missing;
  load.seed = options.seed;
  (void)match_checkpoint(layout, ckpt, load);
  return load;
}
}  // namespace detail

/// Runs `prog` (the whole-model program of `layout`, or one rank's program of a shard plan over
/// it) into a fresh host arena of prog.arena_bytes bytes.
/// @pre prog was made from `layout` (tensor_index refers to layout.tensors())
/// Throws std::invalid_argument for a program that would write outside its arena or holds an
/// unresolved init, arena_allocation_error when the memory cannot be had, poison_error when
/// poison mode finds an unwritten byte.
template <detail::layout_like Layout>
[[nodiscard]] materialized_model materialize(const Layout& layout, const program& prog, cpu target,
                                             const materialize_options& options = {}) {
  if (options.checkpoint.empty())
    return materialized_model(detail::to_dynamic_layout(layout), prog,
                              resolve_threads(target.threads), options);
  // From a checkpoint: keys are checked before the allocation; nothing is initialized first.
  dynamic_layout dynamic = detail::to_dynamic_layout(layout);
  const checkpoint ckpt = open_checkpoint(options.checkpoint);
  load_options load = detail::checked_load_options(dynamic, ckpt, options);
  materialize_options skip_init = options;
  skip_init.checkpoint.clear();
  skip_init.init = init_mode::skip;
  materialized_model model(std::move(dynamic), prog, resolve_threads(target.threads), skip_init);
  load.threads = std::min(model.threads(), 8u);
  model.set_load_report(load_arena(model.layout(), model.program(), model.arena(), ckpt, load));
  if (options.poison) model.verify_coverage();
  return model;
}

/// The whole model of `layout` (program_of(layout)).
template <detail::layout_like Layout>
[[nodiscard]] materialized_model materialize(const Layout& layout, cpu target = {},
                                             const materialize_options& options = {}) {
  return materialize(layout, program_of(layout), target, options);
}

}  // namespace blueprint
