// Llama 3.1 rope scaling of `inv_freq`: the deterministic buffer equals Hugging Face's
// _compute_llama3_parameters (computed here in double with libm) after rounding to float.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>

#include <blueprint/kernels/distributions.hpp>

using namespace blueprint;

namespace {
double hf_llama3_inv_freq(double theta, double dim, double factor, double context,
                          std::uint64_t i) {
  const double inv = 1.0 / std::pow(theta, 2.0 * static_cast<double>(i) / dim);
  const double low_freq_wavelen = context / 1.0, high_freq_wavelen = context / 4.0;
  const double wavelen = 2.0 * M_PI / inv;
  if (wavelen > low_freq_wavelen) return inv / factor;
  if (wavelen < high_freq_wavelen) return inv;
  const double smooth = (context / wavelen - 1.0) / (4.0 - 1.0);
  return (1.0 - smooth) * inv / factor + smooth * inv;
}
std::int64_t ulp_distance(float a, float b) {
  std::int32_t x, y;
  std::memcpy(&x, &a, 4);
  std::memcpy(&y, &b, 4);
  return std::llabs(static_cast<std::int64_t>(x) - y);
}
}  // namespace

TEST_CASE("Llama 3 scaled inv_freq matches Hugging Face's formula within one float ulp",
          "[distributions][rope]") {
  for (float factor : {8.0f, 32.0f}) {
    const init_spec spec = init::rotary_inv_freq_llama3(500000.0f, 128.0f, factor, 8192.0f);
    int scaled = 0, kept = 0, smoothed = 0;
    for (std::uint64_t i = 0; i < 64; ++i) {
      INFO("factor " << factor << " element " << i);
      const double want = hf_llama3_inv_freq(500000.0, 128.0, factor, 8192.0, i);
      const float got = sample_element(spec, 0, 0, i);
      CHECK(ulp_distance(got, static_cast<float>(want)) <= 1);
      const double plain = 1.0 / std::pow(500000.0, 2.0 * static_cast<double>(i) / 128.0);
      if (std::abs(want - plain / factor) < 1e-12 * plain)
        ++scaled;
      else if (std::abs(want - plain) < 1e-12 * plain)
        ++kept;
      else
        ++smoothed;
    }
    // All three regimes of the formula are exercised.
    CHECK(scaled > 0);
    CHECK(kept > 0);
    CHECK(smoothed > 0);
  }
}

TEST_CASE("Llama 3 scaled inv_freq depends on no seed and no tensor id", "[distributions][rope]") {
  const init_spec spec = init::rotary_inv_freq_llama3(500000.0f, 128.0f, 8.0f, 8192.0f);
  float group[4];
  sample_group(spec, 99, 1234, 5, group);
  for (int lane = 0; lane < 4; ++lane)
    CHECK(group[lane] == sample_element(spec, 0, 0, 20 + static_cast<std::uint64_t>(lane)));
}
