// The GPU loader's schedule, computed on the host: the steps of a load program (load_program.hpp)
// packed into staged transfers, each one pinned-slot fill of file reads, one host-to-device
// copy and one scatter-kernel launch (kernels/cuda/scatter_kernel.cuh) that casts the slot into
// the arena. Many short runs (the rows of a tensor-parallel column shard) share a transfer.
//
// Host code only, so that tests/unit/test_load_transfers.cpp proves on the CPU that the
// schedule writes what the CPU loader writes; cuda_load.hpp runs it on a device.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include <blueprint/kernels/scatter.hpp>

#include "load_program.hpp"

namespace blueprint {

namespace detail {

/// One file read of a staged transfer: `bytes` bytes at `file_offset` into the staging buffer
/// at `staging_offset`.
struct staged_read {
  std::uint32_t file = 0;
  std::uint64_t file_offset = 0;
  std::uint64_t bytes = 0;
  std::uint64_t staging_offset = 0;
};

/// One unit of the GPU loader: reads that fill a staging slot, and the scatter pieces that cast
/// the slot into the arena (one host-to-device copy and one kernel launch).
struct staged_transfer {
  std::vector<staged_read> reads;
  std::vector<scatter_piece> pieces;  // first_tile ascending from 0
  std::uint64_t data_bytes = 0;       // staging bytes the reads fill (16-byte aligned)
  std::uint64_t tiles = 0;
  std::uint64_t arena_bytes = 0;  // bytes the pieces write
};

/// Packs the steps of a load program (reads only, no direct reads) into staged transfers of at
/// most `data_capacity` staging bytes and `max_pieces` pieces, in file order. Each step is one
/// pread; many short steps (the rows of a tensor-parallel column shard) share a transfer.
class transfer_packer {
 public:
  /// @pre reads holds no fill jobs; data_capacity >= 16; max_pieces >= 1
  transfer_packer(const program& prog, std::vector<load_program::job> reads,
                  std::uint64_t data_capacity, std::size_t max_pieces)
      : steps_(prog, std::move(reads), data_capacity, /*direct=*/false, max_pieces),
        capacity_(data_capacity),
        max_pieces_(max_pieces) {}

  /// The next transfer, or false when done.
  bool next(staged_transfer& t) {
    t.reads.clear();
    t.pieces.clear();
    t.data_bytes = t.tiles = t.arena_bytes = 0;
    for (;;) {
      if (!pending_) {
        if (!steps_.next(step_)) break;
        pending_ = true;
      }
      const std::uint64_t at = t.data_bytes;
      if (!t.reads.empty() &&
          (at + step_.bytes > capacity_ || t.pieces.size() + step_.pieces.size() > max_pieces_))
        break;
      t.reads.push_back({step_.file, step_.file_offset, step_.bytes, at});
      for (const byte_run& p : step_.pieces) {
        scatter_piece q;
        q.source_offset = at + p.file_offset;
        q.arena_offset = p.arena_offset;
        q.elements = p.elements;
        q.first_tile = t.tiles;
        q.source = source_format_of(p.src);
        q.target = p.dst;
        t.tiles += q.tiles();
        t.arena_bytes += p.elements * dtype_size(p.dst);
        t.pieces.push_back(q);
      }
      t.data_bytes = (at + step_.bytes + 15) / 16 * 16;
      pending_ = false;
    }
    return !t.reads.empty();
  }

 private:
  load_program steps_;
  std::uint64_t capacity_;
  std::size_t max_pieces_;
  load_step step_;
  bool pending_ = false;
};

}  // namespace detail
}  // namespace blueprint
