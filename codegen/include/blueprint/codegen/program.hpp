// The init program of an unsharded layout: one segment per tensor, padding for the alignment
// gaps, so that every byte of the arena is written exactly once.
//
// Shard plans (plan.hpp) produce programs of the same form per rank; the materializers only
// ever see a list of segments and the arena size.
#pragma once

#include <algorithm>
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

namespace detail {

/// The first local element of `s` whose global index is at least `global`, or s.count.
[[nodiscard]] constexpr std::uint64_t first_local_at(const segment& s, std::uint64_t global) {
  if (global <= s.base) return 0;
  const std::uint64_t d = global - s.base;
  const std::uint64_t q = d / s.stride, r = d % s.stride;
  const std::uint64_t k = r < s.run ? q * s.run + r : (q + 1) * s.run;
  return k < s.count ? k : s.count;
}

/// Local elements [a, b) of `s` as segments of the same affine form (one for the part of a run
/// before the next run boundary, one for the whole runs after it), with init `init`.
constexpr void append_local_range(std::vector<segment>& out, const segment& s, std::uint64_t a,
                                  std::uint64_t b, const init_spec& init) {
  const std::uint64_t size = dtype_size(s.type);
  while (a < b) {
    segment piece = s;
    piece.init = init;
    piece.arena_offset = s.arena_offset + a * size;
    if (a % s.run != 0) {  // the rest of a run: contiguous in the tensor
      const std::uint64_t end = std::min(b, (a / s.run + 1) * s.run);
      piece.base = s.global_index(a);
      piece.count = end - a;
      piece.run = piece.stride = piece.count;
      out.push_back(piece);
      a = end;
      continue;
    }
    piece.base = s.base + (a / s.run) * s.stride;
    piece.count = b - a;
    out.push_back(piece);
    a = b;
  }
}

}  // namespace detail

/// Appends data segment `s` of `tensors`' table: as it is, or — when its tensor has a
/// zero row (the embedding row at pad_token_id) that `s` covers and `s` is initialized —
/// split so that the row's elements are zeros. The other elements keep their values: they
/// depend on the global index only.
constexpr void append_data_segment(std::vector<segment>& out, const segment& s,
                                   std::span<const placed_tensor> tensors) {
  const bool carve = s.padding == 0 && s.tensor_index < tensors.size() &&
                     tensors[s.tensor_index].spec.zero_row >= 0 && s.init.kind != init_kind::skip &&
                     s.init.kind != init_kind::zeros;
  if (!carve) {
    out.push_back(s);
    return;
  }
  const tensor_spec& t = tensors[s.tensor_index].spec;
  const std::uint64_t row = t.numel / t.shape[0];
  const std::uint64_t begin = static_cast<std::uint64_t>(t.zero_row) * row, end = begin + row;
  const std::uint64_t k0 = detail::first_local_at(s, begin), k1 = detail::first_local_at(s, end);
  if (k0 == k1) {
    out.push_back(s);
    return;
  }
  detail::append_local_range(out, s, 0, k0, s.init);
  detail::append_local_range(out, s, k0, k1, init::zeros());
  detail::append_local_range(out, s, k1, s.count, s.init);
}

namespace detail {

/// Appends tensor `i` of `tensors` at arena offset `offset`: its segment(s) and its local_tensor.
constexpr void append_whole_tensor(program& p, std::span<const placed_tensor> tensors,
                                   std::size_t i, std::uint64_t offset) {
  const placed_tensor& t = tensors[i];
  segment s{};
  s.arena_offset = offset;
  s.count = t.numel();
  s.tensor_id = t.id();
  s.base = 0;
  s.run = t.numel();
  s.stride = t.numel();
  s.init = t.init;
  s.type = t.type;
  s.tensor_index = static_cast<std::uint32_t>(i);
  append_data_segment(p.segments, s, tensors);
  local_tensor l{};
  l.tensor_index = static_cast<std::uint32_t>(i);
  l.offset = offset;
  l.bytes = t.bytes;
  l.rank = t.spec.rank;
  for (std::size_t d = 0; d < t.spec.rank; ++d) l.shape[d] = t.spec.shape[d];
  l.type = t.type;
  p.tensors.push_back(l);
}

}  // namespace detail

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
    detail::append_whole_tensor(p, tensors, i, t.offset);
    cursor = t.offset + t.bytes;
  }
  append_padding(p.segments, cursor, p.arena_bytes - cursor);
  return p;
}

/// The program of an arena of its own that holds the whole tensors `chosen` (rows of
/// layout.tensors()) in that order, each at the next offset aligned to
/// max(alignment, its element size); the arena ends aligned to `alignment`. The values are the
/// whole model's (they depend on the tensor and the element only), so a model split over such
/// arenas — the tiers of a device map — holds the same bytes as one arena.
/// @pre every index < layout.size(), none twice; alignment is a power of two
/// @post segments are sorted by arena_offset, disjoint, and cover [0, arena_bytes)
template <class Layout>
[[nodiscard]] constexpr program program_of_tensors(const Layout& layout,
                                                   std::span<const std::uint32_t> chosen,
                                                   std::uint64_t alignment) {
  program p;
  const auto tensors = layout.tensors();
  std::uint64_t cursor = 0;
  for (const std::uint32_t i : chosen) {
    const std::uint64_t offset =
        align_up(cursor, std::max<std::uint64_t>(alignment, dtype_size(tensors[i].type)));
    append_padding(p.segments, cursor, offset - cursor);
    detail::append_whole_tensor(p, tensors, i, offset);
    cursor = offset + tensors[i].bytes;
  }
  p.arena_bytes = align_up(cursor, alignment);
  append_padding(p.segments, cursor, p.arena_bytes - cursor);
  return p;
}

}  // namespace blueprint
