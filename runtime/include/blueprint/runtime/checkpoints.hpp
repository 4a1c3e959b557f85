// The user-facing checkpoint API on materialized models: load into one, materialize straight
// from a checkpoint, save one (every rank its own slices).
//
//   auto report = blueprint::load(shard, "ckpt_dir/");
//   auto shard = blueprint::materialize_from_checkpoint(layout, prog, cpu{}, {.seed = 1},
//                                                       "ckpt_dir/", {.missing = init_missing});
//   blueprint::save(shard, comm, "out_dir/", {.max_shard_size = "5GB"});
//
// The arena-level functions underneath (load_arena, save_arena in load.hpp / save.hpp) take any
// layout, program and host arena; these overloads only supply them from the model.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <vector>

#include <blueprint/codegen/plan.hpp>

#include "communicator.hpp"
#include "load.hpp"
#include "materialize.hpp"
#include "save.hpp"

namespace blueprint {

/// Loads the checkpoint at `path` (directory, file or index) into `model`'s arena, following
/// its program. Missing tensors, under `init_missing`, get the model's own seed unless
/// `options.seed` says otherwise, so they equal what a fresh materialization gives.
/// Throws checkpoint_error (format), checkpoint_key_error (strict key policies) before writing
/// any byte of the arena.
inline load_report load(materialized_model& model, const std::string& path,
                        load_options options = {}) {
  if (!options.seed) options.seed = model.options().seed;
  if (options.threads == 0) options.threads = std::min(model.threads(), 8u);
  return load_arena(model.layout(), model.program(), model.arena(), path, options);
}

/// A fresh arena for `prog`, filled from the checkpoint (and, for what the checkpoint lacks,
/// from the deterministic init, under `load_options.missing = init_missing`). The checkpoint's
/// headers and keys are validated before the arena is allocated. `options.init` is ignored
/// (nothing is initialized first); `options.poison` proves afterwards that every byte was
/// written. `report`, when given, receives the load report.
template <class Layout>
[[nodiscard]] materialized_model materialize_from_checkpoint(
    const Layout& layout, const program& prog, cpu target, materialize_options options,
    const std::string& path, load_options load = {}, load_report* report = nullptr) {
  const checkpoint ckpt = open_checkpoint(path, load.limits);
  (void)match_checkpoint(layout, ckpt, load);  // key errors before the allocation
  options.init = init_mode::skip;
  materialized_model model = materialize(layout, prog, target, options);
  if (!load.seed) load.seed = options.seed;
  if (load.threads == 0) load.threads = std::min(model.threads(), 8u);
  load_report r = load_arena(model.layout(), model.program(), model.arena(), ckpt, load);
  if (options.poison) model.verify_coverage();
  if (report != nullptr) *report = std::move(r);
  return model;
}

/// Rank `rank`'s shard of `plan`, filled from the checkpoint: it reads only its own bytes.
template <class Layout>
[[nodiscard]] materialized_model materialize_from_checkpoint(
    const shard_plan<Layout>& plan, std::uint32_t rank, cpu target, materialize_options options,
    const std::string& path, load_options load = {}, load_report* report = nullptr) {
  return materialize_from_checkpoint(plan.layout(), plan.program(rank), target, options, path, load,
                                     report);
}

namespace detail {
/// One process saving alone must hold every persistent tensor whole: a shard saved alone would
/// leave the other ranks' bytes of the files as zeros, a checkpoint that looks complete.
/// @throws std::invalid_argument naming the first tensor this program holds only part of
template <class Layout>
void require_whole_model(const Layout& layout, const program& prog) {
  std::vector<std::uint64_t> held(layout.size(), 0);
  for (const segment& s : prog.segments)
    if (!s.padding && s.tensor_index < held.size()) held[s.tensor_index] += s.count;
  for (std::size_t i = 0; i < held.size(); ++i) {
    const placed_tensor& t = layout.tensors()[i];
    if (t.spec.persistent && held[i] < t.numel())
      throw std::invalid_argument("save: this arena holds " + std::to_string(held[i]) + " of the " +
                                  std::to_string(t.numel()) + " elements of '" +
                                  std::string(t.name()) +
                                  "' (it is one rank's shard); save every rank together: "
                                  "save(plan, rank, shard, comm, dir)");
  }
}
}  // namespace detail

/// Saves `model` into `dir` as a Hugging Face checkpoint. Every rank of `comm` calls it with its
/// own shard; each writes its own slices (replicas write identical bytes; pass the plan to have
/// only the first replica write).
inline save_report save(const materialized_model& model, communicator& comm, const std::string& dir,
                        const save_options& options = {}) {
  if (comm.size() == 1) detail::require_whole_model(model.layout(), model.program());
  return save_arena(model.layout(), model.program(), model.arena(), comm, dir, options);
}

/// One process.
inline save_report save(const materialized_model& model, const std::string& dir,
                        const save_options& options = {}) {
  single_process_communicator comm;
  return save(model, comm, dir, options);
}

/// Rank `rank`'s shard of `plan`: only the first replica of each piece is written (the
/// plan's counted program), so a DDP mesh writes every byte once.
template <class Layout>
save_report save(const shard_plan<Layout>& plan, std::uint32_t rank,
                 const materialized_model& model, communicator& comm, const std::string& dir,
                 const save_options& options = {}) {
  const program counted = plan.counted_program(rank);
  return save_arena(model.layout(), counted, model.arena(), comm, dir, options);
}

}  // namespace blueprint
