// Specification of kernels/distributions.hpp and kernels/math.hpp: the statistics of each
// distribution, the group/element identity, determinism, the index-valued buffers, and the
// accuracy of the deterministic math (against long double libm, which is fine in tests).
#include <catch2/catch.hpp>

#include <algorithm>
#include <blueprint/kernels/distributions.hpp>
#include <blueprint/kernels/fingerprint.hpp>
#include <cmath>
#include <cstdint>
#include <functional>
#include <vector>

using namespace blueprint;

namespace {

constexpr std::uint64_t kSeed = 0x5EED5EED12345678ull;
constexpr std::size_t kN = 1 << 20;  // >= 10^6 samples per distribution

std::vector<float> draw(const init_spec& spec, std::uint64_t id, std::size_t n = kN) {
  std::vector<float> v(n);
  for (std::size_t g = 0; g < n / 4; ++g) sample_group(spec, kSeed, id, g, &v[4 * g]);
  return v;
}

struct moments {
  double mean, var, m4;
};
moments moments_of(const std::vector<float>& v) {
  long double s = 0;
  for (float x : v) s += x;
  const double mean = static_cast<double>(s / v.size());
  long double s2 = 0, s4 = 0;
  for (float x : v) {
    const long double d = x - mean;
    s2 += d * d;
    s4 += d * d * d * d;
  }
  return {mean, static_cast<double>(s2 / v.size()), static_cast<double>(s4 / v.size())};
}

// Mean within 5 sigma/sqrt(n); variance within 5 standard errors of the sample variance.
void check_moments(const std::vector<float>& v, double mean, double var) {
  const moments m = moments_of(v);
  const double n = static_cast<double>(v.size());
  INFO("mean " << m.mean << " (want " << mean << "), var " << m.var << " (want " << var << ")");
  CHECK(std::fabs(m.mean - mean) < 5 * std::sqrt(var / n));
  CHECK(std::fabs(m.var - var) < 5 * std::sqrt((m.m4 - m.var * m.var) / n));
}

// Kolmogorov-Smirnov distance below the 1% critical value 1.63 / sqrt(n).
void check_ks(std::vector<float> v, const std::function<double(double)>& cdf) {
  std::sort(v.begin(), v.end());
  const double n = static_cast<double>(v.size());
  double d = 0;
  for (std::size_t i = 0; i < v.size(); ++i) {
    const double f = cdf(v[i]);
    d = std::max({d, std::fabs((i + 1) / n - f), std::fabs(f - i / n)});
  }
  INFO("KS distance " << d << ", bound " << 1.63 / std::sqrt(n));
  CHECK(d < 1.63 / std::sqrt(n));
}

// Fraction of samples satisfying `pred` within 5 binomial standard errors of p.
void check_mass(const std::vector<float>& v, const std::function<bool(float)>& pred, double p) {
  std::size_t k = 0;
  for (float x : v) k += pred(x);
  const double n = static_cast<double>(v.size());
  INFO("mass " << k / n << " (want " << p << ")");
  CHECK(std::fabs(k / n - p) < 5 * std::sqrt(p * (1 - p) / n) + 1 / n);
}

double phi(double x) {
  return 0.5 * std::erfc(-x / std::sqrt(2.0));
}

double ulps(float got, long double ref) {
  const float r = static_cast<float>(ref);
  const double u = std::nextafter(std::fabs(r), INFINITY) - std::fabs(r);
  return static_cast<double>(std::fabs(static_cast<long double>(got) - ref)) / u;
}

}  // namespace

TEST_CASE("uniform samples have the moments, tails and CDF of U(a, b)", "[distributions]") {
  for (auto [a, b] : {std::pair{0.0f, 1.0f}, std::pair{-0.125f, 0.125f}, std::pair{2.0f, 5.0f}}) {
    const auto v = draw(init::uniform(a, b), 11);
    const double w = b - a;
    check_moments(v, (a + b) / 2.0, w * w / 12);
    check_mass(
        v, [&](float x) { return x < a + 0.01 * w; }, 0.01);
    check_ks(v, [&](double x) { return std::clamp((x - a) / w, 0.0, 1.0); });
    CHECK(*std::min_element(v.begin(), v.end()) >= a);
    CHECK(*std::max_element(v.begin(), v.end()) <= b);
  }
}

TEST_CASE("normal samples have the moments, tails and CDF of N(mean, std)", "[distributions]") {
  for (auto [m, s] : {std::pair{0.0f, 1.0f}, std::pair{0.0f, 0.02f}, std::pair{1.5f, 3.0f}}) {
    const auto v = draw(init::normal(m, s), 12);
    check_moments(v, m, double(s) * s);
    check_mass(
        v, [&](float x) { return std::fabs(x - m) > 3 * s; }, 2 * phi(-3));
    check_mass(
        v, [&](float x) { return x - m > 4 * s; }, phi(-4));
    check_ks(v, [&](double x) { return phi((x - m) / s); });
  }
}

TEST_CASE("even and odd normal lanes are each standard normal", "[distributions]") {
  const auto v = draw(init::normal(0, 1), 13);
  std::vector<float> even, odd;
  for (std::size_t i = 0; i < v.size(); ++i) (i % 2 ? odd : even).push_back(v[i]);
  check_ks(even, phi);
  check_ks(odd, phi);
  double c = 0;  // the two halves of a Box-Muller pair are uncorrelated
  for (std::size_t i = 0; i < even.size(); ++i) c += double(even[i]) * odd[i];
  CHECK(std::fabs(c / even.size()) < 5 / std::sqrt(double(even.size())));
}

TEST_CASE("truncated normal samples follow N(mean, std) restricted to [lo, hi]",
          "[distributions]") {
  struct tn {
    float m, s, lo, hi;
  };
  for (const tn& t :
       {tn{0, 1, -2, 2}, tn{0.5f, 0.02f, 0.47f, 0.6f}, tn{0, 1, 0.5f, 3}, tn{0, 0.02f, -2, 2}}) {
    const auto v = draw(init::truncated_normal(t.m, t.s, t.lo, t.hi), 14);
    const double a = (t.lo - t.m) / double(t.s), b = (t.hi - t.m) / double(t.s);
    const double z = phi(b) - phi(a);
    auto pdf = [](double x) { return std::exp(-x * x / 2) / std::sqrt(2 * M_PI); };
    const double mean = t.m + t.s * (pdf(a) - pdf(b)) / z;
    const double var = double(t.s) * t.s *
                       (1 + (a * pdf(a) - b * pdf(b)) / z - std::pow((pdf(a) - pdf(b)) / z, 2));
    INFO("trunc_normal(" << t.m << ", " << t.s << ", " << t.lo << ", " << t.hi << ")");
    check_moments(v, mean, var);
    check_ks(v,
             [&](double x) { return std::clamp((phi((x - t.m) / t.s) - phi(a)) / z, 0.0, 1.0); });
    CHECK(*std::min_element(v.begin(), v.end()) >= t.lo);
    CHECK(*std::max_element(v.begin(), v.end()) <= t.hi);
  }
}

TEST_CASE("sample_group equals four sample_element calls bit for bit", "[distributions]") {
  const init_spec specs[] = {init::uniform(-1, 1),
                             init::normal(0, 0.02f),
                             init::normal(3, 2),
                             init::truncated_normal(0, 1, -2, 2),
                             init::rotary_inv_freq(1e4f, 128),
                             init::arange(0, 1),
                             init::constant(0.25f),
                             init::zeros(),
                             init::ones()};
  for (const init_spec& s : specs) {
    for (std::uint64_t g : {0ull, 1ull, 7ull, 12345ull, 1ull << 40, ~0ull / 4}) {
      float out[4];
      sample_group(s, kSeed, 77, g, out);
      for (int l = 0; l < 4; ++l) {
        INFO("kind " << init_kind_name(s.kind) << " group " << g << " lane " << l);
        CHECK(float_as_bits(out[l]) == float_as_bits(sample_element(s, kSeed, 77, 4 * g + l)));
      }
    }
  }
}

TEST_CASE("a value depends only on seed, tensor id, index and spec", "[distributions]") {
  const init_spec s = init::normal(0, 1);
  const float x = sample_element(s, kSeed, 5, 1001);
  // Computing other elements or tensors first changes nothing (no hidden state).
  for (int i = 0; i < 100; ++i) (void)sample_element(s, kSeed + i, 6, i);
  CHECK(float_as_bits(sample_element(s, kSeed, 5, 1001)) == float_as_bits(x));
  CHECK(float_as_bits(sample_element(s, kSeed + 1, 5, 1001)) != float_as_bits(x));
  CHECK(float_as_bits(sample_element(init::normal(0, 2), kSeed, 5, 1001)) ==
        float_as_bits(2 * x));  // std scales exactly by a power of two
}

TEST_CASE("different tensor ids give unrelated streams", "[distributions]") {
  const std::uint64_t a = tensor_id_from_name("model.layers.0.mlp.up_proj.weight");
  const std::uint64_t b = tensor_id_from_name("model.layers.1.mlp.up_proj.weight");
  const auto va = draw(init::normal(0, 1), a, 1 << 16), vb = draw(init::normal(0, 1), b, 1 << 16);
  std::size_t equal = 0;
  double c = 0;
  for (std::size_t i = 0; i < va.size(); ++i) {
    equal += va[i] == vb[i];
    c += double(va[i]) * vb[i];
  }
  CHECK(equal < 4);
  CHECK(std::fabs(c / va.size()) < 5 / std::sqrt(double(va.size())));
}

TEST_CASE("rotary_inv_freq is within one ulp of the exact frequency; arange is exact",
          "[distributions][rope]") {
  // The bits are torch's (SLEEF's 1-ulp pow, test_hf_config.cpp compares with transformers'
  // buffers); here: 1 / theta ** (float(2i) / dim) stays within one ulp of the exact value.
  for (auto [theta, dim] :
       {std::pair{1e4f, 128.0f}, std::pair{5e5f, 128.0f}, std::pair{1e6f, 64.0f},
        std::pair{10000.0f, 80.0f}, std::pair{10000.0f, 256.0f}}) {
    for (std::uint64_t i = 0; i < static_cast<std::uint64_t>(dim) / 2; ++i) {
      const float e = static_cast<float>(2 * i) / dim;
      const long double pos =
          std::pow(static_cast<long double>(theta), static_cast<long double>(e));
      const float inv = sample_element(init::rotary_inv_freq(theta, dim), 0, 0, i);
      INFO("theta " << theta << " dim " << dim << " i " << i);
      CHECK(ulps(torch_powf(theta, e), pos) <= 1.0);
      CHECK(inv == 1.0f / torch_powf(theta, e));
    }
  }
  for (std::uint64_t i = 0; i < 100000; i += 7) {
    const long double ref = -3.5L + static_cast<long double>(i) * 0.1L;
    const float got = sample_element(init::arange(-3.5f, 0.1f), 0, 0, i);
    // The reference uses the float step, as a user's torch.arange(start, end, step) would.
    const long double ref_f = -3.5L + static_cast<long double>(i) * static_cast<long double>(0.1f);
    (void)ref;
    INFO("i " << i);
    CHECK(ulps(got, ref_f) <= 2.0);
  }
}

TEST_CASE("the constant-evaluation fma and sqrt (clang's) equal the hardware's bit for bit",
          "[math]") {
  // clang cannot constant-evaluate __builtin_fmaf / __builtin_sqrtf; math.hpp computes them
  // with plain double and integer operations there. They must be the same correctly rounded
  // functions, or a static_assert under clang would see other bits than g++ and the CPU.
  std::uint64_t state = 0x9E3779B97F4A7C15ull;
  const auto next = [&] {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<std::uint32_t>(state >> 32);
  };
  const auto same = [](float x, float y) {
    return float_as_bits(x) == float_as_bits(y) || (x != x && y != y);
  };
  const float edges[] = {0.0f,     -0.0f,     1.0f, -1.0f, 1e-45f, 1.17549435e-38f, 3.4028235e38f,
                         INFINITY, -INFINITY, NAN,  0.5f,  2.0f,   1.0000001f,      0.99999994f};
  std::uint64_t checked = 0, fma_bad = 0, sqrt_bad = 0;
  for (float a : edges)
    for (float b : edges)
      for (float c : edges) {
        fma_bad += !same(detail::fma_by_double(a, b, c), std::fma(a, b, c));
        ++checked;
      }
  for (int i = 0; i < 400'000; ++i) {
    const float a = bits_as_float(next()), b = bits_as_float(next());
    // Every third: c cancels most of a * b (where one rounding and two differ most).
    const float c = i % 3 == 0 ? -a * b : bits_as_float(next());
    fma_bad += !same(detail::fma_by_double(a, b, c), std::fma(a, b, c));
    const float x = std::fabs(a);
    sqrt_bad += !same(detail::sqrt_by_integers(x), std::sqrt(x));
    ++checked;
  }
  for (float x : edges) sqrt_bad += !same(detail::sqrt_by_integers(x), std::sqrt(x));
  for (std::uint32_t u = 0; u < 1u << 20; ++u)  // the smallest subnormals and their roots
    sqrt_bad += !same(detail::sqrt_by_integers(bits_as_float(u)), std::sqrt(bits_as_float(u)));
  CHECK(checked > 400'000);
  CHECK(fma_bad == 0);
  CHECK(sqrt_bad == 0);
}

TEST_CASE("det_log and det_exp are within 2 ulp of long double libm", "[math]") {
  double worst_log = 0, worst_exp = 0;
  for (std::uint32_t u = 1; u < 0x7f800000u; u += 4099) {  // every binade, subnormals included
    const float x = bits_as_float(u);
    worst_log = std::max(worst_log, ulps(det_log(x), std::log(static_cast<long double>(x))));
  }
  for (float x = -87.0f; x < 88.7f; x += 0.000731f) {
    worst_exp = std::max(worst_exp, ulps(det_exp(x), std::exp(static_cast<long double>(x))));
  }
  INFO("log " << worst_log << " ulp, exp " << worst_exp << " ulp");
  CHECK(worst_log <= 1.0);
  CHECK(worst_exp <= 1.0);
  CHECK(det_log(0.0f) == -INFINITY);
  CHECK(std::isnan(det_log(-1.0f)));
  CHECK(det_exp(-200.0f) == 0.0f);
  CHECK(det_exp(100.0f) == INFINITY);
}

TEST_CASE("det_sincos_2pi is within 2 ulp of long double libm on every 24-bit u", "[math]") {
  double worst = 0;
  for (std::uint32_t k = 0; k < (1u << 24); k += 3) {
    const float u = static_cast<float>(k) * 0x1p-24f;
    float s = 0, c = 0;
    det_sincos_2pi(u, &s, &c);
    const long double a = 2 * 3.141592653589793238462643383279502884L * u;
    const long double rs = std::sin(a), rc = std::cos(a);
    // Absolute error in ulps of 1 near the zeros, relative elsewhere.
    if (std::fabs(rs) > 1e-3L) worst = std::max(worst, ulps(s, rs));
    if (std::fabs(rc) > 1e-3L) worst = std::max(worst, ulps(c, rc));
    REQUIRE(std::fabs(s - rs) < 1e-7L);
    REQUIRE(std::fabs(c - rc) < 1e-7L);
  }
  INFO("sincos " << worst << " ulp");
  CHECK(worst <= 2.0);
}

TEST_CASE("det_erf and det_erfinv are within a few ulp of long double references", "[math]") {
  double worst_erf = 0, worst_inv = 0;
  for (float x = -4.5f; x < 4.5f; x += 0.0001173f) {
    const long double ref = std::erf(static_cast<long double>(x));
    if (std::fabs(ref) > 1e-30L) worst_erf = std::max(worst_erf, ulps(det_erf(x), ref));
  }
  // erfinv by Newton on long double erf / erfc (erfc keeps the tails accurate).
  for (std::uint32_t u = 0x33000000u; u < 0x3f800000u; u += 977) {
    for (float x : {bits_as_float(u), -bits_as_float(u)}) {
      const float y = det_erfinv(x);
      long double z = std::fabs(static_cast<long double>(y));
      const long double ax = std::fabs(static_cast<long double>(x));
      for (int i = 0; i < 6; ++i) {
        const long double f = ax < 0.5L ? std::erf(z) - ax : (1.0L - ax) - std::erfc(z);
        z -= f / (2 / std::sqrt(3.141592653589793238462643383279502884L) * std::exp(-z * z));
      }
      worst_inv = std::max(worst_inv, ulps(y, x < 0 ? -z : z));
    }
  }
  INFO("erf " << worst_erf << " ulp, erfinv " << worst_inv << " ulp");
  CHECK(worst_erf <= 2.0);
  CHECK(worst_inv <= 4.0);
  CHECK(det_erf(INFINITY) == 1.0f);
  CHECK(det_erf(-INFINITY) == -1.0f);
  CHECK(det_erfinv(1.0f) == INFINITY);
  CHECK(std::isnan(det_erfinv(1.5f)));
}

TEST_CASE("element fingerprints sum to an order-free model hash", "[fingerprint]") {
  std::uint64_t forward = 0, backward = 0;
  for (std::uint64_t i = 0; i < 1000; ++i) forward += element_fingerprint(42, i, 0x3F80);
  for (std::uint64_t i = 1000; i-- > 0;) backward += element_fingerprint(42, i, 0x3F80);
  CHECK(forward == backward);
  CHECK(element_fingerprint(42, 0, 1) != element_fingerprint(42, 0, 2));
  CHECK(element_fingerprint(42, 0, 1) != element_fingerprint(43, 0, 1));
  CHECK(element_fingerprint(42, 0, 1) != element_fingerprint(42, 1, 1));
}

TEST_CASE("compile-time and run-time evaluation give the same bits", "[distributions]") {
  // g++ folds __builtin_fmaf / __builtin_sqrtf exactly; glibc's fmaf and sqrtss are correctly
  // rounded: both must agree, or a static_assert on init values would lie.
  constexpr float n0 = sample_element(init::normal(0, 1), 7, 9, 0);
  constexpr float n3 = sample_element(init::normal(0.5f, 2), 7, 9, 3);
  constexpr float t1 = sample_element(init::truncated_normal(0, 1, -2, 2), 7, 9, 1);
  constexpr float r5 = sample_element(init::rotary_inv_freq(1e4f, 128), 0, 0, 5);
  volatile std::uint64_t seed = 7;  // defeat folding on the run-time side
  CHECK(float_as_bits(sample_element(init::normal(0, 1), seed, 9, 0)) == float_as_bits(n0));
  CHECK(float_as_bits(sample_element(init::normal(0.5f, 2), seed, 9, 3)) == float_as_bits(n3));
  CHECK(float_as_bits(sample_element(init::truncated_normal(0, 1, -2, 2), seed, 9, 1)) ==
        float_as_bits(t1));
  CHECK(float_as_bits(sample_element(init::rotary_inv_freq(1e4f, 128), seed - 7, 0, 5)) ==
        float_as_bits(r5));
}
