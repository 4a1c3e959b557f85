// The communicator over MPI (Open MPI on the CI hosts): one process per rank, host memory.
//
// Owns MPI's lifetime when it initialized MPI itself (MPI_Init in the constructor,
// MPI_Finalize in the destructor); otherwise it just uses the communicator it is given.
// Failures throw std::runtime_error naming the MPI call and MPI's error string.
//
// MPI_Finalize is collective: a destructor that runs while an exception unwinds does not call
// it (the other ranks may never get there; that is the silent hang of issue 12). The process
// then ends through `end_mpi_after_error`: MPI_Finalize when every rank agreed on the error
// (a job_error), MPI_Abort otherwise.
#pragma once

// The C API only: Open MPI's deprecated C++ bindings warn under -Wextra.
#ifndef OMPI_SKIP_MPICXX
#define OMPI_SKIP_MPICXX 1
#endif
#ifndef MPICH_SKIP_MPICXX
#define MPICH_SKIP_MPICXX 1
#endif
#include <mpi.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "communicator.hpp"

namespace blueprint {

class mpi_communicator final : public communicator {
 public:
  /// Initializes MPI unless it already is (then uses MPI_COMM_WORLD without owning MPI).
  mpi_communicator(int* argc = nullptr, char*** argv = nullptr)
      : comm_(MPI_COMM_WORLD), unwinding_at_start_(std::uncaught_exceptions()) {
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (!initialized) {
      check(MPI_Init(argc, argv), "MPI_Init");
      owns_mpi_ = true;
    }
    MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN);
    check(MPI_Comm_rank(comm_, &rank_), "MPI_Comm_rank");
    check(MPI_Comm_size(comm_, &size_), "MPI_Comm_size");
  }
  /// Uses an existing communicator; MPI must be initialized and stays so.
  explicit mpi_communicator(MPI_Comm comm)
      : comm_(comm), unwinding_at_start_(std::uncaught_exceptions()) {
    check(MPI_Comm_rank(comm_, &rank_), "MPI_Comm_rank");
    check(MPI_Comm_size(comm_, &size_), "MPI_Comm_size");
  }
  mpi_communicator(const mpi_communicator&) = delete;
  mpi_communicator& operator=(const mpi_communicator&) = delete;
  ~mpi_communicator() override {
    // Unwinding: no collective here (see the file comment); end_mpi_after_error ends MPI.
    if (owns_mpi_ && std::uncaught_exceptions() <= unwinding_at_start_) {
      int finalized = 0;
      MPI_Finalized(&finalized);
      if (!finalized) MPI_Finalize();
    }
  }

  [[nodiscard]] int rank() const override { return rank_; }
  [[nodiscard]] int size() const override { return size_; }
  [[nodiscard]] std::string_view backend() const override { return "mpi"; }
  [[nodiscard]] MPI_Comm native() const { return comm_; }

  void barrier() override { check(MPI_Barrier(comm_), "MPI_Barrier"); }

  [[nodiscard]] std::uint64_t allreduce_sum_u64(std::uint64_t value) override {
    // Unsigned addition wraps, which is the sum modulo 2^64 that fingerprints need.
    std::uint64_t sum = 0;
    check(MPI_Allreduce(&value, &sum, 1, MPI_UINT64_T, MPI_SUM, comm_), "MPI_Allreduce");
    return sum;
  }

  [[nodiscard]] std::uint64_t allreduce_min_u64(std::uint64_t value) override {
    std::uint64_t least = 0;
    check(MPI_Allreduce(&value, &least, 1, MPI_UINT64_T, MPI_MIN, comm_), "MPI_Allreduce");
    return least;
  }

  [[noreturn]] void abort_job(std::string_view message) noexcept override {
    print_rank_error(message);
    MPI_Abort(comm_, 1);
    std::_Exit(1);  // MPI_Abort does not return; should it, end this process anyway
  }

  [[nodiscard]] std::vector<std::vector<std::byte>> gather_bytes(std::span<const std::byte> mine,
                                                                 int root) override {
    // Sizes first, then the bytes in chunks below 2 GiB (MPI counts are ints).
    const std::uint64_t size = mine.size();
    std::vector<std::uint64_t> sizes(rank_ == root ? size_ : 0);
    check(MPI_Gather(&size, 1, MPI_UINT64_T, sizes.data(), 1, MPI_UINT64_T, root, comm_),
          "MPI_Gather");
    std::vector<std::vector<std::byte>> out;
    constexpr std::uint64_t chunk = 1ull << 30;
    if (rank_ == root) {
      out.resize(size_);
      for (int r = 0; r < size_; ++r) {
        out[r].resize(sizes[r]);
        if (r == root) {
          std::copy(mine.begin(), mine.end(), out[r].begin());
          continue;
        }
        for (std::uint64_t at = 0; at < sizes[r]; at += chunk)
          check(MPI_Recv(out[r].data() + at, static_cast<int>(std::min(chunk, sizes[r] - at)),
                         MPI_BYTE, r, 7, comm_, MPI_STATUS_IGNORE),
                "MPI_Recv");
      }
    } else {
      for (std::uint64_t at = 0; at < size; at += chunk)
        check(MPI_Send(mine.data() + at, static_cast<int>(std::min(chunk, size - at)), MPI_BYTE,
                       root, 7, comm_),
              "MPI_Send");
    }
    return out;
  }

  void broadcast(std::span<std::byte> data, int root) override {
    constexpr std::uint64_t chunk = 1ull << 30;
    for (std::uint64_t at = 0; at < data.size(); at += chunk)
      check(MPI_Bcast(data.data() + at,
                      static_cast<int>(std::min<std::uint64_t>(chunk, data.size() - at)), MPI_BYTE,
                      root, comm_),
            "MPI_Bcast");
  }

 private:
  MPI_Comm comm_;
  int unwinding_at_start_ = 0;
  int rank_ = 0, size_ = 1;
  bool owns_mpi_ = false;

  static void check(int code, const char* call) {
    if (code == MPI_SUCCESS) return;
    char text[MPI_MAX_ERROR_STRING];
    int length = 0;
    MPI_Error_string(code, text, &length);
    throw std::runtime_error(std::string(call) + " failed: " + std::string(text, length));
  }
};

/// Ends MPI in a process whose work failed with `error` (the command's last catch), reporting
/// the error when MPI runs with more than one rank: a job_error (every rank agreed on it) is
/// printed once, "<prefix><message>", by rank 0 — before MPI_Finalize, whose fence keeps the
/// other ranks from exiting (and the launcher from killing rank 0) until it has printed — and
/// MPI is finalized normally; any other error prints "<prefix>rank R of N: <message> (aborting
/// the job)" and ends the whole job through MPI_Abort (the other ranks may be waiting in a
/// collective), so it does not return. Returns false when there is no multi-rank MPI job: the
/// caller reports the error itself.
inline bool end_mpi_after_error(const std::exception& error,
                                std::string_view prefix = "") noexcept {
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  if (initialized) MPI_Finalized(&finalized);
  if (!initialized || finalized) return false;
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (size == 1) {
    MPI_Finalize();
    return false;
  }
  if (dynamic_cast<const job_error*>(&error) != nullptr) {
    if (rank == 0) {
      std::fprintf(stderr, "%.*s%s\n", static_cast<int>(prefix.size()), prefix.data(),
                   error.what());
      std::fflush(stderr);
    }
    MPI_Finalize();
    return true;
  }
  std::fprintf(stderr, "%.*srank %d of %d: %s (aborting the job)\n",
               static_cast<int>(prefix.size()), prefix.data(), rank, size, error.what());
  std::fflush(stderr);
  MPI_Abort(MPI_COMM_WORLD, 1);
  std::_Exit(1);
}

}  // namespace blueprint
