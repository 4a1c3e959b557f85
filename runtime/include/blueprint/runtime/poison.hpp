// Program checks and the poison debug mode: proving that every byte of an arena was written.
//
// Method (docs/MATERIALIZE.md "Poison mode"):
//   1. Before running, every program is checked for what would corrupt memory: each segment
//      lies inside the arena, is aligned to its dtype and has a concrete init
//      (`validate_program`, always on).
//   2. Poison mode fills the arena with 0xFF bytes, runs the program, then proves coverage in
//      two independent steps:
//      a. structure (`check_coverage`): the segments, sorted by offset, are disjoint and cover
//         [0, arena_bytes) with no gap. A removed or shortened segment is a gap; the error names
//         the tensor that owns the first unwritten byte and the byte offset (in the arena and in
//         the tensor).
//      b. content (`verify_poisoned_arena`): every element of every segment is read back. 0xFF
//         bytes are a legitimate value in some dtypes (e4m3fn's -NaN is what a large negative
//         value saturates to), so an element that still holds the all-ones pattern (f32 / bf16
//         / f16: a NaN with a full payload; f8: -NaN) is only an error if the init could not
//         have produced it: its expected bits are recomputed from (init, seed, id, index) and
//         compared. Padding must read 0. This catches a fill routine that skipped elements
//         even when the program itself is sound.
#pragma once

#include <algorithm>
#include <cstdint>
#include <mutex>
#include <numeric>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include <blueprint/codegen/layout.hpp>
#include <blueprint/codegen/program.hpp>
#include <blueprint/kernels/fill.hpp>

#include "work_split.hpp"

namespace blueprint {

/// An arena byte that the program did not write (poison mode), or a program that would write
/// outside its arena.
class poison_error : public std::runtime_error {
 public:
  poison_error(const std::string& message, std::string tensor, std::uint64_t arena_offset)
      : std::runtime_error(message), tensor_(std::move(tensor)), arena_offset_(arena_offset) {}
  /// The tensor that owns the byte ("" for alignment padding).
  [[nodiscard]] const std::string& tensor() const { return tensor_; }
  [[nodiscard]] std::uint64_t arena_offset() const { return arena_offset_; }

 private:
  std::string tensor_;
  std::uint64_t arena_offset_;
};

namespace detail {

inline std::string tensor_name_of(std::span<const placed_tensor> tensors, std::uint32_t index) {
  if (index == no_tensor || index >= tensors.size()) return {};
  return std::string(tensors[index].name());
}

/// Where arena byte `at` lies: "tensor 'x' (byte N of the tensor)" or "alignment padding".
inline std::string describe_byte(std::span<const placed_tensor> tensors, const program& prog,
                                 std::uint64_t at, std::string* tensor = nullptr) {
  for (const local_tensor& t : prog.tensors)
    if (at >= t.offset && at < t.offset + t.bytes) {
      const std::string name = tensor_name_of(tensors, t.tensor_index);
      if (tensor) *tensor = name;
      return "tensor '" + name + "' (byte " + std::to_string(at - t.offset) + " of " +
             std::to_string(t.bytes) + ")";
    }
  if (tensor) tensor->clear();
  return "alignment padding";
}

inline std::string describe_segment(std::span<const placed_tensor> tensors, const segment& s,
                                    std::size_t i) {
  if (s.padding != 0) return "padding segment " + std::to_string(i);
  return "segment " + std::to_string(i) + " of tensor '" + tensor_name_of(tensors, s.tensor_index) +
         "'";
}

}  // namespace detail

/// Throws std::invalid_argument naming the segment's tensor if a segment would write outside
/// the arena, is misaligned for its dtype, has an unknown dtype, a zero run, or an init that is
/// not concrete (an unresolved scheme).
inline void validate_program(std::span<const placed_tensor> tensors, const program& prog) {
  for (std::size_t i = 0; i < prog.segments.size(); ++i) {
    const segment& s = prog.segments[i];
    const std::size_t size = dtype_size(s.type);
    auto fail = [&](const std::string& what) {
      throw std::invalid_argument("invalid program: " + detail::describe_segment(tensors, s, i) +
                                  " (arena offset " + std::to_string(s.arena_offset) +
                                  "): " + what);
    };
    if (size == 0) fail("unknown dtype " + std::to_string(static_cast<int>(s.type)));
    if (s.arena_offset % size != 0)
      fail("offset is not a multiple of the element size " + std::to_string(size));
    if (s.count > (prog.arena_bytes - std::min(prog.arena_bytes, s.arena_offset)) / size ||
        s.arena_offset > prog.arena_bytes)
      fail(std::to_string(s.count) + " elements of " + std::to_string(size) +
           " bytes do not fit in the arena of " + std::to_string(prog.arena_bytes) + " bytes");
    if (s.padding == 0) {
      if (s.run == 0 && s.count != 0) fail("run is 0");
      if (!is_concrete(s.init.kind))
        fail("init '" + std::string(init_kind_name(s.init.kind)) +
             "' is a scheme that the plan did not resolve");
      if (s.tensor_index != no_tensor && s.tensor_index >= tensors.size())
        fail("tensor index " + std::to_string(s.tensor_index) + " is not in the layout");
    }
  }
  for (const local_tensor& t : prog.tensors)
    if (t.offset > prog.arena_bytes || t.bytes > prog.arena_bytes - t.offset)
      throw std::invalid_argument(
          "invalid program: tensor '" + detail::tensor_name_of(tensors, t.tensor_index) +
          "' lies outside the arena of " + std::to_string(prog.arena_bytes) + " bytes");
}

/// Throws poison_error unless the segments are disjoint and cover [0, prog.arena_bytes).
/// The message names the tensor owning the first byte in error and its offset.
inline void check_coverage(std::span<const placed_tensor> tensors, const program& prog) {
  std::vector<std::size_t> order(prog.segments.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return prog.segments[a].arena_offset < prog.segments[b].arena_offset;
  });
  std::uint64_t cursor = 0;
  std::size_t previous = 0;
  auto gap = [&](std::uint64_t begin, std::uint64_t end) {
    std::string tensor;
    const std::string where = detail::describe_byte(tensors, prog, begin, &tensor);
    throw poison_error("poison check: arena bytes [" + std::to_string(begin) + ", " +
                           std::to_string(end) + ") are written by no segment; the first is " +
                           where + " at arena offset " + std::to_string(begin),
                       tensor, begin);
  };
  for (std::size_t i : order) {
    const segment& s = prog.segments[i];
    if (s.count == 0) continue;
    if (s.arena_offset > cursor) gap(cursor, s.arena_offset);
    if (s.arena_offset < cursor) {
      std::string tensor;
      const std::string where = detail::describe_byte(tensors, prog, s.arena_offset, &tensor);
      throw poison_error("poison check: " + detail::describe_segment(tensors, s, i) + " overlaps " +
                             detail::describe_segment(tensors, prog.segments[previous], previous) +
                             " at arena offset " + std::to_string(s.arena_offset) + ", in " + where,
                         tensor, s.arena_offset);
    }
    cursor = s.arena_offset + s.bytes();
    previous = i;
  }
  if (cursor < prog.arena_bytes) gap(cursor, prog.arena_bytes);
}

/// After a poisoned run: throws poison_error for the lowest-addressed element that still holds
/// the poison pattern although its init could not produce it, or padding that is not zero.
inline void verify_poisoned_arena(std::span<const placed_tensor> tensors, const program& prog,
                                  std::uint64_t seed, const std::byte* arena, unsigned threads) {
  const std::vector<work_chunk> chunks = split_work(prog.segments, threads);
  std::mutex m;
  std::optional<std::uint64_t> first;  // arena offset
  std::string first_message, first_tensor;
  run_chunks(chunks, threads, [&](const work_chunk& c, unsigned) {
    const segment& s = prog.segments[c.segment];
    const std::size_t size = dtype_size(s.type);
    const std::byte* base = arena + s.arena_offset;
    for (std::uint64_t k = c.k_begin; k < c.k_end; ++k) {
      std::uint32_t bits = 0;
      for (std::size_t b = 0; b < size; ++b)
        bits |= static_cast<std::uint32_t>(base[k * size + b]) << (8 * b);  // little-endian
      const std::uint32_t poison = size == 4 ? 0xFFFFFFFFu : (1u << (8 * size)) - 1u;
      bool bad = false;
      if (s.padding != 0)
        bad = bits != 0;
      else if (bits == poison)
        bad = expected_storage_bits(s, seed, k) != poison;
      if (!bad) continue;
      const std::uint64_t at = s.arena_offset + k * size;
      std::lock_guard lock(m);
      if (!first || at < *first) {
        first = at;
        first_message = s.padding != 0
                            ? "poison check: padding byte at arena offset " + std::to_string(at) +
                                  " is not zero"
                            : "poison check: element " + std::to_string(k) + " of " +
                                  detail::describe_segment(tensors, s, c.segment) +
                                  " (global index " + std::to_string(s.global_index(k)) +
                                  ", arena offset " + std::to_string(at) +
                                  ") was never written: it still holds the poison pattern";
        first_tensor = detail::tensor_name_of(tensors, s.tensor_index);
      }
      return;  // the rest of this chunk cannot hold a lower address
    }
  });
  if (first) throw poison_error(first_message, first_tensor, *first);
}

}  // namespace blueprint
