// The value of one element: init spec x (seed, tensor id, index) -> float.
//
// This is the whole definition of a random initialization in Blueprint: element `index` of a
// tensor draws lane index % 4 of philox_for_element_group(seed, id, index / 4) (init stream v3:
// half of a lane of block index / 8, below) and maps it through the deterministic math of
// math.hpp. Nothing else (launch shape, shard, device) enters,
// so any materializer that calls these functions produces the same bits. The mappings:
//
//   uniform(a, b)      u = (x >> 8) * 2^-24 in [0, 1) (exact); value = fma(b - a, u, a).
//                      The result lies in [a, b]; b itself only through the rounding of the fma.
//   normal(mean, std)  Box-Muller on lane pairs (0, 1) and (2, 3): u1 = ((x_even >> 8) + 1)
//                      * 2^-24 in (0, 1], u2 = (x_odd >> 8) * 2^-24 in [0, 1);
//                      r = sqrt(-2 log u1); z_even = r cos(2 pi u2), z_odd = r sin(2 pi u2);
//                      value = fma(std, z, mean). |z| <= 5.77 (u1 >= 2^-24).
//   truncated_normal(mean, std, lo, hi)
//                      inverse CDF: w_lo = erf(alpha / sqrt 2), w_hi = erf(beta / sqrt 2) with
//                      alpha = (lo - mean) / std, beta = (hi - mean) / std (i.e. 2 Phi - 1);
//                      u = (2 (x >> 9) + 1) * 2^-24 in (0, 1) (exact, symmetric);
//                      w = fma(u, w_hi - w_lo, w_lo) clamped into (-1, 1);
//                      value = fma(std * sqrt 2, erfinv(w), mean) clamped into [lo, hi].
//                      Same construction as torch.nn.init.trunc_normal_.
//   normal_icdf(mean, std)  init stream v2 (init.hpp): each lane's own word x, no pairing.
//                      n = (x >> 8) & (2^23 - 1), u = (2n + 1) 2^-25 in (0, 1/2) (exact in
//                      float); q = the piecewise cubic of normal_icdf_table.hpp at u (segment:
//                      u's exponent and top 3 mantissa bits; t: its next 20 bits), within
//                      3.5e-7 of -Phi^-1(u) (relative, absolute below 1); z = q if bit 31 of x
//                      is set, else -q; value = fma(std, z, mean). |z| <= 5.42 (u >= 2^-25).
//   normal_icdf16(mean, std)  init stream v3 (init.hpp): 16 bits per element, 8 elements per
//                      Philox block. Element i = 4 g + l reads the half (g & 1) of word l of
//                      block g >> 1, i.e. the counter (g >> 1, tensor id): h (16 bits). d =
//                      2^15 - 1 - (h & 0x7FFF): the level, counted from the outside.
//                      d >= 16: t = (2d + 1) 2^-17 in (2^-12, 1/2) and q = the core quintic of
//                      normal_icdf16_table.hpp at t (segment: the exponent and top mantissa bit
//                      of float(2d + 1); s: its other 22 bits as [0, 1));
//                      d < 16 (probability 2^-11): refined, t = (2n + 1) 2^-36 in (0, 2^-12)
//                      with n = w >> 9 of the tail word w = word 0 of Philox with key
//                      seed ^ 0x9E3779B97F4A7C15 and counter (i, tensor id), q = the tail
//                      quintic; q within 3.9e-7 of -Phi^-1(t). z = q if bit 15 of h is set,
//                      else -q; value = fma(std, z, mean). |z| <= 6.65.
//   zeros, ones, constant(a)   the constant.
//   rotary_inv_freq(theta, dim)  1 / theta^(2i / dim), in float32 steps as torch computes it.
//   arange(a, b)       fma(float(i), b, a) (float(i) exact below 2^24).
//   skip               0 (never materialized; the bytes come from a checkpoint).
// Schemes (kaiming, xavier, fan_in_uniform) must be resolved by the plan first; they yield NaN
// here so that a forgotten resolution cannot pass silently.
#pragma once

#include <cstdint>

#include "config.hpp"
#include "init.hpp"
#include "math.hpp"
#include "normal_icdf16_table.hpp"
#include "normal_icdf_table.hpp"
#include "philox.hpp"

namespace blueprint {

namespace detail {

/// [0, 1), 24 bits.
[[nodiscard]] BLUEPRINT_HD BLUEPRINT_INLINE constexpr float u01_closed_open(std::uint32_t x) {
  return static_cast<float>(x >> 8) * 0x1p-24f;
}
/// (0, 1], 24 bits.
[[nodiscard]] BLUEPRINT_HD BLUEPRINT_INLINE constexpr float u01_open_closed(std::uint32_t x) {
  return static_cast<float>((x >> 8) + 1u) * 0x1p-24f;
}
/// (0, 1), 23 bits, symmetric about 1/2.
[[nodiscard]] BLUEPRINT_HD BLUEPRINT_INLINE constexpr float u01_open_open(std::uint32_t x) {
  return static_cast<float>(((x >> 9) << 1) + 1u) * 0x1p-24f;
}

// Branch-free forms of det_log and det_sincos_2pi (math.hpp) for the only inputs Box-Muller
// gives them: det_log of u in [2^-24, 1] (normal, positive, finite: none of its special-case
// branches is taken, and its general path gives +0 at 1 exactly like the early return) and
// det_sincos_2pi of u in [0, 1) (the quadrant switch becomes selects). Both call math.hpp's
// own cores (log_core, sincos_quarter_poly), so the results are the same bits;
// tests/unit/test_materialize.cpp checks both against math.hpp for every one of their 2^24 possible
// inputs.
[[nodiscard]] BLUEPRINT_HD BLUEPRINT_INLINE constexpr float log_of_unit(float x) {
  return log_core(float_as_bits(x), 0);
}

BLUEPRINT_HD BLUEPRINT_INLINE constexpr void sincos_2pi_of_unit(float u, float* s, float* c) {
  const float v = u * 4.0f;
  const int q = static_cast<int>(v + 0.5f);  // v >= 0
  const float r = v - static_cast<float>(q);
  float sn = 0, cs = 0;
  sincos_quarter_poly(r, &sn, &cs);
  // Quadrant q & 3: (s, c) = (sn, cs), (cs, -sn), (-sn, -cs), (-cs, sn); negation = sign flip.
  const bool odd = (q & 1) != 0;
  const std::uint32_t s_sign = static_cast<std::uint32_t>(q & 2) << 30;
  const std::uint32_t c_sign = static_cast<std::uint32_t>((q + 1) & 2) << 30;
  *s = bits_as_float(float_as_bits(odd ? cs : sn) ^ s_sign);
  *c = bits_as_float(float_as_bits(odd ? sn : cs) ^ c_sign);
}

/// The element formulas of the random kinds, written once: the scalar path (sample_group), the
/// CPU's batch loops (fill.hpp fill_groups) and the GPU kernel all assemble values from these.

/// uniform(a, b) of random word x.
[[nodiscard]] BLUEPRINT_HD BLUEPRINT_INLINE constexpr float uniform_value(const init_spec& s,
                                                                          std::uint32_t x) {
  return det_fma(s.b - s.a, u01_closed_open(x), s.a);
}
/// -2 log u1 of a Box-Muller pair's even word (its square root is the radius; batch loops take
/// the roots many at a time).
[[nodiscard]] BLUEPRINT_HD BLUEPRINT_INLINE constexpr float box_muller_radius_squared(
    std::uint32_t even) {
  return -2.0f * log_of_unit(u01_open_closed(even));
}
/// sin and cos of 2 pi u2 from a Box-Muller pair's odd word.
BLUEPRINT_HD BLUEPRINT_INLINE constexpr void box_muller_angle(std::uint32_t odd, float* sn,
                                                              float* cs) {
  sincos_2pi_of_unit(u01_closed_open(odd), sn, cs);
}
/// normal(mean, std) from a radius and the cos (even lane) or sin (odd lane) of the angle.
[[nodiscard]] BLUEPRINT_HD BLUEPRINT_INLINE constexpr float normal_value(const init_spec& s,
                                                                         float radius, float trig) {
  return det_fma(s.b, radius * trig, s.a);
}

/// The cubics of init stream v2's inverse CDF, one row per segment (normal_icdf_table.hpp),
/// as host data and, in CUDA builds, as device data (a kernel cannot read a host constexpr
/// array at a run-time index).
struct alignas(16) icdf_cubic {
  float c[4];
};
inline constexpr icdf_cubic normal_icdf_cubics[192] = {BLUEPRINT_NORMAL_ICDF_COEFFICIENTS};
#if defined(__CUDACC__)
// static: nvcc allows an inline __device__ variable only under -rdc=true; 3 KiB per unit.
static __device__ constexpr icdf_cubic normal_icdf_cubics_device[192] = {
    BLUEPRINT_NORMAL_ICDF_COEFFICIENTS};
#endif

/// -Phi^-1(u) for u = (2n + 1) 2^-25, n < 2^23: the segment's cubic at t (three fmas).
[[nodiscard]] BLUEPRINT_HD BLUEPRINT_INLINE constexpr float normal_icdf_magnitude(std::uint32_t n) {
  const float u = static_cast<float>(2 * n + 1) * 0x1p-25f;  // exact: 2n + 1 < 2^24
  const std::uint32_t bits = float_as_bits(u);
  const std::uint32_t segment = ((bits >> 23) - (127 - 25)) * 8 + ((bits >> 20) & 7u);
  const float t = static_cast<float>(bits & 0xFFFFFu) * 0x1p-20f;  // exact
#if BLUEPRINT_ON_DEVICE
  const icdf_cubic k = normal_icdf_cubics_device[segment];
#else
  const icdf_cubic& k = normal_icdf_cubics[segment];
#endif
  return det_fma(det_fma(det_fma(k.c[3], t, k.c[2]), t, k.c[1]), t, k.c[0]);
}

/// A standard normal value of init stream v2 from one random word.
[[nodiscard]] BLUEPRINT_HD BLUEPRINT_INLINE constexpr float normal_icdf_standard(std::uint32_t x) {
  const float q = normal_icdf_magnitude((x >> 8) & 0x7FFFFFu);
  return bits_as_float(float_as_bits(q) ^ ((~x) & 0x80000000u));  // bit 31 clear: -q
}

/// normal(mean, std) by init stream v2.
[[nodiscard]] BLUEPRINT_HD BLUEPRINT_INLINE constexpr float normal_icdf_value(const init_spec& s,
                                                                              std::uint32_t x) {
  return det_fma(s.b, normal_icdf_standard(x), s.a);
}

/// The quintics of init stream v3's inverse CDF (normal_icdf16_table.hpp): the core for the
/// 2^15 - 16 central levels, the tail for the refined outer ones; one row per half of a binary
/// octave of the odd integer f. Rows padded to 8 floats (32 bytes: two 16-byte loads); the core
/// table to 32 rows of zeros, so that a refined level's row index, taken modulo 32, reads a
/// placeholder instead of needing a clamp (a branch the compilers keep).
struct alignas(32) icdf_quintic {
  float c[8];
};
inline constexpr icdf_quintic normal_icdf16_core[32] = {BLUEPRINT_NORMAL_ICDF16_CORE};
inline constexpr icdf_quintic normal_icdf16_tail[48] = {BLUEPRINT_NORMAL_ICDF16_TAIL};
#if defined(__CUDACC__)
static __device__ constexpr icdf_quintic normal_icdf16_core_device[32] = {
    BLUEPRINT_NORMAL_ICDF16_CORE};
static __device__ constexpr icdf_quintic normal_icdf16_tail_device[48] = {
    BLUEPRINT_NORMAL_ICDF16_TAIL};
#endif

/// The rows of v3's pieces start at these values of (float(f) bits >> 22), the biased exponent
/// and the top mantissa bit: 2 (127 + first octave).
inline constexpr std::uint32_t icdf16_core_first_key = 2 * (127 + 5);
inline constexpr std::uint32_t icdf16_tail_first_key = 2 * 127;
/// Levels d below this are refined from the tail word.
inline constexpr std::uint32_t icdf16_refined_levels = 16;

/// The quintic of `k` at s (Horner: five fmas).
[[nodiscard]] BLUEPRINT_HD BLUEPRINT_INLINE constexpr float icdf16_quintic(const icdf_quintic& k,
                                                                           float s) {
  // Spelled out: g++ does not vectorize the fill loops around an inner loop here.
  float p = det_fma(k.c[5], s, k.c[4]);
  p = det_fma(p, s, k.c[3]);
  p = det_fma(p, s, k.c[2]);
  p = det_fma(p, s, k.c[1]);
  return det_fma(p, s, k.c[0]);
}

/// The local variable of an odd f < 2^24 in its half octave: its float's 22 low mantissa bits
/// as [0, 1).
[[nodiscard]] BLUEPRINT_HD BLUEPRINT_INLINE constexpr float icdf16_local(std::uint32_t bits) {
  return static_cast<float>(bits & 0x3FFFFFu) * 0x1p-22f;  // exact
}

/// -Phi^-1((2d + 1) 2^-17) for a core level d in [16, 2^15). On the host, d < 16 (a refined
/// level) gives a placeholder from the zero rows; on the device the caller clamps d instead
/// (one VIMNMX there, where the mask costs more).
[[nodiscard]] BLUEPRINT_HD BLUEPRINT_INLINE constexpr float normal_icdf16_core_magnitude(
    std::uint32_t d) {
  const std::uint32_t bits = float_as_bits(static_cast<float>(2 * d + 1));  // exact
#if BLUEPRINT_ON_DEVICE
  const std::uint32_t row = (bits >> 22) - icdf16_core_first_key;  // callers clamp d
  const icdf_quintic k = normal_icdf16_core_device[row];
#else
  const std::uint32_t row = ((bits >> 22) - icdf16_core_first_key) & 31u;
  const icdf_quintic& k = normal_icdf16_core[row];
#endif
  return icdf16_quintic(k, icdf16_local(bits));
}

/// -Phi^-1((2n + 1) 2^-36), n = w >> 9, for the tail word w of a refined level.
[[nodiscard]] BLUEPRINT_HD BLUEPRINT_INLINE constexpr float normal_icdf16_tail_magnitude(
    std::uint32_t w) {
  const std::uint32_t bits = float_as_bits(static_cast<float>(((w >> 9) << 1) + 1u));  // exact
  const std::uint32_t row = (bits >> 22) - icdf16_tail_first_key;
#if BLUEPRINT_ON_DEVICE
  const icdf_quintic k = normal_icdf16_tail_device[row];
#else
  const icdf_quintic& k = normal_icdf16_tail[row];
#endif
  return icdf16_quintic(k, icdf16_local(bits));
}

/// The level d of 16 random bits h (0: the outermost).
[[nodiscard]] BLUEPRINT_HD BLUEPRINT_INLINE constexpr std::uint32_t icdf16_level(std::uint32_t h) {
  return 0x7FFFu - (h & 0x7FFFu);
}

/// The tail word of element `index`: word 0 of Philox under the seed's tail key, counter
/// (index, tensor id) — a stream of its own, read only for refined levels.
[[nodiscard]] BLUEPRINT_HD BLUEPRINT_INLINE constexpr std::uint32_t normal_icdf16_tail_word(
    std::uint64_t seed, std::uint64_t tensor_id, std::uint64_t index) {
  return philox_for_element_group(seed ^ 0x9E3779B97F4A7C15ull, tensor_id, index).v[0];
}

/// Applies the sign bit (bit 15 of h set: +q, clear: -q).
[[nodiscard]] BLUEPRINT_HD BLUEPRINT_INLINE constexpr float icdf16_signed(float q,
                                                                          std::uint32_t h) {
  return bits_as_float(float_as_bits(q) ^ (((~h) & 0x8000u) << 16));
}

/// A standard normal value of init stream v3 from 16 random bits `h` of element `index`.
[[nodiscard]] BLUEPRINT_HD BLUEPRINT_INLINE constexpr float normal_icdf16_standard(
    std::uint32_t h, std::uint64_t seed, std::uint64_t tensor_id, std::uint64_t index) {
  const std::uint32_t d = icdf16_level(h);
  const float q =
      d >= icdf16_refined_levels
          ? normal_icdf16_core_magnitude(d)
          : normal_icdf16_tail_magnitude(normal_icdf16_tail_word(seed, tensor_id, index));
  return icdf16_signed(q, h);
}

/// The value of 16 random bits `h` under init stream v3 when h is at a core level; at a refined
/// level a placeholder, which the fill loops and the GPU kernel overwrite: they compute every
/// lane branch-free this way, then patch the rare refined ones with normal_icdf16_standard.
[[nodiscard]] BLUEPRINT_HD BLUEPRINT_INLINE constexpr float normal_icdf16_core_value(
    const init_spec& s, std::uint32_t h) {
  std::uint32_t d = icdf16_level(h);
#if BLUEPRINT_ON_DEVICE
  d = d < icdf16_refined_levels ? icdf16_refined_levels : d;  // (g++ would branch on the host)
#endif
  return det_fma(s.b, icdf16_signed(normal_icdf16_core_magnitude(d), h), s.a);
}

/// The four values of group `group` under init stream v3, from its Philox block (the counter
/// (group >> 1, tensor id)).
BLUEPRINT_HD BLUEPRINT_INLINE constexpr void normal_icdf16_group(
    const init_spec& s, std::uint64_t seed, std::uint64_t tensor_id, std::uint64_t group,
    const philox_result& block, float v[4]) {
  const unsigned shift = static_cast<unsigned>(group & 1u) * 16u;
  for (int l = 0; l < 4; ++l) {
    const std::uint32_t h = (block.v[l] >> shift) & 0xFFFFu;
    v[l] = det_fma(s.b, normal_icdf16_standard(h, seed, tensor_id, group * 4 + l), s.a);
  }
}

/// Per-spec constants of the truncated normal (computed once per group).
struct truncnorm_params {
  float w_lo, w_span, scale;
};

[[nodiscard]] BLUEPRINT_HD BLUEPRINT_INLINE constexpr truncnorm_params truncnorm_setup(
    const init_spec& s) {
  constexpr float rsqrt2 = 0.707106769f, sqrt2 = 1.41421354f;
  const float alpha = det_div(s.c - s.a, s.b);
  const float beta = det_div(s.d - s.a, s.b);
  const float w_lo = det_erf(alpha * rsqrt2);
  const float w_hi = det_erf(beta * rsqrt2);
  return {w_lo, w_hi - w_lo, s.b * sqrt2};
}

[[nodiscard]] BLUEPRINT_HD BLUEPRINT_INLINE constexpr float truncnorm_value(
    const init_spec& s, const truncnorm_params& p, std::uint32_t x) {
  constexpr float one_minus = 0x1.fffffep-1f;  // largest float below 1
  float w = det_fma(u01_open_open(x), p.w_span, p.w_lo);
  w = w > one_minus ? one_minus : (w < -one_minus ? -one_minus : w);
  float v = det_fma(p.scale, det_erfinv(w), s.a);
  v = v < s.c ? s.c : v;
  v = v > s.d ? s.d : v;
  return v;
}

/// The four values of one Philox group `x` under random kind K (tp: truncnorm_setup(s) for the
/// truncated normal, unused otherwise).
template <init_kind K>
BLUEPRINT_HD BLUEPRINT_INLINE constexpr void group_values(const init_spec& s,
                                                          const truncnorm_params& tp,
                                                          const philox_result& x, float v[4]) {
  if constexpr (K == init_kind::normal) {
    for (int pair = 0; pair < 2; ++pair) {
      const float radius = det_sqrt(box_muller_radius_squared(x.v[2 * pair]));
      float sn = 0, cs = 0;
      box_muller_angle(x.v[2 * pair + 1], &sn, &cs);
      v[2 * pair] = normal_value(s, radius, cs);
      v[2 * pair + 1] = normal_value(s, radius, sn);
    }
  } else if constexpr (K == init_kind::uniform) {
    for (int l = 0; l < 4; ++l) v[l] = uniform_value(s, x.v[l]);
  } else if constexpr (K == init_kind::normal_icdf) {
    for (int l = 0; l < 4; ++l) v[l] = normal_icdf_value(s, x.v[l]);
  } else {
    static_assert(K == init_kind::truncated_normal, "group_values: random kinds only");
    for (int l = 0; l < 4; ++l) v[l] = truncnorm_value(s, tp, x.v[l]);
  }
}

/// theta ** (float(2i) / dim), as torch computes a rotary embedding's position frequencies
/// in float32 (the exponent rounded to float, the power as torch's pow computes it).
[[nodiscard]] BLUEPRINT_HD BLUEPRINT_INLINE constexpr float rope_position_frequency(
    float theta, float dim, std::uint64_t index) {
  const float e = det_div(static_cast<float>(2 * index), dim);
  return torch_powf(theta, e);
}

/// Values that depend on the index only (no random bits).
[[nodiscard]] BLUEPRINT_HD BLUEPRINT_INLINE constexpr float index_value(const init_spec& s,
                                                                        std::uint64_t index) {
  switch (s.kind) {
    case init_kind::zeros:
      return 0.0f;
    case init_kind::ones:
      return 1.0f;
    case init_kind::constant:
      return s.a;
    case init_kind::arange:
      return det_fma(static_cast<float>(index), s.b, s.a);
    case init_kind::rotary_inv_freq:
      return det_div(1.0f, rope_position_frequency(s.a, s.b, index));
    case init_kind::rotary_inv_freq_llama3: {
      // Hugging Face's _compute_llama3_parameters, step for step in float32: frequencies whose
      // wavelength exceeds the original context are divided by `factor`, those shorter than a
      // quarter of it are kept, and the band between is interpolated.
      const float inv = det_div(1.0f, rope_position_frequency(s.a, s.b, index));
      const float factor = s.c, context = s.d;
      const float low_freq_wavelen = context, high_freq_wavelen = det_div(context, 4.0f);
      const float wavelen = det_div(6.28318548f, inv);  // float(2 pi) / inv_freq
      const float scaled = wavelen > low_freq_wavelen ? det_div(inv, factor) : inv;
      if (wavelen < high_freq_wavelen || wavelen > low_freq_wavelen) return scaled;
      const float smooth = det_div(det_div(context, wavelen) - 1.0f, 3.0f);
      return det_div((1.0f - smooth) * scaled, factor) + smooth * scaled;
    }
    case init_kind::rotary_inv_freq_yarn: {
      // Hugging Face's _compute_yarn_parameters in float32: interpolated (divided by factor)
      // below the correction range, extrapolated above it, a linear ramp between.
      // d packs the truncated correction range: low * 65536 + high.
      const float pos = rope_position_frequency(s.a, s.b, index);
      const float extrapolation = det_div(1.0f, pos);
      const float interpolation = det_div(1.0f, s.c * pos);
      const auto range = static_cast<std::uint32_t>(s.d);
      float low = static_cast<float>(range >> 16), high = static_cast<float>(range & 0xFFFFu);
      if (low == high) high += 0.001f;
      float ramp = det_div(static_cast<float>(index) - low, high - low);
      ramp = ramp < 0.0f ? 0.0f : ramp > 1.0f ? 1.0f : ramp;
      const float extrapolation_factor = 1.0f - ramp;
      return interpolation * (1.0f - extrapolation_factor) + extrapolation * extrapolation_factor;
    }
    case init_kind::skip:
      return 0.0f;
    default:
      return bits_as_float(0x7fc00000u);  // unresolved scheme
  }
}

[[nodiscard]] BLUEPRINT_HD BLUEPRINT_INLINE constexpr bool is_random(init_kind k) {
  return k == init_kind::uniform || k == init_kind::normal || k == init_kind::truncated_normal ||
         k == init_kind::normal_icdf || k == init_kind::normal_icdf16;
}

}  // namespace detail

/// Elements 4 group .. 4 group + 3 of the tensor, bit-identical to four sample_element calls.
/// @pre is_concrete(spec.kind)
BLUEPRINT_HD constexpr void sample_group(const init_spec& spec, std::uint64_t seed,
                                         std::uint64_t tensor_id, std::uint64_t group,
                                         float out[4]) {
  if (!detail::is_random(spec.kind)) {
    for (int l = 0; l < 4; ++l) out[l] = detail::index_value(spec, group * 4 + l);
    return;
  }
  if (spec.kind == init_kind::normal_icdf16) {
    detail::normal_icdf16_group(spec, seed, tensor_id, group,
                                philox_for_element_group(seed, tensor_id, group >> 1), out);
    return;
  }
  const philox_result x = philox_for_element_group(seed, tensor_id, group);
  switch (spec.kind) {
    case init_kind::uniform:
      detail::group_values<init_kind::uniform>(spec, {}, x, out);
      return;
    case init_kind::normal:
      detail::group_values<init_kind::normal>(spec, {}, x, out);
      return;
    case init_kind::normal_icdf:
      detail::group_values<init_kind::normal_icdf>(spec, {}, x, out);
      return;
    default:
      detail::group_values<init_kind::truncated_normal>(spec, detail::truncnorm_setup(spec), x,
                                                        out);
      return;
  }
}

/// The value of element `index` of tensor `tensor_id` under `spec` and `seed`.
/// @pre is_concrete(spec.kind)
[[nodiscard]] BLUEPRINT_HD constexpr float sample_element(const init_spec& spec, std::uint64_t seed,
                                                          std::uint64_t tensor_id,
                                                          std::uint64_t index) {
  if (!detail::is_random(spec.kind)) return detail::index_value(spec, index);
  float v[4] = {0, 0, 0, 0};
  sample_group(spec, seed, tensor_id, index / 4, v);
  return v[index % 4];
}

}  // namespace blueprint
