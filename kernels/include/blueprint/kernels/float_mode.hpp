// The float-mode self-test's contract: what IEEE single precision gives for five operations
// when nothing is contracted and subnormals are kept — the mode every element function needs
// for CPU = GPU bit-identity.
//
// nvcc 13 defines no macro for -use_fast_math, --fmad=true or -ftz=true, so a user's own flags
// could silently change the GPU's bits. The CUDA runtime therefore runs a one-thread kernel
// (float_mode_kernel in cuda/materialize_kernel.cuh, compiled with the including translation
// unit's flags) once per device before its first kernel, and compares its results with the
// values here; `float_mode_problem` turns a difference into the sentence that names the flag.
// This header is host code too, so the CPU tests check the expected values and the sentences.
#pragma once

#include <string>
#include <type_traits>

namespace blueprint {

/// What the probe kernel computed.
struct float_mode_probe {
  float contracted = 0;      // a * a + c: 0 when rounded twice, 2^-24 when fused into an fma
  float subnormal_mul = 0;   // tiny * 0.5
  float subnormal_fma = 0;   // fma(tiny, 0.5, 0), correctly rounded
  float subnormal_div = 0;   // tiny / 4, correctly rounded
  float subnormal_sqrt = 0;  // sqrt(tinier), correctly rounded
};
static_assert(std::is_standard_layout_v<float_mode_probe> &&
              std::is_trivially_copyable_v<float_mode_probe>);

/// The probe's arguments and what it must give (exact values).
struct float_mode_expected {
  static constexpr float a = 0x1.001p0f;   // 1 + 2^-12: a * a = 1 + 2^-11 + 2^-24 exactly,
  static constexpr float c = -0x1.002p0f;  // rounded (a tie, to even) to 1 + 2^-11 = -c
  static constexpr float contracted = 0.0f;
  static constexpr float tiny = 0x1p-126f;    // the smallest normal float
  static constexpr float tinier = 0x1p-140f;  // a subnormal
  static constexpr float subnormal_mul = 0x1p-127f;
  static constexpr float subnormal_div = 0x1p-128f;
  static constexpr float subnormal_sqrt = 0x1p-70f;
};

/// "" when `p` is what IEEE single precision gives; else a sentence naming the flag at fault.
[[nodiscard]] inline std::string float_mode_problem(const float_mode_probe& p) {
  using e = float_mode_expected;
  std::string problem;
  if (p.contracted != e::contracted)
    problem +=
        "floating-point contraction is on (nvcc --fmad=true, nvcc's default, or "
        "-use_fast_math): build with --fmad=false";
  if (p.subnormal_mul != e::subnormal_mul || p.subnormal_fma != e::subnormal_mul ||
      p.subnormal_div != e::subnormal_div || p.subnormal_sqrt != e::subnormal_sqrt) {
    if (!problem.empty()) problem += "; ";
    problem +=
        "subnormals are flushed to zero (nvcc -ftz=true or -use_fast_math): build with "
        "-ftz=false";
  }
  return problem;
}

}  // namespace blueprint
