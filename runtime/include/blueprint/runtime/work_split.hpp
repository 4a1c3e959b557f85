// Cutting a program's element work into (segment, k-range) chunks and running them on threads.
//
// The values do not depend on the cut (fill.hpp), so the cut is chosen only for speed: chunks
// of roughly equal element counts, several per thread, handed out dynamically (a normal init
// costs ~50x a constant one per element, so a static split would leave threads idle). Each
// local element belongs to exactly one chunk, so it is computed and stored exactly once.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <span>
#include <thread>
#include <vector>

#include <blueprint/kernels/segment.hpp>

#include "worker_pool.hpp"

namespace blueprint {

/// A piece of the work: local elements [k_begin, k_end) of segment `segment`.
struct work_chunk {
  std::uint32_t segment = 0;
  std::uint64_t k_begin = 0;
  std::uint64_t k_end = 0;
};

/// Chunks covering every element of every segment exactly once, in program order.
/// @post chunk sizes are <= max(min_chunk, total / (threads * chunks_per_thread)) rounded up to
///       a multiple of 64 elements; chunk boundaries inside a segment are multiples of 64
[[nodiscard]] inline std::vector<work_chunk> split_work(std::span<const segment> segments,
                                                        unsigned threads,
                                                        std::uint64_t min_chunk = 1u << 16,
                                                        std::uint64_t chunks_per_thread = 8) {
  std::uint64_t total = 0;
  for (const segment& s : segments) total += s.count;
  const std::uint64_t wanted = std::max<std::uint64_t>(1, threads) * chunks_per_thread;
  std::uint64_t chunk = std::max(min_chunk, (total + wanted - 1) / wanted);
  chunk = (chunk + 63) / 64 * 64;
  std::vector<work_chunk> out;
  out.reserve(segments.size() + total / chunk + 1);
  for (std::uint32_t i = 0; i < segments.size(); ++i)
    for (std::uint64_t k = 0; k < segments[i].count; k += chunk)
      out.push_back({i, k, std::min(segments[i].count, k + chunk)});
  return out;
}

/// Number of worker threads for a request (0: one per hardware thread).
[[nodiscard]] inline unsigned resolve_threads(unsigned requested) {
  if (requested != 0) return requested;
  const unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : hw;
}

/// Calls body(chunk, worker) for every chunk, on `threads` workers (worker_pool.hpp; the caller
/// is worker 0). Chunks are handed out in order from a shared counter; the first exception of
/// a body stops the rest and is rethrown.
template <class Body>
void run_chunks(std::span<const work_chunk> chunks, unsigned threads, Body&& body) {
  const unsigned n = std::max(
      1u,
      std::min<unsigned>(threads, static_cast<unsigned>(std::max<std::size_t>(1, chunks.size()))));
  std::atomic<std::size_t> next{0};
  run_workers(n, [&](unsigned w, const worker_control& control) {
    for (std::size_t i = next.fetch_add(1, std::memory_order_relaxed);
         i < chunks.size() && !control.stopped(); i = next.fetch_add(1, std::memory_order_relaxed))
      body(chunks[i], w);
  });
}

}  // namespace blueprint
