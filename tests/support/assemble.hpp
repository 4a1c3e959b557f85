// Test support: the reassembly of a whole model from every rank's arena of a shard plan, the
// oracle of the multi-rank tests (a shard is materialized by materialize(plan, rank, ...) and
// its whole fingerprint is fingerprint(shard, comm); the library needs no gather).
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

#include <blueprint/runtime/communicator.hpp>
#include <blueprint/runtime/materialize.hpp>

namespace blueprint {

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
