// Constexpr arithmetic the declarations need (libm is not constexpr in C++20).
#pragma once

namespace blueprint::dsl {

/// Correctly rounded to within an ulp: Newton's iteration in double, for init scales.
[[nodiscard]] constexpr double ct_sqrt(double x) {
  if (x <= 0) return 0;
  double r = x > 1 ? x : 1;
  for (int i = 0; i < 200; ++i) {
    const double next = 0.5 * (r + x / r);
    if (next == r) break;
    r = next;
  }
  return r;
}

/// Natural log, x > 0, to about an ulp: x = m 2^k with m in [sqrt(1/2), sqrt(2)), then
/// 2 atanh((m - 1) / (m + 1)). Plain double operations, so that it is a constant expression in
/// every compiler pass (nvcc's device pass included), for config-derived constants such as
/// YaRN's correction range.
[[nodiscard]] constexpr double ct_log(double x) {
  if (x <= 0) return 0;
  int k = 0;
  while (x > 1.4142135623730951) x *= 0.5, ++k;
  while (x < 0.7071067811865476) x *= 2.0, --k;
  const double s = (x - 1) / (x + 1), z = s * s;
  double term = s, sum = 0;
  for (int n = 1; n < 80; n += 2) {
    sum += term / n;
    term *= z;
  }
  return 2 * sum + k * 0.69314718055994530942;
}

}  // namespace blueprint::dsl
