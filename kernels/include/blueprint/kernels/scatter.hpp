// Casting checkpoint bytes into the arena: the element function of every load, CPU and GPU.
//
// A checkpoint load reads file bytes into a staging buffer and then scatters them: each piece
// is a contiguous run of source elements (any float encoding a safetensors file can hold,
// unaligned) bound for a contiguous run of the arena (the segment's dtype). On the CPU the
// runtime's typed loops do this (runtime/load.hpp); on the GPU one scatter kernel per staged
// transfer does it (kernels/cuda/scatter_kernel.cuh). Both use the widening and narrowing
// below, so a GPU load writes the same bits as a CPU load.
//
// The GPU kernel walks tiles: piece p owns tiles [first_tile, first_tile + tiles_of(p)), one
// tile being `scatter_tile_elements` consecutive elements. `scatter_tile` is the whole body of
// one tile, written as a loop over lanes so that the host can run it too: the tests prove on
// the CPU that the GPU's schedule, executed tile by tile, gives the CPU loader's bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "cast.hpp"
#include "config.hpp"
#include "dtype.hpp"

namespace blueprint {

/// The float encodings a source tensor may have (safetensors F64, F32, BF16, F16, F8_E4M3,
/// F8_E5M2). A superset of dtype: F64 is read, never stored.
enum class source_format : std::uint8_t { f64, f32, bf16, f16, f8_e4m3fn, f8_e5m2 };

[[nodiscard]] BLUEPRINT_HD constexpr std::uint32_t source_format_size(source_format f) {
  switch (f) {
    case source_format::f64:
      return 8;
    case source_format::f32:
      return 4;
    case source_format::bf16:
    case source_format::f16:
      return 2;
    default:
      return 1;
  }
}

/// The source format whose bits are stored unchanged as dtype `d`.
[[nodiscard]] BLUEPRINT_HD constexpr source_format source_format_of(dtype d) {
  switch (d) {
    case dtype::f32:
      return source_format::f32;
    case dtype::bf16:
      return source_format::bf16;
    case dtype::f16:
      return source_format::f16;
    case dtype::f8_e4m3fn:
      return source_format::f8_e4m3fn;
    default:
      return source_format::f8_e5m2;
  }
}

namespace detail {
/// Little-endian load of N bytes from a possibly unaligned address (files need not align
/// tensors to their element size). Byte loads: memcpy of an unknown alignment is the same on
/// the device, and the host compiler merges them into one load.
template <class Word>
[[nodiscard]] BLUEPRINT_HD BLUEPRINT_INLINE Word load_unaligned(const unsigned char* p) {
  Word w = 0;
  for (unsigned b = 0; b < sizeof(Word); ++b) w |= static_cast<Word>(p[b]) << (8 * b);
  return w;
}
}  // namespace detail

/// Element i of a source array of format F, widened exactly to float (F64: rounded to nearest).
template <source_format F>
[[nodiscard]] BLUEPRINT_HD BLUEPRINT_INLINE float widen_source(const unsigned char* src,
                                                               std::uint64_t i) {
  if constexpr (F == source_format::f64) {
    const std::uint64_t bits = detail::load_unaligned<std::uint64_t>(src + 8 * i);
    double v;
    std::memcpy(&v, &bits, 8);
    return static_cast<float>(v);
  } else if constexpr (F == source_format::f32) {
    return bits_as_float(detail::load_unaligned<std::uint32_t>(src + 4 * i));
  } else if constexpr (F == source_format::bf16) {
    return bf16_bits_to_float(detail::load_unaligned<std::uint16_t>(src + 2 * i));
  } else if constexpr (F == source_format::f16) {
    return f16_bits_to_float(detail::load_unaligned<std::uint16_t>(src + 2 * i));
  } else if constexpr (F == source_format::f8_e4m3fn) {
    return f8_e4m3fn_bits_to_float(src[i]);
  } else {
    static_assert(F == source_format::f8_e5m2, "widen_source: unknown format");
    return f8_e5m2_bits_to_float(src[i]);
  }
}

/// A source format as a type: what `with_source_format` hands its function.
template <source_format F>
struct source_format_constant {
  static constexpr source_format value = F;
};

/// Calls f(source_format_constant<s>{}): the one switch from a run-time source format to typed
/// code (as with_dtype in dtype.hpp).
BLUEPRINT_HD_DISPATCH
template <class F>
BLUEPRINT_HD BLUEPRINT_INLINE decltype(auto) with_source_format(source_format s, F&& f) {
  switch (s) {
    case source_format::f64:
      return f(source_format_constant<source_format::f64>{});
    case source_format::f32:
      return f(source_format_constant<source_format::f32>{});
    case source_format::bf16:
      return f(source_format_constant<source_format::bf16>{});
    case source_format::f16:
      return f(source_format_constant<source_format::f16>{});
    case source_format::f8_e4m3fn:
      return f(source_format_constant<source_format::f8_e4m3fn>{});
    default:
      return f(source_format_constant<source_format::f8_e5m2>{});
  }
}

/// Element i of a source array of format f, widened to float (run-time format).
[[nodiscard]] BLUEPRINT_HD inline float widen_source(source_format f, const unsigned char* src,
                                                     std::uint64_t i) {
  return with_source_format(f, [&](auto tag) BLUEPRINT_LAMBDA_INLINE {
    return widen_source<decltype(tag)::value>(src, i);
  });
}

/// Writes source element i (format f) as element i of the dtype-d array at dst: the bits
/// unchanged when the encodings agree, else widened to float and narrowed by cast.hpp (the
/// rounding of every other store). @pre dst aligned to dtype_size(d)
BLUEPRINT_HD inline void convert_source_element(source_format f, const unsigned char* src, dtype d,
                                                std::byte* dst, std::uint64_t i) {
  const std::uint32_t size = static_cast<std::uint32_t>(dtype_size(d));
  std::uint32_t bits;
  if (source_format_of(d) == f)
    bits = size == 4   ? detail::load_unaligned<std::uint32_t>(src + 4 * i)
           : size == 2 ? detail::load_unaligned<std::uint16_t>(src + 2 * i)
                       : src[i];
  else
    bits = float_to_storage_bits(d, widen_source(f, src, i));
  if (size == 4)
    reinterpret_cast<std::uint32_t*>(dst)[i] = bits;
  else if (size == 2)
    reinterpret_cast<std::uint16_t*>(dst)[i] = static_cast<std::uint16_t>(bits);
  else
    reinterpret_cast<std::uint8_t*>(dst)[i] = static_cast<std::uint8_t>(bits);
}

// ---- the scatter program of one staged transfer ------------------------------------------

inline constexpr std::uint64_t scatter_tile_elements = 4096;

/// One contiguous run: `elements` source elements at staging byte `source_offset`, cast into
/// the arena at byte `arena_offset`. Its tiles are [first_tile, first_tile + tiles_of()).
struct scatter_piece {
  std::uint64_t source_offset = 0;
  std::uint64_t arena_offset = 0;  // aligned to dtype_size(target)
  std::uint64_t elements = 0;
  std::uint64_t first_tile = 0;  // ascending over a transfer's pieces
  source_format source = source_format::f32;
  dtype target = dtype::f32;
  std::uint8_t reserved[6]{};

  [[nodiscard]] BLUEPRINT_HD constexpr std::uint64_t tiles() const {
    return (elements + scatter_tile_elements - 1) / scatter_tile_elements;
  }
};
static_assert(std::is_standard_layout_v<scatter_piece> &&
              std::is_trivially_copyable_v<scatter_piece> && sizeof(scatter_piece) == 40);

/// Index of the piece that owns `tile`. @pre count > 0, pieces[0].first_tile == 0, tile < total
[[nodiscard]] BLUEPRINT_HD inline std::uint32_t piece_of_tile(const scatter_piece* pieces,
                                                              std::uint32_t count,
                                                              std::uint64_t tile) {
  std::uint32_t lo = 0, hi = count;  // answer in [lo - 1, hi - 1]
  while (lo < hi) {
    const std::uint32_t mid = (lo + hi) / 2;
    if (pieces[mid].first_tile <= tile)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo - 1;
}

/// Lane `lane` of `lanes` does its share of tile `tile` of piece `p`: the body of one block of
/// the scatter kernel (lanes = threads), or of a host loop.
BLUEPRINT_HD inline void scatter_tile(const scatter_piece& p, std::uint64_t tile,
                                      const unsigned char* staging, std::byte* arena,
                                      std::uint32_t lane, std::uint32_t lanes) {
  const std::uint64_t first = (tile - p.first_tile) * scatter_tile_elements;
  const std::uint64_t last =
      first + scatter_tile_elements < p.elements ? first + scatter_tile_elements : p.elements;
  const unsigned char* src = staging + p.source_offset;
  std::byte* dst = arena + p.arena_offset;
  for (std::uint64_t i = first + lane; i < last; i += lanes)
    convert_source_element(p.source, src, p.target, dst, i);
}

/// The whole transfer on the host, tile by tile, as the GPU runs it (tests and debugging).
inline void scatter_on_host(const scatter_piece* pieces, std::uint32_t count,
                            const unsigned char* staging, std::byte* arena) {
  if (count == 0) return;
  const std::uint64_t tiles = pieces[count - 1].first_tile + pieces[count - 1].tiles();
  for (std::uint64_t tile = 0; tile < tiles; ++tile) {
    const scatter_piece& p = pieces[piece_of_tile(pieces, count, tile)];
    for (std::uint32_t lane = 0; lane < 32; ++lane) scatter_tile(p, tile, staging, arena, lane, 32);
  }
}

}  // namespace blueprint
