// Loading a safetensors checkpoint into GPU memory, beside the limits of the machine.
//
//   bench_gpu_load --model MODEL --dir DIR [--make] [--reps N] [--csv FILE]
//   bench_gpu_load --e2e MODEL --dir DIR
//
// A loader is only as good as its distance to what the machine can do, so every Blueprint
// figure is printed beside the limits measured in the same run over the same bytes:
//
//   a. h2d limit              cudaMemcpyAsync of 1 GiB from pinned memory (CUDA events)
//   b. pread into pinned      8 threads pread every file's data in 32 MiB blocks into a ring
//                             of pinned slots; no GPU work (the host read limit)
//   c. pread + h2d (naive)    one thread: pread a block into pinned memory, cudaMemcpy it to
//                             its place in a device buffer, next block (what a simple loader does)
//   d. blueprint load         materialize(layout, cuda{}, {.source = checkpoint{.path = DIR}}),
//   bf16 -> bf16 e. ... cast to f32        the same checkpoint into an f32 layout (the cast path),
//   if it fits f. ... tp=2 rank 0        rank 0 of plan(layout, mesh{.tp = 2}, replicate): half the
//   bytes g. staging sweep          load(device_model&, DIR, options) into a `{.source =
//   no_init{}}` model,
//                             staging 64 MiB / 256 MiB / 1 GiB x threads 4 / 8 / 16
//
// Method. Every figure is "from the page cache": the files are read once before anything is
// timed, so the disk is out of the picture and the loader itself is measured. Each figure is
// the median of --reps runs after one warm-up (for d, e and f the warm-up is a load in poison
// mode, which proves that every byte of the arena was written). Loads are timed by the host
// wall clock around the call, which synchronizes: header parsing, key matching, the arena's
// cudaMalloc and the copies are all inside; freeing the previous model is not. GB/s counts the
// checkpoint bytes the load reads (1 GB = 1e9 bytes). The Blueprint figures run first, so the
// process's peak RSS printed beside them (ru_maxrss) is not inflated by the 1 GiB pinned buffer
// of figure a; the table at the end lists all of them in the order above. The checkpoint is
// made (--make) and the page cache warmed in a child process, so the 16 GB host copy that
// save() makes does not count either.
//
//   --e2e MODEL: one bf16 load of DIR as a whole process (context creation included); prints
//   "ready <ms since start> <GB/s> load_ms=<ms> context_ms=<ms> bytes=<n>", GB/s over load_ms
//   (the in-process load, after the context exists). benchmarks/gpu/load_baselines.py times it
//   from spawn beside safetensors and Transformers. With --gpu-budget BYTES: under a device
//   map, GPU 0 holding whole blocks up to BYTES and the host the rest (issue 14), beside
//   from_pretrained(device_map="auto", max_memory={0: BYTES, "cpu": ...}).
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <vector>

#include <blueprint/codegen/layout.hpp>
#include <blueprint/codegen/plan.hpp>
#include <blueprint/codegen/program.hpp>
#include <blueprint/dsl/models.hpp>
#include <blueprint/runtime/checkpoint_files.hpp>
#include <blueprint/runtime/cuda.hpp>
#include <blueprint/runtime/device_map.hpp>
#include <blueprint/runtime/materialize.hpp>

#include "bench_models.hpp"

using namespace blueprint;

namespace {

using clock_type = std::chrono::steady_clock;
const clock_type::time_point process_start = clock_type::now();

constexpr std::uint64_t mib = 1ull << 20;
constexpr std::uint64_t gib = 1ull << 30;
constexpr std::uint64_t read_block_bytes = 32 * mib;
constexpr unsigned read_threads = 8;

double ms_since(clock_type::time_point t0) {
  return std::chrono::duration<double, std::milli>(clock_type::now() - t0).count();
}

double gb_per_s(std::uint64_t bytes, double ms) {
  return ms > 0 ? bytes / ms / 1e6 : 0.0;
}

using gpu_bench::layout_by_name;

// ---- host reads ---------------------------------------------------------------------------

/// One block of a plain read: `bytes` at `offset` of `file`, landing at `position` of the
/// concatenation of what is read.
struct file_block {
  const safetensors_file* file = nullptr;
  std::uint64_t offset = 0;
  std::uint64_t bytes = 0;
  std::uint64_t position = 0;
};

/// The checkpoint's files cut in blocks: their data regions (whole_files = false: the tensor
/// bytes a loader reads), or the whole files with their headers (to warm the page cache).
std::vector<file_block> blocks_of(const checkpoint_files& ckpt, bool whole_files) {
  std::vector<file_block> blocks;
  std::uint64_t position = 0;
  for (const safetensors_file& f : ckpt.files) {
    const std::uint64_t begin = whole_files ? 0 : f.header.data_start;
    const std::uint64_t end = whole_files ? f.file_size : f.header.data_start + f.header.data_bytes;
    for (std::uint64_t o = begin; o < end; o += read_block_bytes) {
      const std::uint64_t n = std::min(read_block_bytes, end - o);
      blocks.push_back({&f, o, n, position});
      position += n;
    }
  }
  return blocks;
}

std::uint64_t bytes_of(const std::vector<file_block>& blocks) {
  std::uint64_t sum = 0;
  for (const file_block& b : blocks) sum += b.bytes;
  return sum;
}

/// Reads every block once, one thread per buffer (each of >= read_block_bytes); the threads
/// take the next block from a shared counter. Rethrows the first error.
void read_blocks(const std::vector<file_block>& blocks, std::span<unsigned char* const> buffers) {
  std::atomic<std::size_t> next{0};
  std::atomic<bool> stop{false};
  std::mutex error_mutex;
  std::exception_ptr error;
  auto worker = [&](unsigned char* buffer) {
    try {
      for (std::size_t i = next++; i < blocks.size() && !stop; i = next++) {
        const file_block& b = blocks[i];
        detail::pread_all(b.file->fd.get(), buffer, b.bytes, b.offset, b.file->path);
      }
    } catch (...) {
      std::lock_guard lock(error_mutex);
      if (!error) error = std::current_exception();
      stop = true;
    }
  };
  std::vector<std::thread> pool;
  for (std::size_t t = 1; t < buffers.size(); ++t) pool.emplace_back(worker, buffers[t]);
  worker(buffers[0]);
  for (std::thread& th : pool) th.join();
  if (error) std::rethrow_exception(error);
}

// ---- the checkpoint and the page cache (in a child process) ------------------------------

bool has_checkpoint(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  return fs::exists(fs::path(dir) / single_file_name, ec) ||
         fs::exists(fs::path(dir) / index_file_name, ec);
}

void make_checkpoint(std::string_view name, const std::string& dir) {
  const dynamic_layout l = layout_by_name(name, dtype_policy::bf16());
  std::printf("making the checkpoint: %.*s in bf16, seed 1, on the GPU, saved to %s\n",
              static_cast<int>(name.size()), name.data(), dir.c_str());
  std::fflush(stdout);
  const auto t0 = clock_type::now();
  save_report r;
  {
    const device_model m = materialize(l, cuda{}, {.source = init{.seed = 1}});
    r = save(m, dir, {.max_shard_size = 5_GB});
  }
  std::printf("made %zu files, %.3f GB of tensors, in %.1f s (materialize, copy to host, write)\n",
              r.files.size(), r.total_size / 1e9, ms_since(t0) / 1e3);
}

void warm_page_cache(const std::string& dir) {
  const checkpoint_files ckpt = open_checkpoint(dir);
  const std::vector<file_block> blocks = blocks_of(ckpt, true);
  std::vector<std::vector<unsigned char>> storage(read_threads,
                                                  std::vector<unsigned char>(read_block_bytes));
  std::vector<unsigned char*> buffers;
  for (auto& s : storage) buffers.push_back(s.data());
  const auto t0 = clock_type::now();
  read_blocks(blocks, buffers);
  const double ms = ms_since(t0);
  std::printf(
      "page cache warmed: %zu files, %.3f GB read once in %.2f s (%.2f GB/s); every figure "
      "below is from the page cache\n",
      ckpt.files.size(), bytes_of(blocks) / 1e9, ms / 1e3, gb_per_s(bytes_of(blocks), ms));
}

/// Runs `body` in a forked child and returns its exit status. Called before this process
/// touches CUDA (a CUDA context does not survive fork), so the child may use the GPU; its host
/// memory does not count in this process's peak RSS.
template <class F>
int run_in_child(F&& body) {
  std::fflush(stdout);
  std::fflush(stderr);
  const pid_t pid = ::fork();
  if (pid < 0) throw std::system_error(errno, std::generic_category(), "fork");
  if (pid == 0) {
    int rc = 1;
    try {
      body();
      rc = 0;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "bench_gpu_load: %s\n", e.what());
    }
    std::fflush(stdout);
    std::fflush(stderr);
    ::_exit(rc);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) throw std::system_error(errno, std::generic_category(), "waitpid");
  return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

// ---- measurement ---------------------------------------------------------------------------

/// Peak resident set of this process so far, in bytes (Linux reports KiB).
std::uint64_t peak_rss_bytes() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return static_cast<std::uint64_t>(u.ru_maxrss) * 1024;
}

/// Resident set now (VmRSS of /proc/self/status), in bytes; 0 when unavailable.
std::uint64_t current_rss_bytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::strtoull(line.c_str() + 6, nullptr, 10) * 1024;
  return 0;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

/// Median milliseconds (host wall clock) of `reps` calls of `once`, after `warmup` calls.
template <class F>
double median_wall_ms(int warmup, int reps, F&& once) {
  for (int i = 0; i < warmup; ++i) once();
  std::vector<double> times;
  for (int i = 0; i < reps; ++i) {
    const auto t0 = clock_type::now();
    once();
    times.push_back(ms_since(t0));
  }
  return median(times);
}

/// Median milliseconds (CUDA events) of `reps` runs of `enqueue` on the default stream.
template <class F>
double median_event_ms(int warmup, int reps, F&& enqueue) {
  detail::cuda_event a, b;
  a.create();
  b.create();
  for (int i = 0; i < warmup; ++i) enqueue();
  BLUEPRINT_CUDA_CHECK(cudaDeviceSynchronize());
  std::vector<double> times;
  for (int i = 0; i < reps; ++i) {
    BLUEPRINT_CUDA_CHECK(cudaEventRecord(a.get()));
    enqueue();
    BLUEPRINT_CUDA_CHECK(cudaEventRecord(b.get()));
    BLUEPRINT_CUDA_CHECK(cudaEventSynchronize(b.get()));
    float ms = 0;
    BLUEPRINT_CUDA_CHECK(cudaEventElapsedTime(&ms, a.get(), b.get()));
    times.push_back(ms);
  }
  return median(times);
}

/// One timed load: its milliseconds and its report.
struct load_sample {
  double ms = 0;
  load_report report;
};

/// The sample with the median time of `reps` calls of `once` (each returns a load_sample,
/// timing itself so that freeing the model is not counted).
template <class F>
load_sample median_load(int reps, F&& once) {
  std::vector<load_sample> samples;
  for (int i = 0; i < reps; ++i) samples.push_back(once());
  std::sort(samples.begin(), samples.end(),
            [](const load_sample& a, const load_sample& b) { return a.ms < b.ms; });
  return samples[samples.size() / 2];
}

/// One materialize-from-checkpoint (`make` returns the device model), timed; the model is freed
/// after the clock stops.
template <class Materialize>
load_sample timed_materialize(Materialize&& make) {
  const auto t0 = clock_type::now();
  const device_model m = make();
  const double ms = ms_since(t0);
  if (!m.load_report()) throw std::runtime_error("materialize returned no load report");
  return {ms, *m.load_report()};
}

struct row {
  char figure;  // 'a'..'g', the order of the final table
  std::string what;
  double ms = 0;
  std::uint64_t bytes = 0;  // counted for GB/s
  unsigned threads = 0;
  std::uint64_t staging_bytes = 0;
  std::string note{};
  [[nodiscard]] double gbps() const { return gb_per_s(bytes, ms); }
};

void print_row(const row& r) {
  std::printf("%c. %-44s %8.2f GB/s %10.1f ms %8.3f GB", r.figure, r.what.c_str(), r.gbps(), r.ms,
              r.bytes / 1e9);
  if (r.threads != 0) std::printf("  %2u threads", r.threads);
  if (r.staging_bytes != 0) std::printf("  %6.1f MiB staging", r.staging_bytes / double(mib));
  if (!r.note.empty()) std::printf("  %s", r.note.c_str());
  std::printf("\n");
  std::fflush(stdout);
}

// ---- the figures ---------------------------------------------------------------------------

/// d, e, f, g: the Blueprint loads.
void blueprint_loads(const std::string& name, const std::string& dir, std::uint64_t ckpt_bytes,
                     int reps, std::vector<row>& rows) {
  const dynamic_layout bf16 = layout_by_name(name, dtype_policy::bf16());
  materialize_options from_checkpoint;
  from_checkpoint.source = checkpoint{.path = dir};
  materialize_options poisoned = from_checkpoint;
  poisoned.poison = true;

  // d. The whole model, bf16 -> bf16; the warm-up proves every byte written.
  const std::uint64_t rss_before = current_rss_bytes();
  {
    const load_sample first =
        timed_materialize([&] { return materialize(bf16, cuda{}, poisoned); });
    std::printf("first load, poison mode (every byte of the arena proven written): %.1f ms\n%s",
                first.ms, to_string(first.report).c_str());
  }
  const load_sample d = median_load(reps, [&] {
    return timed_materialize([&] { return materialize(bf16, cuda{}, from_checkpoint); });
  });
  char rss[160];
  std::snprintf(rss, sizeof rss, "peak RSS %.0f MiB (%.0f MiB before the first load)",
                peak_rss_bytes() / double(mib), rss_before / double(mib));
  rows.push_back(
      {'d', "blueprint load", d.ms, ckpt_bytes, d.report.threads, d.report.staging_bytes, rss});
  print_row(rows.back());

  // e. The cast path: the same checkpoint into f32 (twice the arena), when it fits.
  {
    const dynamic_layout f32 = layout_by_name(name, dtype_policy::f32());
    const std::uint64_t arena = program_of(f32).arena_bytes;
    std::size_t free_bytes = 0, total_bytes = 0;
    BLUEPRINT_CUDA_CHECK(cudaMemGetInfo(&free_bytes, &total_bytes));
    if (arena + 2 * gib > free_bytes) {
      std::printf("e. blueprint load, cast to f32: skipped (arena %.1f GB, %.1f GB free)\n",
                  arena / 1e9, free_bytes / 1e9);
    } else {
      (void)timed_materialize([&] { return materialize(f32, cuda{}, poisoned); });
      const load_sample e = median_load(reps, [&] {
        return timed_materialize([&] { return materialize(f32, cuda{}, from_checkpoint); });
      });
      rows.push_back({'e', "blueprint load, cast to f32", e.ms, ckpt_bytes, e.report.threads,
                      e.report.staging_bytes, "arena " + std::to_string(arena / 1000000) + " MB"});
      print_row(rows.back());
    }
  }

  // f. Rank 0 of tensor parallelism over 2: it reads only its own bytes.
  {
    const auto tp2 = plan(bf16, mesh{.tp = 2}, replicate);
    (void)timed_materialize([&] { return materialize(tp2, 0, cuda{}, poisoned); });
    const load_sample f = median_load(reps, [&] {
      return timed_materialize([&] { return materialize(tp2, 0, cuda{}, from_checkpoint); });
    });
    rows.push_back({'f', "blueprint load tp=2 rank 0", f.ms, f.report.bytes_read, f.report.threads,
                    f.report.staging_bytes, "(GB: this rank's reads)"});
    print_row(rows.back());
  }

  // g. Staging and threads, through load() into an allocated arena.
  {
    device_model m = materialize(bf16, cuda{}, {.source = no_init{}});
    (void)load(m, {.path = dir});  // warm-up
    for (const std::uint64_t staging : {64 * mib, 256 * mib, 1 * gib})
      for (const unsigned threads : {4u, 8u, 16u}) {
        checkpoint o{.path = dir, .staging_bytes = staging};
        o.threads = threads;
        const load_sample g = median_load(reps, [&] {
          const auto t0 = clock_type::now();
          load_report r = load(m, o);
          return load_sample{ms_since(t0), std::move(r)};
        });
        rows.push_back({'g',
                        "blueprint load(), staging " + std::to_string(staging / mib) + " MiB, " +
                            std::to_string(threads) + " threads",
                        g.ms, ckpt_bytes, g.report.threads, g.report.staging_bytes});
        print_row(rows.back());
      }
  }
}

/// a, b, c: the limits and the naive loader.
void reference_reads(const checkpoint_files& ckpt, int reps, std::vector<row>& rows) {
  // a. Host-to-device copy from pinned memory.
  {
    const std::uint64_t bytes = 1 * gib;
    detail::pinned_buffer host(bytes);
    detail::device_buffer device(0, bytes);
    std::memset(host.get(), 1, bytes);
    const double ms = median_event_ms(1, reps, [&] {
      BLUEPRINT_CUDA_CHECK(
          cudaMemcpyAsync(device.get(), host.get(), bytes, cudaMemcpyHostToDevice, nullptr));
    });
    rows.push_back({'a', "h2d limit (pinned cudaMemcpyAsync, 1 GiB)", ms, bytes});
    print_row(rows.back());
  }

  const std::vector<file_block> blocks = blocks_of(ckpt, false);
  const std::uint64_t bytes = bytes_of(blocks);

  // b. The host read limit: pread into a ring of pinned slots, one per thread.
  {
    detail::pinned_buffer ring(read_threads * read_block_bytes);
    std::vector<unsigned char*> slots;
    for (unsigned t = 0; t < read_threads; ++t) slots.push_back(ring.get() + t * read_block_bytes);
    const double ms = median_wall_ms(1, reps, [&] { read_blocks(blocks, slots); });
    rows.push_back(
        {'b', "pread into pinned (32 MiB blocks)", ms, bytes, read_threads, ring.size()});
    print_row(rows.back());
  }

  // c. The naive loader: read a block, copy it, wait, next block.
  {
    detail::pinned_buffer staging(read_block_bytes);
    detail::device_buffer device(0, bytes);
    const double ms = median_wall_ms(1, reps, [&] {
      for (const file_block& b : blocks) {
        detail::pread_all(b.file->fd.get(), staging.get(), b.bytes, b.offset, b.file->path);
        BLUEPRINT_CUDA_CHECK(
            cudaMemcpy(device.get() + b.position, staging.get(), b.bytes, cudaMemcpyHostToDevice));
      }
    });
    rows.push_back({'c', "pread + h2d (naive, one thread)", ms, bytes, 1, staging.size()});
    print_row(rows.back());
  }
}

int bench(const std::string& name, const std::string& dir, bool make, int reps, std::FILE* csv) {
  // Before any CUDA call here: the child makes the checkpoint and warms the page cache.
  const int prepared = run_in_child([&] {
    if (!has_checkpoint(dir)) {
      if (!make)
        throw std::runtime_error("no checkpoint in '" + dir +
                                 "' (model.safetensors or model.safetensors.index.json); "
                                 "--make writes one");
      make_checkpoint(name, dir);
    }
    warm_page_cache(dir);
  });
  if (prepared != 0) return prepared;

  const checkpoint_files ckpt = open_checkpoint(dir);
  const std::uint64_t ckpt_bytes = ckpt.data_bytes();
  cudaDeviceProp prop{};
  BLUEPRINT_CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
  std::printf(
      "device: %s, %.1f GiB; %s: %zu files, %.3f GB of tensors; %u hardware threads; median of "
      "%d after a warm-up, from the page cache\n",
      prop.name, prop.totalGlobalMem / double(gib), name.c_str(), ckpt.files.size(),
      ckpt_bytes / 1e9, std::thread::hardware_concurrency(), reps);
  std::fflush(stdout);

  std::vector<row> rows;
  blueprint_loads(name, dir, ckpt_bytes, reps, rows);
  reference_reads(ckpt, reps, rows);

  std::stable_sort(rows.begin(), rows.end(),
                   [](const row& a, const row& b) { return a.figure < b.figure; });
  std::printf("\n%s checkpoint load, bf16, from the page cache (median of %d):\n", name.c_str(),
              reps);
  for (const row& r : rows) print_row(r);
  if (csv) {
    std::fprintf(csv, "what,model,ms,gb_per_s,bytes,threads,staging_bytes\n");
    for (const row& r : rows)
      std::fprintf(csv, "\"%s\",%s,%.3f,%.3f,%llu,%u,%llu\n", r.what.c_str(), name.c_str(), r.ms,
                   r.gbps(), static_cast<unsigned long long>(r.bytes), r.threads,
                   static_cast<unsigned long long>(r.staging_bytes));
  }
  return 0;
}

int e2e(const std::string& name, const std::string& dir, std::uint64_t gpu_budget) {
  const dynamic_layout l = layout_by_name(name, dtype_policy::bf16());
  BLUEPRINT_CUDA_CHECK(cudaFree(nullptr));  // the context, so that load_ms is the load alone
  const double context_ms = ms_since(process_start);
  materialize_options o;
  o.source = checkpoint{.path = dir};
  const auto t0 = clock_type::now();
  std::uint64_t bytes = 0;
  if (gpu_budget == 0) {
    const device_model m = materialize(l, cuda{}, o);
    bytes = m.load_report() ? m.load_report()->bytes_read : 0;
  } else {
    // GPU 0 up to the budget, the rest on the host (device_map="auto" with max_memory).
    const device_map_plan map = device_map(
        l, {.max_memory = {{device_ref::gpu(0), gpu_budget}}, .in_place = in_place_policy::never});
    const mapped_model m = materialize(map, cuda{}, o);
    bytes = m.load_report() ? m.load_report()->bytes_read : 0;
  }
  const double load_ms = ms_since(t0);
  std::printf("ready %.1f %.3f load_ms=%.1f context_ms=%.1f bytes=%llu\n", ms_since(process_start),
              gb_per_s(bytes, load_ms), load_ms, context_ms,
              static_cast<unsigned long long>(bytes));
  std::fflush(stdout);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    std::string model, dir, e2e_model, csv_path;
    std::uint64_t gpu_budget = 0;
    bool make = false, usage = false;
    int reps = 5;
    for (int i = 1; i < argc; ++i) {
      const std::string_view a = argv[i];
      if (a == "--model" && i + 1 < argc)
        model = argv[++i];
      else if (a == "--dir" && i + 1 < argc)
        dir = argv[++i];
      else if (a == "--e2e" && i + 1 < argc)
        e2e_model = argv[++i];
      else if (a == "--reps" && i + 1 < argc)
        reps = std::max(1, std::atoi(argv[++i]));
      else if (a == "--csv" && i + 1 < argc)
        csv_path = argv[++i];
      else if (a == "--make")
        make = true;
      else if (a == "--gpu-budget" && i + 1 < argc)
        gpu_budget = std::strtoull(argv[++i], nullptr, 10);
      else
        usage = true;
    }
    if (usage || dir.empty() || model.empty() == e2e_model.empty()) {
      std::fprintf(stderr,
                   "usage: %s --model MODEL --dir DIR [--make] [--reps N] [--csv FILE]\n"
                   "       %s --e2e MODEL --dir DIR [--gpu-budget BYTES]\n",
                   argv[0], argv[0]);
      return 2;
    }
    if (!e2e_model.empty()) return e2e(e2e_model, dir, gpu_budget);
    std::FILE* csv = nullptr;
    if (!csv_path.empty() && (csv = std::fopen(csv_path.c_str(), "w")) == nullptr)
      throw std::system_error(errno, std::generic_category(), "cannot open " + csv_path);
    const int rc = bench(model, dir, make, reps, csv);
    if (csv) std::fclose(csv);
    return rc;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_gpu_load: %s\n", e.what());
    return 1;
  }
}
