// Where a materialized model's bytes come from: the one option every target's `materialize`
// takes, and the one argument of a reload.
//
//   materialize(layout, cpu{}, {.source = blueprint::init{.seed = 7}});
//   materialize(plan, rank, cpu{}, {.source = blueprint::checkpoint{.path = "ckpt/",
//                                                                   .missing = init_missing}});
//   materialize(layout, cpu{}, {.source = blueprint::no_init{}});  // allocate only
//   load(model, blueprint::checkpoint{.path = "ckpt/"});          // reload an existing model
//
// A source is data, not a separate function: the targets (cpu here, cuda in cuda.hpp) share
// these records, so "this model, on this target, from this checkpoint" is one call whatever the
// target. `init` is kernels/init.hpp's struct (its static functions build declared inits).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>

#include <blueprint/kernels/init.hpp>

#include "checkpoint_files.hpp"
#include "safetensors.hpp"

namespace blueprint {

/// What to do with a tensor the model has and the checkpoint lacks.
enum class missing_policy : std::uint8_t {
  error,  // strict: part of the key error
  init,   // its deterministic init, identical to a fresh init
};
inline constexpr missing_policy error_on_missing = missing_policy::error;
inline constexpr missing_policy init_missing = missing_policy::init;

/// "error" | "init". @throws std::invalid_argument naming the text
[[nodiscard]] inline missing_policy parse_missing_policy(std::string_view text) {
  if (text == "error") return missing_policy::error;
  if (text == "init") return missing_policy::init;
  throw std::invalid_argument("missing-tensor policy '" + std::string(text) +
                              "': expected error or init");
}

/// What to do with a tensor the checkpoint has and the model lacks.
enum class unexpected_policy : std::uint8_t {
  follow_missing,  // error when missing == error, else report
  error,
  report,
};

/// What to do with a tensor whose checkpoint shape differs from the model's.
enum class mismatch_policy : std::uint8_t {
  error,
  init,  // report it and give it its deterministic init (HF's ignore_mismatched_sizes)
};

/// Allocate only: the arena reads zero until something (a checkpoint load) fills it. `seed` is
/// the init seed later loads give tensors their checkpoint lacks (`load(model, checkpoint)`).
struct no_init {
  std::uint64_t seed = 0;
};

/// Fill the arena from a safetensors checkpoint (a directory, a `.safetensors` file or an
/// index); each rank reads only its own bytes (docs/CHECKPOINTS.md). The headers, the index and
/// the keys are validated before anything is allocated or written.
struct checkpoint {
  std::string path;
  missing_policy missing = missing_policy::error;
  unexpected_policy unexpected = unexpected_policy::follow_missing;
  mismatch_policy mismatched = mismatch_policy::error;
  /// Seed of the init of missing tensors and buffers. Unset: the model's own seed on a reload,
  /// 0 for a fresh materialization.
  std::optional<std::uint64_t> seed{};
  std::uint64_t staging_bytes = 256ull << 20;  // host staging (pinned on a GPU), all workers
  unsigned threads = 0;                        // workers; 0: the target's default
  bool direct_reads = true;                    // same-dtype runs: pread into a host arena
  st_read_limits limits{};
  /// Called after each piece of work with the fraction done; return false to cancel (the load
  /// then throws). Called from worker threads, one call at a time.
  std::function<bool(float)> progress{};
  /// The files of `path`, when the caller has opened them already (open_checkpoint; e.g. to
  /// choose the dtype policy with checkpoint_dtype_policy): used instead of opening them again.
  std::shared_ptr<const checkpoint_files> opened{};
  /// Under missing = init, a checkpoint of which no tensor matched (or whose names differ from
  /// the model's by a prefix) is refused: the model would be random. True initializes anyway.
  bool allow_unmatched = false;

  [[nodiscard]] bool unexpected_is_error() const {
    return unexpected == unexpected_policy::error ||
           (unexpected == unexpected_policy::follow_missing && missing == missing_policy::error);
  }
};

/// One of the three sources.
using model_source = std::variant<init, checkpoint, no_init>;

/// The seed a model materialized from `s` records (what a later reload gives missing tensors).
[[nodiscard]] inline std::uint64_t seed_of(const model_source& s) {
  if (const auto* i = std::get_if<init>(&s)) return i->seed;
  if (const auto* n = std::get_if<no_init>(&s)) return n->seed;
  return std::get<checkpoint>(s).seed.value_or(0);
}

}  // namespace blueprint
