// CUDA runtime plumbing shared by the device materializer and the device loader: checked calls
// that name file and line, the current-device scope, owned device and pinned allocations,
// events and streams, and the segment table the kernels read.
//
// For translation units compiled by nvcc only: everything is inside `#if defined(__CUDACC__)`.
#pragma once

#if defined(__CUDACC__)

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <blueprint/codegen/program.hpp>
#include <blueprint/kernels/cuda/materialize_kernel.cuh>

namespace blueprint {

/// A failed CUDA runtime call: the expression, the file and line, and CUDA's error string.
class cuda_error : public std::runtime_error {
 public:
  cuda_error(cudaError_t code, const std::string& what) : std::runtime_error(what), code_(code) {}
  [[nodiscard]] cudaError_t code() const noexcept { return code_; }

 private:
  cudaError_t code_;
};

namespace detail {
inline void cuda_check(cudaError_t code, const char* expr, const char* file, int line) {
  if (code == cudaSuccess) return;
  throw cuda_error(code, std::string(file) + ":" + std::to_string(line) + ": " + expr +
                             " failed: " + cudaGetErrorName(code) + ": " +
                             cudaGetErrorString(code));
}
}  // namespace detail

}  // namespace blueprint

/// Throws blueprint::cuda_error naming the expression, file, line and CUDA's error string.
#define BLUEPRINT_CUDA_CHECK(expr) \
  ::blueprint::detail::cuda_check((expr), #expr, __FILE__, __LINE__)

namespace blueprint::detail {

/// Makes `device` current for a scope, restoring the previous one.
class cuda_device_scope {
 public:
  explicit cuda_device_scope(int device) {
    BLUEPRINT_CUDA_CHECK(cudaGetDevice(&previous_));
    if (previous_ != device) BLUEPRINT_CUDA_CHECK(cudaSetDevice(device));
  }
  ~cuda_device_scope() { cudaSetDevice(previous_); }
  cuda_device_scope(const cuda_device_scope&) = delete;
  cuda_device_scope& operator=(const cuda_device_scope&) = delete;

 private:
  int previous_ = 0;
};

/// One device allocation, freed on destruction.
class device_buffer {
 public:
  device_buffer() = default;
  device_buffer(int device, std::size_t bytes) : device_(device), bytes_(bytes) {
    if (bytes == 0) return;
    BLUEPRINT_CUDA_CHECK(cudaMalloc(&ptr_, bytes));
  }
  device_buffer(device_buffer&& o) noexcept
      : ptr_(std::exchange(o.ptr_, nullptr)),
        device_(o.device_),
        bytes_(std::exchange(o.bytes_, 0)) {}
  device_buffer& operator=(device_buffer&& o) noexcept {
    if (this != &o) {
      release();
      ptr_ = std::exchange(o.ptr_, nullptr);
      device_ = o.device_;
      bytes_ = std::exchange(o.bytes_, 0);
    }
    return *this;
  }
  ~device_buffer() { release(); }
  [[nodiscard]] std::byte* get() const { return static_cast<std::byte*>(ptr_); }
  [[nodiscard]] std::size_t size() const { return bytes_; }

 private:
  void release() noexcept {
    if (ptr_ == nullptr) return;
    int previous = 0;
    cudaGetDevice(&previous);
    cudaSetDevice(device_);
    cudaFree(ptr_);  // synchronizes with the device's pending work on this memory
    cudaSetDevice(previous);
    ptr_ = nullptr;
  }
  void* ptr_ = nullptr;
  int device_ = 0;
  std::size_t bytes_ = 0;
};

inline std::size_t align16(std::size_t x) {
  return (x + 15) / 16 * 16;
}

/// A segment table on the device (begins + records), carved from one buffer.
struct device_table {
  std::vector<cuda_kernels::kernel_segment> host;
  cuda_kernels::kernel_tables tables{};
  std::size_t begins_offset = 0, segments_offset = 0, bytes = 0;

  void plan(const program& p, std::size_t base) {
    host = cuda_kernels::make_kernel_segments(p.segments, p.arena_bytes);
    tables.count = static_cast<std::uint32_t>(host.size());
    tables.arena_bytes = p.arena_bytes;
    begins_offset = base;
    segments_offset = align16(begins_offset + host.size() * sizeof(std::uint64_t));
    bytes = align16(segments_offset + host.size() * sizeof(cuda_kernels::kernel_segment)) - base;
  }
  void upload(std::byte* storage, cudaStream_t stream) {
    const std::vector<std::uint64_t> begins = cuda_kernels::kernel_segment_begins(host);
    tables.begins = reinterpret_cast<const std::uint64_t*>(storage + begins_offset);
    tables.segments =
        reinterpret_cast<const cuda_kernels::kernel_segment*>(storage + segments_offset);
    // Pageable sources: cudaMemcpyAsync returns once the bytes are staged, so the temporary
    // vector may go away.
    if (!host.empty()) {
      BLUEPRINT_CUDA_CHECK(cudaMemcpyAsync(storage + begins_offset, begins.data(),
                                           begins.size() * sizeof(std::uint64_t),
                                           cudaMemcpyHostToDevice, stream));
      BLUEPRINT_CUDA_CHECK(cudaMemcpyAsync(storage + segments_offset, host.data(),
                                           host.size() * sizeof(cuda_kernels::kernel_segment),
                                           cudaMemcpyHostToDevice, stream));
    }
  }
};

/// A CUDA event, destroyed with its owner (move-only).
class cuda_event {
 public:
  cuda_event() = default;
  cuda_event(cuda_event&& o) noexcept : e_(std::exchange(o.e_, nullptr)) {}
  cuda_event& operator=(cuda_event&& o) noexcept {
    if (this != &o) {
      if (e_ != nullptr) cudaEventDestroy(e_);
      e_ = std::exchange(o.e_, nullptr);
    }
    return *this;
  }
  ~cuda_event() {
    if (e_ != nullptr) cudaEventDestroy(e_);
  }
  void create() { BLUEPRINT_CUDA_CHECK(cudaEventCreate(&e_)); }
  [[nodiscard]] cudaEvent_t get() const { return e_; }

 private:
  cudaEvent_t e_ = nullptr;
};

/// Page-locked host memory (cudaHostAlloc), freed on destruction: the staging of host-to-device
/// copies that overlap with other work.
class pinned_buffer {
 public:
  pinned_buffer() = default;
  explicit pinned_buffer(std::size_t bytes) : bytes_(bytes) {
    if (bytes != 0) BLUEPRINT_CUDA_CHECK(cudaHostAlloc(&ptr_, bytes, cudaHostAllocDefault));
  }
  pinned_buffer(pinned_buffer&& o) noexcept
      : ptr_(std::exchange(o.ptr_, nullptr)), bytes_(std::exchange(o.bytes_, 0)) {}
  pinned_buffer& operator=(pinned_buffer&& o) noexcept {
    if (this != &o) {
      if (ptr_ != nullptr) cudaFreeHost(ptr_);
      ptr_ = std::exchange(o.ptr_, nullptr);
      bytes_ = std::exchange(o.bytes_, 0);
    }
    return *this;
  }
  ~pinned_buffer() {
    if (ptr_ != nullptr) cudaFreeHost(ptr_);
  }
  [[nodiscard]] unsigned char* get() const { return static_cast<unsigned char*>(ptr_); }
  [[nodiscard]] std::size_t size() const { return bytes_; }

 private:
  void* ptr_ = nullptr;
  std::size_t bytes_ = 0;
};

/// A non-blocking stream of the current device, destroyed with its owner (move-only).
class cuda_stream {
 public:
  cuda_stream() { BLUEPRINT_CUDA_CHECK(cudaStreamCreateWithFlags(&s_, cudaStreamNonBlocking)); }
  cuda_stream(cuda_stream&& o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
  cuda_stream& operator=(cuda_stream&&) = delete;
  cuda_stream(const cuda_stream&) = delete;
  ~cuda_stream() {
    if (s_ != nullptr) cudaStreamDestroy(s_);
  }
  [[nodiscard]] cudaStream_t get() const { return s_; }

 private:
  cudaStream_t s_ = nullptr;
};

}  // namespace blueprint::detail

#endif  // __CUDACC__
