// The communicator over NCCL: one process per GPU. Collectives run on the communicator's
// stream through a small device staging buffer; host-side values (the interface's spans)
// are copied in and out, device-side data can use native() and stream() directly.
//
// Bootstrap, as NCCL needs one ncclUniqueId shared by all ranks:
//  - from any other communicator (an mpi_communicator under mpirun): rank 0 creates the id and
//    broadcasts it over that communicator;
//  - from torchrun-style environment variables (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR,
//    MASTER_PORT): rank 0 serves the id over TCP on MASTER_PORT (tcp_bootstrap.hpp).
// The device is LOCAL_RANK (environment) or the caller's choice. Failures throw
// std::runtime_error naming the NCCL / CUDA call.
//
// On error the communicator is aborted (ncclCommAbort), not destroyed normally: `abort_job`
// aborts it and ends the process (the launcher — mpirun, torchrun — ends the others), and a
// destructor that runs while an exception unwinds aborts it too, since a normal destruction
// may wait for operations the failed ranks will never join.
//
// No call waits forever: each collective makes the communicator's device current first (the
// caller may have switched devices since; staging must stay on this rank's GPU), then waits by
// polling its stream and ncclCommGetAsyncError; an asynchronous NCCL error (a peer that died, a
// broken link) or a wait past `timeout()` (default 10 minutes, BLUEPRINT_NCCL_TIMEOUT_S
// overrides) aborts the communicator and throws, naming the call, so one failing rank cannot
// hang the others.
#pragma once

#include <cuda_runtime_api.h>
#include <nccl.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "communicator.hpp"
#include "tcp_bootstrap.hpp"

namespace blueprint {

class nccl_communicator final : public communicator {
 public:
  /// Joins the NCCL communicator of `bootstrap`'s ranks on `device`.
  nccl_communicator(communicator& bootstrap, int device)
      : rank_(bootstrap.rank()),
        size_(bootstrap.size()),
        device_(device),
        unwinding_at_start_(std::uncaught_exceptions()) {
    ncclUniqueId id{};
    if (rank_ == 0) check(ncclGetUniqueId(&id), "ncclGetUniqueId");
    bootstrap.broadcast(std::as_writable_bytes(std::span<ncclUniqueId>(&id, 1)), 0);
    init(id);
  }
  /// Joins with an id every rank already has.
  nccl_communicator(int rank, int size, const ncclUniqueId& id, int device)
      : rank_(rank), size_(size), device_(device), unwinding_at_start_(std::uncaught_exceptions()) {
    init(id);
  }
  /// torchrun-style: RANK, WORLD_SIZE, LOCAL_RANK (the device), MASTER_ADDR, MASTER_PORT.
  /// @throws std::runtime_error when RANK or WORLD_SIZE is not set
  [[nodiscard]] static nccl_communicator from_environment() {
    const std::optional<launch_environment> env = read_launch_environment();
    if (!env) throw std::runtime_error("nccl_communicator: RANK and WORLD_SIZE are not set");
    ncclUniqueId id{};
    if (env->rank == 0) check(ncclGetUniqueId(&id), "ncclGetUniqueId");
    tcp_broadcast(*env, std::as_writable_bytes(std::span<ncclUniqueId>(&id, 1)));
    return nccl_communicator(env->rank, env->world_size, id, env->local_rank);
  }

  nccl_communicator(nccl_communicator&& o) noexcept { swap(o); }
  nccl_communicator(const nccl_communicator&) = delete;
  nccl_communicator& operator=(const nccl_communicator&) = delete;
  ~nccl_communicator() override {
    if (comm_) {
      if (std::uncaught_exceptions() > unwinding_at_start_)
        ncclCommAbort(comm_);
      else
        ncclCommDestroy(comm_);
    }
    if (staging_) cudaFree(staging_);
    if (stream_) cudaStreamDestroy(stream_);
  }

  [[nodiscard]] int rank() const override { return rank_; }
  [[nodiscard]] int size() const override { return size_; }
  [[nodiscard]] std::string_view backend() const override { return "nccl"; }
  [[nodiscard]] ncclComm_t native() const { return comm_; }
  [[nodiscard]] cudaStream_t stream() const { return stream_; }
  [[nodiscard]] int device() const { return device_; }

  void barrier() override { (void)allreduce_sum_u64(0); }

  [[nodiscard]] std::uint64_t allreduce_sum_u64(std::uint64_t value) override {
    // Integer addition on the device wraps: the sum modulo 2^64.
    return allreduce_u64(value, ncclSum);
  }
  [[nodiscard]] std::uint64_t allreduce_min_u64(std::uint64_t value) override {
    return allreduce_u64(value, ncclMin);
  }

  [[noreturn]] void abort_job(std::string_view message) noexcept override {
    print_rank_error(message);
    if (comm_) ncclCommAbort(comm_);
    comm_ = nullptr;
    std::_Exit(1);
  }

 private:
  [[nodiscard]] std::uint64_t allreduce_u64(std::uint64_t value, ncclRedOp_t op) {
    use_device();
    reserve(sizeof value);
    cuda(cudaMemcpyAsync(staging_, &value, sizeof value, cudaMemcpyHostToDevice, stream_),
         "cudaMemcpyAsync");
    check(ncclAllReduce(staging_, staging_, 1, ncclUint64, op, comm_, stream_), "ncclAllReduce");
    cuda(cudaMemcpyAsync(&value, staging_, sizeof value, cudaMemcpyDeviceToHost, stream_),
         "cudaMemcpyAsync");
    wait("ncclAllReduce");
    return value;
  }

 public:
  [[nodiscard]] std::vector<std::vector<std::byte>> gather_bytes(std::span<const std::byte> mine,
                                                                 int root) override {
    // Sizes by all-gather, then point-to-point sends to the root (NCCL has no gatherv).
    use_device();
    std::vector<std::uint64_t> sizes(size_);
    reserve(sizeof(std::uint64_t) * (size_ + 1));
    const std::uint64_t size = mine.size();
    auto* words = static_cast<std::uint64_t*>(staging_);
    cuda(cudaMemcpyAsync(words + size_, &size, sizeof size, cudaMemcpyHostToDevice, stream_),
         "cudaMemcpyAsync");
    check(ncclAllGather(words + size_, words, 1, ncclUint64, comm_, stream_), "ncclAllGather");
    cuda(cudaMemcpyAsync(sizes.data(), words, sizeof(std::uint64_t) * size_, cudaMemcpyDeviceToHost,
                         stream_),
         "cudaMemcpyAsync");
    wait("ncclAllGather");
    std::vector<std::vector<std::byte>> out;
    if (rank_ == root) out.resize(size_);
    for (int r = 0; r < size_; ++r) {
      if (r == root) {
        if (rank_ == root) out[r].assign(mine.begin(), mine.end());
        continue;
      }
      if (rank_ != root && rank_ != r) continue;
      reserve(sizes[r]);
      if (rank_ == r) {
        cuda(cudaMemcpyAsync(staging_, mine.data(), size, cudaMemcpyHostToDevice, stream_),
             "cudaMemcpyAsync");
        check(ncclSend(staging_, size, ncclChar, root, comm_, stream_), "ncclSend");
      } else {
        out[r].resize(sizes[r]);
        check(ncclRecv(staging_, sizes[r], ncclChar, r, comm_, stream_), "ncclRecv");
        cuda(cudaMemcpyAsync(out[r].data(), staging_, sizes[r], cudaMemcpyDeviceToHost, stream_),
             "cudaMemcpyAsync");
      }
      wait(rank_ == r ? "ncclSend" : "ncclRecv");
    }
    return out;
  }

  void broadcast(std::span<std::byte> data, int root) override {
    use_device();
    reserve(data.size());
    if (rank_ == root)
      cuda(cudaMemcpyAsync(staging_, data.data(), data.size(), cudaMemcpyHostToDevice, stream_),
           "cudaMemcpyAsync");
    check(ncclBroadcast(staging_, staging_, data.size(), ncclChar, root, comm_, stream_),
          "ncclBroadcast");
    cuda(cudaMemcpyAsync(data.data(), staging_, data.size(), cudaMemcpyDeviceToHost, stream_),
         "cudaMemcpyAsync");
    wait("ncclBroadcast");
  }

  /// The longest a collective waits before the communicator is aborted.
  [[nodiscard]] std::chrono::milliseconds timeout() const { return timeout_; }
  void set_timeout(std::chrono::milliseconds t) { timeout_ = t; }

 private:
  int rank_ = 0, size_ = 1, device_ = 0;
  int unwinding_at_start_ = 0;
  ncclComm_t comm_ = nullptr;
  cudaStream_t stream_ = nullptr;
  void* staging_ = nullptr;
  std::size_t staging_bytes_ = 0;
  std::chrono::milliseconds timeout_ = default_timeout();

  nccl_communicator() = default;
  [[nodiscard]] static std::chrono::milliseconds default_timeout() {
    const char* v = std::getenv("BLUEPRINT_NCCL_TIMEOUT_S");
    const long seconds = v != nullptr ? std::strtol(v, nullptr, 10) : 0;
    return std::chrono::seconds(seconds > 0 ? seconds : 600);
  }
  void swap(nccl_communicator& o) noexcept {
    std::swap(rank_, o.rank_);
    std::swap(size_, o.size_);
    std::swap(device_, o.device_);
    std::swap(unwinding_at_start_, o.unwinding_at_start_);
    std::swap(comm_, o.comm_);
    std::swap(stream_, o.stream_);
    std::swap(staging_, o.staging_);
    std::swap(staging_bytes_, o.staging_bytes_);
    std::swap(timeout_, o.timeout_);
  }
  void init(const ncclUniqueId& id) {
    // A constructor that throws runs no destructor: what init made is undone here.
    try {
      cuda(cudaSetDevice(device_), "cudaSetDevice");
      cuda(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreate");
      check(ncclCommInitRank(&comm_, size_, id, rank_), "ncclCommInitRank");
      // ncclCommInitRank may leave another device current; this rank's calls use device_.
      cuda(cudaSetDevice(device_), "cudaSetDevice");
    } catch (...) {
      if (comm_) ncclCommAbort(comm_);
      comm_ = nullptr;
      if (stream_) cudaStreamDestroy(stream_);
      stream_ = nullptr;
      throw;
    }
  }
  void use_device() { cuda(cudaSetDevice(device_), "cudaSetDevice"); }
  /// Waits for the stream, polling NCCL's asynchronous error; aborts the communicator and
  /// throws on an error or past the timeout.
  void wait(const char* call) {
    const auto start = std::chrono::steady_clock::now();
    for (unsigned spins = 0;; ++spins) {
      const cudaError_t done = cudaStreamQuery(stream_);
      if (done == cudaSuccess) return;
      if (done != cudaErrorNotReady) {
        abort_communicator();
        cuda(done, call);
      }
      ncclResult_t async = ncclSuccess;
      if (ncclCommGetAsyncError(comm_, &async) == ncclSuccess && async != ncclSuccess &&
          async != ncclInProgress) {
        abort_communicator();
        throw std::runtime_error(std::string(call) + " failed on rank " + std::to_string(rank_) +
                                 ": " + ncclGetErrorString(async) +
                                 " (communicator aborted; a peer may have died)");
      }
      if (std::chrono::steady_clock::now() - start > timeout_) {
        abort_communicator();
        throw std::runtime_error(std::string(call) + " on rank " + std::to_string(rank_) +
                                 " did not finish within " +
                                 std::to_string(timeout_.count() / 1000) +
                                 " s (communicator aborted; BLUEPRINT_NCCL_TIMEOUT_S sets the "
                                 "limit)");
      }
      if (spins > 1000) std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
  }
  void abort_communicator() noexcept {
    if (comm_) ncclCommAbort(comm_);
    comm_ = nullptr;
  }
  void reserve(std::size_t bytes) {
    bytes = std::max<std::size_t>(bytes, 64);
    if (bytes <= staging_bytes_) return;
    if (staging_) cuda(cudaFree(staging_), "cudaFree");
    staging_ = nullptr;
    cuda(cudaMalloc(&staging_, bytes), "cudaMalloc");
    staging_bytes_ = bytes;
  }
  static void check(ncclResult_t r, const char* call) {
    if (r != ncclSuccess)
      throw std::runtime_error(std::string(call) + " failed: " + ncclGetErrorString(r));
  }
  static void cuda(cudaError_t r, const char* call) {
    if (r != cudaSuccess)
      throw std::runtime_error(std::string(call) + " failed: " + cudaGetErrorString(r));
  }
};

}  // namespace blueprint
