// Materializing a model, or one rank's shard of it, directly in GPU memory, and loading and
// saving it as a Hugging Face checkpoint: the CUDA target.
//
//   auto model = blueprint::materialize(layout, blueprint::cuda{.device = 0},
//                                       {.source = blueprint::init{.seed = 7}});
//   auto shard = blueprint::materialize(plan, rank, blueprint::cuda{.device = local_rank},
//                                       {.source = blueprint::checkpoint{.path = "ckpt/"}});
//   std::uint64_t fp = blueprint::fingerprint(shard, comm);  // the whole model's
//
// The device model and its materialize (device_model.hpp); the device loader (cuda_load.hpp).
// For translation units compiled by nvcc: everything is inside `#if defined(__CUDACC__)`, so
// including it from a plain g++ build compiles to nothing. docs/CUDA.md says how to build and
// what is guaranteed.
#pragma once

#if defined(__CUDACC__)

#include <string>
#include <utility>
#include <vector>

#include <blueprint/codegen/plan.hpp>

#include "communicator.hpp"
#include "cuda_load.hpp"
#include "device_map.hpp"
#include "device_model.hpp"
#include "key_match.hpp"
#include "save.hpp"
#include "save_model.hpp"
#include "source.hpp"

namespace blueprint {

/// Reloads a device model from a checkpoint through pinned staging of `source.staging_bytes`
/// (cuda_load.hpp): the same loader as materialize's checkpoint source. Missing tensors, under
/// `init_missing`, get the model's own seed unless `source.seed` says otherwise. Blocks until
/// the arena is complete. Throws checkpoint_error / checkpoint_key_error before writing any
/// byte of the arena.
inline load_report load(device_model& model, checkpoint source,
                        const device_load_tuning& tuning = {}) {
  matched_checkpoint matched = match_checkpoint(model.layout(), source);
  if (!source.seed) source.seed = model.seed();
  return load_device_arena(model.layout(), model.program(), model.data(), model.device(),
                           model.stream(), *matched.files, std::move(matched.match), source,
                           tuning);
}

/// Saves a device model as a Hugging Face checkpoint: the arena is copied to the host (host
/// memory = this rank's arena), then written as save(materialized_model, ...) writes it. Every
/// rank of `comm` calls it with its own shard.
inline save_report save(const device_model& model, communicator& comm, const std::string& dir,
                        const save_options& options = {}) {
  if (comm.size() == 1) detail::require_whole_model(model.layout(), model.program());
  const std::vector<std::byte> host = model.copy_to_host();
  return save_arena(model.layout(), model.program(), host, comm, dir, options);
}

/// One process.
inline save_report save(const device_model& model, const std::string& dir,
                        const save_options& options = {}) {
  single_process_communicator comm;
  return save(model, comm, dir, options);
}

/// Rank `rank`'s shard of `plan`: only the first replica of each piece is written.
template <class L>
save_report save(const shard_plan<L>& plan, std::uint32_t rank, const device_model& model,
                 communicator& comm, const std::string& dir, const save_options& options = {}) {
  const std::vector<std::byte> host = model.copy_to_host();
  return save_arena(model.layout(), plan.counted_program(rank), host, comm, dir, options);
}

namespace detail {

/// A device map's GPU tier: a device model of that GPU's program.
class cuda_tier final : public gpu_tier {
 public:
  explicit cuda_tier(device_model m) : model_(std::move(m)) {}
  [[nodiscard]] bool contains(std::string_view name) const override {
    return model_.contains(name);
  }
  [[nodiscard]] tensor_view view(std::string_view name) const override {
    const local_tensor& l = model_.index().find(name);
    return {
        model_.index().name_of(l), {l.shape, l.rank}, l.type, model_.data() + l.offset, l.bytes};
  }
  [[nodiscard]] std::uint64_t fingerprint() const override { return model_.fingerprint(); }
  [[nodiscard]] std::uint64_t bytes() const override { return model_.arena_bytes(); }
  [[nodiscard]] const blueprint::load_report* load_report() const override {
    return model_.load_report();
  }

 private:
  device_model model_;
};

}  // namespace detail

/// The model of `map` over its GPUs (each GPU tier a device model on `cuda{.device = index}`,
/// on `where`'s stream), the host and disk: the same bytes as one device. `where.device` is
/// ignored (the map names the GPUs); views of GPU tensors hold device pointers.
/// @throws as materialize(map, options) and materialize(layout, cuda{}, options)
[[nodiscard]] inline mapped_model materialize(const device_map_plan& map, cuda where,
                                              const materialize_options& options = {},
                                              cpu host = {}) {
  return materialize_mapped(
      map, options, host,
      [&](device_ref d, const program& p,
          const materialize_options& o) -> std::unique_ptr<gpu_tier> {
        cuda target = where;
        target.device = static_cast<int>(d.index);
        return std::make_unique<detail::cuda_tier>(materialize(map.layout, p, target, o));
      });
}

}  // namespace blueprint

#endif  // __CUDACC__
