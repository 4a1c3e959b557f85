// A model over the tiers of a device map: GPU arenas, one host arena, and disk — the disk tier
// a safetensors file in the offload folder, or the checkpoint's own file, mapped read-only.
//
//   auto map = blueprint::device_map(layout, {.max_memory = {{blueprint::device_ref::gpu(0),
//                                     40_GiB}, {blueprint::cpu{}, 64_GiB}},
//                                     .offload_dir = "/nvme/offload"});
//   auto model = blueprint::materialize(map, {.source = blueprint::checkpoint{"ckpt/"}});
//   model["lm_head.weight"].where();   // cuda:1, cpu or disk
//
// The plan (codegen/device_map.hpp) gives every tier its program over the one layout, so a tier
// is an ordinary materialize of that program: the checkpoint's keys are matched once for the
// whole model before any tier is allocated, then each tier reads its own tensors (each byte of
// the checkpoint read once, cast on the way) or runs their init; a partial checkpoint under
// `init_missing` fills its gaps on whatever tier they sit, and `{.poison = true}` proves every
// byte of every tier written. The disk tier's arena is a file: its safetensors header is written
// first, the data region is mapped shared and filled in place (the page cache, not the heap,
// holds it), then made read-only. Tensors the checkpoint already holds in their target dtype are
// not copied at all: their views point into a read-only mapping of the checkpoint file (on the
// disk tier always; for a whole host tier when a map has no GPU and every host tensor can be).
// The whole model's fingerprint is the sum over tiers, equal to the one-device model's.
//
// GPU tiers need nvcc: `materialize(map, cuda{}, options)` in cuda.hpp; this header's
// `materialize(map, options)` refuses a map that places anything on a GPU.
#pragma once

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <blueprint/codegen/device_map.hpp>

#include "file_io.hpp"
#include "materialize.hpp"
#include "safetensors.hpp"

namespace blueprint {

/// A tensor of a mapped model: the view (for a GPU tier, `data` is a device pointer), where it
/// lives, and whether it is the checkpoint's own bytes (read-only, no copy).
struct mapped_view : tensor_view {
  device_ref device;
  bool in_place = false;

  [[nodiscard]] device_ref where() const { return device; }
};

/// A GPU tier of a mapped model; cuda.hpp implements it with a device_model.
class gpu_tier {
 public:
  virtual ~gpu_tier() = default;
  [[nodiscard]] virtual bool contains(std::string_view name) const = 0;
  /// @pre contains(name)
  [[nodiscard]] virtual tensor_view view(std::string_view name) const = 0;
  [[nodiscard]] virtual std::uint64_t fingerprint() const = 0;
  [[nodiscard]] virtual std::uint64_t bytes() const = 0;
  [[nodiscard]] virtual const blueprint::load_report* load_report() const = 0;
};

namespace detail {

/// A read-only shared mapping of a whole file (a checkpoint file whose tensors are used in
/// place).
class file_mapping {
 public:
  file_mapping() = default;
  file_mapping(int fd, std::uint64_t bytes, const std::string& path) : bytes_(bytes) {
    if (bytes == 0) return;
    void* p = ::mmap(nullptr, static_cast<std::size_t>(bytes), PROT_READ, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) detail::throw_errno(path, std::nullopt, "cannot map the file");
    data_ = static_cast<const std::byte*>(p);
  }
  file_mapping(file_mapping&& o) noexcept
      : data_(std::exchange(o.data_, nullptr)), bytes_(std::exchange(o.bytes_, 0)) {}
  file_mapping& operator=(file_mapping&&) = delete;
  ~file_mapping() {
    if (data_ != nullptr) ::munmap(const_cast<std::byte*>(data_), static_cast<std::size_t>(bytes_));
  }
  [[nodiscard]] const std::byte* data() const { return data_; }

 private:
  const std::byte* data_ = nullptr;
  std::uint64_t bytes_ = 0;
};

/// A tensor served from the checkpoint's mapping.
struct in_place_tensor {
  std::uint32_t tensor_index = 0;
  const std::byte* data = nullptr;
};

/// True when tensor `i` can be a view of the checkpoint file: it loads from the file in its
/// own dtype, at an offset aligned to its element size.
[[nodiscard]] inline bool can_stay_in_place(const dynamic_layout& layout, const load_match& match,
                                            const checkpoint_files& files, std::uint32_t i) {
  const tensor_source& s = match.sources[i];
  if (s.from != tensor_source::kind::file) return false;
  const placed_tensor& t = layout.tensors()[i];
  const std::optional<dtype> stored = to_storage_dtype(s.entry->info->type);
  const std::uint64_t at = files.file_of(*s.entry).header.data_start + s.entry->info->begin;
  return stored && *stored == t.type && s.entry->info->type != st_dtype::f64 &&
         at % dtype_size(t.type) == 0;
}

}  // namespace detail

/// A model over the tiers of a device map. Move-only; views stay valid while it lives.
/// Made by materialize(map, ...).
class mapped_model {
 public:
  mapped_model(mapped_model&&) noexcept = default;
  mapped_model& operator=(mapped_model&&) noexcept = default;
  mapped_model(const mapped_model&) = delete;
  mapped_model& operator=(const mapped_model&) = delete;

  /// The tensor (or tied alias) `name`, with where it lives.
  /// @throws tensor_not_found naming it, with the closest name
  [[nodiscard]] mapped_view operator[](std::string_view name) const {
    const device_ref d = where(name);
    mapped_view v;
    v.device = d;
    const std::size_t index = *map_.layout.find(name);
    for (const detail::in_place_tensor& t : in_place_) {
      if (t.tensor_index != index) continue;
      const placed_tensor& p = map_.layout.tensors()[index];
      static_cast<tensor_view&>(v) = {p.name(), p.shape(), p.type, const_cast<std::byte*>(t.data),
                                      p.bytes};
      v.in_place = true;
      return v;
    }
    if (d.tier == device_tier::gpu) {
      for (const auto& [device, tier] : gpus_)
        if (device == d) static_cast<tensor_view&>(v) = tier->view(name);
      return v;
    }
    const materialized_model& m = d.tier == device_tier::cpu ? *host_ : *offload_;
    static_cast<tensor_view&>(v) = m[name];
    return v;
  }
  /// Where `name` lives. @throws tensor_not_found naming it
  [[nodiscard]] device_ref where(std::string_view name) const {
    if (!map_.layout.find(name))
      throw tensor_not_found("tensor '" + std::string(name) + "' of model '" +
                             std::string(map_.layout.model_name) + "' does not exist");
    return map_.where(name);
  }
  [[nodiscard]] bool contains(std::string_view name) const {
    return map_.layout.find(name).has_value();
  }

  /// The whole model's fingerprint: the sum of the tiers', equal to the one-device model's.
  [[nodiscard]] std::uint64_t fingerprint() const {
    std::uint64_t sum = 0;
    for (const auto& [device, tier] : gpus_) sum += tier->fingerprint();
    if (host_) sum += host_->fingerprint();
    if (offload_) sum += offload_->fingerprint();
    for (const detail::in_place_tensor& t : in_place_) {
      const std::uint32_t one[] = {t.tensor_index};
      const program p = program_of_tensors(map_.layout, one, 1);
      for (const segment& s : p.segments) sum += segment_fingerprint(s, 0, s.count, t.data);
    }
    return sum;
  }

  [[nodiscard]] const device_map_plan& map() const { return map_; }
  /// The host tier (null when nothing lives there in an arena of its own).
  [[nodiscard]] const materialized_model* host() const { return host_ ? &*host_ : nullptr; }
  /// The disk tier's offload arena (null when nothing was written to the offload folder).
  [[nodiscard]] const materialized_model* offload() const {
    return offload_ ? &*offload_ : nullptr;
  }
  /// The offload file ("" when none).
  [[nodiscard]] const std::string& offload_file() const { return offload_file_.path; }
  /// Bytes of tensors served from the checkpoint's own file.
  [[nodiscard]] std::uint64_t in_place_bytes() const {
    std::uint64_t n = 0;
    for (const detail::in_place_tensor& t : in_place_)
      n += map_.layout.tensors()[t.tensor_index].bytes;
    return n;
  }
  /// The load report (keys matched once for the whole model, bytes summed over the tiers);
  /// null for an init.
  [[nodiscard]] const blueprint::load_report* load_report() const {
    return report_ ? &*report_ : nullptr;
  }

 private:
  template <class MakeGpuTier>
  friend mapped_model materialize_mapped(const device_map_plan&, const materialize_options&, cpu,
                                         MakeGpuTier&&);
  explicit mapped_model(const device_map_plan& map) : map_(map) {}
  /// The disk tier is read-only once filled.
  static void seal(materialized_model& m) { m.arena_.make_read_only(); }

  /// The offload file, removed with the model (moves hand it on).
  struct owned_file {
    std::string path;
    owned_file() = default;
    owned_file(owned_file&& o) noexcept : path(std::exchange(o.path, {})) {}
    owned_file& operator=(owned_file&& o) noexcept {
      if (this != &o) {
        remove();
        path = std::exchange(o.path, {});
      }
      return *this;
    }
    ~owned_file() { remove(); }
    void remove() {
      std::error_code ec;
      if (!path.empty()) std::filesystem::remove(path, ec);
      path.clear();
    }
  };

  device_map_plan map_;
  std::vector<std::pair<device_ref, std::unique_ptr<gpu_tier>>> gpus_;
  std::optional<materialized_model> host_;
  owned_file offload_file_;  // destroyed after offload_ (declared before it)
  std::optional<materialized_model> offload_;
  std::shared_ptr<const checkpoint_files> files_;
  std::vector<detail::file_mapping> mappings_;
  std::vector<detail::in_place_tensor> in_place_;
  std::optional<blueprint::load_report> report_;
};

namespace detail {

/// Adds a tier's load figures to the whole report.
inline void add_tier_figures(load_report& whole, const load_report* tier) {
  if (tier == nullptr) return;
  whole.bytes_read += tier->bytes_read;
  whole.bytes_written += tier->bytes_written;
  whole.staging_bytes = std::max(whole.staging_bytes, tier->staging_bytes);
  whole.threads = std::max(whole.threads, tier->threads);
}

/// The disk tier's offload file: its safetensors header (data page-aligned), sized for `prog`.
/// Returns the descriptor and the data region's offset.
inline std::pair<unique_fd, std::uint64_t> create_offload_file(const std::string& path,
                                                               const dynamic_layout& layout,
                                                               const program& prog) {
  std::vector<st_entry> entries;
  std::uint64_t expected = 0;
  for (const local_tensor& l : prog.tensors) {
    const placed_tensor& t = layout.tensors()[l.tensor_index];
    if (l.offset != expected)
      throw std::logic_error("offload file: '" + std::string(t.name()) +
                             "' is not packed (offset " + std::to_string(l.offset) + ", expected " +
                             std::to_string(expected) + ")");
    entries.push_back(
        {std::string(t.name()), to_st_dtype(t.type), detail::shape_of(t.spec), t.bytes});
    expected += t.bytes;
  }
  const std::string header = serialize_safetensors_header(
      entries, {{"format", "pt"}, {"producer", "blueprint device map (disk tier)"}}, 4096);
  unique_fd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (fd.get() < 0) detail::throw_errno(path, std::nullopt, "cannot create the offload file");
  if (::ftruncate(fd.get(), static_cast<off_t>(header.size() + prog.arena_bytes)) != 0)
    detail::throw_errno(path, std::nullopt, "cannot size the offload file");
  detail::pwrite_all(fd.get(), header.data(), header.size(), 0, path);
  return {std::move(fd), header.size()};
}

}  // namespace detail

/// The common path of every mapped materialize; `make_gpu_tier(device, program, options)`
/// makes a GPU tier (cuda.hpp), or throws where there are none.
template <class MakeGpuTier>
[[nodiscard]] mapped_model materialize_mapped(const device_map_plan& map,
                                              const materialize_options& options, cpu host,
                                              MakeGpuTier&& make_gpu_tier) {
  const auto t0 = std::chrono::steady_clock::now();
  const dynamic_layout& layout = map.layout;
  mapped_model m(map);
  materialize_options tier_options = options;
  const auto* source = std::get_if<checkpoint>(&options.source);
  std::optional<load_match> match;
  if (source != nullptr) {
    // Keys matched once, for the whole model, before any tier is allocated.
    matched_checkpoint matched = match_checkpoint(layout, *source);
    m.files_ = matched.files;
    match = std::move(matched.match);
    checkpoint shared = *source;
    shared.opened = m.files_;
    tier_options.source = std::move(shared);
  }

  // In place: disk tensors the file holds in their dtype; a GPU-less map's whole host tier
  // when every one of its tensors can be.
  const std::vector<std::uint32_t> on_disk = map.tensors_on(device_ref::disk());
  const std::vector<std::uint32_t> on_cpu = map.tensors_on(device_ref::cpu());
  std::vector<bool> in_place(layout.size(), false);
  if (match && map.options.in_place != in_place_policy::never) {
    for (const std::uint32_t i : on_disk)
      in_place[i] = detail::can_stay_in_place(layout, *match, *m.files_, i);
    bool whole_host = map.options.in_place == in_place_policy::automatic &&
                      !map.uses(device_tier::gpu) && !on_cpu.empty();
    // (Non-persistent buffers are computed, never read: they stay in the host arena.)
    for (const std::uint32_t i : on_cpu)
      whole_host = whole_host && (!layout.tensors()[i].spec.persistent ||
                                  detail::can_stay_in_place(layout, *match, *m.files_, i));
    if (whole_host)
      for (const std::uint32_t i : on_cpu) in_place[i] = layout.tensors()[i].spec.persistent;
  }
  std::vector<std::uint32_t> written_to_disk, host_tensors;
  for (const std::uint32_t i : on_disk)
    if (!in_place[i]) written_to_disk.push_back(i);
  for (const std::uint32_t i : on_cpu)
    if (!in_place[i]) host_tensors.push_back(i);
  if (!written_to_disk.empty() && map.options.offload_dir.empty())
    throw device_map_error("device map of '" + std::string(layout.model_name) + "': '" +
                           std::string(layout.tensors()[written_to_disk.front()].name()) +
                           "' is placed on disk but " +
                           (match ? "the checkpoint does not hold it in its target dtype "
                                  : "there is no checkpoint to read it from in place ") +
                           std::string("(") + std::to_string(written_to_disk.size()) +
                           " such tensors): give an offload dir to write them to");

  // GPU tiers first (the largest allocations fail first), then the host, then disk.
  for (const device_usage& u : map.devices)
    if (u.device.tier == device_tier::gpu && u.tensors > 0)
      m.gpus_.emplace_back(u.device,
                           make_gpu_tier(u.device, map.program_for(u.device), tier_options));
  if (!host_tensors.empty())
    m.host_ =
        materialize(layout, map.program_for(device_ref::cpu(), host_tensors), host, tier_options);
  if (!written_to_disk.empty()) {
    const program prog = map.program_for(device_ref::disk(), written_to_disk);
    std::filesystem::create_directories(map.options.offload_dir);
    m.offload_file_.path = (std::filesystem::path(map.options.offload_dir) /
                            (std::string(layout.model_name) + ".offload.safetensors"))
                               .string();
    auto [fd, data_start] = detail::create_offload_file(m.offload_file_.path, layout, prog);
    program counted = prog;
    m.offload_ = materialize_on_cpu(
        arena_index(layout, prog, std::move(counted)), host, tier_options,
        {.huge_pages = false, .populate = false, .file = fd.get(), .file_offset = data_start});
    mapped_model::seal(*m.offload_);
  }
  if (match) {
    for (std::size_t f = 0; f < m.files_->files.size(); ++f) {
      bool used = false;
      for (std::size_t i = 0; i < layout.size() && !used; ++i)
        used = in_place[i] && match->sources[i].entry->file == f;
      if (!used) {
        m.mappings_.emplace_back();
        continue;
      }
      const safetensors_file& file = m.files_->files[f];
      m.mappings_.emplace_back(file.fd.get(), file.file_size, file.path);
    }
    for (std::size_t i = 0; i < layout.size(); ++i) {
      if (!in_place[i]) continue;
      const checkpoint_entry& e = *match->sources[i].entry;
      m.in_place_.push_back(
          {static_cast<std::uint32_t>(i),
           m.mappings_[e.file].data() + m.files_->file_of(e).header.data_start + e.info->begin});
    }
    load_report whole = std::move(match->report);
    for (const auto& [device, tier] : m.gpus_) detail::add_tier_figures(whole, tier->load_report());
    if (m.host_) detail::add_tier_figures(whole, m.host_->load_report());
    if (m.offload_) detail::add_tier_figures(whole, m.offload_->load_report());
    whole.seconds = detail::seconds_since(t0);
    m.report_ = std::move(whole);
  }
  return m;
}

/// The model of `map` on the host and disk tiers (CPU build). GPU tiers: cuda.hpp's
/// materialize(map, cuda{}, options).
/// @throws device_map_error for a map that places tensors on a GPU, or disk tensors that need
///         an offload dir; as materialize(layout, ...) for the source
[[nodiscard]] inline mapped_model materialize(const device_map_plan& map,
                                              const materialize_options& options = {},
                                              cpu host = {}) {
  return materialize_mapped(
      map, options, host,
      [&](device_ref d, const program&, const materialize_options&) -> std::unique_ptr<gpu_tier> {
        throw device_map_error("materialize: the device map places " +
                               format_size(map.usage(d)->weight_bytes) + " on " + d.name() +
                               "; GPU tiers need the CUDA build: materialize(map, "
                               "blueprint::cuda{}, options) from <blueprint/runtime/cuda.hpp>");
      });
}

/// The whole model's fingerprint.
[[nodiscard]] inline std::uint64_t fingerprint(const mapped_model& model) {
  return model.fingerprint();
}

}  // namespace blueprint
