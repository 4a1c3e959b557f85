// Loading a checkpoint straight into a device arena, through a bounded pinned staging buffer.
//
// The CPU loader's program (load.hpp: key match, the rank's byte runs in file order) runs with
// the GPU as its target. Segments whose bytes come from the init (missing tensors under
// `init_missing`, non-persistent buffers, padding) are written by one materialize-kernel launch
// on the caller's stream. The reads are packed into staged transfers (detail::transfer_packer);
// each loader thread owns two pinned slots and one stream, and while one slot's host-to-device
// copy and scatter kernel run, the thread preads the next transfer into the other slot: reads,
// copies and casts overlap, and host memory is the staging budget whatever the model size.
// The scatter kernel (kernels/cuda/scatter_kernel.cuh) casts with the element function the CPU
// loader uses, so the device bytes equal the CPU loader's (tests/unit/test_load_transfers.cpp
// proves the schedule on the host; tests/gpu/test_gpu_load.cu the device bytes).
//
// For translation units compiled by nvcc only: everything is inside `#if defined(__CUDACC__)`.
#pragma once

#if defined(__CUDACC__)

#include <cuda_runtime.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <blueprint/codegen/program.hpp>
#include <blueprint/kernels/cuda/materialize_kernel.cuh>
#include <blueprint/kernels/cuda/scatter_kernel.cuh>
#include <blueprint/kernels/scatter.hpp>

#include "checkpoint_files.hpp"
#include "cuda_support.hpp"
#include "gpu_transfers.hpp"
#include "key_match.hpp"
#include "load_program.hpp"
#include "source.hpp"
#include "worker_pool.hpp"

namespace blueprint {

/// Tuning of the device loader beyond the checkpoint source (whose staging_bytes is the pinned
/// budget and threads the loader threads; 0: min(8, hardware threads)).
struct device_load_tuning {
  std::size_t max_pieces = 16384;  // scatter records per transfer (640 KiB of table per slot)
  unsigned slots_per_thread = 2;   // 2: double buffering
};

namespace detail {

/// One staging slot: pinned host bytes, their device twin, and the event that says both are
/// free again (the slot's copy and scatter have finished).
struct load_slot {
  unsigned char* host = nullptr;
  unsigned char* device = nullptr;
  cuda_event free;
  bool in_flight = false;
};

}  // namespace detail

/// Loads `ckpt` into the device arena `arena` (prog.arena_bytes bytes on `device`) following
/// the rank's program `prog` of `layout`, with the key match `match` made for them. The work is
/// ordered after what `stream` holds at the call (e.g. a memset of the arena); the function returns
/// when the arena is complete. Validation (headers, index, keys) finishes before any byte of the
/// arena is written.
/// @pre prog was made for layout; arena is a device allocation of >= prog.arena_bytes bytes
/// @post every byte of the arena's segments is written, equal to load_arena's on the host
/// @throws checkpoint_error, checkpoint_key_error (before writing), cuda_error (file, line)
template <Layout L>
load_report load_device_arena(const L& layout, const program& prog, std::byte* arena, int device,
                              cudaStream_t stream, const checkpoint_files& ckpt, load_match match,
                              const checkpoint& options, const device_load_tuning& tuning = {}) {
  const auto t0 = std::chrono::steady_clock::now();
  if (!cuda_kernels::vector_aligned(arena))
    throw std::invalid_argument(
        "load_device_arena: the arena pointer is not 16-byte aligned (the load's kernels write "
        "16-byte vectors; cudaMalloc's pointers are)");
  detail::prepared_load work = detail::prepare_load(layout, prog, ckpt, match);
  detail::cuda_device_scope scope(device);
  detail::check_float_mode(device);
  const std::uint64_t seed = options.seed.value_or(0);
  // What `stream` holds so far (e.g. a memset of the arena): the reads' streams wait for it.
  detail::cuda_event ready;
  ready.create();
  BLUEPRINT_CUDA_CHECK(cudaEventRecord(ready.get(), stream));

  // Init-sourced segments: one materialize launch over them alone (disjoint from the reads).
  detail::device_table fill_table;
  detail::device_buffer fill_storage;
  std::uint64_t fill_bytes = 0;
  if (!work.fills.empty()) {
    program fills;
    fills.arena_bytes = prog.arena_bytes;
    for (const auto& j : work.fills) {
      fills.segments.push_back(detail::fill_segment_of(layout, prog.segments[j.segment_index]));
      fill_bytes += fills.segments.back().bytes();
    }
    std::sort(fills.segments.begin(), fills.segments.end(),
              [](const segment& a, const segment& b) { return a.arena_offset < b.arena_offset; });
    fill_table.plan(fills, 0);
    fill_storage = detail::device_buffer(device, fill_table.bytes);
    fill_table.upload(fill_storage.get(), stream);
    BLUEPRINT_CUDA_CHECK(
        cuda_kernels::launch_materialize(fill_table.tables, arena, seed, device, stream));
  }

  // The reads: slots of pinned and device staging, two per thread.
  const unsigned threads = options.threads != 0
                               ? options.threads
                               : std::min(8u, std::max(1u, std::thread::hardware_concurrency()));
  const unsigned slots_per_thread = std::max(1u, tuning.slots_per_thread);
  const std::size_t max_pieces = std::max<std::size_t>(1, tuning.max_pieces);
  const std::uint64_t slot_count = std::uint64_t{threads} * slots_per_thread;
  const std::uint64_t data_capacity =
      std::max<std::uint64_t>(4096,
                              std::min(options.staging_bytes / slot_count, work.span_bytes + 16)) /
      16 * 16;
  const std::uint64_t table_offset = data_capacity + 16;  // data_bytes <= capacity + 16
  const std::uint64_t slot_bytes = table_offset + max_pieces * sizeof(scatter_piece);
  std::atomic<std::uint64_t> done_bytes{fill_bytes}, read_bytes{0};
  std::mutex next_mutex;
  const std::uint64_t total_bytes = work.total_bytes;
  if (!work.reads.empty()) {
    // Borrowed from the pool: kept between loads (release_pinned_staging() frees it).
    detail::pinned_staging_lease host(slot_bytes * slot_count);
    detail::device_buffer staging(device, slot_bytes * slot_count);
    detail::transfer_packer packer(prog, std::move(work.reads), data_capacity, max_pieces);

    try {
      run_workers(threads, [&](unsigned index, worker_control& control) {
        // Every thread's CUDA calls need the device current (a new thread starts on device 0,
        // which the scope does not switch back to: no context is made there).
        detail::cuda_device_scope thread_scope(device);
        std::optional<detail::cuda_stream> own;
        try {
          // Stream and events inside the try: a failure to create them is this worker's error
          // (the pool reports the first), never an exception past a live stream's work.
          own.emplace();
          std::vector<detail::load_slot> slots(slots_per_thread);
          const std::uint64_t first = std::uint64_t{index} * slots_per_thread;
          for (unsigned s = 0; s < slots_per_thread; ++s) {
            slots[s].host = host.get() + (first + s) * slot_bytes;
            slots[s].device =
                reinterpret_cast<unsigned char*>(staging.get()) + (first + s) * slot_bytes;
            slots[s].free.create();
          }
          BLUEPRINT_CUDA_CHECK(cudaStreamWaitEvent(own->get(), ready.get(), 0));
          detail::staged_transfer t;
          unsigned next_slot = 0;
          while (!control.stopped()) {
            {
              std::lock_guard lock(next_mutex);
              if (!packer.next(t)) break;
            }
            detail::load_slot& slot = slots[next_slot];
            next_slot = (next_slot + 1) % slots_per_thread;
            // The slot's previous copy and scatter must be done before its bytes are reused;
            // meanwhile the other slot's work runs on the device.
            if (slot.in_flight) BLUEPRINT_CUDA_CHECK(cudaEventSynchronize(slot.free.get()));
            for (const detail::staged_read& r : t.reads) {
              const safetensors_file& f = ckpt.files[r.file];
              detail::pread_all(f.fd.get(), slot.host + r.staging_offset, r.bytes, r.file_offset,
                                f.path);
              read_bytes += r.bytes;
            }
            const std::size_t table_bytes = t.pieces.size() * sizeof(scatter_piece);
            std::memcpy(slot.host + table_offset, t.pieces.data(), table_bytes);
            // Two copies (the data, then the piece table), then the scatter, all on this
            // thread's stream.
            BLUEPRINT_CUDA_CHECK(cudaMemcpyAsync(slot.device, slot.host, t.data_bytes,
                                                 cudaMemcpyHostToDevice, own->get()));
            BLUEPRINT_CUDA_CHECK(cudaMemcpyAsync(slot.device + table_offset,
                                                 slot.host + table_offset, table_bytes,
                                                 cudaMemcpyHostToDevice, own->get()));
            BLUEPRINT_CUDA_CHECK(cuda_kernels::launch_scatter(
                reinterpret_cast<const scatter_piece*>(slot.device + table_offset),
                static_cast<std::uint32_t>(t.pieces.size()), t.tiles, slot.device, arena, device,
                own->get()));
            BLUEPRINT_CUDA_CHECK(cudaEventRecord(slot.free.get(), own->get()));
            slot.in_flight = true;
            control.report_progress(options.progress, done_bytes += t.arena_bytes, total_bytes);
          }
          // Kernel faults surface here, with this file and line.
          BLUEPRINT_CUDA_CHECK(cudaStreamSynchronize(own->get()));
        } catch (...) {
          // The slots must be idle before the staging they point into is freed.
          if (own) cudaStreamSynchronize(own->get());
          throw;
        }
      });
    } catch (...) {
      // The fill kernel reads fill_storage: it must be done before the error unwinds it.
      cudaStreamSynchronize(stream);
      throw;
    }
  }
  // The fills (and anything else on `stream`) finish too before the arena is called ready.
  BLUEPRINT_CUDA_CHECK(cudaStreamSynchronize(stream));
  return detail::finished_report(std::move(match.report), read_bytes, done_bytes, threads,
                                 slot_bytes * slot_count, t0);
}

}  // namespace blueprint

#endif  // __CUDACC__
