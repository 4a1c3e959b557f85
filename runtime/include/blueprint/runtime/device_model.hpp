// The device model: a model, or one rank's shard of it, materialized directly in GPU memory
// (cuda.hpp adds its checkpoint load and save; include that).
//
//   auto model = blueprint::materialize(layout, blueprint::cuda{.device = 0},
//                                       {.source = blueprint::init{.seed = 7}});
//   auto shard = blueprint::materialize(plan, rank, blueprint::cuda{.device = local_rank},
//                                       {.source = blueprint::checkpoint{.path = "ckpt/"}});
//   __nv_bfloat16* wq = model["model.layers.0.self_attn.q_proj.weight"].as<__nv_bfloat16>();
//   std::uint64_t fp = blueprint::fingerprint(shard, comm);  // the whole model's
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

#include "arena_index.hpp"
#include "checkpoint_files.hpp"
#include "communicator.hpp"
#include "cuda_load.hpp"
#include "cuda_support.hpp"
#include "key_match.hpp"
#include "materialize.hpp"
#include "source.hpp"

namespace blueprint {

/// A GPU as the materialization target: the device, the stream the work is enqueued on
/// (nullptr: the default stream), and whether materialize() blocks until the arena is ready.
/// The options are the CPU's (materialize.hpp): the source (`init{.seed}`; `checkpoint{...}`,
/// loaded through pinned staging by cuda_load.hpp; `no_init{}`: the arena is zeroed, no kernel);
/// `poison` (the arena is filled with 0xFF first and, after the fill, a device pass proves every
/// element of every segment was written: poison_error otherwise, naming the first unwritten
/// tensor; costs a memset, a read and a synchronization). `huge_pages` and `populate` concern
/// host memory and are ignored.
struct cuda {
  static constexpr device_tier map_tier = device_tier::gpu;  // a device map's GPU tier
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

/// The arena of `bytes` bytes on `device`: one cudaMalloc, after checking the free memory.
/// @throws device_arena_error ("arena needs X bytes, device N has Y free") when it does not fit
inline device_buffer allocate_arena(int device, std::uint64_t bytes) {
  std::size_t free_bytes = 0, total_bytes = 0;
  BLUEPRINT_CUDA_CHECK(cudaMemGetInfo(&free_bytes, &total_bytes));
  if (bytes > free_bytes) throw device_arena_error(device, bytes, free_bytes, total_bytes);
  return device_buffer(device, bytes);
}

}  // namespace detail

/// A model (or one rank's shard) materialized in one device allocation. Its name index, lookup
/// errors and ties are the host model's (arena_index.hpp); only the memory differs.
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
  [[nodiscard]] std::uint64_t arena_bytes() const { return program().arena_bytes; }
  [[nodiscard]] int device() const { return device_; }
  [[nodiscard]] cudaStream_t stream() const { return stream_; }
  /// The init seed: what a fresh init used, and what a reload gives missing tensors.
  [[nodiscard]] std::uint64_t seed() const { return seed_; }
  [[nodiscard]] const arena_index& index() const { return index_; }
  [[nodiscard]] const ::blueprint::program& program() const { return index_.program(); }
  /// The model's layout: what load() and save() match the checkpoint's names against.
  [[nodiscard]] const dynamic_layout& layout() const { return index_.layout(); }

  /// The tensor called `name` (ties resolve to their target).
  /// @throws tensor_not_found (arena_index::find: the host model's lookup and messages)
  [[nodiscard]] device_tensor operator[](std::string_view name) const {
    const local_tensor& l = index_.find(name);
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
  [[nodiscard]] bool contains(std::string_view name) const { return index_.contains(name); }

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

  /// This arena's contribution to the whole model's fingerprint (its counted program: replicas
  /// of a plan once), computed on the device from the bytes now in the arena; equal to the CPU
  /// model's. The free function fingerprint(m[, comm]) is the documented way in. Synchronizes.
  [[nodiscard]] std::uint64_t fingerprint() const {
    if (counted_is_program_) return fingerprint_on(table_.tables);
    return fingerprint_of(index_.counted_program());
  }

  /// The same sum over the segments of `p`, a program over this arena. Synchronizes.
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
      r.first_unwritten_tensor = index_.owner_of(host.first_unwritten);
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

  /// The report of the checkpoint load that filled this arena; null for an init.
  [[nodiscard]] const blueprint::load_report* load_report() const {
    return report_ ? &*report_ : nullptr;
  }

  /// Runs the coverage check and throws poison_error naming the first unwritten tensor.
  void verify_coverage() const {
    const coverage_report r = check_coverage();
    if (!r.complete())
      throw poison_error("cuda materialize: " + std::to_string(r.unwritten_elements) +
                             " elements were not written; the first at arena byte " +
                             std::to_string(r.first_unwritten_offset) + ", " +
                             r.first_unwritten_tensor,
                         r.first_unwritten_tensor, r.first_unwritten_offset);
  }

  /// Runs the fill kernel again with `seed` (same arena, same table), e.g. for timing.
  void refill(std::uint64_t seed) {
    detail::cuda_device_scope scope(device_);
    seed_ = seed;
    skip_ = false;
    launch();
  }

 private:
  friend device_model materialize_on_device(arena_index, cuda, const materialize_options&);

  explicit device_model(arena_index index) : index_(std::move(index)) {}

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

  arena_index index_;
  std::optional<blueprint::load_report> report_;
  detail::device_buffer arena_;
  detail::device_buffer tables_;  // segment tables + scratch for the reductions
  detail::device_table table_;
  bool skip_ = false;
  bool counted_is_program_ = true;
  std::size_t scratch_offset_ = 0;
  int device_ = 0;
  cudaStream_t stream_ = nullptr;
  std::uint64_t seed_ = 0;
  detail::cuda_event started_;
  detail::cuda_event ready_;
};

/// The common path of every device materialize: the checkpoint's headers, index and keys are
/// validated, and the segment table planned, before the device is touched; then one arena
/// allocation, one table upload, and the fill (one kernel launch) or the device loader
/// (cuda_load.hpp: pinned staging of checkpoint::staging_bytes, each rank reading only its own
/// bytes; init-sourced segments in one kernel launch).
inline device_model materialize_on_device(arena_index index, cuda where,
                                          const materialize_options& options) {
  std::optional<matched_checkpoint> matched;
  const auto* source = std::get_if<checkpoint>(&options.source);
  if (source != nullptr) matched = match_checkpoint(index.layout(), *source);

  device_model m(std::move(index));
  m.device_ = where.device;
  m.stream_ = where.stream;
  m.seed_ = seed_of(options.source);
  m.skip_ = !std::holds_alternative<init>(options.source);
  {
    const std::vector<segment>& a = m.index_.program().segments;
    const std::vector<segment>& b = m.index_.counted_program().segments;
    m.counted_is_program_ =
        a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(segment)) == 0;
  }
  m.table_.plan(m.program(), 0);
  detail::cuda_device_scope scope(where.device);
  detail::check_float_mode(where.device);
  m.scratch_offset_ = m.table_.bytes;
  m.arena_ = detail::allocate_arena(where.device, m.program().arena_bytes);
  m.tables_ = detail::device_buffer(where.device, m.scratch_offset_ + 64);  // + reductions
  m.table_.upload(m.tables_.get(), m.stream_);
  m.started_.create();
  m.ready_.create();
  if (options.poison && m.arena_bytes() != 0)
    BLUEPRINT_CUDA_CHECK(cudaMemsetAsync(m.arena_.get(), 0xFF, m.arena_bytes(), m.stream_));
  if (source != nullptr) {
    checkpoint load = *source;
    load.seed = m.seed_;
    BLUEPRINT_CUDA_CHECK(cudaEventRecord(m.started_.get(), m.stream_));
    m.report_ = load_device_arena(m.layout(), m.program(), m.arena_.get(), m.device_, m.stream_,
                                  *matched->files, std::move(matched->match), load);
    BLUEPRINT_CUDA_CHECK(cudaEventRecord(m.ready_.get(), m.stream_));
  } else if (options.poison && m.skip_) {
    BLUEPRINT_CUDA_CHECK(cudaEventRecord(m.started_.get(), m.stream_));
    BLUEPRINT_CUDA_CHECK(cudaEventRecord(m.ready_.get(), m.stream_));
    if (where.synchronize) m.wait();
    return m;  // no_init under poison: the 0xFF stays, nothing to verify
  } else {
    m.launch();
  }
  if (options.poison) m.verify_coverage();
  if (where.synchronize) m.wait();
  return m;
}

/// The whole model of `layout` on one device.
/// @throws checkpoint_error / checkpoint_key_error (before the device is touched) for a
///         checkpoint source; device_arena_error when the arena does not fit; cuda_error
template <Layout L>
[[nodiscard]] device_model materialize(const L& layout, cuda where,
                                       const materialize_options& options = {}) {
  program prog = program_of(layout);
  program counted = prog;
  return materialize_on_device(arena_index(to_dynamic(layout), std::move(prog), std::move(counted)),
                               where, options);
}

/// Rank `rank` of a shard plan, on the given device (usually the local rank's).
template <class L>
[[nodiscard]] device_model materialize(const shard_plan<L>& plan, std::uint32_t rank, cuda where,
                                       const materialize_options& options = {}) {
  if (rank >= plan.world_size())
    throw std::invalid_argument("cuda materialize: rank " + std::to_string(rank) +
                                " is outside the mesh of " + std::to_string(plan.world_size()) +
                                " ranks");
  return materialize_on_device(
      arena_index(to_dynamic(plan.layout()), plan.program(rank), plan.counted_program(rank)), where,
      options);
}

/// An explicit program over `layout`; all of it counts toward the fingerprint.
/// @pre prog was made from `layout` (tensor_index refers to layout.tensors())
template <Layout L>
[[nodiscard]] device_model materialize(const L& layout, ::blueprint::program prog, cuda where,
                                       const materialize_options& options = {}) {
  program counted = prog;
  return materialize_on_device(arena_index(to_dynamic(layout), std::move(prog), std::move(counted)),
                               where, options);
}

/// The whole model's fingerprint, for a whole model or any shard: this arena's counted part,
/// summed over the ranks of `comm` (an nccl_communicator for GPU ranks, or any other).
[[nodiscard]] inline std::uint64_t fingerprint(const device_model& model, communicator& comm) {
  return comm.allreduce_sum_u64(model.fingerprint());
}
/// One process: the whole model's fingerprint when `model` holds all of it, else this shard's
/// contribution.
[[nodiscard]] inline std::uint64_t fingerprint(const device_model& model) {
  return model.fingerprint();
}

}  // namespace blueprint

#endif  // __CUDACC__
