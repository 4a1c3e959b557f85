// CUDA runtime plumbing shared by the device materializer and the device loader: checked calls
// that name file and line, the current-device scope, owned device and pinned allocations,
// events and streams, and the segment table the kernels read.
//
// For translation units compiled by nvcc only: everything is inside `#if defined(__CUDACC__)`.
#pragma once

#if defined(__CUDACC__)

#include <cuda_runtime.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <mutex>
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

/// True when `device`'s primary context is already active in this process: some code used
/// that device. Asked of the driver (cuDevicePrimaryCtxGetState, found through the runtime, so
/// nothing links libcuda); true when the driver cannot be asked (the old, restoring behaviour).
[[nodiscard]] inline bool primary_context_active(int device) noexcept {
  using get_state_fn = int (*)(int, unsigned*, int*);  // CUresult (CUdevice, flags, active)
  static const get_state_fn get_state = []() -> get_state_fn {
    void* fn = nullptr;
    cudaDriverEntryPointQueryResult found{};
    if (cudaGetDriverEntryPointByVersion("cuDevicePrimaryCtxGetState", &fn, 7000, cudaEnableDefault,
                                         &found) != cudaSuccess ||
        found != cudaDriverEntryPointSuccess)
      return nullptr;
    return reinterpret_cast<get_state_fn>(fn);
  }();
  if (get_state == nullptr) return true;
  unsigned flags = 0;
  int active = 0;
  if (get_state(device, &flags, &active) != 0) return true;
  return active != 0;
}

/// Makes `device` current for a scope. The previous device is made current again only when its
/// context was already active: a thread that never chose a device reports device 0, and
/// switching back to it would create a context on GPU 0 (0.3-0.5 GB, an error in
/// exclusive-process mode) in every process that works on another GPU and in every loader
/// worker thread. `checked = false` (destructors): no throw, a failure to switch is left to the
/// call that follows.
class cuda_device_scope {
 public:
  explicit cuda_device_scope(int device, bool checked = true) {
    const cudaError_t got = cudaGetDevice(&previous_);
    if (checked) BLUEPRINT_CUDA_CHECK(got);
    if (got != cudaSuccess || previous_ == device) return;
    restore_ = primary_context_active(previous_);
    const cudaError_t set = cudaSetDevice(device);
    if (checked) BLUEPRINT_CUDA_CHECK(set);
  }
  ~cuda_device_scope() {
    if (restore_) cudaSetDevice(previous_);
  }
  cuda_device_scope(const cuda_device_scope&) = delete;
  cuda_device_scope& operator=(const cuda_device_scope&) = delete;

 private:
  int previous_ = 0;
  bool restore_ = false;
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
    const cuda_device_scope scope(device_, /*checked=*/false);
    cudaFree(ptr_);  // synchronizes with the device's pending work on this memory
    ptr_ = nullptr;
  }
  void* ptr_ = nullptr;
  int device_ = 0;
  std::size_t bytes_ = 0;
};

inline std::size_t align16(std::size_t x) {
  return (x + 15) / 16 * 16;
}

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

/// Pinned staging kept between loads: cudaHostAlloc of the loader's 256 MiB costs tens of
/// milliseconds and pins pages each time, so a load borrows the largest buffer returned so far
/// (or allocates one) and gives it back when done; concurrent loads each hold their own.
/// `release_pinned_staging()` frees what is kept.
class pinned_staging_pool {
 public:
  /// Never destroyed: at exit the CUDA runtime may be unloaded before a static's destructor
  /// would call cudaFreeHost; the process's end returns the pages.
  [[nodiscard]] static pinned_staging_pool& instance() {
    static pinned_staging_pool* const pool = new pinned_staging_pool;
    return *pool;
  }
  [[nodiscard]] pinned_buffer take(std::size_t bytes) {
    {
      std::lock_guard lock(mutex_);
      for (std::size_t i = 0; i < kept_.size(); ++i)
        if (kept_[i].size() >= bytes) {
          pinned_buffer b = std::move(kept_[i]);
          kept_.erase(kept_.begin() + static_cast<std::ptrdiff_t>(i));
          return b;
        }
    }
    return pinned_buffer(bytes);
  }
  void give_back(pinned_buffer b) {
    if (b.size() == 0) return;
    std::lock_guard lock(mutex_);
    kept_.push_back(std::move(b));
    // Keep the two largest: enough for two loads at once, bounded memory.
    std::sort(kept_.begin(), kept_.end(),
              [](const pinned_buffer& x, const pinned_buffer& y) { return x.size() > y.size(); });
    while (kept_.size() > 2) kept_.pop_back();
  }
  void release() {
    std::lock_guard lock(mutex_);
    kept_.clear();
  }

 private:
  std::mutex mutex_;
  std::vector<pinned_buffer> kept_;
};

/// A pinned buffer borrowed from the pool for one scope.
class pinned_staging_lease {
 public:
  explicit pinned_staging_lease(std::size_t bytes)
      : buffer_(pinned_staging_pool::instance().take(bytes)) {}
  ~pinned_staging_lease() { pinned_staging_pool::instance().give_back(std::move(buffer_)); }
  pinned_staging_lease(const pinned_staging_lease&) = delete;
  pinned_staging_lease& operator=(const pinned_staging_lease&) = delete;
  [[nodiscard]] unsigned char* get() const { return buffer_.get(); }

 private:
  pinned_buffer buffer_;
};

/// A segment table on the device (begins + records), carved from one buffer.
struct device_table {
  std::vector<cuda_kernels::kernel_segment> host;
  cuda_kernels::kernel_tables tables{};
  std::size_t begins_offset = 0, segments_offset = 0, bytes = 0;
  /// The table's bytes in page-locked memory, the source of the upload: a copy from pageable
  /// memory can block the caller until the stream's earlier work is done, which a
  /// `synchronize = false` materialize must not. Lives until the table does (after the copy).
  pinned_buffer staged;

  void plan(const program& p, std::size_t base) {
    host = cuda_kernels::make_kernel_segments(p.segments, p.arena_bytes);
    tables.count = static_cast<std::uint32_t>(host.size());
    tables.arena_bytes = p.arena_bytes;
    begins_offset = base;
    segments_offset = align16(begins_offset + host.size() * sizeof(std::uint64_t));
    bytes = align16(segments_offset + host.size() * sizeof(cuda_kernels::kernel_segment)) - base;
  }
  /// Enqueues the table's copy into `storage` (device memory of >= begins_offset + bytes).
  void upload(std::byte* storage, cudaStream_t stream) {
    tables.begins = reinterpret_cast<const std::uint64_t*>(storage + begins_offset);
    tables.segments =
        reinterpret_cast<const cuda_kernels::kernel_segment*>(storage + segments_offset);
    if (host.empty()) return;
    const std::vector<std::uint64_t> begins = cuda_kernels::kernel_segment_begins(host);
    staged = pinned_buffer(bytes);
    std::memcpy(staged.get(), begins.data(), begins.size() * sizeof(std::uint64_t));
    std::memcpy(staged.get() + (segments_offset - begins_offset), host.data(),
                host.size() * sizeof(cuda_kernels::kernel_segment));
    BLUEPRINT_CUDA_CHECK(cudaMemcpyAsync(storage + begins_offset, staged.get(), bytes,
                                         cudaMemcpyHostToDevice, stream));
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

/// The float-mode self-test (kernels/float_mode.hpp): runs the one-thread probe on `device`
/// (current) before its first kernel, once per device in each translation unit — `static`, so
/// that every .cu file, compiled with its own flags, checks its own kernels. Blocks the caller
/// once per device for a launch and a 20-byte copy.
/// @throws std::runtime_error naming the flag that breaks CPU = GPU bit-identity
static void check_float_mode(int device) {
  static std::atomic<bool> checked[64]{};
  const bool remembered = device >= 0 && device < 64;
  if (remembered && checked[device].load(std::memory_order_acquire)) return;
  cuda_stream stream;
  device_buffer probe(device, sizeof(float_mode_probe));
  auto* out = reinterpret_cast<float_mode_probe*>(probe.get());
  BLUEPRINT_CUDA_CHECK(cuda_kernels::launch_float_mode_probe(out, stream.get()));
  float_mode_probe got;
  BLUEPRINT_CUDA_CHECK(
      cudaMemcpyAsync(&got, out, sizeof got, cudaMemcpyDeviceToHost, stream.get()));
  BLUEPRINT_CUDA_CHECK(cudaStreamSynchronize(stream.get()));
  if (const std::string problem = float_mode_problem(got); !problem.empty())
    throw std::runtime_error("blueprint CUDA kernels on device " + std::to_string(device) +
                             " would not give the CPU's bits: " + problem +
                             " (docs/CUDA.md, \"Build flags\")");
  if (remembered) checked[device].store(true, std::memory_order_release);
}

}  // namespace blueprint::detail

namespace blueprint {
/// Frees the pinned staging the GPU loader keeps between loads (cuda_support.hpp).
inline void release_pinned_staging() {
  detail::pinned_staging_pool::instance().release();
}
}  // namespace blueprint

#endif  // __CUDACC__
