// Init streams v2 and v3 (init.hpp, distributions.hpp normal_icdf_standard and
// normal_icdf16_standard): their inverse CDFs against an independent double-precision one at
// every point (v3's tail: every point too), their distributions over 10^8 samples against the
// exact normal (moments, a Kolmogorov-Smirnov distance, tail masses), and the promises every
// stream keeps: the fill paths equal the reference element function, any mesh gives the
// one-device model, and v1 stays the default with its bytes unchanged.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include <catch2/catch.hpp>

#include <blueprint/codegen/layout.hpp>
#include <blueprint/codegen/plan.hpp>
#include <blueprint/dsl/models.hpp>
#include <blueprint/kernels/fill.hpp>
#include <blueprint/runtime/materialize.hpp>

#include "../support/stored_bits.hpp"

namespace {

using namespace blueprint;
using test::stored_bits;

/// Phi(z) in double.
double normal_cdf(double z) {
  return 0.5 * std::erfc(-z / std::sqrt(2.0));
}

/// -Phi^-1(u) in double by Newton's method on erfc (independent of the table): from `guess`,
/// until the step is below 1e-15 of the value.
double exact_magnitude(double u, double guess) {
  double z = -guess;
  for (int i = 0; i < 50; ++i) {
    const double density = std::exp(-0.5 * z * z) / std::sqrt(2.0 * M_PI);
    const double step = (normal_cdf(z) - u) / density;
    z -= step;
    if (std::fabs(step) <= 1e-15 * std::max(1.0, std::fabs(z))) break;
  }
  return -z;
}

}  // namespace

TEST_CASE("Init stream v2's inverse CDF is within 3.5e-7 of Phi^-1 at all 2^23 points",
          "[init_stream]") {
  double worst = 0;
  std::uint32_t worst_n = 0;
  float previous = INFINITY;
  std::uint64_t decreasing = 0;
  for (std::uint32_t n = 0; n < (1u << 23); ++n) {
    const float q = detail::normal_icdf_magnitude(n);
    const double u = (2.0 * n + 1) * 0x1p-25;
    const double exact = exact_magnitude(u, q);
    const double error = std::fabs(q - exact) / std::max(1.0, exact);
    if (error > worst) worst = error, worst_n = n;
    decreasing += q <= previous;
    previous = q;
  }
  INFO("worst at n = " << worst_n);
  CHECK(worst <= 3.5e-7);
  // The magnitude falls as u grows: v2 is a monotone map of its uniform (no fold or jump at a
  // segment boundary larger than the fit error).
  CHECK(decreasing == (1u << 23));
  // The extremes: |z| <= Phi^-1(1 - 2^-25) = 5.42 (v1: 5.77); the smallest magnitudes are
  // the values nearest 0.
  CHECK(detail::normal_icdf_magnitude(0) == Approx(5.4200).epsilon(1e-4));
  CHECK(detail::normal_icdf_magnitude((1u << 23) - 1) < 1e-7f);
}

TEST_CASE("Init stream v3's quintics are within 3.9e-7 of Phi^-1 at every core and tail point",
          "[init_stream]") {
  // Core: every level d in [16, 2^15), t = (2d + 1) 2^-17.
  double worst = 0;
  std::uint32_t worst_at = 0;
  float previous = INFINITY;
  std::uint64_t decreasing = 0;
  for (std::uint32_t d = detail::icdf16_refined_levels; d < (1u << 15); ++d) {
    const float q = detail::normal_icdf16_core_magnitude(d);
    const double exact = exact_magnitude((2.0 * d + 1) * 0x1p-17, q);
    const double error = std::fabs(q - exact) / std::max(1.0, exact);
    if (error > worst) worst = error, worst_at = d;
    decreasing += q < previous;
    previous = q;
  }
  INFO("core: worst at d = " << worst_at);
  CHECK(worst <= 3.9e-7);
  CHECK(decreasing == (1u << 15) - detail::icdf16_refined_levels);
  // Tail: all 2^23 refined points t = (2n + 1) 2^-36 (n = w >> 9 of the tail word).
  // Neighbouring tail points differ by less than a float's step at |z| ~ 4, so the fit error
  // shows: the magnitude never rises inside a segment, and at a segment's start by at most
  // 2 units in the last place (three such joins).
  worst = 0;
  previous = INFINITY;
  std::uint64_t rises = 0, rises_off_joins = 0;
  for (std::uint32_t n = 0; n < (1u << 23); ++n) {
    const float q = detail::normal_icdf16_tail_magnitude(n << 9);
    const double exact = exact_magnitude((2.0 * n + 1) * 0x1p-36, q);
    const double error = std::fabs(q - exact) / std::max(1.0, exact);
    if (error > worst) worst = error, worst_at = n;
    if (q > previous) {
      const std::uint32_t f = 2 * n + 1, f_before = 2 * n - 1;
      const bool join = (float_as_bits(static_cast<float>(f)) >> 22) !=
                        (float_as_bits(static_cast<float>(f_before)) >> 22);
      ++rises;
      rises_off_joins += !join || float_as_bits(q) - float_as_bits(previous) > 2;
    }
    previous = q;
    CHECK((n % 4096 != 0 || detail::normal_icdf16_tail_magnitude((n << 9) | 0x1FFu) == q));
  }
  INFO("tail: worst at n = " << worst_at << "; rises " << rises);
  CHECK(worst <= 3.9e-7);
  CHECK(rises_off_joins == 0);
  CHECK(rises <= 3);
  // The pieces join in order: the smallest refined magnitude lies above the outermost core
  // level's; the extremes are Phi^-1(1 - 2^-36) = 6.651 and the value nearest 0.
  CHECK(detail::normal_icdf16_tail_magnitude(0xFFFFFFFFu) >
        detail::normal_icdf16_core_magnitude(detail::icdf16_refined_levels));
  CHECK(detail::normal_icdf16_tail_magnitude(0) == Approx(6.6510).epsilon(1e-4));
  CHECK(detail::normal_icdf16_core_magnitude((1u << 15) - 1) == Approx(1.9124e-5).epsilon(1e-3));
}

TEST_CASE("Init stream v3: eight elements per Philox block, a sign bit, and refined outer levels",
          "[init_stream]") {
  // Element 8b + 4 half + l is the half `half` of word l of block b (counter (b, tensor id)).
  const init_spec spec{init_kind::normal_icdf16, 0.0f, 1.0f};
  const std::uint64_t seed = 31, id = tensor_id_from_name("v3.layout");
  std::uint64_t refined = 0;
  for (std::uint64_t b = 0; b < 20000; ++b) {
    const philox_result x = philox_for_element_group(seed, id, b);
    for (std::uint64_t e = 0; e < 8; ++e) {
      const std::uint64_t index = 8 * b + e;
      const std::uint32_t h = (x.v[e % 4] >> (16 * (e / 4))) & 0xFFFFu;
      const std::uint32_t d = detail::icdf16_level(h);
      const float q =
          d >= detail::icdf16_refined_levels
              ? detail::normal_icdf16_core_magnitude(d)
              : detail::normal_icdf16_tail_magnitude(
                    philox_for_element_group(seed ^ 0x9E3779B97F4A7C15ull, id, index).v[0]);
      refined += d < detail::icdf16_refined_levels;
      const float z = (h & 0x8000u) != 0 ? q : -q;
      REQUIRE(sample_element(spec, seed, id, index) == z);
    }
  }
  // 160000 values, each refined with probability 2^-11: about 78.
  INFO("refined " << refined);
  CHECK((refined > 30 && refined < 140));
  // The sign bit flips the value and nothing else, at core and refined levels alike.
  for (std::uint32_t h = 0; h < 0x8000u; h += 7) {
    const float z = detail::normal_icdf16_standard(h, seed, id, h);
    CHECK(z < 0.0f);
    CHECK(detail::normal_icdf16_standard(h | 0x8000u, seed, id, h) == -z);
  }
}

TEST_CASE("Init stream v3's fill paths store sample_element's bits at any offset and shape",
          "[init_stream][fill]") {
  // Long runs (the AVX-512 batches of 32 groups), starts at every lane of a block (the odd
  // group and partial groups), and an affine map whose rows start mid-block; f32 shows every
  // bit of the value, bf16 the common case.
  const init_spec spec{init_kind::normal_icdf16, 0.25f, 0.5f};
  for (const dtype t : {dtype::f32, dtype::bf16, dtype::f8_e4m3fn})
    for (const std::uint64_t base : {0ull, 1ull, 4ull, 7ull, 13ull, 4096ull + 3})
      for (const std::uint64_t run : {100003ull, 301ull}) {
        segment s{};
        s.count = 100003;
        s.run = run;
        s.stride = run == s.count ? run : run + 77;
        s.base = base;
        s.tensor_id = tensor_id_from_name("v3.fill");
        s.init = spec;
        s.type = t;
        std::vector<std::byte> out(s.bytes());
        fill_segment_range(s, 77, 0, s.count, out.data());
        std::uint64_t bad = 0;
        for (std::uint64_t k = 0; k < s.count; ++k)
          bad += stored_bits(t, out.data(), k) != expected_storage_bits(s, 77, k);
        INFO(dtype_name(t) << " base " << base << " run " << run);
        CHECK(bad == 0);
      }
}

TEST_CASE("Init stream v2 is symmetric: bit 31 gives the sign, the other bits the magnitude",
          "[init_stream]") {
  for (std::uint32_t x = 12345; x < 0x7FFFFFFFu; x += 0x00F0F0F1u) {
    const float z = detail::normal_icdf_standard(x);
    CHECK(z <= 0.0f);
    CHECK(detail::normal_icdf_standard(x | 0x80000000u) == -z);
    CHECK(detail::normal_icdf_standard(x ^ 0xFFu) == z);  // the low 8 bits are not used
  }
}

namespace {

/// Draws 10^8 standard normal values of `kind` through the fill path (vectorized on x86) of one
/// tensor, in chunks of 10^6, and checks them against the exact normal: moments, KS distance,
/// the masses beyond 3, 4 and 5 sigma, and that none lies beyond `largest_allowed`.
void check_normal_sample(init_kind kind, const char* tensor_name, double largest_allowed) {
  constexpr std::uint64_t total = 100'000'000, chunk = 1'000'000;
  segment s{};
  s.count = chunk;
  s.run = s.stride = chunk;
  s.tensor_id = tensor_id_from_name(tensor_name);
  s.init = {kind, 0.0f, 1.0f};
  s.type = dtype::f32;
  // Histogram on [-6, 6) in 2^16 bins, for the CDF at the bin edges.
  constexpr int bins = 1 << 16;
  constexpr double lo = -6, width = 12.0 / bins;
  std::vector<std::uint64_t> histogram(bins, 0);
  double sum1 = 0, sum2 = 0, sum3 = 0, sum4 = 0, largest = 0;
  std::uint64_t beyond3 = 0, beyond4 = 0, beyond5 = 0;
  std::vector<float> values(chunk);
  for (std::uint64_t at = 0; at < total; at += chunk) {
    s.base = at;
    fill_segment_range(s, 2024, 0, chunk, reinterpret_cast<std::byte*>(values.data()));
    double c1 = 0, c2 = 0, c3 = 0, c4 = 0;  // per chunk, then summed: less rounding
    for (const float v : values) {
      const double z = v, z2 = z * z;
      c1 += z, c2 += z2, c3 += z2 * z, c4 += z2 * z2;
      const double a = std::fabs(z);
      largest = std::max(largest, a);
      beyond3 += a > 3, beyond4 += a > 4, beyond5 += a > 5;
      ++histogram[static_cast<std::size_t>(std::clamp((z - lo) / width, 0.0, bins - 1.0))];
    }
    sum1 += c1, sum2 += c2, sum3 += c3, sum4 += c4;
  }
  const double n = total;
  const double mean = sum1 / n, var = sum2 / n - mean * mean;
  const double skew = (sum3 / n) / std::pow(var, 1.5);
  const double excess_kurtosis = (sum4 / n) / (var * var) - 3;
  INFO(init_kind_name(kind) << ": mean " << mean << ", variance " << var << ", skewness " << skew
                            << ", excess kurtosis " << excess_kurtosis);
  // Five standard errors of each estimate under the exact normal.
  CHECK(std::fabs(mean) < 5 * std::sqrt(1 / n));
  CHECK(std::fabs(var - 1) < 5 * std::sqrt(2 / n));
  CHECK(std::fabs(skew) < 5 * std::sqrt(6 / n));
  CHECK(std::fabs(excess_kurtosis) < 5 * std::sqrt(24 / n));
  // Kolmogorov-Smirnov distance at the bin edges against Phi, below the 0.1% critical value
  // 1.95 / sqrt(n).
  double ks = 0;
  std::uint64_t below = 0;
  for (int b = 0; b < bins; ++b) {
    below += histogram[b];
    ks = std::max(ks, std::fabs(below / n - normal_cdf(lo + (b + 1) * width)));
  }
  INFO("KS distance " << ks);
  CHECK(ks < 1.95 / std::sqrt(n));
  // Tail masses: counts within five standard deviations of the binomial's expectation.
  const auto tail_ok = [&](std::uint64_t count, double z) {
    const double p = 2 * normal_cdf(-z);
    const double expected = n * p, sd = std::sqrt(n * p * (1 - p));
    INFO("|z| > " << z << ": " << count << ", expected " << expected);
    CHECK(std::fabs(count - expected) < 5 * sd);
  };
  tail_ok(beyond3, 3);
  tail_ok(beyond4, 4);
  tail_ok(beyond5, 5);
  INFO("largest |z| " << largest);
  CHECK(largest <= largest_allowed);
}

}  // namespace

TEST_CASE("Init stream v2 over 10^8 samples: moments, KS distance and tails of the normal",
          "[init_stream][statistics]") {
  // The truncation: nothing beyond Phi^-1(1 - 2^-25) = 5.4200 (the exact normal would put
  // about 6 of 10^8 samples there).
  check_normal_sample(init_kind::normal_icdf, "statistics.v2", 5.4201);
}

TEST_CASE("Init stream v3 over 10^8 samples: moments, KS distance and tails of the normal",
          "[init_stream][statistics]") {
  // Refined tails reach Phi^-1(1 - 2^-36) = 6.651 (the exact normal: about 3 of 10^8 beyond).
  check_normal_sample(init_kind::normal_icdf16, "statistics.v3", 6.6511);
}

TEST_CASE("A v2 / v3 layout draws normal inits by its stream and leaves every other init alone",
          "[init_stream]") {
  constexpr auto v1 = layout(models::tiny_llama, dtype_policy::bf16());
  constexpr auto v2 = layout(models::tiny_llama, dtype_policy::bf16(), {.stream = init_stream::v2});
  static_assert(v1.options.stream == init_stream::v1, "v1 is the default stream");
  std::size_t normals = 0;
  for (std::size_t i = 0; i < v1.tensors().size(); ++i) {
    const init_spec a = v1.tensors()[i].init, b = v2.tensors()[i].init;
    if (a.kind == init_kind::normal) {
      ++normals;
      CHECK(b.kind == init_kind::normal_icdf);
      CHECK((b.a == a.a && b.b == a.b));
    } else {
      CHECK(b == a);
    }
  }
  CHECK(normals > 0);
  constexpr auto v3 = layout(models::tiny_llama, dtype_policy::bf16(), {.stream = init_stream::v3});
  for (std::size_t i = 0; i < v1.tensors().size(); ++i) {
    const init_spec a = v1.tensors()[i].init, c = v3.tensors()[i].init;
    CHECK(c == (a.kind == init_kind::normal ? init_spec{init_kind::normal_icdf16, a.a, a.b} : a));
  }
  CHECK(parse_init_stream("v2") == init_stream::v2);
  CHECK(parse_init_stream("v3") == init_stream::v3);
  CHECK_THROWS_WITH(parse_init_stream("v4"), Catch::Contains("expected v1, v2 or v3"));
}

TEST_CASE("Every element of a v2 or v3 model is the cast of sample_element, in every dtype",
          "[init_stream][materialize]") {
  for (const init_stream stream : {init_stream::v2, init_stream::v3})
    for (dtype t : all_dtypes) {
      const dynamic_layout l =
          dynamic_layout_of(models::tiny_llama, dtype_policy::uniform(t), {.stream = stream});
      const materialized_model m = materialize(l, cpu{.threads = 2}, {.source = init{.seed = 99}});
      std::uint64_t bad = 0, icdf = 0;
      for (const segment& s : m.program().segments) {
        icdf += s.init.kind ==
                (stream == init_stream::v2 ? init_kind::normal_icdf : init_kind::normal_icdf16);
        const std::byte* base = m.arena().data() + s.arena_offset;
        for (std::uint64_t k = 0; k < s.count; ++k)
          bad += stored_bits(s.type, base, k) != expected_storage_bits(s, 99, k);
      }
      INFO(dtype_name(t) << ", stream " << init_stream_name(stream));
      CHECK(icdf > 0);
      CHECK(bad == 0);
    }
}

TEST_CASE("Any mesh gives the one-device v2 / v3 model; they differ from v1 only in normals",
          "[init_stream][fingerprint]") {
  for (const init_stream stream : {init_stream::v2, init_stream::v3}) {
    INFO("stream " << init_stream_name(stream));
    const layout_options options{.stream = stream};
    const dynamic_layout l = dynamic_layout_of(models::tiny_mixtral, dtype_policy::bf16(), options);
    const std::uint64_t whole = fingerprint(materialize(l, cpu{}, {.source = init{.seed = 4}}));
    for (const strategy s : {fsdp, zero3}) {
      const auto p = plan(l, mesh{.dp = 2, .tp = 2}, s);
      std::uint64_t sum = 0;
      for (std::uint32_t r = 0; r < p.world_size(); ++r)
        sum += fingerprint(materialize(p, r, cpu{}, {.source = init{.seed = 4}}));
      INFO(strategy_name(s));
      CHECK(sum == whole);
    }
    const dynamic_layout l1 = dynamic_layout_of(models::tiny_mixtral, dtype_policy::bf16());
    const materialized_model m1 = materialize(l1, cpu{}, {.source = init{.seed = 4}});
    const materialized_model m2 = materialize(l, cpu{}, {.source = init{.seed = 4}});
    CHECK(fingerprint(m1) != whole);
    for (const placed_tensor& t : l1.tensors()) {
      const tensor_view a = m1[t.name()], b = m2[t.name()];
      const bool same = std::memcmp(a.data, b.data, a.bytes) == 0;
      INFO(t.name());
      CHECK(same == (t.init.kind != init_kind::normal));
    }
  }
}
