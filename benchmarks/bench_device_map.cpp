// Loads under a device map (one process over the host and disk tiers) beside a plain load of the
// same checkpoint and the two numbers that bound them: a memcpy of the arena (the copy a load
// cannot beat) and mapping the files and touching every page (what a zero-copy load costs).
//
// The checkpoint is TinyLlama-1.1B in bf16 (2.2 GB, $BLUEPRINT_BENCH_MODEL to change), written
// once to $BLUEPRINT_BENCH_DIR (default /tmp/blueprint_bench_device_map) and read once before
// timing, so every case reads from the page cache. Cases:
//   plain_load          materialize(layout, cpu{}, checkpoint): one host arena, bytes copied
//   map_disk_in_place   --device-map disk: every tensor a view of the checkpoint's mapping
//   map_cpu_disk_cast   f16 target, cpu budget of half the model, the rest written once (cast)
//                       into the offload file of the disk tier and mapped back
//   map_auto_in_place   auto, no GPU, same dtype: the whole host tier in place
//   memcpy_arena, mmap_touch   the limits
// Each case includes the fingerprint-free "model ready" point only: the views of an in-place
// model are not read by the load, so the touch limit is what a first use of them pays.
// transformers' from_pretrained beside these, with peak RSS per process:
// benchmarks/device_map_vs_transformers.py (docs/PERFORMANCE.md, "Device maps").
//
//   ./build/benchmarks/bench_device_map --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include <blueprint/runtime/device_map.hpp>
#include <blueprint/runtime/registry.hpp>
#include <blueprint/runtime/save_model.hpp>

#include "bench_support.hpp"

namespace {

using namespace blueprint;
namespace fs = std::filesystem;

using bench::env_or;

struct bench_checkpoint {
  std::string model;
  std::string dir;
  std::uint64_t file_bytes = 0;
};

/// The bf16 checkpoint, written on first use and read once (page cache warm).
const bench_checkpoint& checkpoint_once() {
  static const bench_checkpoint c = [] {
    const model_entry& m = find_model(env_or("BLUEPRINT_BENCH_MODEL", "tinyllama-1.1b"));
    bench_checkpoint out{std::string(m.name), "", 0};
    out.dir = (fs::path(env_or("BLUEPRINT_BENCH_DIR", "/tmp/blueprint_bench_device_map")) /
               (out.model + "_bf16"))
                  .string();
    out.file_bytes = bench::seed_checkpoint_once(m.make_layout(dtype_policy::bf16(), {}), out.dir);
    return out;
  }();
  return c;
}

dynamic_layout layout_in(dtype t) {
  return find_model(checkpoint_once().model).make_layout(dtype_policy::uniform(t), {});
}

void report(benchmark::State& state, std::uint64_t bytes) {
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes));
  state.counters["model_GB"] = static_cast<double>(bytes) / 1e9;
}

void BM_plain_load(benchmark::State& state) {
  const bench_checkpoint& c = checkpoint_once();
  const dynamic_layout layout = layout_in(dtype::bf16);
  for (auto _ : state) {
    const materialized_model m = materialize(layout, cpu{}, {.source = checkpoint{.path = c.dir}});
    benchmark::DoNotOptimize(m.bytes());
  }
  report(state, layout.total_bytes());
}
BENCHMARK(BM_plain_load)->UseRealTime()->Unit(benchmark::kMillisecond);

/// One mapped load of `map` per iteration; counters say where the bytes went.
void mapped_load(benchmark::State& state, const device_map_plan& map) {
  const bench_checkpoint& c = checkpoint_once();
  std::uint64_t host = 0, offload = 0, in_place = 0;
  for (auto _ : state) {
    const mapped_model m = materialize(map, {.source = checkpoint{.path = c.dir}});
    host = m.host() ? m.host()->bytes() : 0;
    offload = m.offload() ? m.offload()->bytes() : 0;
    in_place = m.in_place_bytes();
    benchmark::DoNotOptimize(host);
  }
  report(state, map.layout.total_bytes());
  state.counters["host_GB"] = static_cast<double>(host) / 1e9;
  state.counters["offload_GB"] = static_cast<double>(offload) / 1e9;
  state.counters["in_place_GB"] = static_cast<double>(in_place) / 1e9;
}

std::string offload_dir() {
  const fs::path d =
      fs::path(env_or("BLUEPRINT_BENCH_DIR", "/tmp/blueprint_bench_device_map")) / "offload";
  fs::create_directories(d);
  return d.string();
}

void BM_map_disk_in_place(benchmark::State& state) {
  mapped_load(state, device_map(layout_in(dtype::bf16), {.pinned = {{"", device_ref::disk()}}}));
}
BENCHMARK(BM_map_disk_in_place)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_map_auto_in_place(benchmark::State& state) {
  mapped_load(state, device_map(layout_in(dtype::bf16), {}));
}
BENCHMARK(BM_map_auto_in_place)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_map_cpu_disk_cast(benchmark::State& state) {
  const dynamic_layout layout = layout_in(dtype::f16);
  mapped_load(state,
              device_map(layout, {.max_memory = {{device_ref::cpu(), layout.total_bytes() / 2}},
                                  .offload_dir = offload_dir()}));
}
BENCHMARK(BM_map_cpu_disk_cast)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_map_cpu_disk_same_dtype(benchmark::State& state) {
  const dynamic_layout layout = layout_in(dtype::bf16);
  mapped_load(state,
              device_map(layout, {.max_memory = {{device_ref::cpu(), layout.total_bytes() / 2}},
                                  .offload_dir = offload_dir(),
                                  .in_place = in_place_policy::disk_only}));
}
BENCHMARK(BM_map_cpu_disk_same_dtype)->UseRealTime()->Unit(benchmark::kMillisecond);

/// The copy limit: memcpy of a model-sized arena (both buffers touched before).
void BM_memcpy_arena(benchmark::State& state) {
  const std::uint64_t bytes = layout_in(dtype::bf16).total_bytes();
  const std::vector<std::byte> from(bytes, std::byte{1});
  std::vector<std::byte> to(bytes, std::byte{2});
  for (auto _ : state) {
    std::memcpy(to.data(), from.data(), from.size());
    benchmark::DoNotOptimize(to.data());
  }
  report(state, bytes);
}
BENCHMARK(BM_memcpy_arena)->UseRealTime()->Unit(benchmark::kMillisecond);

/// The zero-copy limit: map every file and read one byte per page (what first use of an
/// in-place model costs from the page cache).
void BM_mmap_touch(benchmark::State& state) {
  const bench_checkpoint& c = checkpoint_once();
  const long page = ::sysconf(_SC_PAGESIZE);
  for (auto _ : state) {
    std::uint64_t sum = 0;
    for (const auto& e : fs::directory_iterator(c.dir)) {
      if (e.path().extension() != ".safetensors") continue;
      const int fd = ::open(e.path().c_str(), O_RDONLY);
      const auto size = static_cast<std::size_t>(fs::file_size(e.path()));
      void* p = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
      const auto* bytes = static_cast<const unsigned char*>(p);
      for (std::size_t at = 0; at < size; at += static_cast<std::size_t>(page)) sum += bytes[at];
      ::munmap(p, size);
      ::close(fd);
    }
    benchmark::DoNotOptimize(sum);
  }
  report(state, c.file_bytes);
}
BENCHMARK(BM_mmap_touch)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace
