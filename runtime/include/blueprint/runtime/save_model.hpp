// Saving a materialized host model as a Hugging Face checkpoint (every rank its own slices).
//
//   blueprint::save(model, "out_dir/");                                   // one process
//   blueprint::save(plan, rank, shard, comm, "out_dir/", {.max_shard_size = 5_GB});
//
// Loading is a source of materialize, or load(model, checkpoint{...}) (materialize.hpp). The
// arena-level save_arena underneath (save.hpp) takes any layout, program and host arena; these
// overloads only supply them from the model.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <vector>

#include <blueprint/codegen/plan.hpp>

#include "communicator.hpp"
#include "materialize.hpp"
#include "save.hpp"

namespace blueprint {

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
