// What the GPU benchmarks measure against, and how they time: a plain fill of device memory with
// one 16-byte pattern, in the same grid shape as the materialize kernel (the write-bandwidth
// reference), and an event pair timing work on the default stream. Not library code (the
// library's kernels are materialize, fingerprint, coverage and scatter); shared by the
// generated model benchmarks and benchmarks/gpu/bench_gpu_init.cu.
#pragma once

#include <cstdint>

#include <blueprint/kernels/cuda/materialize_kernel.cuh>
#include <blueprint/runtime/cuda_support.hpp>

namespace blueprint::cuda_kernels {

/// A plain fill of `vectors` 16-byte vectors with `pattern`, streaming stores.
static __global__ void __launch_bounds__(block_threads)
    plain_fill_kernel(uint4* __restrict__ out, std::uint64_t vectors, uint4 pattern) {
  for (std::uint64_t v = blockIdx.x * static_cast<std::uint64_t>(blockDim.x) + threadIdx.x;
       v < vectors; v += static_cast<std::uint64_t>(gridDim.x) * blockDim.x)
    __stcs(out + v, pattern);
}

/// Enqueues the plain fill of `bytes` bytes (a multiple of 16) on `stream`.
[[nodiscard]] inline cudaError_t launch_plain_fill(void* out, std::uint64_t bytes,
                                                   std::uint32_t pattern, int device,
                                                   cudaStream_t stream) {
  cudaError_t error = cudaSuccess;
  const int resident = resident_blocks(plain_fill_kernel, device, &error);
  if (error != cudaSuccess) return error;
  const std::uint64_t vectors = bytes / vector_bytes;
  const std::uint64_t blocks = (vectors + block_threads - 1) / block_threads;
  if (blocks == 0) return cudaSuccess;
  plain_fill_kernel<<<grid_for(blocks, resident), block_threads, 0, stream>>>(
      static_cast<uint4*>(out), vectors, make_uint4(pattern, pattern, pattern, pattern));
  return cudaGetLastError();
}

}  // namespace blueprint::cuda_kernels

namespace blueprint::gpu_bench {

/// Times work enqueued on the default stream between two events.
class event_timer {
 public:
  event_timer() {
    start_.create();
    stop_.create();
  }
  /// Milliseconds `enqueue`'s work took on the device; blocks until it is done.
  template <class F>
  [[nodiscard]] float milliseconds(F&& enqueue) {
    BLUEPRINT_CUDA_CHECK(cudaEventRecord(start_.get()));
    enqueue();
    BLUEPRINT_CUDA_CHECK(cudaEventRecord(stop_.get()));
    BLUEPRINT_CUDA_CHECK(cudaEventSynchronize(stop_.get()));
    float ms = 0;
    BLUEPRINT_CUDA_CHECK(cudaEventElapsedTime(&ms, start_.get(), stop_.get()));
    return ms;
  }

 private:
  detail::cuda_event start_, stop_;
};

}  // namespace blueprint::gpu_bench
