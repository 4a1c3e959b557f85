// The checkpoint loader's options, from the page cache, beside the two numbers that bound it: a
// plain `pread` of the same files into one buffer (what `cat` costs) and a `memcpy` of the arena.
// Options: direct reads against staged ones, worker threads, casts on the way (f32 -> bf16,
// bf16 -> f32), a tp=2 rank's share. A model's own load figures at its dtype and plan (load warm
// and cold per rank, beside memcpy and read_files) are the generated programs'
// (blueprint_add_model_benchmark, benchmarks/CMakeLists.txt).
//
// The checkpoint is written once to $BLUEPRINT_BENCH_DIR (default /tmp/blueprint_bench_load):
// the model $BLUEPRINT_BENCH_MODEL (default gpt2, 124M parameters; gpt2-large gives a 1.5 GB
// bf16 / 3.1 GB f32 checkpoint) in bf16 and in f32, split at 1GB. Every benchmark reads the
// files once before timing (page cache warm) and loads into an arena that was touched before,
// so page faults of fresh memory do not enter (docs/PERFORMANCE.md, "Checkpoint load").
//
//   ./build/benchmarks/bench_load --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <blueprint/codegen/plan.hpp>
#include <blueprint/runtime/registry.hpp>
#include <blueprint/runtime/save_model.hpp>

#include "bench_support.hpp"

namespace {

using namespace blueprint;
namespace fs = std::filesystem;

using bench::env_or;

struct bench_checkpoint {
  dynamic_layout layout;
  std::string dir;
  std::uint64_t file_bytes = 0;
};

/// The checkpoint of the benchmark model in `t`, written on first use.
const bench_checkpoint& checkpoint_in(dtype t) {
  static std::map<dtype, bench_checkpoint> cache;
  auto it = cache.find(t);
  if (it != cache.end()) return it->second;
  const model_entry& m = find_model(env_or("BLUEPRINT_BENCH_MODEL", "gpt2"));
  bench_checkpoint c{m.make_layout(dtype_policy::uniform(t), {}), "", 0};
  c.dir = (fs::path(env_or("BLUEPRINT_BENCH_DIR", "/tmp/blueprint_bench_load")) /
           (std::string(m.name) + "_" + std::string(dtype_name(t))))
              .string();
  c.file_bytes = bench::seed_checkpoint_once(c.layout, c.dir);
  return cache.emplace(t, std::move(c)).first->second;
}

std::vector<std::byte> touched(std::uint64_t bytes) {
  return std::vector<std::byte>(bytes, std::byte{1});
}

void load_bench(benchmark::State& state, dtype file, dtype arena_type, bool direct,
                std::uint32_t tp) {
  const bench_checkpoint& c = checkpoint_in(file);
  const dynamic_layout layout =
      find_model(c.layout.model_name).make_layout(dtype_policy::uniform(arena_type), {});
  program prog;
  try {
    prog = tp == 1 ? program_of(layout) : shard_program(layout, mesh{.tp = tp}, replicate, 0);
  } catch (const std::exception& e) {  // gpt2's vocab (50257) does not split in two
    state.SkipWithError(e.what());
    return;
  }
  std::vector<std::byte> arena = touched(prog.arena_bytes);
  const checkpoint_files ckpt = open_checkpoint(c.dir);
  checkpoint o;
  o.threads = static_cast<unsigned>(state.range(0));
  o.direct_reads = direct;
  o.staging_bytes = 64ull << 20;
  std::uint64_t read = 0;
  for (auto _ : state) {
    const load_report r =
        load_arena(layout, prog, arena, ckpt, match_checkpoint(layout, ckpt, o), o);
    read = r.bytes_read;
    benchmark::DoNotOptimize(arena.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * read));
  state.counters["GB_read"] = static_cast<double>(read) / 1e9;
  state.counters["arena_GB"] = static_cast<double>(prog.arena_bytes) / 1e9;
}

void BM_load_bf16_direct(benchmark::State& s) {
  load_bench(s, dtype::bf16, dtype::bf16, true, 1);
}
void BM_load_bf16_staged(benchmark::State& s) {
  load_bench(s, dtype::bf16, dtype::bf16, false, 1);
}
void BM_load_f32_to_bf16(benchmark::State& s) {
  load_bench(s, dtype::f32, dtype::bf16, true, 1);
}
void BM_load_bf16_to_f32(benchmark::State& s) {
  load_bench(s, dtype::bf16, dtype::f32, true, 1);
}
void BM_load_bf16_tp2_rank0(benchmark::State& s) {
  load_bench(s, dtype::bf16, dtype::bf16, true, 2);
}
BENCHMARK(BM_load_bf16_direct)
    ->Arg(1)
    ->Arg(2)
    ->Arg(4)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_load_bf16_staged)
    ->Arg(1)
    ->Arg(2)
    ->Arg(4)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_load_f32_to_bf16)
    ->Arg(1)
    ->Arg(2)
    ->Arg(4)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_load_bf16_to_f32)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_load_bf16_tp2_rank0)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);

/// `cat`: every file read sequentially into one 8 MiB buffer.
void BM_pread_files(benchmark::State& state) {
  const bench_checkpoint& c = checkpoint_in(dtype::bf16);
  std::vector<char> buffer(8 << 20);
  for (auto _ : state) {
    for (const auto& e : fs::directory_iterator(c.dir)) {
      const int fd = ::open(e.path().c_str(), O_RDONLY);
      off_t at = 0;
      for (ssize_t n; (n = ::pread(fd, buffer.data(), buffer.size(), at)) > 0;) at += n;
      ::close(fd);
    }
    benchmark::DoNotOptimize(buffer.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * c.file_bytes));
}
BENCHMARK(BM_pread_files)->UseRealTime()->Unit(benchmark::kMillisecond);

/// pread of the same files straight into an arena-sized buffer (the direct path's floor).
void BM_pread_into_arena(benchmark::State& state) {
  const bench_checkpoint& c = checkpoint_in(dtype::bf16);
  std::vector<std::byte> arena = touched(c.file_bytes);
  for (auto _ : state) {
    std::uint64_t at_arena = 0;
    for (const auto& e : fs::directory_iterator(c.dir)) {
      const int fd = ::open(e.path().c_str(), O_RDONLY);
      off_t at = 0;
      for (ssize_t n; (n = ::pread(fd, arena.data() + at_arena, 64 << 20, at)) > 0;)
        at += n, at_arena += n;
      ::close(fd);
    }
    benchmark::DoNotOptimize(arena.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * c.file_bytes));
}
BENCHMARK(BM_pread_into_arena)->UseRealTime()->Unit(benchmark::kMillisecond);

/// memcpy of the bf16 arena.
void BM_memcpy_arena(benchmark::State& state) {
  const bench_checkpoint& c = checkpoint_in(dtype::bf16);
  const std::vector<std::byte> from = touched(c.layout.total_bytes());
  std::vector<std::byte> to = touched(c.layout.total_bytes());
  for (auto _ : state) {
    std::memcpy(to.data(), from.data(), from.size());
    benchmark::DoNotOptimize(to.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * from.size()));
}
BENCHMARK(BM_memcpy_arena)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace
