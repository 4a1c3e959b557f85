// The one instruction of a materialization program: fill a contiguous run of the arena.
//
// A rank's program is a list of segments (DESIGN.md "Mesh and shard plans"). A segment writes
// `count` elements of `type` starting at byte `arena_offset`; local element k holds global
// element `base + (k / run) * stride + k % run` of the tensor `tensor_id` (row-major index in
// the full, unsharded tensor). That single affine form covers whole tensors, column, row,
// vocab, expert and FSDP row-chunk shards, and flat-chunk pieces. Padding segments have no
// tensor and are written with zeros. Kernels (CPU loop and CUDA) receive these records as
// they are, so the record is plain and standard-layout.
#pragma once

#include <cstdint>
#include <type_traits>

#include "config.hpp"
#include "dtype.hpp"
#include "init.hpp"

namespace blueprint {

inline constexpr std::uint32_t no_tensor = 0xFFFFFFFFu;

struct segment {
  std::uint64_t arena_offset = 0;  // bytes from the arena start; aligned to dtype_size(type)
  std::uint64_t count = 0;         // elements
  std::uint64_t tensor_id = 0;     // philox stream of the tensor (0 for padding)
  std::uint64_t base = 0;          // affine map onto the global element index
  std::uint64_t run = 1;
  std::uint64_t stride = 1;
  init_spec init{};  // concrete kind
  dtype type = dtype::f32;
  std::uint8_t padding = 0;                // 1: zeros, no tensor
  std::uint32_t tensor_index = no_tensor;  // row of the layout table, for reports

  /// Global element index of local element k.
  [[nodiscard]] BLUEPRINT_HD constexpr std::uint64_t global_index(std::uint64_t k) const {
    return base + (k / run) * stride + k % run;
  }
  [[nodiscard]] BLUEPRINT_HD constexpr std::uint64_t bytes() const {
    return count * dtype_size(type);
  }
};

static_assert(std::is_standard_layout_v<segment> && std::is_trivially_copyable_v<segment>);

}  // namespace blueprint
