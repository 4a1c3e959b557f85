// CPU throughput of the element math, beside memset and memcpy of the same bytes: how far the
// CPU materializer is from being bound by memory bandwidth.
#include <benchmark/benchmark.h>

#include <blueprint/kernels/fill.hpp>
#include <blueprint/kernels/kernels.hpp>
#include <cstdint>
#include <cstring>
#include <vector>

namespace bp = blueprint;

namespace {

constexpr std::size_t kElems = 1 << 20;  // 4 MiB of float32

void sample(benchmark::State& state, bp::init_spec spec) {
  std::vector<float> out(kElems);
  for (auto _ : state) {
    for (std::size_t g = 0; g < kElems / 4; ++g) sample_group(spec, 1234, 5678, g, &out[4 * g]);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * kElems);
  state.SetBytesProcessed(state.iterations() * kElems * sizeof(float));
}

void BM_sample_uniform(benchmark::State& s) {
  sample(s, bp::init::uniform(-0.1f, 0.1f));
}
void BM_sample_normal(benchmark::State& s) {
  sample(s, bp::init::normal(0, 0.02f));
}
void BM_sample_truncated_normal(benchmark::State& s) {
  sample(s, bp::init::truncated_normal(0, 0.02f, -0.04f, 0.04f));
}
void BM_sample_normal_v2(benchmark::State& s) {
  sample(s, {bp::init_kind::normal_icdf, 0, 0.02f});
}
void BM_sample_normal_v3(benchmark::State& s) {
  sample(s, {bp::init_kind::normal_icdf16, 0, 0.02f});
}

/// The CPU materializer's fill loop (fill_segment_range: the widest x86 path this CPU has,
/// BLUEPRINT_FILL_ISA=0|1 to force another) over one bf16 tensor of 2^20 elements, one thread:
/// normal samples per second per core, init streams v1, v2 and v3.
void fill(benchmark::State& state, bp::init_kind kind, bp::dtype type = bp::dtype::bf16) {
  bp::segment seg{};
  seg.count = seg.run = seg.stride = kElems;
  seg.tensor_id = 5678;
  seg.init = {kind, 0, 0.02f};
  seg.type = type;
  std::vector<std::byte> out(seg.bytes());
  for (auto _ : state) {
    bp::fill_segment_range(seg, 1234, 0, kElems, out.data());
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * kElems);
  state.SetBytesProcessed(state.iterations() * seg.bytes());
}
void BM_fill_normal_v1_bf16(benchmark::State& s) {
  fill(s, bp::init_kind::normal);
}
void BM_fill_normal_v2_bf16(benchmark::State& s) {
  fill(s, bp::init_kind::normal_icdf);
}
void BM_fill_normal_v3_bf16(benchmark::State& s) {
  fill(s, bp::init_kind::normal_icdf16);
}
void BM_fill_normal_v1_f32(benchmark::State& s) {
  fill(s, bp::init_kind::normal, bp::dtype::f32);
}
void BM_fill_normal_v3_f32(benchmark::State& s) {
  fill(s, bp::init_kind::normal_icdf16, bp::dtype::f32);
}
void BM_fill_uniform_bf16(benchmark::State& s) {
  fill(s, bp::init_kind::uniform);
}

template <bp::dtype D>
void BM_cast(benchmark::State& state) {
  std::vector<float> in(kElems);
  for (std::size_t g = 0; g < kElems / 4; ++g)
    sample_group(bp::init::normal(0, 1), 1, 2, g, &in[4 * g]);
  std::vector<std::uint8_t> out(kElems * bp::dtype_size(D));
  for (auto _ : state) {
    for (std::size_t i = 0; i < kElems; ++i) bp::store_element<D>(out.data(), i, in[i]);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * kElems);
  state.SetBytesProcessed(state.iterations() * kElems * bp::dtype_size(D));
}

void BM_memset(benchmark::State& state) {
  std::vector<float> out(kElems);
  for (auto _ : state) {
    std::memset(out.data(), 0, kElems * sizeof(float));
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * kElems);
  state.SetBytesProcessed(state.iterations() * kElems * sizeof(float));
}

void BM_memcpy(benchmark::State& state) {
  std::vector<float> in(kElems, 1.0f), out(kElems);
  for (auto _ : state) {
    std::memcpy(out.data(), in.data(), kElems * sizeof(float));
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * kElems);
  state.SetBytesProcessed(state.iterations() * kElems * sizeof(float));
}

}  // namespace

BENCHMARK(BM_sample_uniform);
BENCHMARK(BM_sample_normal);
BENCHMARK(BM_sample_truncated_normal);
BENCHMARK(BM_sample_normal_v2);
BENCHMARK(BM_sample_normal_v3);
BENCHMARK(BM_fill_normal_v1_bf16);
BENCHMARK(BM_fill_normal_v2_bf16);
BENCHMARK(BM_fill_normal_v3_bf16);
BENCHMARK(BM_fill_normal_v1_f32);
BENCHMARK(BM_fill_normal_v3_f32);
BENCHMARK(BM_fill_uniform_bf16);
BENCHMARK(BM_cast<bp::dtype::bf16>);
BENCHMARK(BM_cast<bp::dtype::f16>);
BENCHMARK(BM_cast<bp::dtype::f8_e4m3fn>);
BENCHMARK(BM_cast<bp::dtype::f8_e5m2>);
BENCHMARK(BM_memset);
BENCHMARK(BM_memcpy);

BENCHMARK_MAIN();
