// Llama 3.1 rope scaling of `inv_freq`: the deterministic buffer equals Hugging Face's
// _compute_llama3_parameters, step for step in float32 as torch computes it
// (tests/data/hf/llama3 and the Llama-3.1 reference compare with torch's own bits).
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>

#include <blueprint/kernels/distributions.hpp>

using namespace blueprint;

namespace {
float hf_llama3_inv_freq(float theta, float dim, float factor, float context, std::uint64_t i) {
  const float e = static_cast<float>(2 * i) / dim;
  const float inv = 1.0f / static_cast<float>(std::pow(static_cast<long double>(theta),
                                                       static_cast<long double>(e)));
  const float low_freq_wavelen = context / 1.0f, high_freq_wavelen = context / 4.0f;
  const float wavelen = static_cast<float>(2 * M_PI) / inv;
  const float scaled = wavelen > low_freq_wavelen ? inv / factor : inv;
  const float smooth = (context / wavelen - 1.0f) / (4.0f - 1.0f);
  const float smoothed = (1.0f - smooth) * scaled / factor + smooth * scaled;
  const bool medium = !(wavelen < high_freq_wavelen) && !(wavelen > low_freq_wavelen);
  return medium ? smoothed : scaled;
}
std::int64_t ulp_distance(float a, float b) {
  std::int32_t x, y;
  std::memcpy(&x, &a, 4);
  std::memcpy(&y, &b, 4);
  return std::llabs(static_cast<std::int64_t>(x) - y);
}
}  // namespace

TEST_CASE("Llama 3 scaled inv_freq equals Hugging Face's float32 formula",
          "[distributions][rope]") {
  for (float factor : {8.0f, 32.0f}) {
    const init_spec spec = init::rotary_inv_freq_llama3(500000.0f, 128.0f, factor, 8192.0f);
    int scaled = 0, kept = 0, smoothed = 0;
    for (std::uint64_t i = 0; i < 64; ++i) {
      INFO("factor " << factor << " element " << i);
      const float want = hf_llama3_inv_freq(500000.0f, 128.0f, factor, 8192.0f, i);
      const float got = sample_element(spec, 0, 0, i);
      CHECK(ulp_distance(got, want) == 0);
      const float plain = hf_llama3_inv_freq(500000.0f, 128.0f, 1.0f, 1e30f, i);  // unscaled
      const float wavelen = static_cast<float>(2 * M_PI) / plain;
      if (wavelen > 8192.0f)
        ++scaled;
      else if (wavelen < 2048.0f)
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
