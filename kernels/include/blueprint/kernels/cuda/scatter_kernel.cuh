// The checkpoint loader's device half: cast and scatter one staged transfer into the arena.
//
// The host reads file bytes into pinned staging and copies them, with the transfer's piece
// table behind them, to device staging in one host-to-device copy; this kernel then writes
// every piece into the arena, casting on the way (kernels/scatter.hpp holds the element
// function and the tile body, shared with the host). A block walks tiles grid-stride; thread 0
// finds the tile's piece by binary search over the pieces' first tiles, so a transfer of
// thousands of short rows (a tensor-parallel column shard) is one launch.
//
// Only .cu translation units include this header (it is empty for any other compiler).
#pragma once

#if defined(__CUDACC__)

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include <blueprint/kernels/config.hpp>
#include <blueprint/kernels/scatter.hpp>

namespace blueprint::cuda_kernels {

inline constexpr unsigned scatter_block_threads = 256;

/// Writes every piece of one transfer. @pre pieces and staging are device memory; pieces
/// sorted by first_tile, first_tile[0] == 0; `tiles` = the last piece's first_tile + tiles()
template <int = 0>  // a template: emitted only where launched, no duplicate under -rdc=true
__global__ void __launch_bounds__(scatter_block_threads)
    scatter_kernel(const scatter_piece* __restrict__ pieces, std::uint32_t count,
                   std::uint64_t tiles, const unsigned char* __restrict__ staging,
                   std::byte* __restrict__ arena) {
  __shared__ std::uint32_t tile_piece;
  for (std::uint64_t tile = blockIdx.x; tile < tiles; tile += gridDim.x) {
    if (threadIdx.x == 0) tile_piece = piece_of_tile(pieces, count, tile);
    __syncthreads();
    const scatter_piece p = pieces[tile_piece];
    __syncthreads();  // tile_piece is rewritten next iteration
    scatter_tile(p, tile, staging, arena, threadIdx.x, blockDim.x);
  }
}

/// Enqueues the scatter of one transfer on `stream`. Returns this launch's own result
/// (cudaLaunchKernel's), never an earlier error left on the thread.
[[nodiscard]] inline cudaError_t launch_scatter(const scatter_piece* pieces, std::uint32_t count,
                                                std::uint64_t tiles, const unsigned char* staging,
                                                std::byte* arena, int device, cudaStream_t stream) {
  if (count == 0 || tiles == 0) return cudaSuccess;
  int sms = 0;
  const cudaError_t error = cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device);
  if (error != cudaSuccess) return error;
  // Several transfers run at once (one per loader thread): a few blocks per SM each is plenty
  // for a copy that the host-to-device link limits.
  const std::uint64_t cap = static_cast<std::uint64_t>(sms > 0 ? sms : 1) * 4;
  const unsigned grid = static_cast<unsigned>(tiles < cap ? tiles : cap);
  void* params[] = {&pieces, &count, &tiles, &staging, &arena};
  return cudaLaunchKernel(reinterpret_cast<const void*>(&scatter_kernel<>), dim3(grid),
                          dim3(scatter_block_threads), params, 0, stream);
}

}  // namespace blueprint::cuda_kernels

#endif  // __CUDACC__
