// Deterministic float math: the same bits from g++ on the CPU and from nvcc on the GPU.
//
// libm (and CUDA's `logf`, `__expf`, `sincospif`) differ between vendors and versions by an ulp
// here and there, so a parameter initialized through them would not be bit-identical across the
// CPU and the GPU materializers. Everything here is built only from operations that IEEE 754
// defines exactly, in a fixed order:
//   - `+`, `-`, `*` on float (and, for the rotary helpers, double): correctly rounded on both;
//   - `det_fma`: one rounding (`__fmaf_rn` on device, `__builtin_fmaf` on the host, which is
//     glibc's correctly rounded `fmaf` at run time and folded exactly by g++ at compile time);
//   - `det_sqrt`, `det_div`: correctly rounded (`__fsqrt_rn`, `__fdiv_rn` on device, so
//     `-use_fast_math` or `-prec-div=false` cannot change them; `__builtin_sqrtf` and `/` on the
//     host);
//   - integer <-> float conversions (round to nearest even / truncation on both);
//   - polynomial coefficients written as exact float literals.
// clang (19) cannot constant-evaluate `__builtin_fmaf` / `__builtin_sqrtf`; in constant
// evaluation under clang they are computed by `detail::fma_by_double` and
// `detail::sqrt_by_integers` below, both correctly rounded (tested against the hardware on
// random and edge inputs, tests/unit/test_distributions.cpp), so the bits do not change.
// No contraction: the build passes `-ffp-contract=off` to g++ and `--fmad=false` to nvcc (root
// CMakeLists.txt, target blueprint_kernels), so `a * b + c` stays two roundings everywhere and
// every fused step is spelled `det_fma`. The host must run with x87 off (x86-64 SSE, the
// default) and without flush-to-zero (no `-ffast-math` in the final link); the device code must
// not be compiled with `-ftz=true` (implied by `-use_fast_math`).
//
// The polynomials were fitted for this file (least squares on Chebyshev nodes against 40-digit
// mpmath values, then rounded to float); the argument reductions follow the classic fdlibm
// designs. Accuracy (tests/unit/test_distributions.cpp sweeps each against long double libm):
// det_log, det_exp, det_sincos_2pi within 1-2 ulp; det_erf, det_erfinv within a few ulp.
#pragma once

#include <cstdint>
#include <type_traits>

#include "config.hpp"

namespace blueprint {

// ---- bit casts ---------------------------------------------------------------------------
// __builtin_bit_cast is constexpr in g++ >= 11 and accepted by nvcc 12+ in device code; unions
// would be undefined behaviour and memcpy is not constexpr.

[[nodiscard]] BLUEPRINT_HD BLUEPRINT_INLINE constexpr std::uint32_t float_as_bits(float f) {
  return __builtin_bit_cast(std::uint32_t, f);
}
[[nodiscard]] BLUEPRINT_HD BLUEPRINT_INLINE constexpr float bits_as_float(std::uint32_t u) {
  return __builtin_bit_cast(float, u);
}
[[nodiscard]] BLUEPRINT_HD BLUEPRINT_INLINE constexpr std::uint64_t double_as_bits(double f) {
  return __builtin_bit_cast(std::uint64_t, f);
}
[[nodiscard]] BLUEPRINT_HD BLUEPRINT_INLINE constexpr double bits_as_double(std::uint64_t u) {
  return __builtin_bit_cast(double, u);
}

// ---- correctly rounded primitives ----------------------------------------------------------

namespace detail {

/// a * b + c with one rounding, from plain double operations: the product of two floats is
/// exact in double; the sum is made round-to-odd (TwoSum's error decides the last bit), and
/// round-to-odd at 53 bits followed by round-to-nearest at 24 is one correct rounding.
[[nodiscard]] BLUEPRINT_HD BLUEPRINT_INLINE constexpr float fma_by_double(float a, float b,
                                                                          float c) {
  const double p = static_cast<double>(a) * static_cast<double>(b);
  const double s = p + static_cast<double>(c);
  if (s - s != 0) return static_cast<float>(s);  // inf or NaN, as the fma's
  const double bb = s - p;
  const double err = (p - (s - bb)) + (static_cast<double>(c) - bb);
  if (err == 0) return static_cast<float>(s);
  std::uint64_t bits = __builtin_bit_cast(std::uint64_t, s);
  if ((bits & 1) == 0) bits = (err > 0) == (s > 0) ? bits + 1 : bits - 1;
  return static_cast<float>(__builtin_bit_cast(double, bits));
}

/// Integer square root of m and the remainder m - r * r.
[[nodiscard]] BLUEPRINT_HD BLUEPRINT_INLINE constexpr std::uint64_t isqrt_u64(std::uint64_t m,
                                                                              std::uint64_t& rem) {
  std::uint64_t r = 0, bit = std::uint64_t{1} << 62;
  while (bit > m) bit >>= 2;
  while (bit != 0) {
    if (m >= r + bit) {
      m -= r + bit;
      r = (r >> 1) + bit;
    } else {
      r >>= 1;
    }
    bit >>= 2;
  }
  rem = m;
  return r;
}

/// Correctly rounded square root from integer operations: x = m * 2^e with m scaled to 51-53
/// bits and e even; the integer root has 26-27 bits, made round-to-odd by the remainder, then
/// rounded once to float.
[[nodiscard]] BLUEPRINT_HD BLUEPRINT_INLINE constexpr float sqrt_by_integers(float x) {
  if (x != x || x == 0 || x == static_cast<float>(__builtin_huge_val())) return x;  // NaN, ±0, inf
  if (x < 0) return static_cast<float>(__builtin_nan(""));
  const std::uint32_t u = __builtin_bit_cast(std::uint32_t, x);
  int e = static_cast<int>((u >> 23) & 0xff);
  std::uint64_t m = u & 0x7fffffu;
  if (e == 0) {  // subnormal: normalize
    e = 1;
    while ((m & 0x800000u) == 0) {
      m <<= 1;
      --e;
    }
  } else {
    m |= 0x800000u;
  }
  int exponent = e - 150;  // x = m * 2^exponent, m in [2^23, 2^24)
  if ((exponent & 1) != 0) {
    m <<= 1;
    --exponent;
  }
  m <<= 28;
  exponent -= 28;
  std::uint64_t rem = 0;
  std::uint64_t q = isqrt_u64(m, rem);
  if (rem != 0) q |= 1;
  const double scale =
      __builtin_bit_cast(double, static_cast<std::uint64_t>(1023 + exponent / 2) << 52);
  return static_cast<float>(static_cast<double>(q) * scale);
}

}  // namespace detail

/// a * b + c with a single rounding.
[[nodiscard]] BLUEPRINT_HD BLUEPRINT_INLINE constexpr float det_fma(float a, float b, float c) {
#if BLUEPRINT_ON_DEVICE
  return __fmaf_rn(a, b, c);
#else
#if defined(__clang__)
  if (std::is_constant_evaluated()) return detail::fma_by_double(a, b, c);
#endif
  return __builtin_fmaf(a, b, c);
#endif
}

/// Correctly rounded square root. @pre x >= 0 (else NaN).
[[nodiscard]] BLUEPRINT_HD BLUEPRINT_INLINE constexpr float det_sqrt(float x) {
#if BLUEPRINT_ON_DEVICE
  return __fsqrt_rn(x);
#else
#if defined(__clang__)
  if (std::is_constant_evaluated()) return detail::sqrt_by_integers(x);
#endif
  return __builtin_sqrtf(x);
#endif
}

/// Correctly rounded division.
[[nodiscard]] BLUEPRINT_HD BLUEPRINT_INLINE constexpr float det_div(float a, float b) {
#if BLUEPRINT_ON_DEVICE
  return __fdiv_rn(a, b);
#else
  return a / b;
#endif
}

/// Correctly rounded double division.
[[nodiscard]] BLUEPRINT_HD BLUEPRINT_INLINE constexpr double det_div(double a, double b) {
#if BLUEPRINT_ON_DEVICE
  return __ddiv_rn(a, b);
#else
  return a / b;
#endif
}

namespace detail {

[[nodiscard]] BLUEPRINT_HD BLUEPRINT_INLINE constexpr bool is_nan_bits(std::uint32_t u) {
  return (u & 0x7fffffffu) > 0x7f800000u;
}

/// y * 2^n, one rounding (only for subnormal results), for y in the normal range.
[[nodiscard]] BLUEPRINT_HD BLUEPRINT_INLINE constexpr float scale_by_pow2(float y, int n) {
  if (n > 127) {
    y = y * 0x1p127f;
    n -= 127;
    if (n > 127) n = 127;
  } else if (n < -126) {
    // Two steps so that only the last multiplication can round (into the subnormals).
    y = y * (0x1p-126f * 0x1p24f);
    n += 126 - 24;
    if (n < -126) {
      y = y * (0x1p-126f * 0x1p24f);
      n += 126 - 24;
      if (n < -126) n = -126;
    }
  }
  return y * bits_as_float(static_cast<std::uint32_t>(0x7f + n) << 23);
}

}  // namespace detail

// ---- log -------------------------------------------------------------------------------

/// Natural logarithm. log(+0) = -inf, log(x < 0) = NaN, log(+inf) = +inf, log(NaN) = NaN.
/// Reduction x = 2^k m, m in [sqrt(2)/2, sqrt(2)); log m = 2 atanh(s), s = (m-1)/(m+1), with an
/// even polynomial for (2 atanh(s) - 2s)/s; k ln2 added as a hi (exact product) and lo part.
namespace detail {
/// The general path of det_log for the bits `ix` of a positive normal float, with `k` added to
/// its exponent (the subnormal scaling): shared by det_log and the branch-free log of fill.hpp.
[[nodiscard]] BLUEPRINT_HD BLUEPRINT_INLINE constexpr float log_core(std::uint32_t ix, int k) {
  constexpr float ln2_hi = 0x1.62e3p-1f;     // 6.9313812256e-01, 16 significant bits
  constexpr float ln2_lo = 0x1.2fefa2p-17f;  // ln 2 - ln2_hi
  constexpr float lg1 = 0.666666627f, lg2 = 0.400009722f, lg3 = 0.284987867f,
                  lg4 = 0.242790788f;  // (log(1+s)-log(1-s))/s ~ 2 + lg1 s^2 + ...
  ix += 0x3f800000u - 0x3f3504f3u;
  k += static_cast<int>(ix >> 23) - 0x7f;
  ix = (ix & 0x007fffffu) + 0x3f3504f3u;
  const float m = bits_as_float(ix);
  const float f = m - 1.0f;
  const float s = det_div(f, 2.0f + f);
  const float z = s * s;
  const float w = z * z;
  const float t1 = w * det_fma(w, lg4, lg2);
  const float t2 = z * det_fma(w, lg3, lg1);
  const float r = t2 + t1;
  const float hfsq = 0.5f * f * f;
  const float dk = static_cast<float>(k);
  return (((s * (hfsq + r) + dk * ln2_lo) - hfsq) + f) + dk * ln2_hi;
}
}  // namespace detail

[[nodiscard]] BLUEPRINT_HD constexpr float det_log(float x) {
  std::uint32_t ix = float_as_bits(x);
  int k = 0;
  if (ix < 0x00800000u || (ix >> 31) != 0) {
    if ((ix << 1) == 0) return bits_as_float(0xff800000u);   // -inf
    if ((ix >> 31) != 0) return bits_as_float(0x7fc00000u);  // NaN
    k -= 25;  // subnormal: scale into the normal range
    x = x * 0x1p25f;
    ix = float_as_bits(x);
  } else if (ix >= 0x7f800000u) {
    return x;
  } else if (ix == 0x3f800000u) {
    return 0.0f;
  }
  return detail::log_core(ix, k);
}

// ---- exp -------------------------------------------------------------------------------

/// e^x. Overflows to +inf above 88.72, underflows through the subnormals to +0 below -103.97.
/// Reduction x = k ln2 + r, |r| <= ln2/2, r = hi - lo (Cody-Waite); e^r by the rational form
/// 1 + 2r / (2 - r + r^2 P(r^2)) (fdlibm), then scaled by 2^k exactly.
[[nodiscard]] BLUEPRINT_HD constexpr float det_exp(float x) {
  constexpr float ln2hi = 0x1.62e4p-1f;     // 6.9314575195e-01, low bits zero: k*ln2hi exact
  constexpr float ln2lo = 0x1.7f7d1cp-20f;  // ln 2 - ln2hi
  constexpr float invln2 = 0x1.715476p+0f;
  constexpr float p1 = 0xaaaaa8p-26f;   // 1.6666625440e-01
  constexpr float p2 = -0xb55215p-32f;  // -2.7667332906e-03
  const std::uint32_t ux = float_as_bits(x);
  const std::uint32_t hx = ux & 0x7fffffffu;
  const bool neg = (ux >> 31) != 0;
  if (hx > 0x7f800000u) return x;                                    // NaN
  if (hx >= 0x42b17218u && !neg) return bits_as_float(0x7f800000u);  // >= 88.7228: +inf
  if (neg && hx >= 0x42cff1b5u) return 0.0f;                         // <= -103.972: +0
  int k = 0;
  float hi = x, lo = 0.0f;
  if (hx > 0x3eb17218u) {    // |x| > ln2 / 2
    if (hx > 0x3f851592u) {  // |x| > 1.5 ln2
      k = static_cast<int>(invln2 * x + (neg ? -0.5f : 0.5f));
    } else {
      k = neg ? -1 : 1;
    }
    const float kf = static_cast<float>(k);
    hi = x - kf * ln2hi;
    lo = kf * ln2lo;
    x = hi - lo;
  } else if (hx <= 0x39000000u) {  // |x| <= 2^-13
    return 1.0f + x;
  }
  const float xx = x * x;
  const float c = x - xx * det_fma(xx, p2, p1);
  const float y = 1.0f + ((det_div(x * c, 2.0f - c) - lo) + hi);
  return k == 0 ? y : detail::scale_by_pow2(y, k);
}

// ---- sin and cos of 2 pi u -----------------------------------------------------------------

/// sin(2 pi u) and cos(2 pi u), for u in [0, 1) (any finite u works; accuracy is relative to
/// the float u). The reduction happens on u itself: 4u - q, q = nearest integer, is exact
/// (Sterbenz), so no pi is ever multiplied in before the polynomial; the polynomials are the
/// Taylor series of sin(pi r / 2), cos(pi r / 2) on |r| <= 1/2 with pi/2 split in hi + lo.
namespace detail {
/// sin(pi r / 2) and cos(pi r / 2) for |r| <= 1/2: the polynomials of det_sincos_2pi, shared
/// with the branch-free form of fill.hpp.
BLUEPRINT_HD BLUEPRINT_INLINE constexpr void sincos_quarter_poly(float r, float* sn, float* cs) {
  constexpr float h_hi = 1.57079637f, h_lo = -4.37113883e-08f;  // pi/2 = h_hi + h_lo
  constexpr float s3 = -0.645964086f, s5 = 0.0796926245f, s7 = -0.00468175393f,
                  s9 = 0.000160441181f, s11 = -3.59884325e-06f;
  constexpr float c2 = -1.23370051f, c4 = 0.2536695f, c6 = -0.0208634809f, c8 = 0.000919260259f,
                  c10 = -2.52020418e-05f, c12 = 4.71087475e-07f;
  const float r2 = r * r;
  float ps = det_fma(r2, s11, s9);
  ps = det_fma(r2, ps, s7);
  ps = det_fma(r2, ps, s5);
  ps = det_fma(r2, ps, s3);
  const float tail = r * r2 * ps;
  *sn = det_fma(r, h_hi, det_fma(r, h_lo, tail));
  float pc = det_fma(r2, c12, c10);
  pc = det_fma(r2, pc, c8);
  pc = det_fma(r2, pc, c6);
  pc = det_fma(r2, pc, c4);
  pc = det_fma(r2, pc, c2);
  *cs = det_fma(r2, pc, 1.0f);
}
}  // namespace detail

BLUEPRINT_HD constexpr void det_sincos_2pi(float u, float* s, float* c) {
  const float v = u * 4.0f;  // exact
  // Nearest integer of v without libm; v is finite and |v| < 2^22 in every use here.
  const float vq = v + (v >= 0.0f ? 0.5f : -0.5f);
  int q = static_cast<int>(vq);
  const float r = v - static_cast<float>(q);  // exact, |r| <= 1/2
  float sn = 0, cs = 0;
  detail::sincos_quarter_poly(r, &sn, &cs);
  switch (q & 3) {
    case 0:
      *s = sn, *c = cs;
      break;
    case 1:
      *s = cs, *c = -sn;
      break;
    case 2:
      *s = -sn, *c = -cs;
      break;
    default:
      *s = -cs, *c = sn;
      break;
  }
}

// ---- erf and its inverse -----------------------------------------------------------------

/// The error function. erf(+-inf) = +-1, erf(NaN) = NaN.
/// |x| < 1: x (c0 + x^2 P(x^2)) with c0 = 2/sqrt(pi) split in hi + lo;
/// 1 <= |x| < 4: 1 - e^{-x^2} R(|x|), R(x) ~ erfc(x) e^{x^2} by a polynomial on [1, 2.5) and
/// [2.5, 4); |x| >= 4: +-1 (erfc(4) < 2^-25).
[[nodiscard]] BLUEPRINT_HD constexpr float det_erf(float x) {
  const std::uint32_t ux = float_as_bits(x);
  if (detail::is_nan_bits(ux)) return x;
  const bool neg = (ux >> 31) != 0;
  const float ax = bits_as_float(ux & 0x7fffffffu);
  if (ax < 1.0f) {
    constexpr float c0_hi = 1.12837923f, c0_lo = -5.86353828e-08f;
    const float t = ax * ax;
    float p = det_fma(t, -1.0185363e-05f, 0.000114422386f);
    p = det_fma(t, p, -0.000850746525f);
    p = det_fma(t, p, 0.00522255432f);
    p = det_fma(t, p, -0.0268659312f);
    p = det_fma(t, p, 0.112837903f);
    p = det_fma(t, p, -0.376126379f);
    const float y = det_fma(ax, c0_hi, det_fma(ax, c0_lo, ax * t * p));
    return neg ? -y : y;
  }
  if (ax >= 4.0f) return neg ? -1.0f : 1.0f;
  float rr;
  if (ax < 2.5f) {
    const float d = ax - 1.75f;
    float p = det_fma(d, -3.71458191e-05f, 0.000124693237f);
    p = det_fma(d, p, -0.000342605781f);
    p = det_fma(d, p, 0.00103162439f);
    p = det_fma(d, p, -0.003020884f);
    p = det_fma(d, p, 0.00840583816f);
    p = det_fma(d, p, -0.0222600475f);
    p = det_fma(d, p, 0.055763524f);
    p = det_fma(d, p, -0.130976349f);
    rr = det_fma(d, p, 0.28497225f);
  } else {
    const float d = ax - 3.25f;
    float p = det_fma(d, -1.36611443e-05f, 5.79670486e-05f);
    p = det_fma(d, p, -0.000222246643f);
    p = det_fma(d, p, 0.00088474818f);
    p = det_fma(d, p, -0.00343546108f);
    p = det_fma(d, p, 0.0129374322f);
    p = det_fma(d, p, -0.0471994057f);
    rr = det_fma(d, p, 0.166335344f);
  }
  // x^2 as hi + lo so that e^{-x^2} does not inherit the rounding of x^2 (x^2 up to 16).
  const float x2 = ax * ax;
  const float x2_lo = det_fma(ax, ax, -x2);
  const float e = det_exp(-x2);
  const float erfc = det_fma(-e * x2_lo, rr, e * rr);
  const float y = 1.0f - erfc;
  return neg ? -y : y;
}

/// The inverse error function on (-1, 1); erfinv(+-1) = +-inf, NaN outside [-1, 1].
/// With w = -log((1 - x)(1 + x)) (M. Giles' variable, analytic in x^2): erfinv(x) = x P(w) for
/// w < 5, x Q(sqrt(w)) above (coefficients refitted here). 1 - x is exact for |x| >= 1/2.
[[nodiscard]] BLUEPRINT_HD constexpr float det_erfinv(float x) {
  const std::uint32_t ux = float_as_bits(x);
  const float ax = bits_as_float(ux & 0x7fffffffu);
  if (detail::is_nan_bits(ux) || ax > 1.0f) return bits_as_float(0x7fc00000u);
  if (ax == 1.0f) return bits_as_float((ux & 0x80000000u) | 0x7f800000u);
  const float w = -det_log((1.0f - ax) * (1.0f + ax));
  float p;
  if (w < 5.0f) {
    const float d = w - 2.5f;
    p = det_fma(d, -8.94141383e-09f, 2.32647999e-08f);
    p = det_fma(d, p, 4.68266961e-07f);
    p = det_fma(d, p, -3.46309298e-06f);
    p = det_fma(d, p, -4.97306974e-06f);
    p = det_fma(d, p, 0.000218345886f);
    p = det_fma(d, p, -0.00125272525f);
    p = det_fma(d, p, -0.00417738827f);
    p = det_fma(d, p, 0.24664028f);
    p = det_fma(d, p, 1.50140941f);
  } else {
    const float d = det_sqrt(w) - 3.0f;
    p = det_fma(d, 0.000116793701f, -0.000311675511f);
    p = det_fma(d, p, -5.72648678e-05f);
    p = det_fma(d, p, 0.00148763461f);
    p = det_fma(d, p, -0.00359774707f);
    p = det_fma(d, p, 0.00568598881f);
    p = det_fma(d, p, -0.00763711147f);
    p = det_fma(d, p, 0.00944541302f);
    p = det_fma(d, p, 1.00167501f);
    p = det_fma(d, p, 2.83297682f);
  }
  return p * x;
}

// ---- double helpers for index-valued buffers ---------------------------------------------
// rotary inv_freq = theta^(-2i/dim) amplifies any error of log(theta) by up to ln(theta) ~ 14,
// so it is computed in double (plain IEEE double ops, identical on host and device) and rounded
// once to float. These run once per element of tiny buffers; speed does not matter.

/// Natural log in double, x > 0 finite, |error| < 2^-50 relative.
[[nodiscard]] BLUEPRINT_HD constexpr double det_log_f64(double x) {
  constexpr double ln2_hi = 6.93147180369123816490e-01;  // 0x3fe62e42fee00000
  constexpr double ln2_lo = 1.90821492927058770002e-10;  // 0x3dea39ef35793c76
  std::uint64_t ix = double_as_bits(x);
  int k = 0;
  if (ix < 0x0010000000000000ull) {  // subnormal
    x = x * 0x1p54;
    ix = double_as_bits(x);
    k -= 54;
  }
  ix += 0x3ff0000000000000ull - 0x3fe6a09e667f3bcdull;
  k += static_cast<int>(ix >> 52) - 0x3ff;
  ix = (ix & 0x000fffffffffffffull) + 0x3fe6a09e667f3bcdull;
  const double f = bits_as_double(ix) - 1.0;
  const double s = det_div(f, 2.0 + f);  // |s| < 0.1716, s^2 < 0.0295
  const double z = s * s;
  double sum = 0.0;
  for (int n = 25; n >= 3; n -= 2) sum = z * (det_div(1.0, static_cast<double>(n)) + sum);
  const double dk = static_cast<double>(k);
  // 2 atanh(s) = 2s + 2s (z/3 + z^2/5 + ...)
  return dk * ln2_hi + (2.0 * s + (2.0 * s * sum + dk * ln2_lo));
}

/// e^x in double for |x| < 700, |error| < 2^-50 relative.
[[nodiscard]] BLUEPRINT_HD constexpr double det_exp_f64(double x) {
  constexpr double ln2_hi = 6.93147180369123816490e-01;
  constexpr double ln2_lo = 1.90821492927058770002e-10;
  constexpr double inv_ln2 = 1.44269504088896338700e+00;
  const double kd = inv_ln2 * x + (x < 0 ? -0.5 : 0.5);
  const int k = static_cast<int>(kd);
  const double r = (x - static_cast<double>(k) * ln2_hi) - static_cast<double>(k) * ln2_lo;
  double term = 1.0, sum = 1.0;  // Taylor series, |r| <= 0.35: 20 terms reach 2^-60
  for (int n = 1; n <= 20; ++n) {
    term = det_div(term * r, static_cast<double>(n));
    sum = sum + term;
  }
  // 2^k with k in the normal range (|x| < 700).
  return sum * bits_as_double(static_cast<std::uint64_t>(0x3ff + k) << 52);
}

// ---- torch's float32 pow ---------------------------------------------------------------------
// transformers computes rotary frequencies as `theta ** x` on float32 tensors; torch evaluates
// that with SLEEF's vectorized powf (1-ulp, not correctly rounded), so the buffer's bits are
// SLEEF's. The same algorithm here: log(x) as a float-float pair (mantissa in [0.75, 1.5),
// atanh series), times y, then exp of the pair, every step a float op or a single-rounding FMA.
// Checked against torch's own bits (tests/data/hf, tests/unit/test_distributions.cpp).

namespace detail {
struct float_pair {
  float hi, lo;
};
[[nodiscard]] BLUEPRINT_HD constexpr float_pair ff_add2(float x, float y) {
  const float r = x + y, v = r - x;
  return {r, (x - (r - v)) + (y - v)};
}
[[nodiscard]] BLUEPRINT_HD constexpr float_pair ff_add2(float_pair x, float y) {
  const float r = x.hi + y, v = r - x.hi;
  return {r, ((x.hi - (r - v)) + (y - v)) + x.lo};
}
[[nodiscard]] BLUEPRINT_HD constexpr float_pair ff_add2(float_pair x, float_pair y) {
  const float r = x.hi + y.hi, v = r - x.hi;
  return {r, ((x.hi - (r - v)) + (y.hi - v)) + (x.lo + y.lo)};
}
[[nodiscard]] BLUEPRINT_HD constexpr float_pair ff_add(float_pair x, float_pair y) {  // |x| >= |y|
  const float r = x.hi + y.hi;
  return {r, (((x.hi - r) + y.hi) + x.lo) + y.lo};
}
[[nodiscard]] BLUEPRINT_HD constexpr float_pair ff_add(float x, float_pair y) {  // |x| >= |y|
  const float r = x + y.hi;
  return {r, ((x - r) + y.hi) + y.lo};
}
[[nodiscard]] BLUEPRINT_HD constexpr float_pair ff_normalize(float_pair t) {
  const float h = t.hi + t.lo;
  return {h, (t.hi - h) + t.lo};
}
[[nodiscard]] BLUEPRINT_HD constexpr float_pair ff_mul(float_pair x, float y) {
  const float r = x.hi * y;
  return {r, det_fma(x.lo, y, det_fma(x.hi, y, -r))};
}
[[nodiscard]] BLUEPRINT_HD constexpr float_pair ff_mul(float_pair x, float_pair y) {
  const float r = x.hi * y.hi;
  return {r, det_fma(x.hi, y.lo, det_fma(x.lo, y.hi, det_fma(x.hi, y.hi, -r)))};
}
[[nodiscard]] BLUEPRINT_HD constexpr float_pair ff_square(float_pair x) {
  const float r = x.hi * x.hi;
  return {r, det_fma(x.hi + x.hi, x.lo, det_fma(x.hi, x.hi, -r))};
}
[[nodiscard]] BLUEPRINT_HD constexpr float_pair ff_div(float_pair n, float_pair d) {
  const float t = det_div(1.0f, d.hi);
  const float q = n.hi * t;
  const float u = det_fma(t, n.hi, -q);
  float lo = det_fma(-d.lo, t, det_fma(-d.hi, t, 1.0f));
  lo = det_fma(q, lo, det_fma(n.lo, t, u));
  return {q, lo};
}

/// log(d) as a float-float pair, d > 0 normal.
[[nodiscard]] BLUEPRINT_HD constexpr float_pair log_pair(float d) {
  // e = floor(log2(d / 0.75)), m = d / 2^e in [0.75, 1.5) (AVX-512's getexp / getmant).
  const auto exponent_of = [](float v) {
    return static_cast<int>((float_as_bits(v) >> 23) & 0xFF) - 127;
  };
  const int e = exponent_of(d * (1.0f / 0.75f));
  const float m = bits_as_float(float_as_bits(d) - (static_cast<std::uint32_t>(e) << 23));
  const float_pair x = ff_div(ff_add2(-1.0f, m), ff_add2(1.0f, m));
  const float_pair x2 = ff_square(x);
  float t = 0.240320354700088500976562f;
  t = det_fma(t, x2.hi, 0.285112679004669189453125f);
  t = det_fma(t, x2.hi, 0.400007992982864379882812f);
  const float_pair c{0.66666662693023681640625f, 3.69183861259614332084311e-09f};
  float_pair s = ff_mul(float_pair{0.69314718246459960938f, -1.904654323148236017e-09f},
                        static_cast<float>(e));
  s = ff_add(s, float_pair{x.hi * 2.0f, x.lo * 2.0f});
  s = ff_add(s, ff_mul(ff_mul(x2, x), ff_add2(ff_mul(x2, t), c)));
  return s;
}

/// e^d of a float-float pair, rounded to float; |d| < 88.
[[nodiscard]] BLUEPRINT_HD constexpr float exp_pair(float_pair d) {
  constexpr float ln2_hi = 0.693145751953125f, ln2_lo = 1.428606765330187045e-06f;
  const float u0 = (d.hi + d.lo) * 1.442695040888963407359924681001892137f;
  // rint (to nearest, ties to even, as the vector instruction): adding and removing 1.5 * 2^23
  // leaves the integer the float addition rounds to (|u0| < 2^22 here).
  const int q = static_cast<int>((u0 + 12582912.0f) - 12582912.0f);
  float_pair s = ff_add2(d, static_cast<float>(q) * -ln2_hi);
  s = ff_add2(s, static_cast<float>(q) * -ln2_lo);
  s = ff_normalize(s);
  float u = 0.00136324646882712841033936f;
  u = det_fma(u, s.hi, 0.00836596917361021041870117f);
  u = det_fma(u, s.hi, 0.0416710823774337768554688f);
  u = det_fma(u, s.hi, 0.166665524244308471679688f);
  u = det_fma(u, s.hi, 0.499999850988388061523438f);
  float_pair t = ff_add(s, ff_mul(ff_square(s), u));
  t = ff_add(1.0f, t);
  return scale_by_pow2(t.hi + t.lo, q);
}
}  // namespace detail

/// x ** y as torch computes it on float32 on the CPU (SLEEF's powf_u10), for x > 0 normal and
/// |y log x| < 88: the rotary frequencies `theta ** (2i / dim)`.
[[nodiscard]] BLUEPRINT_HD constexpr float torch_powf(float x, float y) {
  return detail::exp_pair(detail::ff_mul(detail::log_pair(x), y));
}

}  // namespace blueprint
