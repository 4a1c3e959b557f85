// CPU materialization against what users do today, and the arena's and fill loop's options.
// The per-model figures (init warm and cold, fingerprint, load, per rank of a plan, beside
// memset and memcpy of the same bytes) are the generated programs' (bench_gpt2, bench_gpt2_f32,
// bench_tinyllama, ...: blueprint_add_model_benchmark in benchmarks/CMakeLists.txt).
//
// All figures are bytes of the final model written per second (bytes_per_second), plus
// elements per second (items_per_second). Run: ./build/benchmarks/bench_materialize.
// Arguments are the thread counts. The model is GPT-2 (124M, HF init: normal(0, 0.02)
// weights, scaled normal residual projections, constant norms and biases) in bf16.
//   init_warm      its init program into an arena whose pages are already faulted in: the
//                  figure the "today" baselines are compared with, in the same run
//   today          what a PyTorch-style C++ user writes: a float32 buffer filled with
//                  std::normal_distribution (or a fast xoshiro + Box-Muller), then cast to bf16
//                  in a second pass: two passes and 3x the final memory at the peak
//   init_cold      blueprint::materialize from scratch (mmap + page faults + init), with
//                  transparent huge pages on (/1) or off (/0), or MAP_POPULATE (populate)
//   constants      the same bytes, every tensor a constant (norm-like ones): the store cost
//   memset         the same bytes, warm and cold (THP on/off): the limit of the two above
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include <blueprint/dsl/models.hpp>
#include <blueprint/runtime/materialize.hpp>

namespace {

namespace bp = blueprint;

/// GPT-2 in bf16: the one model of this program.
const bp::dynamic_layout& gpt2_layout() {
  static const bp::dynamic_layout bf16 =
      bp::dynamic_layout_of(bp::models::gpt2, bp::dtype_policy::bf16());
  return bf16;
}

void report(benchmark::State& state, std::uint64_t bytes, std::uint64_t elements) {
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * elements));
}

std::uint64_t element_count(const bp::program& p) {
  std::uint64_t n = 0;
  for (const bp::segment& s : p.segments)
    if (s.padding == 0) n += s.count;
  return n;
}

void init_warm(benchmark::State& state) {
  const bp::dynamic_layout& l = gpt2_layout();
  const bp::program p = bp::program_of(l);
  bp::arena a(p.arena_bytes);
  std::memset(a.data(), 0, a.size());  // fault every page in
  const unsigned threads = static_cast<unsigned>(state.range(0));
  for (auto _ : state) {
    bp::run_init_program(p, 1234, a.bytes(), bp::cpu{threads});
    benchmark::ClobberMemory();
  }
  report(state, p.arena_bytes, element_count(p));
}

void init_cold(benchmark::State& state) {
  const bp::dynamic_layout& l = gpt2_layout();
  const unsigned threads = static_cast<unsigned>(state.range(0));
  const bool huge = state.range(1) != 0, populate = state.range(2) != 0;
  for (auto _ : state) {
    auto m = bp::materialize(
        l, bp::cpu{threads},
        {.source = bp::init{.seed = 1234}, .huge_pages = huge, .populate = populate});
    benchmark::DoNotOptimize(m.arena().data());
  }
  report(state, l.total_bytes(), l.parameter_count());
}

void constants_warm(benchmark::State& state) {
  const bp::dynamic_layout& l = gpt2_layout();
  bp::program p = bp::program_of(l);
  for (bp::segment& s : p.segments)
    if (s.padding == 0) s.init = bp::init::ones();
  bp::arena a(p.arena_bytes);
  std::memset(a.data(), 0, a.size());
  const unsigned threads = static_cast<unsigned>(state.range(0));
  for (auto _ : state) {
    bp::run_init_program(p, 1234, a.bytes(), bp::cpu{threads});
    benchmark::ClobberMemory();
  }
  report(state, p.arena_bytes, element_count(p));
}

/// memset of the GPT-2 bf16 arena's bytes, split like the materializer splits its work.
void memset_warm(benchmark::State& state) {
  const std::uint64_t bytes = gpt2_layout().total_bytes();
  bp::arena a(bytes);
  std::memset(a.data(), 0, a.size());
  const unsigned threads = static_cast<unsigned>(state.range(0));
  for (auto _ : state) {
    bp::detail::parallel_memset(a.data(), 1, bytes, threads);
    benchmark::ClobberMemory();
  }
  report(state, bytes, bytes / 2);
}

void memset_cold(benchmark::State& state) {
  const std::uint64_t bytes = gpt2_layout().total_bytes();
  const unsigned threads = static_cast<unsigned>(state.range(0));
  const bool huge = state.range(1) != 0;
  for (auto _ : state) {
    bp::arena a(bytes, {.huge_pages = huge});
    bp::detail::parallel_memset(a.data(), 1, bytes, threads);
    benchmark::DoNotOptimize(a.data());
  }
  report(state, bytes, bytes / 2);
}

/// xoshiro128+ and Box-Muller with libm: a "fast RNG" a user might write.
struct xoshiro128p {
  std::uint32_t s[4] = {1, 2, 3, 4};
  std::uint32_t operator()() {
    const std::uint32_t r = s[0] + s[3], t = s[1] << 9;
    s[2] ^= s[0], s[3] ^= s[1], s[1] ^= s[2], s[0] ^= s[3], s[2] ^= t;
    s[3] = (s[3] << 11) | (s[3] >> 21);
    return r;
  }
};

/// The user's path: float32 normal(0, 0.02) for every parameter, then a bf16 cast pass.
void today(benchmark::State& state) {
  const std::uint64_t n = gpt2_layout().parameter_count();
  const bool fast = state.range(0) != 0;
  for (auto _ : state) {
    std::vector<float> f32(n);
    if (fast) {
      xoshiro128p rng;
      for (std::uint64_t i = 0; i + 1 < n; i += 2) {
        const float u1 = ((rng() >> 8) + 1) * 0x1p-24f, u2 = (rng() >> 8) * 0x1p-24f;
        const float r = std::sqrt(-2.0f * std::log(u1));
        f32[i] = 0.02f * r * std::cos(6.2831853f * u2);
        f32[i + 1] = 0.02f * r * std::sin(6.2831853f * u2);
      }
    } else {
      std::mt19937 rng(1234);
      std::normal_distribution<float> normal(0.0f, 0.02f);
      for (float& x : f32) x = normal(rng);
    }
    std::vector<std::uint16_t> bf16(n);
    for (std::uint64_t i = 0; i < n; ++i) bf16[i] = bp::float_to_bf16_bits(f32[i]);
    benchmark::DoNotOptimize(bf16.data());
  }
  report(state, 2 * n, n);
}

}  // namespace

BENCHMARK(init_warm)
    ->Name("gpt2/bf16/init_warm")
    ->Arg(1)
    ->Arg(2)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(init_cold)
    ->Name("gpt2/bf16/init_cold")
    ->ArgNames({"threads", "thp", "populate"})
    ->Args({2, 1, 0})
    ->Args({2, 0, 0})
    ->Args({2, 1, 1})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(constants_warm)
    ->Name("gpt2/bf16/constants_warm")
    ->Arg(1)
    ->Arg(2)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(memset_warm)
    ->Name("gpt2/bf16/memset_warm")
    ->Arg(1)
    ->Arg(2)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(memset_cold)
    ->Name("gpt2/bf16/memset_cold")
    ->ArgNames({"threads", "thp"})
    ->Args({2, 1})
    ->Args({2, 0})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(today)
    ->Name("gpt2/bf16/today_f32_then_cast")
    ->ArgName("fast_rng")
    ->Arg(0)
    ->Arg(1)
    ->Iterations(1)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
