// Normal init of GPT-2 XL and Llama-3-8B in bf16 on one GPU, beside the bandwidth limits.
//
//   bench_gpu_init [--reps N] [--models gpt2-xl,llama3-8b] [--csv FILE]
//       kernel time (CUDA events, warm-up, median of N) and GB/s of the fused materialize
//       kernel for the model's real inits, the same arena with every init made a constant,
//       and with every random init made uniform; beside, in the same run and over the same
//       bytes, a device-to-device cudaMemcpy, a plain 16-byte-store fill kernel and
//       cudaMemset (the limits). Bytes counted: arena bytes written (the copy also reads them:
//       its column "r+w GB/s" counts both).
//   bench_gpu_init --e2e MODEL
//       the whole "blueprint init" of MODEL in bf16 (context creation, allocation, table
//       upload, kernel, synchronization) as a process: prints "ready <ms since main>"; the
//       caller (torch_baselines.py) times the process from spawn to exit.
//
// The first materialization of each model runs in poison mode: every element is checked to
// have been written before any figure is taken.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <blueprint/codegen/layout.hpp>
#include <blueprint/codegen/program.hpp>
#include <blueprint/dsl/models.hpp>
#include <blueprint/kernels/cuda/materialize_kernel.cuh>
#include <blueprint/runtime/cuda.hpp>
#include <blueprint/runtime/materialize.hpp>

#include "../model_benchmark/gpu_references.cuh"
#include "bench_models.hpp"

using namespace blueprint;

namespace {

using clock_type = std::chrono::steady_clock;
const clock_type::time_point process_start = clock_type::now();

double ms_since(clock_type::time_point t0) {
  return std::chrono::duration<double, std::milli>(clock_type::now() - t0).count();
}

dynamic_layout layout_by_name(std::string_view name) {
  return gpu_bench::layout_by_name(name, dtype_policy::bf16());
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

/// Median milliseconds of `reps` runs of `enqueue` on the default stream, after `warmup`.
template <class F>
double time_ms(int warmup, int reps, F&& enqueue) {
  gpu_bench::event_timer timer;
  for (int i = 0; i < warmup; ++i) enqueue();
  BLUEPRINT_CUDA_CHECK(cudaDeviceSynchronize());
  std::vector<double> times;
  for (int i = 0; i < reps; ++i) times.push_back(timer.milliseconds(enqueue));
  return median(times);
}

/// The program with every tensor's init replaced: kind `k` for all (constant) or for the
/// random ones only (uniform).
program with_inits(program p, init_spec replacement, bool random_only) {
  for (segment& s : p.segments) {
    if (s.padding) continue;
    const bool random = s.init.kind == init_kind::normal || s.init.kind == init_kind::uniform ||
                        s.init.kind == init_kind::normal_icdf ||
                        s.init.kind == init_kind::normal_icdf16 ||
                        s.init.kind == init_kind::truncated_normal;
    if (!random_only || random) s.init = replacement;
  }
  return p;
}

struct row {
  std::string model, variant;
  std::uint64_t bytes;
  double ms;
  double gbps;     // bytes written / time
  double rw_gbps;  // bytes read + written / time (copy only)
};

void print_row(const row& r, double fill_gbps, std::FILE* csv) {
  std::printf("%-12s %-26s %8.3f GB %10.3f ms %9.1f GB/s %7.1f%% of fill", r.model.c_str(),
              r.variant.c_str(), r.bytes / 1e9, r.ms, r.gbps,
              fill_gbps > 0 ? 100.0 * r.gbps / fill_gbps : 0.0);
  if (r.rw_gbps > 0) std::printf("  (r+w %.1f GB/s)", r.rw_gbps);
  std::printf("\n");
  std::fflush(stdout);
  if (csv)
    std::fprintf(csv, "%s,%s,%llu,%.6f,%.3f,%.3f\n", r.model.c_str(), r.variant.c_str(),
                 static_cast<unsigned long long>(r.bytes), r.ms, r.gbps, r.rw_gbps);
}

int bench(const std::vector<std::string>& names, int reps, std::FILE* csv) {
  cudaDeviceProp prop{};
  BLUEPRINT_CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
  std::printf("device: %s, %d SMs, %.1f GiB, L2 %.1f MB; reps %d (median), warm-up 3\n", prop.name,
              prop.multiProcessorCount, prop.totalGlobalMem / 1073741824.0, prop.l2CacheSize / 1e6,
              reps);
  if (csv) std::fprintf(csv, "model,variant,bytes,ms,gbps,rw_gbps\n");
  for (const std::string& name : names) {
    const dynamic_layout l = layout_by_name(name);
    const program p = program_of(l);
    const std::uint64_t bytes = p.arena_bytes;

    // End to end inside the process (allocation, table upload, kernel), first in poison mode.
    auto t0 = clock_type::now();
    device_model m = materialize(l, cuda{}, {.source = init{.seed = 1234}, .poison = true});
    const double first_ms = ms_since(t0);
    std::printf("%-12s first materialize with poison check: %.1f ms (%zu segments)\n", name.c_str(),
                first_ms, p.segments.size());

    // Limits over the same bytes.
    void* other = nullptr;
    BLUEPRINT_CUDA_CHECK(cudaMalloc(&other, bytes));
    const double copy_ms = time_ms(3, reps, [&] {
      BLUEPRINT_CUDA_CHECK(cudaMemcpyAsync(other, m.data(), bytes, cudaMemcpyDeviceToDevice));
    });
    const double fill_ms = time_ms(3, reps, [&] {
      BLUEPRINT_CUDA_CHECK(
          cuda_kernels::launch_plain_fill(other, bytes / 16 * 16, 0x3c003c00u, 0, nullptr));
    });
    const double memset_ms =
        time_ms(3, reps, [&] { BLUEPRINT_CUDA_CHECK(cudaMemsetAsync(other, 0, bytes)); });
    BLUEPRINT_CUDA_CHECK(cudaFree(other));

    const double fill_gbps = bytes / fill_ms / 1e6;
    print_row({name, "limit: plain fill kernel", bytes, fill_ms, fill_gbps, 0}, fill_gbps, csv);
    print_row({name, "limit: cudaMemset", bytes, memset_ms, bytes / memset_ms / 1e6, 0}, fill_gbps,
              csv);
    print_row({name, "limit: D2D cudaMemcpy", bytes, copy_ms, bytes / copy_ms / 1e6,
               2.0 * bytes / copy_ms / 1e6},
              fill_gbps, csv);

    std::uint64_t seed = 1;
    const double init_ms = time_ms(3, reps, [&] { m.refill(seed++); });
    print_row({name, "blueprint: model inits", bytes, init_ms, bytes / init_ms / 1e6, 0}, fill_gbps,
              csv);

    // Init streams v2 and v3: the model's own inits, every normal drawn by the stream's
    // inverse CDF (v2: of 24 bits; v3: of 16 bits, one Philox block per 8 values).
    for (const auto& [kind, label] :
         {std::pair{init_kind::normal_icdf, "blueprint: model inits, stream v2"},
          std::pair{init_kind::normal_icdf16, "blueprint: model inits, stream v3"}}) {
      program streamed = p;
      for (segment& sg : streamed.segments)
        if (sg.padding == 0 && sg.init.kind == init_kind::normal) sg.init.kind = kind;
      device_model ms = materialize(l, streamed, cuda{});
      const double ms_time = time_ms(3, reps, [&] { ms.refill(seed++); });
      print_row({name, label, bytes, ms_time, bytes / ms_time / 1e6, 0}, fill_gbps, csv);
    }
    {
      device_model u = materialize(l, with_inits(p, init::uniform(-0.02f, 0.02f), true), cuda{});
      const double ms = time_ms(3, reps, [&] { u.refill(seed++); });
      print_row({name, "blueprint: uniform", bytes, ms, bytes / ms / 1e6, 0}, fill_gbps, csv);
    }
    {
      device_model c = materialize(l, with_inits(p, init::constant(0.02f), false), cuda{});
      const double ms = time_ms(3, reps, [&] { c.refill(seed++); });
      print_row({name, "blueprint: constants", bytes, ms, bytes / ms / 1e6, 0}, fill_gbps, csv);
    }
  }
  return 0;
}

int e2e(std::string_view name) {
  const dynamic_layout l = layout_by_name(name);
  device_model m = materialize(l, cuda{}, {.source = init{.seed = 1234}});
  std::printf("ready %.1f ms after main (%.3f GB)\n", ms_since(process_start),
              m.arena_bytes() / 1e9);
  return 0;
}

std::vector<std::string> split(std::string_view s) {
  std::vector<std::string> out;
  while (!s.empty()) {
    const std::size_t c = s.find(',');
    out.emplace_back(s.substr(0, c));
    if (c == std::string_view::npos) break;
    s.remove_prefix(c + 1);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    int reps = 20;
    std::vector<std::string> names{"gpt2-xl", "llama3-8b"};
    std::FILE* csv = nullptr;
    for (int i = 1; i < argc; ++i) {
      const std::string_view a = argv[i];
      if (a == "--e2e" && i + 1 < argc) return e2e(argv[++i]);
      if (a == "--reps" && i + 1 < argc)
        reps = std::max(1, std::atoi(argv[++i]));
      else if (a == "--models" && i + 1 < argc)
        names = split(argv[++i]);
      else if (a == "--csv" && i + 1 < argc)
        csv = std::fopen(argv[++i], "w");
      else {
        std::fprintf(stderr, "usage: %s [--reps N] [--models a,b] [--csv FILE] | --e2e MODEL\n",
                     argv[0]);
        return 2;
      }
    }
    const int rc = bench(names, reps, csv);
    if (csv) std::fclose(csv);
    return rc;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_gpu_init: %s\n", e.what());
    return 1;
  }
}
