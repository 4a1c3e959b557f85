// The few collective operations a sharded materialization needs, behind one small interface:
// rank and size, a barrier, a wrapping 64-bit sum (fingerprints, byte counts), "did every rank
// succeed" (saves), gathering each rank's bytes on one root (reassembling a model in tests),
// and a broadcast. The one communicator interface of the library: materialize, fingerprint and
// save all take it.
//
// Failure semantics (docs/CHECKPOINTS.md): ranks that can diverge — one rank's read fails while
// the others succeed — meet at agreement steps (`agreed_step`): every rank arrives, failed or
// not, and every rank leaves with the same outcome, a `job_error` naming the lowest failing
// rank and its message ("rank 3 of 8: ..."). An error between agreement steps takes the abort
// path (`abort_job`: MPI_Abort, ncclCommAbort), which ends the whole job at once. Never a
// collective from a destructor while an exception unwinds: that is how a job hangs.
//
// Implementations: `single_process_communicator` (here), `mpi_communicator` (host ranks,
// mpi_communicator.hpp) and `nccl_communicator` (GPU ranks, bootstrapped by MPI or by
// torchrun-style environment variables, nccl_communicator.hpp). Only those two headers
// include mpi.h / nccl.h, so everything else builds without either.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <limits>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace blueprint {

/// An error every rank of the job learned at one agreement step: the same text on each rank,
/// "rank R of N: <R's message>" (R the lowest failing rank), plus how many ranks failed.
class job_error : public std::runtime_error {
 public:
  job_error(const std::string& text, int failed_rank, int failed_ranks)
      : std::runtime_error(text), failed_rank_(failed_rank), failed_ranks_(failed_ranks) {}
  [[nodiscard]] int failed_rank() const { return failed_rank_; }
  [[nodiscard]] int failed_ranks() const { return failed_ranks_; }

 private:
  int failed_rank_ = 0, failed_ranks_ = 1;
};

class communicator {
 public:
  virtual ~communicator() = default;

  [[nodiscard]] virtual int rank() const = 0;
  [[nodiscard]] virtual int size() const = 0;
  [[nodiscard]] virtual std::string_view backend() const = 0;

  virtual void barrier() = 0;
  /// Sum over ranks modulo 2^64 (fingerprints are sums mod 2^64). Every rank gets the result.
  [[nodiscard]] virtual std::uint64_t allreduce_sum_u64(std::uint64_t value) = 0;
  /// Minimum over ranks. Every rank gets the result.
  [[nodiscard]] virtual std::uint64_t allreduce_min_u64(std::uint64_t value) = 0;
  /// Each rank's bytes (sizes may differ), in rank order, on `root`; empty on the others.
  [[nodiscard]] virtual std::vector<std::vector<std::byte>> gather_bytes(
      std::span<const std::byte> mine, int root) = 0;
  /// `data` of `root` copied to every rank's `data`. @pre the same size on every rank
  virtual void broadcast(std::span<std::byte> data, int root) = 0;
  /// True on every rank when `ok` is true on every rank: the "did everyone succeed" step at the
  /// points where ranks can diverge (a save agrees on it before its renames). Also a barrier.
  [[nodiscard]] virtual bool all_true(bool ok) { return allreduce_sum_u64(ok ? 0u : 1u) == 0; }
  /// The abort path: prints "rank R of N: message" on stderr and ends the whole job now, from
  /// this rank alone (the others may be inside a collective and are not waited for).
  [[noreturn]] virtual void abort_job(std::string_view message) noexcept {
    print_rank_error(message);
    std::_Exit(1);
  }

 protected:
  void print_rank_error(std::string_view message) const noexcept {
    std::fprintf(stderr, "rank %d of %d: %.*s\n", rank(), size(), static_cast<int>(message.size()),
                 message.data());
    std::fflush(stderr);
  }
};

/// The agreement step: every rank passes its own outcome (nullopt: it succeeded). Returns when
/// every rank succeeded; otherwise throws, on every rank, the job_error of the lowest failing
/// rank: "rank R of N: <its message>" (and "; K of N ranks failed" when several did).
inline void agree_on_success(communicator& comm, const std::optional<std::string>& my_error) {
  constexpr std::uint64_t none = std::numeric_limits<std::uint64_t>::max();
  const auto me = static_cast<std::uint64_t>(comm.rank());
  const std::uint64_t first = comm.allreduce_min_u64(my_error ? me : none);
  if (first == none) return;
  const std::uint64_t failed = comm.allreduce_sum_u64(my_error ? 1 : 0);
  std::uint64_t length = me == first ? my_error->size() : 0;
  comm.broadcast(std::as_writable_bytes(std::span<std::uint64_t>(&length, 1)),
                 static_cast<int>(first));
  std::string text = me == first ? *my_error : std::string(length, '\0');
  comm.broadcast(std::as_writable_bytes(std::span<char>(text.data(), text.size())),
                 static_cast<int>(first));
  std::string message =
      "rank " + std::to_string(first) + " of " + std::to_string(comm.size()) + ": " + text;
  if (failed > 1)
    message +=
        "; " + std::to_string(failed) + " of " + std::to_string(comm.size()) + " ranks failed";
  throw job_error(message, static_cast<int>(first), static_cast<int>(failed));
}

/// Runs `step()` on this rank and agrees on the outcome with every other rank (the points where
/// ranks can diverge: validation, loading, writing). Returns the step's result when every rank
/// succeeded; throws agree_on_success's job_error on every rank otherwise. With one rank it is
/// just `step()` (its own exception, unchanged).
template <class Step>
auto agreed_step(communicator& comm, Step&& step) {
  using result = std::decay_t<std::invoke_result_t<Step&>>;
  if (comm.size() == 1) return step();
  std::optional<std::string> error;
  const auto failure_text = [] {
    try {
      throw;
    } catch (const std::exception& e) {
      return std::string(e.what());
    } catch (...) {
      return std::string("an exception of unknown type");
    }
  };
  if constexpr (std::is_void_v<result>) {
    try {
      step();
    } catch (...) {
      error = failure_text();
    }
    agree_on_success(comm, error);
  } else {
    std::optional<result> value;
    try {
      value.emplace(step());
    } catch (...) {
      error = failure_text();
    }
    agree_on_success(comm, error);
    return result(std::move(*value));
  }
}

/// One process, world size 1: every collective is the identity.
class single_process_communicator final : public communicator {
 public:
  [[nodiscard]] int rank() const override { return 0; }
  [[nodiscard]] int size() const override { return 1; }
  [[nodiscard]] std::string_view backend() const override { return "single_process"; }
  void barrier() override {}
  [[nodiscard]] std::uint64_t allreduce_sum_u64(std::uint64_t value) override { return value; }
  [[nodiscard]] std::uint64_t allreduce_min_u64(std::uint64_t value) override { return value; }
  [[nodiscard]] std::vector<std::vector<std::byte>> gather_bytes(std::span<const std::byte> mine,
                                                                 int) override {
    return {std::vector<std::byte>(mine.begin(), mine.end())};
  }
  void broadcast(std::span<std::byte>, int) override {}
};

}  // namespace blueprint
