// The NCCL communicator under mpirun (bootstrapped by MPI): all-reduce, broadcast and gather
// agree with the MPI communicator's. Exits 77 (skipped) when this host has fewer GPUs than
// ranks need (ranks share a GPU when there is only one).
#include <cuda_runtime_api.h>

#include <cstdio>
#include <cstring>
#include <vector>

#include <blueprint/runtime/mpi_communicator.hpp>
#include <blueprint/runtime/nccl_communicator.hpp>

int main(int argc, char** argv) {
  blueprint::mpi_communicator mpi(&argc, &argv);
  int devices = 0;
  if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
    if (mpi.rank() == 0) std::printf("no CUDA device: skipped\n");
    return 77;
  }
  if (devices < mpi.size()) {
    // NCCL refuses two ranks on one device.
    if (mpi.rank() == 0) std::printf("%d GPU(s) for %d ranks: skipped\n", devices, mpi.size());
    return 77;
  }
  int failures = 0;
  try {
    blueprint::nccl_communicator nccl(mpi, mpi.rank() % devices);
    const std::uint64_t big = ~std::uint64_t{0} - 5;  // wraps: the sum is modulo 2^64
    if (nccl.allreduce_sum_u64(big + mpi.rank()) != mpi.allreduce_sum_u64(big + mpi.rank()))
      ++failures;
    std::vector<std::byte> data(1000, std::byte{0});
    if (mpi.rank() == 0)
      for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::byte>(i * 7);
    nccl.broadcast(data, 0);
    for (std::size_t i = 0; i < data.size(); ++i)
      if (data[i] != static_cast<std::byte>(i * 7)) ++failures;
    std::vector<std::byte> mine(10 + mpi.rank(), static_cast<std::byte>(mpi.rank() + 1));
    const auto all = nccl.gather_bytes(mine, 0);
    if (mpi.rank() == 0)
      for (int r = 0; r < mpi.size(); ++r)
        if (all[r].size() != static_cast<std::size_t>(10 + r) ||
            all[r][0] != static_cast<std::byte>(r + 1))
          ++failures;
    nccl.barrier();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rank %d: %s\n", mpi.rank(), e.what());
    ++failures;
  }
  const std::uint64_t total = mpi.allreduce_sum_u64(failures);
  if (mpi.rank() == 0)
    std::printf("nccl smoke: %llu failures\n", static_cast<unsigned long long>(total));
  return total == 0 ? 0 : 1;
}
