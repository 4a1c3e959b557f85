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

}  // namespace blueprint::dsl
