// The value of one element: init spec x (seed, tensor id, index) -> float.
//
// This is the whole definition of a random initialization in Blueprint: element `index` of a
// tensor draws lane index % 4 of philox_for_element_group(seed, id, index / 4) and maps it
// through the deterministic math of math.hpp. Nothing else (launch shape, shard, device) enters,
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
//   zeros, ones, constant(a)   the constant.
//   rotary_inv_freq(theta, dim)  1 / theta^(2i / dim), computed in double, rounded once.
//   arange(a, b)       fma(float(i), b, a) (float(i) exact below 2^24).
//   skip               0 (never materialized; the bytes come from a checkpoint).
// Schemes (kaiming, xavier, fan_in_uniform) must be resolved by the plan first; they yield NaN
// here so that a forgotten resolution cannot pass silently.
#pragma once

#include <cstdint>

#include "config.hpp"
#include "init.hpp"
#include "math.hpp"
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

/// The two standard normals of one Box-Muller pair.
BLUEPRINT_HD BLUEPRINT_INLINE constexpr void box_muller(std::uint32_t even, std::uint32_t odd,
                                                        float* z_even, float* z_odd) {
  const float r = det_sqrt(-2.0f * det_log(u01_open_closed(even)));
  float s = 0, c = 0;
  det_sincos_2pi(u01_closed_open(odd), &s, &c);
  *z_even = r * c;
  *z_odd = r * s;
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
    case init_kind::rotary_inv_freq: {
      const double e = det_div(2.0 * static_cast<double>(index), static_cast<double>(s.b));
      return static_cast<float>(det_exp_f64(-e * det_log_f64(static_cast<double>(s.a))));
    }
    case init_kind::rotary_inv_freq_llama3: {
      // Hugging Face's _compute_llama3_parameters, in double, rounded once: frequencies whose
      // wavelength exceeds the original context are divided by `factor`, those shorter than a
      // quarter of it are kept, and the band between is interpolated.
      const double e = det_div(2.0 * static_cast<double>(index), static_cast<double>(s.b));
      const double inv = det_exp_f64(-e * det_log_f64(static_cast<double>(s.a)));
      const double factor = s.c, context = s.d;
      const double low_freq_factor = 1.0, high_freq_factor = 4.0;
      const double wavelen = det_div(2.0 * 3.14159265358979311600, inv);
      if (wavelen > det_div(context, low_freq_factor))
        return static_cast<float>(det_div(inv, factor));
      if (wavelen < det_div(context, high_freq_factor)) return static_cast<float>(inv);
      const double smooth =
          det_div(det_div(context, wavelen) - low_freq_factor, high_freq_factor - low_freq_factor);
      return static_cast<float>((1.0 - smooth) * det_div(inv, factor) + smooth * inv);
    }
    case init_kind::skip:
      return 0.0f;
    default:
      return bits_as_float(0x7fc00000u);  // unresolved scheme
  }
}

[[nodiscard]] BLUEPRINT_HD BLUEPRINT_INLINE constexpr bool is_random(init_kind k) {
  return k == init_kind::uniform || k == init_kind::normal || k == init_kind::truncated_normal;
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
  const philox_result x = philox_for_element_group(seed, tensor_id, group);
  switch (spec.kind) {
    case init_kind::uniform: {
      const float span = spec.b - spec.a;
      for (int l = 0; l < 4; ++l) out[l] = det_fma(span, detail::u01_closed_open(x.v[l]), spec.a);
      return;
    }
    case init_kind::normal: {
      float z[4] = {0, 0, 0, 0};
      detail::box_muller(x.v[0], x.v[1], &z[0], &z[1]);
      detail::box_muller(x.v[2], x.v[3], &z[2], &z[3]);
      for (int l = 0; l < 4; ++l) out[l] = det_fma(spec.b, z[l], spec.a);
      return;
    }
    default: {  // truncated_normal
      const detail::truncnorm_params p = detail::truncnorm_setup(spec);
      for (int l = 0; l < 4; ++l) out[l] = detail::truncnorm_value(spec, p, x.v[l]);
      return;
    }
  }
}

/// The value of element `index` of tensor `tensor_id` under `spec` and `seed`.
/// @pre is_concrete(spec.kind)
[[nodiscard]] BLUEPRINT_HD constexpr float sample_element(const init_spec& spec, std::uint64_t seed,
                                                          std::uint64_t tensor_id,
                                                          std::uint64_t index) {
  if (!detail::is_random(spec.kind)) return detail::index_value(spec, index);
  const philox_result x = philox_for_element_group(seed, tensor_id, index / 4);
  const int lane = static_cast<int>(index % 4);
  switch (spec.kind) {
    case init_kind::uniform:
      return det_fma(spec.b - spec.a, detail::u01_closed_open(x.v[lane]), spec.a);
    case init_kind::normal: {
      const int even = lane & ~1;
      float z0 = 0, z1 = 0;
      detail::box_muller(x.v[even], x.v[even + 1], &z0, &z1);
      return det_fma(spec.b, (lane & 1) ? z1 : z0, spec.a);
    }
    default:
      return detail::truncnorm_value(spec, detail::truncnorm_setup(spec), x.v[lane]);
  }
}

}  // namespace blueprint
