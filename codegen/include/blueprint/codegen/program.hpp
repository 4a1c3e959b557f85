// The init program of an unsharded layout: one segment per tensor, padding for the alignment
// gaps, so that every byte of the arena is written exactly once.
//
// Shard plans (plan.hpp) produce programs of the same form per rank; the materializers only
// ever see a list of segments and the arena size.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include <blueprint/kernels/segment.hpp>

#include "layout.hpp"

namespace blueprint {

/// A materialization program: the segments of one arena, in arena order, covering it exactly.
struct program {
  std::vector<segment> segments;
  std::uint64_t arena_bytes = 0;
};

/// Appends a zero-filled padding run of `bytes` bytes at `offset`.
constexpr void append_padding(std::vector<segment>& out, std::uint64_t offset, std::uint64_t bytes) {
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
    cursor = t.offset + t.bytes;
  }
  append_padding(p.segments, cursor, p.arena_bytes - cursor);
  return p;
}

}  // namespace blueprint
