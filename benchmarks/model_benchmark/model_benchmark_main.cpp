// The body of every program `blueprint_add_model_benchmark` generates: one Google Benchmark
// run that answers, for one model, dtype and shard plan, "how fast does Blueprint make this
// model, rank by rank, and how close is that to what the memory allows?".
//
// Per rank of the plan (all ranks looped in this process — default: every rank up to 8, else
// one rank per distinct arena size —, or only this process's rank under mpirun/srun):
//   plan            the plan of the layout plus this rank's program (what a rank does first)
//   init_warm       the init program into an arena whose pages are faulted in: compute + store
//   init_cold       blueprint::materialize from scratch (allocation, page faults, init)
//   memset_warm     the same bytes, memset by as many threads: the store limit (warm)
//   memset_cold     a fresh arena of the same bytes, memset: the limit of init_cold
//   memcpy_warm     the same bytes copied by as many threads: the limit of a load
//   fingerprint     the rank's fingerprint contribution (its value is the benchmark's label)
//   load_warm       the checkpoint loaded again into the materialized arena (page cache warm)
//   load_cold       blueprint::materialize from the checkpoint (allocation included)
//   read_files      (world size 1) pread of the checkpoint's files into one buffer: what `cat`
//                   costs, the limit of load_warm
// and, in a CUDA build with a device: gpu_init_warm (refill, CUDA events), gpu_init_cold,
// gpu_fill_limit (a plain 16-byte-store fill kernel), gpu_memset_limit, gpu_d2d_copy,
// gpu_fingerprint, gpu_load_warm, gpu_load_cold. Every benchmark reports bytes_per_second and
// items_per_second of the rank's arena (bytes written, elements written); the JSON context
// (--benchmark_format=json) names the model, its origin, dtype, mesh, strategy, world size,
// ranks, parameters, bytes, threads, checkpoint and device.
//
// The checkpoint is CHECKPOINT (or --bp_checkpoint=DIR); without one, the whole model is
// initialized once and saved at the benchmark's dtype to a fresh temporary directory, removed at
// exit (this needs the whole model's bytes in host memory once). It is read once before timing.
//
// Run-time flags, taken before Google Benchmark's own (--benchmark_filter, _min_time, _format):
//   --bp_ranks=auto|all|R,R,...   --bp_threads=N   --bp_seed=N   --bp_checkpoint=DIR
//   --bp_device=N (CUDA build; default: the local rank's device modulo the device count)
#include <benchmark/benchmark.h>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <blueprint/codegen/plan.hpp>
#include <blueprint/runtime/materialize.hpp>
#include <blueprint/runtime/save_model.hpp>
#if BLUEPRINT_MODEL_BENCHMARK_CUDA
#include <blueprint/runtime/cuda.hpp>

#include "gpu_references.cuh"
#endif

#include "model_benchmark.hpp"

namespace {

using namespace blueprint;
using blueprint::model_benchmark::benchmarked_model;
namespace fs = std::filesystem;
using plan_type = decltype(plan(std::declval<const dynamic_layout&>(), mesh{}, fsdp));

/// The run-time flags (the header comment lists them).
struct run_flags {
  std::string ranks = "auto";
  unsigned threads = 0;
  std::uint64_t seed = 1234;
  std::string checkpoint;
  int device = -1;
};

[[noreturn]] void usage_error(const std::string& why) {
  throw std::invalid_argument(why + " (flags: --bp_ranks=auto|all|R,R,... --bp_threads=N " +
                              "--bp_seed=N --bp_checkpoint=DIR --bp_device=N)");
}

std::uint64_t parse_number(std::string_view flag, std::string_view text) {
  if (text.empty() || text.size() > 19) usage_error(std::string(flag) + " needs a number");
  std::uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9')
      usage_error(std::string(flag) + " needs a number, not '" + std::string(text) + "'");
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return v;
}

/// Takes the --bp_* flags out of argv (Google Benchmark refuses flags it does not know).
run_flags take_flags(int& argc, char** argv) {
  run_flags f;
  int kept = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    const auto value = [&](std::string_view name) -> std::optional<std::string_view> {
      if (a.substr(0, name.size()) != name || a.size() == name.size() || a[name.size()] != '=')
        return std::nullopt;
      return a.substr(name.size() + 1);
    };
    if (auto v = value("--bp_ranks")) {
      f.ranks = std::string(*v);
    } else if (auto v = value("--bp_threads")) {
      f.threads = static_cast<unsigned>(
          std::min<std::uint64_t>(parse_number("--bp_threads", *v), max_worker_threads));
    } else if (auto v = value("--bp_seed")) {
      f.seed = parse_number("--bp_seed", *v);
    } else if (auto v = value("--bp_checkpoint")) {
      f.checkpoint = std::string(*v);
    } else if (auto v = value("--bp_device")) {
      f.device = static_cast<int>(std::min<std::uint64_t>(parse_number("--bp_device", *v), 1024));
    } else if (a.substr(0, 5) == "--bp_") {
      usage_error("unknown flag " + std::string(a));
    } else {
      argv[kept++] = argv[i];
    }
  }
  argc = kept;
  argv[argc] = nullptr;
  return f;
}

/// This process's rank and the job's size when a launcher started it (mpirun, srun), else none.
std::optional<std::pair<std::uint64_t, std::uint64_t>> launcher_rank() {
  static constexpr std::pair<const char*, const char*> names[] = {
      {"OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"},
      {"PMIX_RANK", "PMIX_SIZE"},
      {"PMI_RANK", "PMI_SIZE"},
      {"SLURM_PROCID", "SLURM_NTASKS"}};
  for (const auto& [rank, size] : names) {
    const char* r = std::getenv(rank);
    const char* s = std::getenv(size);
    if (r != nullptr && s != nullptr)
      return std::pair{parse_number(rank, r), parse_number(size, s)};
  }
  return std::nullopt;
}

/// The ranks to benchmark (the header comment says how they are chosen).
std::vector<std::uint32_t> choose_ranks(const plan_type& p, const std::string& choice) {
  const std::uint32_t world = p.world_size();
  if (auto launched = launcher_rank()) {
    if (launched->second != world)
      throw std::invalid_argument("started as rank " + std::to_string(launched->first) + " of " +
                                  std::to_string(launched->second) + " processes, but the mesh " +
                                  std::string(benchmarked_model.mesh) + " has " +
                                  std::to_string(world) + " ranks");
    return {static_cast<std::uint32_t>(launched->first)};
  }
  std::vector<std::uint32_t> ranks;
  if (choice == "all" || (choice == "auto" && world <= 8)) {
    for (std::uint32_t r = 0; r < world; ++r) ranks.push_back(r);
  } else if (choice == "auto") {
    std::set<std::uint32_t> distinct;
    for (std::uint32_t r = 0; r < world; ++r) distinct.insert(p.representative(r));
    ranks.assign(distinct.begin(), distinct.end());
  } else {
    std::string_view rest = choice;
    while (!rest.empty()) {
      const std::size_t comma = rest.find(',');
      const std::uint64_t r = parse_number("--bp_ranks", rest.substr(0, comma));
      if (r >= world)
        usage_error("--bp_ranks: rank " + std::to_string(r) + " is outside the mesh of " +
                    std::to_string(world) + " ranks");
      ranks.push_back(static_cast<std::uint32_t>(r));
      rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    }
  }
  return ranks;
}

/// Everything the benchmarks share, built once in main.
struct subject {
  dtype type = dtype::bf16;
  dynamic_layout layout;
  mesh device_mesh;
  strategy sharding = fsdp;
  std::optional<plan_type> shard_plan;
  std::vector<std::uint32_t> ranks;
  run_flags flags;
  unsigned threads = 1;

  /// The checkpoint directory: the given one, or the seed checkpoint, written on first use.
  const std::string& checkpoint_dir();
  ~subject();

 private:
  std::string checkpoint_;
  bool seed_written_ = false;
};

subject& the_subject() {
  static subject s;
  return s;
}

/// Reads every file of `dir` once (page cache warm); returns their bytes.
std::uint64_t warm_files(const std::string& dir) {
  std::uint64_t bytes = 0;
  std::vector<char> sink(8 << 20);
  for (const auto& e : fs::directory_iterator(dir)) {
    if (!e.is_regular_file() || e.path().extension() != ".safetensors") continue;
    const int fd = ::open(e.path().c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    for (ssize_t n; (n = ::read(fd, sink.data(), sink.size())) > 0;) bytes += n;
    ::close(fd);
  }
  return bytes;
}

const std::string& subject::checkpoint_dir() {
  if (!checkpoint_.empty()) return checkpoint_;
  const std::string given =
      !flags.checkpoint.empty() ? flags.checkpoint : std::string(benchmarked_model.checkpoint);
  if (!given.empty()) {
    checkpoint_ = given;
  } else {
    std::string pattern = (fs::temp_directory_path() / "blueprint-bench-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr)
      throw std::runtime_error("cannot create a temporary directory for the seed checkpoint: " +
                               std::string(std::strerror(errno)));
    seed_written_ = true;  // removed at exit, even if the save below fails
    checkpoint_ = pattern;
    std::fprintf(stderr, "%.*s: writing a seed checkpoint (%s, %.3f GB) to %s\n",
                 static_cast<int>(benchmarked_model.target.size()), benchmarked_model.target.data(),
                 std::string(dtype_name(type)).c_str(), layout.total_bytes() / 1e9,
                 checkpoint_.c_str());
    const materialized_model whole =
        materialize(layout, cpu{threads}, {.source = init{.seed = flags.seed}});
    (void)save(whole, checkpoint_);
  }
  warm_files(checkpoint_);
  return checkpoint_;
}

subject::~subject() {
  std::error_code ignored;
  if (seed_written_) fs::remove_all(checkpoint_, ignored);
}

std::uint64_t element_count(const program& p) {
  std::uint64_t n = 0;
  for (const segment& s : p.segments)
    if (s.padding == 0) n += s.count;
  return n;
}

/// Bytes and elements per second of an arena (what every benchmark reports).
void report(benchmark::State& state, const program& p) {
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * p.arena_bytes));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * element_count(p)));
  state.counters["arena_MB"] = static_cast<double>(p.arena_bytes) / 1e6;
}

/// The fingerprint as the benchmark's label ("fingerprint 0x...": what tests read back).
void label_fingerprint(benchmark::State& state, std::uint64_t value) {
  char label[40];
  std::snprintf(label, sizeof label, "fingerprint 0x%016llx",
                static_cast<unsigned long long>(value));
  state.SetLabel(label);
}

/// memcpy split over `threads` threads, like the materializer splits its fills.
void parallel_copy(std::byte* to, const std::byte* from, std::uint64_t bytes, unsigned threads) {
  if (threads <= 1 || bytes < (8u << 20)) {
    std::memcpy(to, from, bytes);
    return;
  }
  std::vector<std::thread> workers;
  const std::uint64_t chunk = (bytes / threads + 4095) / 4096 * 4096;
  for (std::uint64_t at = 0; at < bytes; at += chunk)
    workers.emplace_back([=] { std::memcpy(to + at, from + at, std::min(chunk, bytes - at)); });
  for (std::thread& w : workers) w.join();
}

/// Runs `body(state)`; an exception ends the benchmark as an error with its message.
template <class F>
void guarded(benchmark::State& state, F&& body) {
  try {
    body(state);
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
  }
}

// ---- host benchmarks, per rank ----------------------------------------------------------

void plan_and_program(benchmark::State& state, std::uint32_t rank) {
  const subject& s = the_subject();
  std::uint64_t segments = 0;
  for (auto _ : state) {
    const plan_type p = plan(s.layout, s.device_mesh, s.sharding);
    const program prog = p.program(rank);
    segments = prog.segments.size();
    benchmark::DoNotOptimize(prog.segments.data());
  }
  state.counters["segments"] = static_cast<double>(segments);
}

void init_warm(benchmark::State& state, std::uint32_t rank) {
  const subject& s = the_subject();
  const program p = s.shard_plan->program(rank);
  arena a(p.arena_bytes);
  detail::parallel_memset(a.data(), 0, a.size(), s.threads);  // fault every page in
  for (auto _ : state) {
    run_init_program(p, s.flags.seed, a.bytes(), cpu{s.threads});
    benchmark::ClobberMemory();
  }
  report(state, p);
}

void init_cold(benchmark::State& state, std::uint32_t rank) {
  const subject& s = the_subject();
  for (auto _ : state) {
    materialized_model m =
        materialize(*s.shard_plan, rank, cpu{s.threads}, {.source = init{.seed = s.flags.seed}});
    benchmark::DoNotOptimize(m.arena().data());
  }
  report(state, s.shard_plan->program(rank));
}

void memset_warm(benchmark::State& state, std::uint32_t rank) {
  const subject& s = the_subject();
  const program p = s.shard_plan->program(rank);
  arena a(p.arena_bytes);
  detail::parallel_memset(a.data(), 0, a.size(), s.threads);
  for (auto _ : state) {
    detail::parallel_memset(a.data(), 1, a.size(), s.threads);
    benchmark::ClobberMemory();
  }
  report(state, p);
}

void memset_cold(benchmark::State& state, std::uint32_t rank) {
  const subject& s = the_subject();
  const program p = s.shard_plan->program(rank);
  for (auto _ : state) {
    arena a(p.arena_bytes);
    detail::parallel_memset(a.data(), 1, a.size(), s.threads);
    benchmark::DoNotOptimize(a.data());
  }
  report(state, p);
}

void memcpy_warm(benchmark::State& state, std::uint32_t rank) {
  const subject& s = the_subject();
  const program p = s.shard_plan->program(rank);
  arena from(p.arena_bytes), to(p.arena_bytes);
  detail::parallel_memset(from.data(), 1, from.size(), s.threads);
  detail::parallel_memset(to.data(), 0, to.size(), s.threads);
  for (auto _ : state) {
    parallel_copy(to.data(), from.data(), p.arena_bytes, s.threads);
    benchmark::ClobberMemory();
  }
  report(state, p);
}

void fingerprint_rank(benchmark::State& state, std::uint32_t rank) {
  const subject& s = the_subject();
  const materialized_model m =
      materialize(*s.shard_plan, rank, cpu{s.threads}, {.source = init{.seed = s.flags.seed}});
  std::uint64_t value = 0;
  for (auto _ : state) {
    value = fingerprint(m);
    benchmark::DoNotOptimize(value);
  }
  label_fingerprint(state, value);
  report(state, m.program());
}

void load_warm(benchmark::State& state, std::uint32_t rank) {
  subject& s = the_subject();
  const std::string& dir = s.checkpoint_dir();
  materialized_model m = materialize(*s.shard_plan, rank, cpu{s.threads}, {.source = no_init{}});
  std::uint64_t read = 0;
  for (auto _ : state) {
    read = load(m, checkpoint{.path = dir}).bytes_read;
    benchmark::ClobberMemory();
  }
  state.counters["file_MB_read"] = static_cast<double>(read) / 1e6;
  report(state, m.program());
}

void load_cold(benchmark::State& state, std::uint32_t rank) {
  subject& s = the_subject();
  const std::string& dir = s.checkpoint_dir();
  for (auto _ : state) {
    materialized_model m =
        materialize(*s.shard_plan, rank, cpu{s.threads}, {.source = checkpoint{.path = dir}});
    benchmark::DoNotOptimize(m.arena().data());
  }
  report(state, s.shard_plan->program(rank));
}

void read_files(benchmark::State& state) {
  subject& s = the_subject();
  const std::string& dir = s.checkpoint_dir();
  std::vector<fs::path> files;
  std::uint64_t bytes = 0;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file() && e.path().extension() == ".safetensors") {
      files.push_back(e.path());
      bytes += e.file_size();
    }
  arena buffer(bytes);
  detail::parallel_memset(buffer.data(), 0, buffer.size(), s.threads);
  for (auto _ : state) {
    std::uint64_t at_buffer = 0;
    for (const fs::path& f : files) {
      const int fd = ::open(f.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) throw std::runtime_error("cannot open " + f.string());
      off_t at = 0;
      for (ssize_t n; (n = ::pread(fd, buffer.data() + at_buffer, 64 << 20, at)) > 0;)
        at += n, at_buffer += static_cast<std::uint64_t>(n);
      ::close(fd);
    }
    benchmark::DoNotOptimize(buffer.data());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes));
  state.counters["file_MB"] = static_cast<double>(bytes) / 1e6;
}

// ---- device benchmarks, per rank (CUDA build) --------------------------------------------
#if BLUEPRINT_MODEL_BENCHMARK_CUDA

int bench_device = 0;

/// Times `enqueue` on the default stream with CUDA events: one manual-time iteration each.
template <class F>
void timed_on_device(benchmark::State& state, F&& enqueue) {
  gpu_bench::event_timer timer;
  enqueue();  // warm-up
  BLUEPRINT_CUDA_CHECK(cudaDeviceSynchronize());
  for (auto _ : state) state.SetIterationTime(timer.milliseconds(enqueue) / 1e3);
}

/// Times `body` on the host clock (allocation and synchronization included).
template <class F>
void timed_on_host(benchmark::State& state, F&& body) {
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    body();
    state.SetIterationTime(detail::seconds_since(t0));
  }
}

device_model device_rank(std::uint32_t rank, model_source source) {
  const subject& s = the_subject();
  return materialize(*s.shard_plan, rank, cuda{.device = bench_device},
                     {.source = std::move(source)});
}

void gpu_init_warm(benchmark::State& state, std::uint32_t rank) {
  device_model m = device_rank(rank, init{.seed = the_subject().flags.seed});
  std::uint64_t seed = the_subject().flags.seed;
  timed_on_device(state, [&] { m.refill(seed++); });
  report(state, m.program());
}

void gpu_init_cold(benchmark::State& state, std::uint32_t rank) {
  timed_on_host(state, [&] {
    device_model m = device_rank(rank, init{.seed = the_subject().flags.seed});
    m.wait();
  });
  report(state, the_subject().shard_plan->program(rank));
}

/// A scratch device buffer of `bytes` (the limits' target).
struct device_scratch {
  void* data = nullptr;
  explicit device_scratch(std::uint64_t bytes) {
    BLUEPRINT_CUDA_CHECK(cudaMalloc(&data, std::max<std::uint64_t>(bytes, 16)));
  }
  ~device_scratch() { (void)cudaFree(data); }
  device_scratch(const device_scratch&) = delete;
  device_scratch& operator=(const device_scratch&) = delete;
};

void gpu_fill_limit(benchmark::State& state, std::uint32_t rank) {
  const program p = the_subject().shard_plan->program(rank);
  device_scratch out(p.arena_bytes);
  timed_on_device(state, [&] {
    BLUEPRINT_CUDA_CHECK(cuda_kernels::launch_plain_fill(out.data, p.arena_bytes / 16 * 16,
                                                         0x3c003c00u, bench_device, nullptr));
  });
  report(state, p);
}

void gpu_memset_limit(benchmark::State& state, std::uint32_t rank) {
  const program p = the_subject().shard_plan->program(rank);
  device_scratch out(p.arena_bytes);
  timed_on_device(state,
                  [&] { BLUEPRINT_CUDA_CHECK(cudaMemsetAsync(out.data, 0, p.arena_bytes)); });
  report(state, p);
}

void gpu_d2d_copy(benchmark::State& state, std::uint32_t rank) {
  const device_model m = device_rank(rank, init{.seed = the_subject().flags.seed});
  device_scratch out(m.arena_bytes());
  timed_on_device(state, [&] {
    BLUEPRINT_CUDA_CHECK(
        cudaMemcpyAsync(out.data, m.data(), m.arena_bytes(), cudaMemcpyDeviceToDevice));
  });
  report(state, m.program());
}

void gpu_fingerprint(benchmark::State& state, std::uint32_t rank) {
  const device_model m = device_rank(rank, init{.seed = the_subject().flags.seed});
  std::uint64_t value = 0;
  timed_on_host(state, [&] { value = fingerprint(m); });
  label_fingerprint(state, value);
  report(state, m.program());
}

void gpu_load_warm(benchmark::State& state, std::uint32_t rank) {
  const std::string& dir = the_subject().checkpoint_dir();
  device_model m = device_rank(rank, no_init{});
  timed_on_host(state, [&] {
    (void)load(m, checkpoint{.path = dir});
    m.wait();
  });
  report(state, m.program());
}

void gpu_load_cold(benchmark::State& state, std::uint32_t rank) {
  const std::string& dir = the_subject().checkpoint_dir();
  timed_on_host(state, [&] {
    device_model m = device_rank(rank, checkpoint{.path = dir});
    m.wait();
  });
  report(state, the_subject().shard_plan->program(rank));
}

/// The device's name, or "" when this machine has none.
std::string device_name(int device) {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess || count == 0) return "";
  cudaDeviceProp prop{};
  if (cudaGetDeviceProperties(&prop, device % count) != cudaSuccess) return "";
  return prop.name;
}
#endif

// ---- registration ------------------------------------------------------------------------

std::string mesh_text(const mesh& m) {
  std::string s;
  const auto axis = [&](const char* name, std::uint64_t v) {
    if (v == 1) return;
    if (!s.empty()) s += ',';
    s += name;
    s += '=';
    s += std::to_string(v);
  };
  axis("pp", m.pp);
  axis("dp", m.dp);
  axis("tp", m.tp);
  axis("ep", m.ep);
  return s.empty() ? "dp=1" : s;
}

template <class F>
void add(const std::string& name, F body, bool manual_time = false) {
  benchmark::internal::Benchmark* b = benchmark::RegisterBenchmark(
      name.c_str(), [body](benchmark::State& state) { guarded(state, body); });
  b->Unit(benchmark::kMillisecond);
  if (manual_time)
    b->UseManualTime();
  else
    b->UseRealTime();
}

void register_benchmarks(const subject& s, bool with_device) {
  const std::string prefix = std::string(benchmarked_model.model) + "/" +
                             std::string(dtype_name(s.type)) + "/" + mesh_text(s.device_mesh) +
                             "/" + std::string(strategy_name(s.sharding)) + "/";
  using per_rank = void (*)(benchmark::State&, std::uint32_t);
  static constexpr std::pair<const char*, per_rank> host[] = {
      {"plan", plan_and_program},        {"init_warm", init_warm},     {"init_cold", init_cold},
      {"memset_warm", memset_warm},      {"memset_cold", memset_cold}, {"memcpy_warm", memcpy_warm},
      {"fingerprint", fingerprint_rank}, {"load_warm", load_warm},     {"load_cold", load_cold}};
  for (std::uint32_t rank : s.ranks) {
    const std::string at = prefix + "rank" + std::to_string(rank) + "/";
    for (const auto& [name, f] : host)
      add(at + name, [f, rank](benchmark::State& state) { f(state, rank); });
#if BLUEPRINT_MODEL_BENCHMARK_CUDA
    static constexpr std::pair<const char*, per_rank> device[] = {
        {"gpu_init_warm", gpu_init_warm},   {"gpu_init_cold", gpu_init_cold},
        {"gpu_fill_limit", gpu_fill_limit}, {"gpu_memset_limit", gpu_memset_limit},
        {"gpu_d2d_copy", gpu_d2d_copy},     {"gpu_fingerprint", gpu_fingerprint},
        {"gpu_load_warm", gpu_load_warm},   {"gpu_load_cold", gpu_load_cold}};
    if (with_device)
      for (const auto& [name, f] : device)
        add(
            at + name, [f, rank](benchmark::State& state) { f(state, rank); }, true);
#else
    (void)with_device;
#endif
  }
  if (s.shard_plan->world_size() == 1) add(prefix + "read_files", read_files);
}

/// The CPU's model name (/proc/cpuinfo), beside Google Benchmark's own machine context.
std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("model name", 0) == 0) {
      const std::size_t colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(' ', colon + 1));
    }
  return "unknown";
}

std::string ranks_text(const std::vector<std::uint32_t>& ranks) {
  std::string t;
  for (std::uint32_t r : ranks) {
    if (!t.empty()) t += ',';
    t += std::to_string(r);
  }
  return t;
}

int run(int argc, char** argv) {
  subject& s = the_subject();
  s.flags = take_flags(argc, argv);
  const std::optional<dtype> type = parse_dtype(benchmarked_model.dtype);
  const std::optional<strategy> sharding = parse_strategy(benchmarked_model.strategy);
  if (!type || !sharding)
    throw std::invalid_argument("bad DTYPE or STRATEGY (the generated file was edited)");
  s.type = *type;
  s.layout = model_benchmark::benchmarked_layout(dtype_policy::uniform(*type));
  s.device_mesh = parse_mesh(benchmarked_model.mesh);
  s.sharding = *sharding;
  s.shard_plan.emplace(plan(s.layout, s.device_mesh, s.sharding));
  s.ranks = choose_ranks(*s.shard_plan, s.flags.ranks);
  s.threads =
      s.flags.threads != 0 ? s.flags.threads : std::max(1u, std::thread::hardware_concurrency());

  bool with_device = false;
  std::string gpu = "none (host build)";
#if BLUEPRINT_MODEL_BENCHMARK_CUDA
  int local = 0;
  if (const char* l = std::getenv("OMPI_COMM_WORLD_LOCAL_RANK")) local = std::atoi(l);
  int count = 0;
  if (cudaGetDeviceCount(&count) == cudaSuccess && count > 0) {
    bench_device = (s.flags.device >= 0 ? s.flags.device : local) % count;
    gpu = "cuda:" + std::to_string(bench_device) + " " + device_name(bench_device);
    with_device = true;
  } else {
    gpu = "none (no CUDA device: the gpu_* benchmarks are not registered)";
    std::fprintf(stderr, "%s\n", gpu.c_str());
  }
#endif

  const std::string checkpoint =
      !s.flags.checkpoint.empty() ? s.flags.checkpoint
      : benchmarked_model.checkpoint.empty()
          ? std::string("a seed checkpoint, written once to a temporary directory")
          : std::string(benchmarked_model.checkpoint);
  benchmark::AddCustomContext("blueprint.target", std::string(benchmarked_model.target));
  benchmark::AddCustomContext("blueprint.model", std::string(benchmarked_model.model));
  benchmark::AddCustomContext("blueprint.origin", std::string(benchmarked_model.origin));
  benchmark::AddCustomContext("blueprint.dtype", std::string(dtype_name(s.type)));
  benchmark::AddCustomContext("blueprint.mesh", mesh_text(s.device_mesh));
  benchmark::AddCustomContext("blueprint.strategy", std::string(strategy_name(s.sharding)));
  benchmark::AddCustomContext("blueprint.world_size", std::to_string(s.shard_plan->world_size()));
  benchmark::AddCustomContext("blueprint.ranks", ranks_text(s.ranks));
  benchmark::AddCustomContext("blueprint.parameters", std::to_string(s.layout.parameter_count()));
  benchmark::AddCustomContext("blueprint.model_bytes", std::to_string(s.layout.total_bytes()));
  benchmark::AddCustomContext("blueprint.max_rank_bytes",
                              std::to_string(s.shard_plan->max_rank_bytes()));
  benchmark::AddCustomContext("blueprint.threads", std::to_string(s.threads));
  benchmark::AddCustomContext("blueprint.seed", std::to_string(s.flags.seed));
  benchmark::AddCustomContext("blueprint.checkpoint", checkpoint);
  benchmark::AddCustomContext("blueprint.gpu", gpu);
  benchmark::AddCustomContext("blueprint.cpu", cpu_model());

  register_benchmarks(s, with_device);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%.*s: %s\n", static_cast<int>(benchmarked_model.target.size()),
                 benchmarked_model.target.data(), e.what());
    return 1;
  }
}
