// The CPU executor of a load program: a matched checkpoint into a host arena.
//
// `load_arena` runs the steps of the rank's load program (load_program.hpp) on a few worker
// threads (worker_pool.hpp): a staged step is one pread into the worker's share of a fixed
// staging budget and the casts out of it; a direct step (same dtype, large run) preads straight
// into the arena; a fill step runs the tensor's deterministic init. While one worker casts, the
// others read, so reads overlap casts, and host memory beyond the arena is the staging budget
// whatever the model size. Users reach it through `materialize(..., {.source = checkpoint{...}})`
// and `load(model, checkpoint{...})` (materialize.hpp); it takes the key match those made, so
// keys are matched once per load.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <blueprint/codegen/layout.hpp>
#include <blueprint/codegen/program.hpp>
#include <blueprint/kernels/fill.hpp>

#include "checkpoint_files.hpp"
#include "fault_points.hpp"
#include "key_match.hpp"
#include "load_program.hpp"
#include "load_report.hpp"
#include "source.hpp"
#include "worker_pool.hpp"

namespace blueprint {

/// Loads `ckpt` into `arena` (host memory of `prog.arena_bytes` bytes) following the rank's
/// program `prog` of `layout`, with the key match `match` (match_checkpoint of the same layout,
/// checkpoint and policies). Init-sourced tensors get seed `source.seed` (or 0).
/// @pre prog was made for layout; match was made for layout and ckpt
/// @post every byte of the arena's segments is written: file bytes cast to the segment dtype,
///       deterministic init for init-sourced tensors, zeros for padding
/// @throws std::invalid_argument when the arena is smaller than the program; checkpoint_error
///         (naming file, tensor and offset) for a read that fails; the progress cancellation
template <Layout L>
load_report load_arena(const L& layout, const program& prog, std::span<std::byte> arena,
                       const checkpoint_files& ckpt, load_match match, const checkpoint& source) {
  const auto t0 = std::chrono::steady_clock::now();
  if (arena.size() < prog.arena_bytes)
    throw std::invalid_argument("load: the arena holds " + std::to_string(arena.size()) +
                                " bytes, the program needs " + std::to_string(prog.arena_bytes));
  detail::prepared_load work = detail::prepare_load(layout, prog, ckpt, match);
  const std::uint64_t seed = source.seed.value_or(0);
  const std::uint64_t total_bytes = work.total_bytes, span_bytes = work.span_bytes;
  std::vector<detail::load_program::job> jobs = std::move(work.fills);
  jobs.insert(jobs.end(), work.reads.begin(), work.reads.end());

  const unsigned threads = source.threads != 0
                               ? source.threads
                               : std::min(4u, std::max(1u, std::thread::hardware_concurrency()));
  // Staging per worker: its share of the budget, but never more than the reads could use.
  const std::uint64_t per_worker =
      std::max<std::uint64_t>(64, std::min(source.staging_bytes / threads, span_bytes + 8)) / 8 * 8;
  detail::load_program steps(prog, std::move(jobs), per_worker, source.direct_reads);
  std::mutex next_mutex;
  std::atomic<std::uint64_t> done_bytes{0}, read_bytes{0};
  std::byte* const base = arena.data();

  run_workers(threads, [&](unsigned, worker_control& control) {
    std::unique_ptr<unsigned char[]> staging;
    detail::load_step step;
    while (!control.stopped()) {
      {
        std::lock_guard lock(next_mutex);
        if (!steps.next(step)) break;
      }
      std::uint64_t written = 0;
      if (step.what == detail::load_step::kind::fill) {
        const segment seg = detail::fill_segment_of(layout, step.seg);
        fill_segment_range(seg, seed, step.k_begin, step.k_end, base);
        written = (step.k_end - step.k_begin) * dtype_size(seg.type);
      } else {
        const safetensors_file& f = ckpt.files[step.file];
        detail::fault_point("read");  // tests only (fault_points.hpp): one getenv a step
        if (step.what == detail::load_step::kind::direct) {
          detail::pread_all(f.fd.get(), base + step.arena_offset, step.bytes, step.file_offset,
                            f.path);
          written = step.bytes;
        } else {
          // Allocated on first use: pages are touched only as steps fill them.
          if (!staging) staging.reset(new unsigned char[per_worker]);
          detail::pread_all(f.fd.get(), staging.get(), step.bytes, step.file_offset, f.path);
          detail::fault_point("cast");
          for (const detail::byte_run& p : step.pieces) {
            detail::convert_elements(staging.get() + p.file_offset, p.src, base + p.arena_offset,
                                     p.dst, p.elements);
            written += p.elements * dtype_size(p.dst);
          }
        }
        read_bytes += step.bytes;
      }
      control.report_progress(source.progress, done_bytes += written, total_bytes);
    }
  });
  return detail::finished_report(std::move(match.report), read_bytes, done_bytes, threads,
                                 per_worker * threads, t0);
}

}  // namespace blueprint
