// Materializing a model, or one rank's shard of it, directly in GPU memory.
//
//   auto model = blueprint::materialize(layout, blueprint::cuda{.device = 0}, {.seed = 7});
//   auto shard = blueprint::materialize(plan, rank, blueprint::cuda{.device = local_rank},
//                                       {.seed = 7});
//   __nv_bfloat16* wq = model["model.layers.0.self_attn.q_proj.weight"].as<__nv_bfloat16>();
//
// One cudaMalloc for the arena (after checking that it fits), one upload of the segment table,
// one kernel launch on the caller's stream (kernels/cuda/materialize_kernel.cuh); no parameter
// is ever built on the host. The bytes are those of the CPU materializer bit for bit, and
// fingerprint() — computed on the device — equals the CPU's.
//
// This header is for translation units compiled by nvcc: everything below is inside
// `#if defined(__CUDACC__)`, so including it (or an umbrella that includes it) from a plain
// g++ build compiles to nothing. docs/CUDA.md says how to build and what is guaranteed.
#pragma once

#if defined(__CUDACC__)

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <blueprint/codegen/layout.hpp>
#include <blueprint/codegen/plan.hpp>
#include <blueprint/codegen/program.hpp>
#include <blueprint/kernels/cuda/materialize_kernel.cuh>
#include <blueprint/kernels/dtype.hpp>
#include <blueprint/kernels/segment.hpp>

#include "communicator.hpp"
#include "materialize.hpp"

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

namespace blueprint {

/// A GPU as the materialization target: the device, the stream the work is enqueued on
/// (nullptr: the default stream), and whether materialize() blocks until the arena is ready.
/// The options are the CPU's (materialize.hpp): `seed`; `init = skip` (the arena is zeroed,
/// no kernel); `poison` (the arena is filled with 0xFF first and, after the kernel, a device
/// pass proves every element of every segment was written: poison_error otherwise, naming the
/// first unwritten tensor; costs a memset, a read and a synchronization). `huge_pages` and
/// `populate` concern host memory and are ignored.
struct cuda {
  int device = 0;
  cudaStream_t stream = nullptr;
  /// false: return right after enqueueing; order later work with event() / wait(stream), and
  /// kernel faults surface at the next synchronizing call.
  bool synchronize = true;
};

/// A view of one tensor (or this rank's piece of it) in device memory.
struct device_tensor {
  void* data = nullptr;  // device pointer
  dtype type = dtype::f32;
  std::uint8_t rank = 0;
  std::uint64_t shape[max_rank]{};  // local shape
  std::uint64_t bytes = 0;
  std::uint64_t global_begin = 0;  // first global element (flat ZeRO-3 pieces)

  [[nodiscard]] std::uint64_t numel() const {
    std::uint64_t n = 1;
    for (std::size_t d = 0; d < rank; ++d) n *= shape[d];
    return n;
  }
  template <class T>
  [[nodiscard]] T* as() const {
    return static_cast<T*>(data);
  }
};

/// What the poison check found. complete(): every element of every segment was written.
struct coverage_report {
  std::uint64_t unwritten_elements = 0;
  std::uint64_t first_unwritten_offset = 0;  // arena byte (valid when unwritten_elements > 0)
  std::string first_unwritten_tensor;        // its tensor's name, or "padding"
  std::uint64_t gap_poison_bytes = 0;        // bytes outside every segment (informative)
  [[nodiscard]] bool complete() const { return unwritten_elements == 0; }
};

/// Thrown when a device arena does not fit: says the bytes asked for and the bytes free.
class device_arena_error : public std::runtime_error {
 public:
  device_arena_error(int device, std::uint64_t asked, std::uint64_t free, std::uint64_t total)
      : std::runtime_error("cuda materialize: arena needs " + std::to_string(asked) +
                           " bytes, device " + std::to_string(device) + " has " +
                           std::to_string(free) + " free (of " + std::to_string(total) + ")"),
        asked_(asked),
        free_(free) {}
  [[nodiscard]] std::uint64_t asked() const { return asked_; }
  [[nodiscard]] std::uint64_t free_bytes() const { return free_; }

 private:
  std::uint64_t asked_, free_;
};

namespace detail {

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

/// The arena of `bytes` bytes on `device`: one cudaMalloc, after checking the free memory.
/// @throws device_arena_error ("arena needs X bytes, device N has Y free") when it does not fit
inline device_buffer allocate_arena(int device, std::uint64_t bytes) {
  std::size_t free_bytes = 0, total_bytes = 0;
  BLUEPRINT_CUDA_CHECK(cudaMemGetInfo(&free_bytes, &total_bytes));
  if (bytes > free_bytes) throw device_arena_error(device, bytes, free_bytes, total_bytes);
  return device_buffer(device, bytes);
}

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

struct tensor_entry {
  std::string name;
  std::optional<local_tensor> local;  // empty: the layout has it, this arena does not
};

}  // namespace detail

/// A model (or one rank's shard) materialized in one device allocation.
class device_model {
 public:
  device_model(const device_model&) = delete;
  device_model& operator=(const device_model&) = delete;
  device_model(device_model&&) noexcept = default;
  device_model& operator=(device_model&&) noexcept = default;
  ~device_model() = default;

  /// The arena (device memory).
  [[nodiscard]] std::span<std::byte> arena() const { return {arena_.get(), arena_bytes()}; }
  [[nodiscard]] std::byte* data() const { return arena_.get(); }
  [[nodiscard]] std::uint64_t arena_bytes() const { return program_.arena_bytes; }
  [[nodiscard]] int device() const { return device_; }
  [[nodiscard]] cudaStream_t stream() const { return stream_; }
  [[nodiscard]] std::uint64_t seed() const { return seed_; }
  [[nodiscard]] const ::blueprint::program& program() const { return program_; }

  /// The tensor called `name` (ties resolve to their target).
  /// @throws std::out_of_range naming the tensor when the model does not have it, or when this
  ///         rank holds no piece of it
  [[nodiscard]] device_tensor operator[](std::string_view name) const {
    const detail::tensor_entry* e = find(name);
    if (e == nullptr) throw tensor_not_found("device_model: no tensor '" + std::string(name) + "'");
    if (!e->local)
      throw tensor_not_found("device_model: tensor '" + std::string(name) +
                             "' is not held by this rank");
    const local_tensor& l = *e->local;
    device_tensor t;
    t.data = arena_.get() + l.offset;
    t.type = l.type;
    t.rank = l.rank;
    for (std::size_t d = 0; d < max_rank; ++d) t.shape[d] = l.shape[d];
    t.bytes = l.bytes;
    t.global_begin = l.global_begin;
    return t;
  }
  /// True when this arena holds `name` (or a piece of it).
  [[nodiscard]] bool contains(std::string_view name) const {
    const detail::tensor_entry* e = find(name);
    return e != nullptr && e->local.has_value();
  }

  /// Recorded on the stream right after the fill kernel.
  [[nodiscard]] cudaEvent_t event() const { return ready_.get(); }
  /// Blocks the host until the arena is ready. @throws cuda_error (kernel faults surface here)
  void wait() const { BLUEPRINT_CUDA_CHECK(cudaEventSynchronize(ready_.get())); }
  /// Makes `other` (a stream of the same device) wait for the arena, without blocking the host.
  void wait(cudaStream_t other) const {
    BLUEPRINT_CUDA_CHECK(cudaStreamWaitEvent(other, ready_.get(), 0));
  }
  /// Milliseconds the fill kernel took on the device (waits for it).
  [[nodiscard]] float fill_milliseconds() const {
    wait();
    float ms = 0;
    BLUEPRINT_CUDA_CHECK(cudaEventElapsedTime(&ms, started_.get(), ready_.get()));
    return ms;
  }

  /// Sum (mod 2^64) of element_fingerprint(tensor id, global index, stored bits) over every
  /// element of every non-padding segment of program(), computed on the device from the bytes
  /// now in the arena: equal to the CPU materialized_model::fingerprint() of the same program.
  /// For a rank of a shard plan, shard_fingerprint() counts replicas once. Synchronizes.
  [[nodiscard]] std::uint64_t fingerprint() const { return fingerprint_on(table_.tables); }

  /// The same sum over the segments of `p`, a program over this arena (e.g. a plan's
  /// counted_program(rank)). Synchronizes.
  /// @throws std::invalid_argument when p.arena_bytes differs from arena_bytes()
  [[nodiscard]] std::uint64_t fingerprint_of(const ::blueprint::program& p) const {
    if (p.arena_bytes != arena_bytes())
      throw std::invalid_argument("device_model::fingerprint_of: the program's arena has " +
                                  std::to_string(p.arena_bytes) + " bytes, this one " +
                                  std::to_string(arena_bytes()));
    detail::cuda_device_scope scope(device_);
    detail::device_table t;
    t.plan(p, 0);
    detail::device_buffer storage(device_, t.bytes);
    t.upload(storage.get(), stream_);
    const std::uint64_t sum = fingerprint_on(t.tables);  // synchronizes before `storage` goes
    return sum;
  }

  /// Counts the elements still holding the 0xFF poison (meaningful after a poisoned
  /// materialization, or after filling the arena with 0xFF and re-running). Synchronizes.
  [[nodiscard]] coverage_report check_coverage() const {
    detail::cuda_device_scope scope(device_);
    auto* counters = reinterpret_cast<cuda_kernels::coverage_counters*>(scratch() + 16);
    const cuda_kernels::coverage_counters init{0, ~0ull, 0};
    BLUEPRINT_CUDA_CHECK(
        cudaMemcpyAsync(counters, &init, sizeof init, cudaMemcpyHostToDevice, stream_));
    BLUEPRINT_CUDA_CHECK(
        cuda_kernels::launch_coverage(table_.tables, arena_.get(), counters, device_, stream_));
    cuda_kernels::coverage_counters host{};
    BLUEPRINT_CUDA_CHECK(
        cudaMemcpyAsync(&host, counters, sizeof host, cudaMemcpyDeviceToHost, stream_));
    BLUEPRINT_CUDA_CHECK(cudaStreamSynchronize(stream_));
    coverage_report r;
    r.unwritten_elements = host.unwritten_elements;
    r.gap_poison_bytes = host.gap_poison_bytes;
    if (r.unwritten_elements != 0) {
      r.first_unwritten_offset = host.first_unwritten;
      r.first_unwritten_tensor = owner_of(host.first_unwritten);
    }
    return r;
  }

  /// The arena's bytes on the host (for tests and debugging). Synchronizes.
  [[nodiscard]] std::vector<std::byte> copy_to_host() const {
    detail::cuda_device_scope scope(device_);
    std::vector<std::byte> out(arena_bytes());
    if (!out.empty())
      BLUEPRINT_CUDA_CHECK(
          cudaMemcpyAsync(out.data(), arena_.get(), out.size(), cudaMemcpyDeviceToHost, stream_));
    BLUEPRINT_CUDA_CHECK(cudaStreamSynchronize(stream_));
    return out;
  }

  /// Runs the fill kernel again with `seed` (same arena, same table), e.g. for timing.
  void refill(std::uint64_t seed) {
    detail::cuda_device_scope scope(device_);
    seed_ = seed;
    launch();
  }

 private:
  template <class Layout>
  friend device_model make_device_model(const Layout& layout, ::blueprint::program prog, cuda where,
                                        const materialize_options& options);

  device_model() = default;

  [[nodiscard]] std::byte* scratch() const { return tables_.get() + scratch_offset_; }

  [[nodiscard]] std::uint64_t fingerprint_on(const cuda_kernels::kernel_tables& t) const {
    detail::cuda_device_scope scope(device_);
    auto* result = reinterpret_cast<unsigned long long*>(scratch());
    BLUEPRINT_CUDA_CHECK(cudaMemsetAsync(result, 0, sizeof(unsigned long long), stream_));
    BLUEPRINT_CUDA_CHECK(
        cuda_kernels::launch_fingerprint(t, arena_.get(), result, device_, stream_));
    unsigned long long host = 0;
    BLUEPRINT_CUDA_CHECK(
        cudaMemcpyAsync(&host, result, sizeof host, cudaMemcpyDeviceToHost, stream_));
    BLUEPRINT_CUDA_CHECK(cudaStreamSynchronize(stream_));
    return host;
  }

  void launch() {
    BLUEPRINT_CUDA_CHECK(cudaEventRecord(started_.get(), stream_));
    if (skip_) {
      if (arena_bytes() != 0)
        BLUEPRINT_CUDA_CHECK(cudaMemsetAsync(arena_.get(), 0, arena_bytes(), stream_));
    } else {
      BLUEPRINT_CUDA_CHECK(
          cuda_kernels::launch_materialize(table_.tables, arena_.get(), seed_, device_, stream_));
    }
    BLUEPRINT_CUDA_CHECK(cudaEventRecord(ready_.get(), stream_));
  }

  [[nodiscard]] const detail::tensor_entry* find(std::string_view name) const {
    for (const detail::tensor_entry& e : tensors_)
      if (e.name == name) return &e;
    for (const auto& [tie, target] : ties_)
      if (tie == name) return target < tensors_.size() ? &tensors_[target] : nullptr;
    return nullptr;
  }

  [[nodiscard]] std::string owner_of(std::uint64_t byte) const {
    for (const segment& s : program_.segments) {
      if (byte < s.arena_offset || byte >= s.arena_offset + s.bytes()) continue;
      const std::string element =
          "element " + std::to_string((byte - s.arena_offset) / dtype_size(s.type));
      if (s.padding != 0) return "padding (" + element + ")";
      if (s.tensor_index >= tensors_.size())
        return "(no layout row; segment at arena byte " + std::to_string(s.arena_offset) + ", " +
               element + ")";
      return "'" + tensors_[s.tensor_index].name + "' (" + element + " of its segment)";
    }
    return "no segment";
  }

  ::blueprint::program program_;
  std::vector<detail::tensor_entry> tensors_;  // by layout row
  std::vector<std::pair<std::string, std::size_t>> ties_;
  detail::device_buffer arena_;
  detail::device_buffer tables_;  // segment tables + scratch for the reductions
  detail::device_table table_;
  bool skip_ = false;
  std::size_t scratch_offset_ = 0;
  int device_ = 0;
  cudaStream_t stream_ = nullptr;
  std::uint64_t seed_ = 0;
  detail::cuda_event started_;
  detail::cuda_event ready_;
};

/// The common path of every overload below.
template <class Layout>
device_model make_device_model(const Layout& layout, ::blueprint::program prog, cuda where,
                               const materialize_options& options) {
  if (!options.checkpoint.empty()) {
    if constexpr (requires {
                    layout.model_name;
                    layout.policy;
                    layout.units;
                  }) {
      // From a checkpoint: read and cast on the host by the CPU load program (each rank its own
      // bytes), then one host-to-device copy. Not yet the pinned, double-buffered path of
      // docs/CHECKPOINTS.md: host memory here is the rank's arena, not a fixed staging buffer.
      materialize_options host_options = options;
      host_options.poison = false;
      materialized_model host = materialize(layout, prog, cpu{}, host_options);
      materialize_options device_options = options;
      device_options.checkpoint.clear();
      device_options.init = init_mode::skip;
      device_options.poison = false;
      device_model d = make_device_model(layout, host.program(), where, device_options);
      detail::cuda_device_scope scope(where.device);
      BLUEPRINT_CUDA_CHECK(cudaMemcpyAsync(d.arena_.get(), host.arena().data(), host.arena().size(),
                                           cudaMemcpyHostToDevice, d.stream_));
      BLUEPRINT_CUDA_CHECK(cudaStreamSynchronize(d.stream_));
      return d;
    } else {
      throw std::invalid_argument(
          "cuda materialize: loading a checkpoint needs a model layout (blueprint::layout or "
          "dynamic_layout_of), not a bare table");
    }
  }
  device_model m;
  m.device_ = where.device;
  m.stream_ = where.stream;
  m.seed_ = options.seed;
  m.skip_ = options.init == init_mode::skip;

  const auto tensors = layout.tensors();
  m.tensors_.resize(tensors.size());
  for (std::size_t i = 0; i < tensors.size(); ++i)
    m.tensors_[i].name = std::string(tensors[i].name());
  for (const local_tensor& l : prog.tensors)
    if (l.tensor_index < m.tensors_.size() && !m.tensors_[l.tensor_index].local)
      m.tensors_[l.tensor_index].local = l;
  for (const auto& tie : layout.ties()) m.ties_.emplace_back(std::string(tie.name()), tie.target);

  // The table is validated on the host before the device is touched.
  m.table_.plan(prog, 0);
  detail::cuda_device_scope scope(where.device);
  m.scratch_offset_ = m.table_.bytes;
  m.program_ = std::move(prog);
  m.arena_ = detail::allocate_arena(where.device, m.program_.arena_bytes);
  m.tables_ = detail::device_buffer(where.device, m.scratch_offset_ + 64);  // + reductions
  m.table_.upload(m.tables_.get(), m.stream_);

  m.started_.create();
  m.ready_.create();
  if (options.poison && m.program_.arena_bytes != 0)
    BLUEPRINT_CUDA_CHECK(cudaMemsetAsync(m.arena_.get(), 0xFF, m.program_.arena_bytes, m.stream_));
  m.launch();
  if (options.poison) {
    const coverage_report r = m.check_coverage();
    if (!r.complete())
      throw poison_error("cuda materialize: " + std::to_string(r.unwritten_elements) +
                             " elements were not written; the first at arena byte " +
                             std::to_string(r.first_unwritten_offset) + ", tensor " +
                             r.first_unwritten_tensor,
                         r.first_unwritten_tensor, r.first_unwritten_offset);
  }
  if (where.synchronize) m.wait();
  return m;
}

/// Layouts: anything with tensors(), ties() and total_bytes() (static and dynamic layouts).
template <class L>
concept MaterializableLayout = requires(const L& l) {
  l.tensors();
  l.ties();
  l.total_bytes();
};

/// The whole model of `layout` on one device.
template <MaterializableLayout Layout>
[[nodiscard]] device_model materialize(const Layout& layout, cuda where,
                                       const materialize_options& options = {}) {
  return make_device_model(layout, program_of(layout), where, options);
}

/// An explicit program over `layout` (e.g. a rank's program built elsewhere).
/// @pre prog was made from `layout` (tensor_index refers to layout.tensors())
template <MaterializableLayout Layout>
[[nodiscard]] device_model materialize(const Layout& layout, ::blueprint::program prog, cuda where,
                                       const materialize_options& options = {}) {
  return make_device_model(layout, std::move(prog), where, options);
}

/// Rank `rank` of a shard plan, on the given device (usually the local rank's).
template <class Layout>
[[nodiscard]] device_model materialize(const shard_plan<Layout>& plan, std::uint32_t rank,
                                       cuda where, const materialize_options& options = {}) {
  if (rank >= plan.world_size())
    throw std::invalid_argument("cuda materialize: rank " + std::to_string(rank) +
                                " is outside the mesh of " + std::to_string(plan.world_size()) +
                                " ranks");
  return make_device_model(plan.layout(), plan.program(rank), where, options);
}

/// This rank's contribution to the whole model's fingerprint (replicas counted once, see
/// shard_plan::counted_program), computed on the device. Summed over the ranks it equals the
/// unsharded model's fingerprint, as the CPU's shard_fingerprint (sharded.hpp).
template <class Layout>
[[nodiscard]] std::uint64_t shard_fingerprint(const shard_plan<Layout>& plan, std::uint32_t rank,
                                              const device_model& shard) {
  return shard.fingerprint_of(plan.counted_program(rank));
}

/// The whole model's fingerprint on every rank: one all-reduce (an nccl_communicator for GPU
/// ranks, or any other communicator).
template <class Layout>
[[nodiscard]] std::uint64_t sharded_fingerprint(const shard_plan<Layout>& plan, std::uint32_t rank,
                                                const device_model& shard, communicator& comm) {
  return comm.allreduce_sum_u64(shard_fingerprint(plan, rank, shard));
}

}  // namespace blueprint

#endif  // __CUDACC__
