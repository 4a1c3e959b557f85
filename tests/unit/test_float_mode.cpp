// The float-mode self-test's contract (kernels/float_mode.hpp): the expected values are what
// IEEE single precision gives with no contraction and subnormals kept — computed here by the
// CPU, whose build has -ffp-contract=off like every Blueprint target — and each way the GPU's
// flags can break bit-identity is told apart and named. The probe kernel itself runs on a GPU
// (tests/gpu: "The float-mode probe passes under the project's flags").
#include <catch2/catch.hpp>

#include <blueprint/kernels/float_mode.hpp>
#include <cmath>
#include <string>

using namespace blueprint;

namespace {
// Opaque to the optimizer, as kernel arguments are to nvcc.
float opaque(float x) {
  volatile float v = x;
  return v;
}
}  // namespace

TEST_CASE("The float-mode probe's expected values are IEEE single without contraction",
          "[float_mode]") {
  using e = float_mode_expected;
  const float a = opaque(e::a), c = opaque(e::c), tiny = opaque(e::tiny);
  const float tinier = opaque(e::tinier);
  float_mode_probe p;
  p.contracted = a * a + c;
  p.subnormal_mul = tiny * 0.5f;
  p.subnormal_fma = std::fma(tiny, 0.5f, 0.0f);
  p.subnormal_div = tiny / 4.0f;
  p.subnormal_sqrt = std::sqrt(tinier);
  CHECK(p.contracted == e::contracted);
  CHECK(p.subnormal_mul == e::subnormal_mul);
  CHECK(p.subnormal_fma == e::subnormal_mul);
  CHECK(p.subnormal_div == e::subnormal_div);
  CHECK(p.subnormal_sqrt == e::subnormal_sqrt);
  CHECK(std::fpclassify(e::tinier) == FP_SUBNORMAL);
  CHECK(std::fpclassify(e::subnormal_mul) == FP_SUBNORMAL);
  CHECK(float_mode_problem(p).empty());
}

TEST_CASE("The float-mode probe tells contraction from flushed subnormals and names the flag",
          "[float_mode]") {
  using e = float_mode_expected;
  const float a = opaque(e::a), c = opaque(e::c);
  // What an fma gives: the product's lost 2^-24.
  const float fused = std::fma(a, a, c);
  CHECK(fused == 0x1p-24f);
  float_mode_probe good{e::contracted, e::subnormal_mul, e::subnormal_mul, e::subnormal_div,
                        e::subnormal_sqrt};
  float_mode_probe contracted = good;
  contracted.contracted = fused;
  const std::string c_problem = float_mode_problem(contracted);
  CHECK_THAT(c_problem, Catch::Contains("--fmad=false") && Catch::Contains("contraction"));
  CHECK_THAT(c_problem, !Catch::Contains("ftz"));

  float_mode_probe flushed = good;
  flushed.subnormal_div = 0.0f;  // __fdiv_rn under -ftz=true
  CHECK_THAT(float_mode_problem(flushed), Catch::Contains("-ftz=false"));
  flushed = good;
  flushed.subnormal_sqrt = 0.0f;  // the subnormal input flushed before the square root
  CHECK_THAT(float_mode_problem(flushed), Catch::Contains("flushed to zero"));

  float_mode_probe fast_math = contracted;  // -use_fast_math: both
  fast_math.subnormal_mul = fast_math.subnormal_fma = 0.0f;
  const std::string both = float_mode_problem(fast_math);
  CHECK_THAT(both, Catch::Contains("--fmad=false") && Catch::Contains("-ftz=false"));
}
