// Materializing one rank of a shard plan, and the cross-rank facts about it: the fingerprint
// summed over ranks (replicas counted once) and, for tests and tools, the reassembly of the
// whole model from every rank's arena.
//
//   const auto plan = blueprint::plan(layout, mesh, blueprint::fsdp);
//   auto shard = blueprint::materialize(plan, comm.rank(), blueprint::cpu{}, {.seed = 7});
//   std::uint64_t fp = blueprint::sharded_fingerprint(plan, comm.rank(), shard, comm);
//
// The rank allocates exactly plan.rank_bytes(rank) and writes only its own elements: nothing
// of any other rank is computed, no float32 copy exists, and no communication is needed to
// initialize (the communicator is only for the fingerprint and for gathers).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include <blueprint/codegen/plan.hpp>
#include <blueprint/kernels/fill.hpp>

#include "communicator.hpp"
#include "materialize.hpp"

namespace blueprint {

/// Rank `rank`'s shard of the plan, on the CPU.
template <class Layout>
[[nodiscard]] materialized_model materialize(const shard_plan<Layout>& plan, std::uint32_t rank,
                                             cpu target = {},
                                             const materialize_options& options = {}) {
  if (rank >= plan.world_size())
    throw std::invalid_argument("materialize: rank " + std::to_string(rank) +
                                " is outside the mesh of " + std::to_string(plan.world_size()) +
                                " ranks");
  return materialize(plan.layout(), plan.program(rank), target, options);
}

/// This rank's contribution to the whole model's fingerprint: its elements that are the first
/// replica of their piece (shard_plan::counted_program). Summed over all ranks (mod 2^64) it
/// equals the unsharded model's fingerprint.
template <class Layout>
[[nodiscard]] std::uint64_t shard_fingerprint(const shard_plan<Layout>& plan, std::uint32_t rank,
                                              std::span<const std::byte> arena) {
  const program counted = plan.counted_program(rank);
  if (arena.size() != counted.arena_bytes)
    throw std::invalid_argument("shard_fingerprint: the arena is not rank " + std::to_string(rank) +
                                "'s (" + std::to_string(arena.size()) + " bytes, planned " +
                                std::to_string(counted.arena_bytes) + ")");
  std::uint64_t sum = 0;
  for (const segment& s : counted.segments) sum += segment_fingerprint(s, 0, s.count, arena.data());
  return sum;
}
template <class Layout>
[[nodiscard]] std::uint64_t shard_fingerprint(const shard_plan<Layout>& plan, std::uint32_t rank,
                                              const materialized_model& shard) {
  return shard_fingerprint(plan, rank, shard.arena());
}

/// The whole model's fingerprint, on every rank (one all-reduce).
template <class Layout>
[[nodiscard]] std::uint64_t sharded_fingerprint(const shard_plan<Layout>& plan, std::uint32_t rank,
                                                const materialized_model& shard,
                                                communicator& comm) {
  return comm.allreduce_sum_u64(shard_fingerprint(plan, rank, shard));
}

/// Rebuilds every tensor's full, row-major bytes from all ranks' arenas (in rank order), as a
/// check or for a tool: element bytes are copied from each rank's data segments to the global
/// index they map to. `written[t][i]` tells which elements some rank held.
/// @pre arenas.size() == plan.world_size(), arenas[r].size() == plan.rank_bytes(r)
struct assembled_model {
  std::vector<std::vector<std::byte>> tensors;
  std::vector<std::vector<std::uint8_t>> written;
};
template <class Layout>
[[nodiscard]] assembled_model assemble(const shard_plan<Layout>& plan,
                                       const std::vector<std::vector<std::byte>>& arenas) {
  const auto tensors = plan.layout().tensors();
  assembled_model out;
  for (const placed_tensor& t : tensors) {
    out.tensors.emplace_back(t.bytes);
    out.written.emplace_back(t.numel(), 0);
  }
  const plan_context c = plan.context();
  for (std::uint32_t r = 0; r < plan.world_size(); ++r) {
    const program p = plan.program(c, r);
    if (arenas.at(r).size() != p.arena_bytes)
      throw std::invalid_argument("assemble: rank " + std::to_string(r) + " sent " +
                                  std::to_string(arenas[r].size()) + " bytes, planned " +
                                  std::to_string(p.arena_bytes));
    for (const segment& s : p.segments) {
      if (s.padding) continue;
      const std::size_t size = dtype_size(s.type);
      for (std::uint64_t k = 0; k < s.count; ++k) {
        const std::uint64_t g = s.global_index(k);
        std::memcpy(out.tensors[s.tensor_index].data() + g * size,
                    arenas[r].data() + s.arena_offset + k * size, size);
        out.written[s.tensor_index][g] = 1;
      }
    }
  }
  return out;
}

}  // namespace blueprint
