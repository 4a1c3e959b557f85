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

#include "checkpoint.hpp"
#include "checkpoints.hpp"
#include "communicator.hpp"
#include "cuda_load.hpp"
#include "cuda_support.hpp"
#include "load.hpp"
#include "materialize.hpp"
#include "save.hpp"

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

/// The arena of `bytes` bytes on `device`: one cudaMalloc, after checking the free memory.
/// @throws device_arena_error ("arena needs X bytes, device N has Y free") when it does not fit
inline device_buffer allocate_arena(int device, std::uint64_t bytes) {
  std::size_t free_bytes = 0, total_bytes = 0;
  BLUEPRINT_CUDA_CHECK(cudaMemGetInfo(&free_bytes, &total_bytes));
  if (bytes > free_bytes) throw device_arena_error(device, bytes, free_bytes, total_bytes);
  return device_buffer(device, bytes);
}

/// A model's layout (static or dynamic), as opposed to a bare table of tensors: it has what a
/// checkpoint is matched against.
template <class L>
concept model_layout = layout_like<L> && requires(const L& l) {
  l.model_name;
  l.policy;
  l.units;
  l.options;
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

  /// The model's layout (empty when materialized from a bare table): what load() and save()
  /// match the checkpoint's names against.
  [[nodiscard]] const std::optional<dynamic_layout>& layout() const { return layout_; }

  /// The report of the checkpoint load that filled this arena (materialize_options::checkpoint),
  /// or empty.
  [[nodiscard]] const std::optional<load_report>& checkpoint_report() const { return load_report_; }

  /// Runs the coverage check and throws poison_error naming the first unwritten tensor.
  void verify_coverage() const {
    const coverage_report r = check_coverage();
    if (!r.complete())
      throw poison_error("cuda materialize: " + std::to_string(r.unwritten_elements) +
                             " elements were not written; the first at arena byte " +
                             std::to_string(r.first_unwritten_offset) + ", tensor " +
                             r.first_unwritten_tensor,
                         r.first_unwritten_tensor, r.first_unwritten_offset);
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
  std::optional<dynamic_layout> layout_;  // empty for a bare table
  std::optional<load_report> load_report_;
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
    if constexpr (detail::model_layout<Layout>) {
      // From a checkpoint: keys are checked before the device allocation; the arena is zeroed
      // (or poisoned), then filled by the device loader (cuda_load.hpp): pinned staging of
      // load_options::staging_bytes, each rank reading only its own bytes.
      dynamic_layout dynamic = detail::to_dynamic_layout(layout);
      const checkpoint ckpt = open_checkpoint(options.checkpoint);
      const load_options load = detail::checked_load_options(dynamic, ckpt, options);
      materialize_options zeroed = options;
      zeroed.checkpoint.clear();
      zeroed.init = init_mode::skip;
      zeroed.poison = false;
      cuda enqueue_only = where;
      enqueue_only.synchronize = false;
      device_model m = make_device_model(dynamic, std::move(prog), enqueue_only, zeroed);
      detail::cuda_device_scope scope(where.device);
      if (options.poison && m.arena_bytes() != 0)
        BLUEPRINT_CUDA_CHECK(cudaMemsetAsync(m.arena_.get(), 0xFF, m.arena_bytes(), m.stream_));
      BLUEPRINT_CUDA_CHECK(cudaEventRecord(m.started_.get(), m.stream_));
      m.load_report_ = load_device_arena(*m.layout_, m.program_, m.arena_.get(), m.device_,
                                         m.stream_, ckpt, load);
      BLUEPRINT_CUDA_CHECK(cudaEventRecord(m.ready_.get(), m.stream_));
      if (options.poison) m.verify_coverage();
      if (where.synchronize) m.wait();
      return m;
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
  if constexpr (detail::model_layout<Layout>) m.layout_ = detail::to_dynamic_layout(layout);

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
  if (options.poison) m.verify_coverage();
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

// ---- checkpoints -------------------------------------------------------------------------

namespace detail {
[[nodiscard]] inline const dynamic_layout& layout_of(const device_model& model, const char* what) {
  if (!model.layout())
    throw std::invalid_argument(std::string(what) +
                                ": this device model was materialized from a bare table; "
                                "checkpoints need a model layout (blueprint::layout or "
                                "dynamic_layout_of)");
  return *model.layout();
}
}  // namespace detail

/// Loads the checkpoint at `path` into a device model (e.g. one materialized with
/// `{.init = skip}`) through pinned staging of `options.staging_bytes` (cuda_load.hpp). Missing
/// tensors, under `init_missing`, get the model's own seed unless `options.seed` says otherwise.
/// Blocks until the arena is complete. Throws checkpoint_error / checkpoint_key_error before
/// writing any byte of the arena.
inline load_report load(device_model& model, const std::string& path, load_options options = {},
                        const device_load_tuning& tuning = {}) {
  const dynamic_layout& l = detail::layout_of(model, "load");
  if (!options.seed) options.seed = model.seed();
  const checkpoint ckpt = open_checkpoint(path, options.limits);
  return load_device_arena(l, model.program(), model.data(), model.device(), model.stream(), ckpt,
                           options, tuning);
}

/// Saves a device model as a Hugging Face checkpoint: the arena is copied to the host (host
/// memory = this rank's arena), then written as save(materialized_model, ...) writes it. Every
/// rank of `comm` calls it with its own shard.
inline save_report save(const device_model& model, communicator& comm, const std::string& dir,
                        const save_options& options = {}) {
  const dynamic_layout& l = detail::layout_of(model, "save");
  if (comm.size() == 1) detail::require_whole_model(l, model.program());
  const std::vector<std::byte> host = model.copy_to_host();
  return save_arena(l, model.program(), host, comm, dir, options);
}

/// One process.
inline save_report save(const device_model& model, const std::string& dir,
                        const save_options& options = {}) {
  single_process_communicator comm;
  return save(model, comm, dir, options);
}

/// Rank `rank`'s shard of `plan`: only the first replica of each piece is written.
template <class Layout>
save_report save(const shard_plan<Layout>& plan, std::uint32_t rank, const device_model& model,
                 communicator& comm, const std::string& dir, const save_options& options = {}) {
  const std::vector<std::byte> host = model.copy_to_host();
  return save_arena(detail::layout_of(model, "save"), plan.counted_program(rank), host, comm, dir,
                    options);
}

}  // namespace blueprint

#endif  // __CUDACC__
