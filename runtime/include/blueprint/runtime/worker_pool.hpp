// The one worker pool under every parallel loop of the runtime: the init and fingerprint loops
// (work_split.hpp), the CPU checkpoint loader (load.hpp) and the GPU loader's threads
// (cuda_load.hpp).
//
// The rules, written once: the caller is worker 0 and the others are fresh threads; the first
// exception any worker throws wins, asks the others to stop (they poll `stopped()` between
// pieces of work) and is rethrown by `run_workers` after every worker has ended; a thread that
// cannot be started stops the started ones and is reported the same way; a progress callback is
// called one call at a time and cancels the work by returning false.
#pragma once

#include <atomic>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace blueprint {

/// What the workers of one run share: the stop request and the first error.
class worker_control {
 public:
  /// True once a worker failed (or the work was cancelled): stop at the next piece of work.
  [[nodiscard]] bool stopped() const { return stop_.load(std::memory_order_relaxed); }

  /// Calls `progress(done / total)` (1 when total is 0), one caller at a time.
  /// @throws std::runtime_error "cancelled by the progress callback" when it returns false
  void report_progress(const std::function<bool(float)>& progress, std::uint64_t done,
                       std::uint64_t total) {
    if (!progress) return;
    std::lock_guard lock(mutex_);
    const float fraction =
        total != 0 ? static_cast<float>(static_cast<double>(done) / static_cast<double>(total))
                   : 1.0f;
    if (!progress(fraction)) throw std::runtime_error("load cancelled by the progress callback");
  }

 private:
  template <class Body>
  friend void run_workers(unsigned threads, Body&& body);

  void fail(std::exception_ptr e) {
    std::lock_guard lock(mutex_);
    if (!error_) error_ = std::move(e);
    stop_ = true;
  }

  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::exception_ptr error_;
};

/// The most workers one run may ask for: beyond it a request is a mistake (a wrapped or
/// mistyped number), not a machine; the command caps smaller requests at the hardware threads.
inline constexpr unsigned max_worker_threads = 4096;

/// Runs body(worker, control) on `threads` workers (at least one; the caller is worker 0) and
/// returns when all have ended. @throws std::invalid_argument for more than max_worker_threads,
/// the first exception a worker threw, or the failure to start a thread
template <class Body>
void run_workers(unsigned threads, Body&& body) {
  if (threads > max_worker_threads)
    throw std::invalid_argument("worker threads " + std::to_string(threads) + ": at most " +
                                std::to_string(max_worker_threads));
  worker_control control;
  auto run_one = [&](unsigned worker) {
    try {
      body(worker, control);
    } catch (...) {
      control.fail(std::current_exception());
    }
  };
  std::vector<std::thread> pool;
  if (threads > 1) {
    pool.reserve(threads - 1);
    try {
      for (unsigned w = 1; w < threads; ++w) pool.emplace_back(run_one, w);
    } catch (...) {
      control.fail(std::current_exception());
    }
  }
  if (!control.stopped()) run_one(0);
  for (std::thread& t : pool) t.join();
  if (control.error_) std::rethrow_exception(control.error_);
}

}  // namespace blueprint
