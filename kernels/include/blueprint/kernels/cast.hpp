// Float32 <-> storage dtype conversions, bit-exact with numpy + ml_dtypes `astype`.
//
// Parameters are computed in float32 and stored narrow; the stored bits must not depend on
// whether the CPU or the GPU did the cast, and must equal what a Python user gets from
// `np.asarray(x, np.float32).astype(dtype)` (ml_dtypes; numpy's own float16), which is also what
// PyTorch produces for finite values. Narrowing is round-to-nearest-even everywhere; the special
// values follow the reference exactly (tests/unit/test_cast.cpp compares >= 10^7 inputs against
// a file written by tests/python/make_cast_reference.py):
//
//   bf16      NaN -> 0x7FC0 | sign (payload dropped); overflow rounds to +-inf; subnormals kept.
//   f16       NaN -> sign | 0x7C00 | (payload >> 13), or 0x7C01 if that would be 0 (numpy keeps
//             the top payload bits and signalling NaNs; torch would give 0x7E00 | sign);
//             |x| >= 65520 -> +-inf; float32 subnormals -> +-0.
//   e4m3fn    no infinities: NaN, +-inf and every |x| that rounds above 448 (|x| > 464; 464
//             itself ties to 448) -> 0x7F | sign (NaN); smallest subnormal 2^-9.
//   e5m2      NaN -> 0x7E | sign; +-inf -> 0x7C | sign; |x| >= 61440 -> +-inf.
// Widening is exact; NaN: bf16 and f16 keep the payload (shifted), e4m3fn and e5m2 NaNs widen to
// 0x7FC00000 | sign, as ml_dtypes does.
#pragma once

#include <cstddef>
#include <cstdint>

#include "config.hpp"
#include "dtype.hpp"
#include "math.hpp"

namespace blueprint {

namespace detail {

/// Round-to-nearest-even narrowing of a finite, non-negative float32 (bits `a`) to a format with
/// `E` exponent bits (IEEE bias) and `M` mantissa bits; returns the unsigned pattern, which may
/// exceed the largest finite one (the caller decides what overflow means). @pre a <= 0x7f7fffff
template <int E, int M>
[[nodiscard]] BLUEPRINT_HD BLUEPRINT_INLINE constexpr std::uint32_t narrow_rne(std::uint32_t a) {
  constexpr int bias = (1 << (E - 1)) - 1;
  constexpr std::uint32_t min_normal = static_cast<std::uint32_t>(127 - bias + 1) << 23;
  if (a >= min_normal) {
    // Rebias, then drop 23 - M bits with RNE; a carry into the exponent is the right answer.
    const std::uint32_t t = a - (static_cast<std::uint32_t>(127 - bias) << 23);
    constexpr int drop = 23 - M;
    const std::uint32_t odd = (t >> drop) & 1u;
    return (t + ((1u << (drop - 1)) - 1u) + odd) >> drop;
  }
  // Target subnormal (or zero): value / 2^(1 - bias - M), rounded to an integer.
  const int e = static_cast<int>(a >> 23);  // 0 for float32 subnormals (all far below range)
  if (e == 0) return 0;
  const std::uint32_t m = (a & 0x7fffffu) | 0x800000u;
  // value = m * 2^(e - 150); q = m * 2^(e - 150 - (1 - bias - M)) = m >> shift.
  const int shift = 150 - e + 1 - bias - M;
  if (shift > 24) return 0;  // below half the smallest subnormal
  const std::uint32_t q = m >> shift;
  const std::uint32_t rem = m & ((1u << shift) - 1u);
  const std::uint32_t half = 1u << (shift - 1);
  return q + ((rem > half || (rem == half && (q & 1u))) ? 1u : 0u);
}

}  // namespace detail

// ---- narrowing ---------------------------------------------------------------------------

[[nodiscard]] BLUEPRINT_HD constexpr std::uint16_t float_to_bf16_bits(float f) {
  const std::uint32_t u = float_as_bits(f);
  if (detail::is_nan_bits(u)) return static_cast<std::uint16_t>(((u >> 16) & 0x8000u) | 0x7FC0u);
  return static_cast<std::uint16_t>((u + 0x7FFFu + ((u >> 16) & 1u)) >> 16);
}

[[nodiscard]] BLUEPRINT_HD constexpr std::uint16_t float_to_f16_bits(float f) {
  const std::uint32_t u = float_as_bits(f);
  const std::uint32_t sign = (u >> 16) & 0x8000u;
  const std::uint32_t a = u & 0x7fffffffu;
  if (a >= 0x7f800000u) {
    if (a == 0x7f800000u) return static_cast<std::uint16_t>(sign | 0x7C00u);
    const std::uint32_t payload = (a & 0x7fffffu) >> 13;
    return static_cast<std::uint16_t>(sign | 0x7C00u | (payload == 0 ? 1u : payload));
  }
  const std::uint32_t r = detail::narrow_rne<5, 10>(a);
  return static_cast<std::uint16_t>(sign | (r >= 0x7C00u ? 0x7C00u : r));
}

[[nodiscard]] BLUEPRINT_HD constexpr std::uint8_t float_to_f8_e4m3fn_bits(float f) {
  const std::uint32_t u = float_as_bits(f);
  const std::uint32_t sign = (u >> 24) & 0x80u;
  const std::uint32_t a = u & 0x7fffffffu;
  // Inf, NaN and anything at or above 480 (the first value that cannot round to 448) -> NaN.
  if (a >= 0x43F00000u) return static_cast<std::uint8_t>(sign | 0x7Fu);
  const std::uint32_t r = detail::narrow_rne<4, 3>(a);  // <= 0x7F here; 0x7F is NaN anyway
  return static_cast<std::uint8_t>(sign | r);
}

[[nodiscard]] BLUEPRINT_HD constexpr std::uint8_t float_to_f8_e5m2_bits(float f) {
  const std::uint32_t u = float_as_bits(f);
  const std::uint32_t sign = (u >> 24) & 0x80u;
  const std::uint32_t a = u & 0x7fffffffu;
  if (a > 0x7f800000u) return static_cast<std::uint8_t>(sign | 0x7Eu);
  if (a >= 0x47800000u) return static_cast<std::uint8_t>(sign | 0x7Cu);  // >= 65536 or inf
  const std::uint32_t r = detail::narrow_rne<5, 2>(a);
  return static_cast<std::uint8_t>(sign | (r >= 0x7Cu ? 0x7Cu : r));
}

// ---- widening (exact) --------------------------------------------------------------------

[[nodiscard]] BLUEPRINT_HD constexpr float bf16_bits_to_float(std::uint16_t h) {
  return bits_as_float(static_cast<std::uint32_t>(h) << 16);
}

namespace detail {
/// Exact widening of an IEEE-like format with `E` exponent bits and `M` mantissa bits whose top
/// exponent encodes inf/NaN; NaN payloads are shifted into place.
template <int E, int M>
[[nodiscard]] BLUEPRINT_HD BLUEPRINT_INLINE constexpr std::uint32_t widen_ieee(std::uint32_t h) {
  constexpr int bias = (1 << (E - 1)) - 1;
  const std::uint32_t sign = (h >> (E + M)) << 31;
  const std::uint32_t e = (h >> M) & ((1u << E) - 1u);
  std::uint32_t m = h & ((1u << M) - 1u);
  if (e == (1u << E) - 1u) return sign | 0x7f800000u | (m << (23 - M));
  if (e != 0) return sign | ((e - bias + 127) << 23) | (m << (23 - M));
  if (m == 0) return sign;
  // Subnormal: normalize (exact; every subnormal of these formats is a float32 normal).
  int ex = 1 - bias + 127;
  while ((m & (1u << M)) == 0) {
    m <<= 1;
    --ex;
  }
  return sign | (static_cast<std::uint32_t>(ex) << 23) | ((m & ((1u << M) - 1u)) << (23 - M));
}
}  // namespace detail

[[nodiscard]] BLUEPRINT_HD constexpr float f16_bits_to_float(std::uint16_t h) {
  return bits_as_float(detail::widen_ieee<5, 10>(h));
}

[[nodiscard]] BLUEPRINT_HD constexpr float f8_e4m3fn_bits_to_float(std::uint8_t h) {
  if ((h & 0x7Fu) == 0x7Fu) return bits_as_float(((h & 0x80u) << 24) | 0x7FC00000u);
  // e4m3fn has no inf: exponent 15 is an ordinary binade, so widen as if E were wider.
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x80u) << 24;
  const std::uint32_t e = (h >> 3) & 0xFu;
  std::uint32_t m = h & 0x7u;
  if (e != 0) return bits_as_float(sign | ((e - 7 + 127) << 23) | (m << 20));
  if (m == 0) return bits_as_float(sign);
  std::uint32_t ex = 1 - 7 + 127;
  while ((m & 0x8u) == 0) {
    m <<= 1;
    --ex;
  }
  return bits_as_float(sign | (ex << 23) | ((m & 0x7u) << 20));
}

[[nodiscard]] BLUEPRINT_HD constexpr float f8_e5m2_bits_to_float(std::uint8_t h) {
  if ((h & 0x7Fu) > 0x7Cu) return bits_as_float(((h & 0x80u) << 24) | 0x7FC00000u);
  return bits_as_float(detail::widen_ieee<5, 2>(h));
}

// ---- by dtype ----------------------------------------------------------------------------

/// Stores `v` narrowed to `D` as element `index` of the array at `base`.
template <dtype D>
BLUEPRINT_HD BLUEPRINT_INLINE void store_element(void* base, std::size_t index, float v) {
  if constexpr (D == dtype::f32) {
    static_cast<float*>(base)[index] = v;
  } else if constexpr (D == dtype::bf16) {
    static_cast<std::uint16_t*>(base)[index] = float_to_bf16_bits(v);
  } else if constexpr (D == dtype::f16) {
    static_cast<std::uint16_t*>(base)[index] = float_to_f16_bits(v);
  } else if constexpr (D == dtype::f8_e4m3fn) {
    static_cast<std::uint8_t*>(base)[index] = float_to_f8_e4m3fn_bits(v);
  } else {
    static_assert(D == dtype::f8_e5m2, "store_element: unknown dtype");
    static_cast<std::uint8_t*>(base)[index] = float_to_f8_e5m2_bits(v);
  }
}

/// The storage pattern of `v` in dtype `t`, zero-extended (what element_fingerprint hashes).
[[nodiscard]] BLUEPRINT_HD constexpr std::uint32_t float_to_storage_bits(dtype t, float v) {
  switch (t) {
    case dtype::f32:
      return float_as_bits(v);
    case dtype::bf16:
      return float_to_bf16_bits(v);
    case dtype::f16:
      return float_to_f16_bits(v);
    case dtype::f8_e4m3fn:
      return float_to_f8_e4m3fn_bits(v);
    case dtype::f8_e5m2:
      return float_to_f8_e5m2_bits(v);
  }
  return 0;
}

/// Reads element `index` of an array of dtype `t` at `base`, widened exactly to float.
[[nodiscard]] BLUEPRINT_HD inline float load_element_as_float(dtype t, const void* base,
                                                              std::size_t index) {
  switch (t) {
    case dtype::f32:
      return static_cast<const float*>(base)[index];
    case dtype::bf16:
      return bf16_bits_to_float(static_cast<const std::uint16_t*>(base)[index]);
    case dtype::f16:
      return f16_bits_to_float(static_cast<const std::uint16_t*>(base)[index]);
    case dtype::f8_e4m3fn:
      return f8_e4m3fn_bits_to_float(static_cast<const std::uint8_t*>(base)[index]);
    case dtype::f8_e5m2:
      return f8_e5m2_bits_to_float(static_cast<const std::uint8_t*>(base)[index]);
  }
  return 0.0f;
}

}  // namespace blueprint
