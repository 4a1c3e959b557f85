// The init program of an unsharded layout: one segment per tensor, padding for the alignment
// gaps, so that every byte of the arena is written exactly once.
//
// Shard plans (plan.hpp) produce programs of the same form per rank; the materializers only
// ever see a list of segments and the arena size.
#pragma once

#include <cstdint>
#include <span>
#include <type_traits>
#include <vector>

#include <blueprint/kernels/segment.hpp>

#include "layout.hpp"

namespace blueprint {

/// What one arena holds of one tensor: the whole tensor, or this rank's shard of it.
/// For a flat-chunk (ZeRO-3 style) piece the local shape is 1-D and `global_begin` says where
/// the piece starts in the tensor's row-major elements.
struct local_tensor {
  std::uint32_t tensor_index = no_tensor;  // row of the layout table
  std::uint64_t offset = 0;                // bytes from the arena start
  std::uint64_t bytes = 0;
  std::uint8_t rank = 0;
  std::uint64_t shape[max_rank]{};  // local shape
  dtype type = dtype::f32;
  std::uint64_t global_begin = 0;  // first global element (flat pieces)

  [[nodiscard]] constexpr std::uint64_t numel() const {
    std::uint64_t n = 1;
    for (std::size_t d = 0; d < rank; ++d) n *= shape[d];
    return n;
  }
};
static_assert(std::is_standard_layout_v<local_tensor> &&
              std::is_trivially_copyable_v<local_tensor>);

/// A materialization program: the segments of one arena, in arena order, covering it exactly,
/// and the tensors (or tensor pieces) the arena holds.
struct program {
  std::vector<segment> segments;
  std::uint64_t arena_bytes = 0;
  std::vector<local_tensor> tensors;
};

/// Appends a zero-filled padding run of `bytes` bytes at `offset`.
constexpr void append_padding(std::vector<segment>& out, std::uint64_t offset,
                              std::uint64_t bytes) {
  if (bytes == 0) return;
  segment s{};
  s.arena_offset = offset;
  s.count = bytes;  // 1-byte elements
  s.type = dtype::f8_e4m3fn;
  s.padding = 1;
  s.init = init::zeros();
  out.push_back(s);
}

/// The whole-model program of a layout.
/// @post segments are sorted by arena_offset, disjoint, and cover [0, arena_bytes)
template <class Layout>
[[nodiscard]] constexpr program program_of(const Layout& layout) {
  program p;
  p.arena_bytes = layout.total_bytes();
  std::uint64_t cursor = 0;
  const auto tensors = layout.tensors();
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const placed_tensor& t = tensors[i];
    append_padding(p.segments, cursor, t.offset - cursor);
    segment s{};
    s.arena_offset = t.offset;
    s.count = t.numel();
    s.tensor_id = t.id();
    s.base = 0;
    s.run = t.numel();
    s.stride = t.numel();
    s.init = t.init;
    s.type = t.type;
    s.tensor_index = static_cast<std::uint32_t>(i);
    p.segments.push_back(s);
    local_tensor l{};
    l.tensor_index = static_cast<std::uint32_t>(i);
    l.offset = t.offset;
    l.bytes = t.bytes;
    l.rank = t.spec.rank;
    for (std::size_t d = 0; d < t.spec.rank; ++d) l.shape[d] = t.spec.shape[d];
    l.type = t.type;
    p.tensors.push_back(l);
    cursor = t.offset + t.bytes;
  }
  append_padding(p.segments, cursor, p.arena_bytes - cursor);
  return p;
}

}  // namespace blueprint
