// The few collective operations a sharded materialization needs, behind one small interface:
// rank and size, a barrier, a wrapping 64-bit sum (fingerprints, byte counts), "did every rank
// succeed" (saves), gathering each rank's bytes on one root (reassembling a model in tests),
// and a broadcast. The one communicator interface of the library: materialize, fingerprint and
// save all take it.
//
// Implementations: `single_process_communicator` (here), `mpi_communicator` (host ranks,
// mpi_communicator.hpp) and `nccl_communicator` (GPU ranks, bootstrapped by MPI or by
// torchrun-style environment variables, nccl_communicator.hpp). Only those two headers
// include mpi.h / nccl.h, so everything else builds without either.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace blueprint {

class communicator {
 public:
  virtual ~communicator() = default;

  [[nodiscard]] virtual int rank() const = 0;
  [[nodiscard]] virtual int size() const = 0;
  [[nodiscard]] virtual std::string_view backend() const = 0;

  virtual void barrier() = 0;
  /// Sum over ranks modulo 2^64 (fingerprints are sums mod 2^64). Every rank gets the result.
  [[nodiscard]] virtual std::uint64_t allreduce_sum_u64(std::uint64_t value) = 0;
  /// Each rank's bytes (sizes may differ), in rank order, on `root`; empty on the others.
  [[nodiscard]] virtual std::vector<std::vector<std::byte>> gather_bytes(
      std::span<const std::byte> mine, int root) = 0;
  /// `data` of `root` copied to every rank's `data`. @pre the same size on every rank
  virtual void broadcast(std::span<std::byte> data, int root) = 0;
  /// True on every rank when `ok` is true on every rank: the "did everyone succeed" step at the
  /// points where ranks can diverge (a save agrees on it before its renames). Also a barrier.
  [[nodiscard]] virtual bool all_true(bool ok) { return allreduce_sum_u64(ok ? 0u : 1u) == 0; }
};

/// One process, world size 1: every collective is the identity.
class single_process_communicator final : public communicator {
 public:
  [[nodiscard]] int rank() const override { return 0; }
  [[nodiscard]] int size() const override { return 1; }
  [[nodiscard]] std::string_view backend() const override { return "single_process"; }
  void barrier() override {}
  [[nodiscard]] std::uint64_t allreduce_sum_u64(std::uint64_t value) override { return value; }
  [[nodiscard]] std::vector<std::vector<std::byte>> gather_bytes(std::span<const std::byte> mine,
                                                                 int) override {
    return {std::vector<std::byte>(mine.begin(), mine.end())};
  }
  void broadcast(std::span<std::byte>, int) override {}
};

}  // namespace blueprint
