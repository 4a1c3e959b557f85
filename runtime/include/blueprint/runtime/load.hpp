// Loading a checkpoint into an arena: the key report, then one pass over the rank's program.
//
// Two steps, and the first touches no tensor data. `match_checkpoint` compares the layout's
// tensors with the checkpoint's names and shapes and decides, per tensor, where its bytes come
// from: the file (under its own name or, for a tied tensor, its alias), or its deterministic
// init (missing tensors under `init_missing`, and non-persistent buffers such as rotary
// `inv_freq`, which checkpoints do not hold). Strict options turn any missing, unexpected or
// shape-mismatched tensor into one error that lists them all, each with both shapes.
//
// `load_arena` then runs the load program of one rank: for every segment of the rank's
// program, the byte runs it needs (rows of `run` elements at global index base + j * stride,
// coalesced when rows touch), read with pread, cast from the file's dtype to the arena's
// (any float source via float, exact when the dtypes agree), and stored; missing tensors are
// filled by the same `fill_segment_range` a fresh init uses, so their bytes are identical to a
// fresh init. Host memory is bounded by a fixed staging buffer, split among worker threads:
// while one worker casts its chunk, the others read theirs, so reads overlap casts. Runs whose
// dtypes agree are read straight into a host arena, without staging.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <ostream>
#include <set>
#include <span>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include <blueprint/codegen/dtype_policy.hpp>
#include <blueprint/codegen/init_scheme.hpp>
#include <blueprint/codegen/layout.hpp>
#include <blueprint/codegen/program.hpp>
#include <blueprint/kernels/cast.hpp>
#include <blueprint/kernels/fill.hpp>
#include <blueprint/kernels/scatter.hpp>

#include "checkpoint.hpp"

namespace blueprint {

// ---- options -----------------------------------------------------------------------------

/// What to do with a tensor the model has and the checkpoint lacks.
enum class missing_policy : std::uint8_t {
  error,  // strict: part of the key error
  init,   // its deterministic init, identical to a fresh init
};
inline constexpr missing_policy error_on_missing = missing_policy::error;
inline constexpr missing_policy init_missing = missing_policy::init;

/// What to do with a tensor the checkpoint has and the model lacks.
enum class unexpected_policy : std::uint8_t {
  follow_missing,  // error when missing == error, else report
  error,
  report,
};

/// What to do with a tensor whose checkpoint shape differs from the model's.
enum class mismatch_policy : std::uint8_t {
  error,
  init,  // report it and give it its deterministic init (HF's ignore_mismatched_sizes)
};

struct load_options {
  missing_policy missing = missing_policy::error;
  unexpected_policy unexpected = unexpected_policy::follow_missing;
  mismatch_policy mismatched = mismatch_policy::error;
  /// Seed of the init of missing tensors and buffers; unset: the materialized model's seed
  /// (`load`), or 0 (`load_arena`).
  std::optional<std::uint64_t> seed{};
  std::uint64_t staging_bytes = 256ull << 20;  // host staging, shared by the workers
  unsigned threads = 0;                        // workers; 0: min(4, hardware threads)
  bool direct_reads = true;                    // same-dtype runs: pread into the arena
  st_read_limits limits{};
  /// Called after each chunk with the fraction done; return false to cancel (the load then
  /// throws). Called from worker threads, one call at a time.
  std::function<bool(float)> progress{};

  [[nodiscard]] bool unexpected_is_error() const {
    return unexpected == unexpected_policy::error ||
           (unexpected == unexpected_policy::follow_missing && missing == missing_policy::error);
  }
};

// ---- the report --------------------------------------------------------------------------

struct report_tensor {
  std::string name;
  std::vector<std::uint64_t> shape;
  std::string dtype;  // the checkpoint's (unexpected) or the model's (missing)
};

struct report_mismatch {
  std::string name;
  std::vector<std::uint64_t> expected;  // the model's shape
  std::vector<std::uint64_t> found;     // the checkpoint's
};

/// What a load found and did. Printable (`to_string`, `operator<<`) and JSON (`to_json`).
struct load_report {
  std::string checkpoint;
  std::size_t files = 0;
  std::size_t loaded = 0;                   // model tensors whose bytes come from the file
  std::vector<report_tensor> missing;       // persistent model tensors absent from the file
  std::vector<report_tensor> unexpected;    // checkpoint tensors the model does not have
  std::vector<report_mismatch> mismatched;  // same name, different shape
  std::vector<std::string> initialized;     // given their init: missing, mismatched, buffers
  std::vector<std::string> tied;            // "alias -> target: how it was handled"
  std::vector<std::string> ignored;         // present but not loaded (buffers in the file)
  std::vector<std::string> casts;           // "BF16 -> f32: 12 tensors"
  std::vector<std::string> warnings;
  // Filled by the load itself (zero for a key report alone):
  std::uint64_t bytes_read = 0;     // from the files
  std::uint64_t bytes_written = 0;  // into the arena
  double seconds = 0;
  std::uint64_t staging_bytes = 0;
  unsigned threads = 0;

  /// No missing, unexpected or mismatched tensors.
  [[nodiscard]] bool clean() const {
    return missing.empty() && unexpected.empty() && mismatched.empty();
  }
  [[nodiscard]] double gb_per_second() const {
    return seconds > 0 ? bytes_read / seconds / 1e9 : 0;
  }
};

[[nodiscard]] inline std::string to_string(const load_report& r) {
  std::ostringstream s;
  s << "checkpoint " << r.checkpoint << " (" << r.files << (r.files == 1 ? " file" : " files")
    << "): " << r.loaded << " tensors loaded, " << r.missing.size() << " missing, "
    << r.unexpected.size() << " unexpected, " << r.mismatched.size() << " shape mismatches\n";
  for (const auto& t : r.missing)
    s << "  missing     " << t.name << "  model shape " << shape_string(t.shape) << " " << t.dtype
      << ", checkpoint: absent\n";
  for (const auto& t : r.unexpected)
    s << "  unexpected  " << t.name << "  checkpoint shape " << shape_string(t.shape) << " "
      << t.dtype << ", model: absent\n";
  for (const auto& t : r.mismatched)
    s << "  mismatched  " << t.name << "  model shape " << shape_string(t.expected)
      << ", checkpoint shape " << shape_string(t.found) << "\n";
  for (const auto& t : r.tied) s << "  tied        " << t << "\n";
  for (const auto& t : r.initialized) s << "  initialized " << t << "\n";
  for (const auto& t : r.ignored) s << "  ignored     " << t << "\n";
  for (const auto& t : r.casts) s << "  cast        " << t << "\n";
  for (const auto& t : r.warnings) s << "  warning     " << t << "\n";
  if (r.seconds > 0) {
    char line[160];
    std::snprintf(
        line, sizeof line, "  read %.3f GB in %.3f s (%.2f GB/s), %u threads, %.1f MiB staging\n",
        r.bytes_read / 1e9, r.seconds, r.gb_per_second(), r.threads, r.staging_bytes / 1048576.0);
    s << line;
  }
  return s.str();
}

inline std::ostream& operator<<(std::ostream& os, const load_report& r) {
  return os << to_string(r);
}

[[nodiscard]] inline nlohmann::json to_json(const load_report& r) {
  nlohmann::json j;
  j["checkpoint"] = r.checkpoint;
  j["files"] = r.files;
  j["loaded"] = r.loaded;
  auto list = [](const std::vector<report_tensor>& v) {
    nlohmann::json a = nlohmann::json::array();
    for (const auto& t : v) a.push_back({{"name", t.name}, {"shape", t.shape}, {"dtype", t.dtype}});
    return a;
  };
  j["missing"] = list(r.missing);
  j["unexpected"] = list(r.unexpected);
  j["mismatched"] = nlohmann::json::array();
  for (const auto& t : r.mismatched)
    j["mismatched"].push_back({{"name", t.name}, {"expected", t.expected}, {"found", t.found}});
  j["initialized"] = r.initialized;
  j["tied"] = r.tied;
  j["ignored"] = r.ignored;
  j["casts"] = r.casts;
  j["warnings"] = r.warnings;
  j["bytes_read"] = r.bytes_read;
  j["bytes_written"] = r.bytes_written;
  j["seconds"] = r.seconds;
  j["gb_per_second"] = r.gb_per_second();
  j["staging_bytes"] = r.staging_bytes;
  j["threads"] = r.threads;
  return j;
}

/// The key error of a strict load: what() is the printed report.
class checkpoint_key_error : public std::runtime_error {
 public:
  explicit checkpoint_key_error(load_report r)
      : std::runtime_error("the checkpoint does not match the model:\n" + to_string(r)),
        report_(std::move(r)) {}
  [[nodiscard]] const load_report& report() const { return report_; }

 private:
  load_report report_;
};

// ---- matching keys -----------------------------------------------------------------------

/// Where one model tensor's bytes come from.
struct tensor_source {
  enum class kind : std::uint8_t { file, init } from = kind::init;
  const checkpoint_entry* entry = nullptr;  // from == file
};

/// The key report and the per-tensor sources (indexed like layout.tensors()).
struct load_match {
  load_report report;
  std::vector<tensor_source> sources;
};

namespace detail {
[[nodiscard]] inline std::vector<std::uint64_t> shape_of(const tensor_spec& s) {
  return {s.shape, s.shape + s.rank};
}

/// Byte-compares two tensors of the checkpoint through a bounded buffer.
[[nodiscard]] inline bool same_bytes(const checkpoint& c, const checkpoint_entry& a,
                                     const checkpoint_entry& b) {
  if (a.info->type != b.info->type || a.info->shape != b.info->shape) return false;
  const safetensors_file& fa = c.file_of(a);
  const safetensors_file& fb = c.file_of(b);
  constexpr std::uint64_t block = 1 << 20;
  std::vector<unsigned char> x(block), y(block);
  for (std::uint64_t done = 0; done < a.info->bytes(); done += block) {
    const std::uint64_t n = std::min(block, a.info->bytes() - done);
    pread_all(fa.fd.get(), x.data(), n, fa.header.data_start + a.info->begin + done, fa.path);
    pread_all(fb.fd.get(), y.data(), n, fb.header.data_start + b.info->begin + done, fb.path);
    if (std::memcmp(x.data(), y.data(), n) != 0) return false;
  }
  return true;
}
}  // namespace detail

/// Compares the model with the checkpoint; reads headers only (and, for a tied tensor stored
/// under both names, compares the two copies). Throws checkpoint_key_error under the strict
/// policies when anything is missing, unexpected or mismatched.
template <class Layout>
[[nodiscard]] load_match match_checkpoint(const Layout& layout, const checkpoint& ckpt,
                                          const load_options& options = {}) {
  load_match m;
  load_report& r = m.report;
  r.checkpoint = ckpt.root;
  r.files = ckpt.files.size();
  r.warnings = ckpt.warnings;
  const auto tensors = layout.tensors();
  m.sources.resize(tensors.size());
  std::set<std::string, std::less<>> claimed;  // checkpoint names the model accounts for
  std::map<std::string, std::size_t> cast_counts;
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const placed_tensor& t = tensors[i];
    const std::string name(t.name());
    const checkpoint_entry* own = ckpt.find(name);
    if (!t.spec.persistent) {
      if (own != nullptr) {
        claimed.insert(name);
        r.ignored.push_back(name + " (a non-persistent buffer: always initialized)");
      }
      r.initialized.push_back(name + " (non-persistent buffer)");
      continue;
    }
    // Aliases (ties) whose target is this tensor.
    const checkpoint_entry* chosen = own;
    std::string chosen_name = name;
    for (const tie_spec& tie : layout.ties()) {
      if (tie.target != i) continue;
      const std::string alias(tie.name());
      const checkpoint_entry* a = ckpt.find(alias);
      if (a == nullptr) {
        r.tied.push_back(alias + " -> " + name +
                         ": omitted from the checkpoint (as Hugging Face saves it)");
        continue;
      }
      claimed.insert(alias);
      if (chosen == nullptr) {
        chosen = a;
        chosen_name = alias;
        r.tied.push_back(alias + " -> " + name + ": loaded from '" + alias + "'");
      } else if (detail::same_bytes(ckpt, *chosen, *a)) {
        r.tied.push_back(alias + " -> " + name + ": present and equal, loaded once");
      } else {
        r.mismatched.push_back({alias + " (tied to " + name + ", but its values differ)",
                                detail::shape_of(t.spec), a->info->shape});
      }
    }
    if (chosen == nullptr) {
      r.missing.push_back({name, detail::shape_of(t.spec), std::string(dtype_name(t.type))});
      if (options.missing == missing_policy::init) r.initialized.push_back(name + " (missing)");
      continue;
    }
    claimed.insert(chosen_name);
    if (chosen->info->shape != detail::shape_of(t.spec)) {
      r.mismatched.push_back({name, detail::shape_of(t.spec), chosen->info->shape});
      if (options.mismatched == mismatch_policy::init)
        r.initialized.push_back(name + " (shape mismatch)");
      continue;
    }
    if (!st_dtype_is_float(chosen->info->type))
      throw checkpoint_error(ckpt.file_of(*chosen).path, chosen_name,
                             ckpt.file_of(*chosen).header.data_start + chosen->info->begin,
                             "dtype " + std::string(st_dtype_name(chosen->info->type)) +
                                 " cannot be cast to the model's " +
                                 std::string(dtype_name(t.type)) +
                                 " (only float sources are cast)");
    if (to_storage_dtype(chosen->info->type) != t.type)
      ++cast_counts[std::string(st_dtype_name(chosen->info->type)) + " -> " +
                    std::string(dtype_name(t.type))];
    m.sources[i] = {tensor_source::kind::file, chosen};
    ++r.loaded;
  }
  for (const auto& [name, e] : ckpt.tensors)
    if (!claimed.count(name))
      r.unexpected.push_back({name, e.info->shape, std::string(st_dtype_name(e.info->type))});
  for (const auto& [what, n] : cast_counts)
    r.casts.push_back(what + ": " + std::to_string(n) + (n == 1 ? " tensor" : " tensors"));
  const bool fail = (!r.missing.empty() && options.missing == missing_policy::error) ||
                    (!r.unexpected.empty() && options.unexpected_is_error()) ||
                    (!r.mismatched.empty() && options.mismatched == mismatch_policy::error);
  if (fail) throw checkpoint_key_error(r);
  return m;
}

/// The dtype policy that stores every tensor in the checkpoint's dtype (`--dtype auto`): the
/// most common dtype (by bytes) as the default, then per-kind and per-name overrides for the
/// rest. Tensors the checkpoint lacks (and buffers) take the default. F64 maps to f32.
/// Throws std::invalid_argument if the checkpoint's dtypes need more overrides than a policy holds.
template <class Layout>
[[nodiscard]] dtype_policy checkpoint_dtype_policy(const Layout& layout, const checkpoint& ckpt) {
  const auto tensors = layout.tensors();
  std::vector<std::optional<dtype>> want(tensors.size());
  std::map<dtype, std::uint64_t> bytes;
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const checkpoint_entry* e = ckpt.find(tensors[i].name());
    for (const tie_spec& tie : layout.ties())
      if (e == nullptr && tie.target == i) e = ckpt.find(tie.name());
    if (e == nullptr || !st_dtype_is_float(e->info->type)) continue;
    want[i] = to_storage_dtype(e->info->type).value_or(dtype::f32);
    bytes[*want[i]] += e->info->bytes();
  }
  dtype_policy p = dtype_policy::f32();
  std::uint64_t best = 0;
  for (const auto& [t, n] : bytes)
    if (n > best) best = n, p.default_type = t;
  // Kinds whose tensors all agree on another dtype.
  for (std::uint8_t k = 0; k <= static_cast<std::uint8_t>(tensor_kind::buffer); ++k) {
    std::optional<dtype> common;
    bool uniform = true, any = false;
    for (std::size_t i = 0; i < tensors.size(); ++i) {
      if (static_cast<std::uint8_t>(tensors[i].spec.kind) != k || !want[i]) continue;
      any = true;
      if (common && *common != *want[i]) uniform = false;
      common = want[i];
    }
    if (any && uniform && *common != p.default_type) {
      if (p.override_count == dtype_policy::max_overrides)
        throw std::invalid_argument(
            "dtype auto: the checkpoint mixes too many dtypes for a dtype policy");
      p = p.with_kind(static_cast<tensor_kind>(k), *common);
    }
  }
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    if (!want[i] || p.resolve(tensors[i].spec) == *want[i]) continue;
    if (p.override_count == dtype_policy::max_overrides || tensors[i].name().size() >= 64)
      throw std::invalid_argument("dtype auto: cannot express the checkpoint's dtype of '" +
                                  std::string(tensors[i].name()) +
                                  "' in a dtype policy; pass --dtype");
    p = p.with(tensors[i].name(), *want[i]);
  }
  return p;
}

// ---- the load program --------------------------------------------------------------------

namespace detail {

/// The source format of a float safetensors dtype (kernels/scatter.hpp).
/// @pre st_dtype_is_float(s)
[[nodiscard]] inline source_format source_format_of(st_dtype s) {
  switch (s) {
    case st_dtype::f64:
      return source_format::f64;
    case st_dtype::f32:
      return source_format::f32;
    case st_dtype::bf16:
      return source_format::bf16;
    case st_dtype::f16:
      return source_format::f16;
    case st_dtype::f8_e4m3:
      return source_format::f8_e4m3fn;
    case st_dtype::f8_e5m2:
      return source_format::f8_e5m2;
    default:
      throw std::logic_error("load: not a float source dtype");
  }
}

/// The cast loop of one (source, target) pair, written so that the compiler can vectorize it;
/// the same widening and narrowing as convert_source_element (the GPU's).
template <source_format S, dtype D>
void convert_typed(const unsigned char* src, std::byte* dst, std::uint64_t n) {
  using word = storage_t<D>;
  for (std::uint64_t i = 0; i < n; ++i) {
    const word w = to_storage<D>(widen_source<S>(src, i));
    std::memcpy(dst + i * sizeof(word), &w, sizeof(word));
  }
}

template <dtype D>
void convert_to(const unsigned char* src, st_dtype s, std::byte* dst, std::uint64_t n) {
  switch (source_format_of(s)) {
    case source_format::f64:
      return convert_typed<source_format::f64, D>(src, dst, n);
    case source_format::f32:
      return convert_typed<source_format::f32, D>(src, dst, n);
    case source_format::bf16:
      return convert_typed<source_format::bf16, D>(src, dst, n);
    case source_format::f16:
      return convert_typed<source_format::f16, D>(src, dst, n);
    case source_format::f8_e4m3fn:
      return convert_typed<source_format::f8_e4m3fn, D>(src, dst, n);
    case source_format::f8_e5m2:
      return convert_typed<source_format::f8_e5m2, D>(src, dst, n);
  }
}

/// Converts n elements of source type `s` to storage type `d`: a copy when the encodings agree,
/// else widen to float and narrow with cast.hpp (bit-identical to store_element).
inline void convert_elements(const unsigned char* src, st_dtype s, std::byte* dst, dtype d,
                             std::uint64_t n) {
  if (to_storage_dtype(s) == d) {
    std::memcpy(dst, src, n * dtype_size(d));
    return;
  }
  switch (d) {
    case dtype::f32:
      return convert_to<dtype::f32>(src, s, dst, n);
    case dtype::bf16:
      return convert_to<dtype::bf16>(src, s, dst, n);
    case dtype::f16:
      return convert_to<dtype::f16>(src, s, dst, n);
    case dtype::f8_e4m3fn:
      return convert_to<dtype::f8_e4m3fn>(src, s, dst, n);
    case dtype::f8_e5m2:
      return convert_to<dtype::f8_e5m2>(src, s, dst, n);
  }
}

/// A contiguous run of source elements bound for a contiguous run of the arena.
struct load_span {
  std::uint32_t file = 0;
  std::uint64_t file_offset = 0;  // absolute
  std::uint64_t elements = 0;
  std::uint64_t arena_offset = 0;
  st_dtype src = st_dtype::f32;
  dtype dst = dtype::f32;
};

/// One unit of work: a read into a worker's staging buffer (and the casts out of it), a read
/// straight into the arena, or an init/zero fill of a segment range.
struct load_chunk {
  enum class kind : std::uint8_t { staged, direct, fill } what = kind::staged;
  std::uint32_t file = 0;
  std::uint64_t file_offset = 0, bytes = 0;  // staged / direct
  std::uint64_t arena_offset = 0;            // direct
  std::vector<load_span> pieces;             // staged: file_offset relative to the chunk
  segment seg{};                             // fill
  std::uint64_t k_begin = 0, k_end = 0;      // fill
};

/// Emits the chunks of a load program one at a time, in file order, so that the whole program
/// never exists in memory at once (a row-parallel shard of a large model has millions of rows).
class load_chunker {
 public:
  struct job {
    std::uint32_t segment_index = 0;
    bool fill = false;
    std::uint32_t file = 0;
    std::uint64_t tensor_start = 0;  // absolute file offset of the tensor's data
    st_dtype src = st_dtype::f32;
  };

  /// capacity: staging bytes of one chunk; direct: same-dtype runs go straight to the arena
  /// (host arenas); max_pieces: the most runs one staged chunk may carry (the GPU's table size).
  load_chunker(const program& prog, std::vector<job> jobs, std::uint64_t capacity, bool direct,
               std::size_t max_pieces = static_cast<std::size_t>(-1))
      : prog_(prog),
        jobs_(std::move(jobs)),
        capacity_(capacity),
        direct_(direct),
        max_pieces_(max_pieces) {}

  /// The next chunk, or false when done.
  bool next(load_chunk& c) {
    c.pieces.clear();
    bool open = false;
    while (job_ < jobs_.size()) {
      const job& j = jobs_[job_];
      const segment& seg = prog_.segments[j.segment_index];
      if (j.fill) {
        if (open) return true;
        c.what = load_chunk::kind::fill;
        c.seg = seg;
        c.k_begin = k_;
        const std::uint64_t step =
            std::max<std::uint64_t>(1, (4u << 20) / std::max<std::size_t>(1, dtype_size(seg.type)));
        c.k_end = std::min(seg.count, k_ + step);
        advance(c.k_end, seg.count);
        return true;
      }
      // The current row (or, for contiguous rows, the rest of the segment).
      const std::uint64_t ssz = st_dtype_size(j.src), dsz = dtype_size(seg.type);
      const std::uint64_t row = k_ / seg.run, in_row = k_ - row * seg.run;
      std::uint64_t n =
          seg.stride == seg.run ? seg.count - k_ : std::min(seg.run - in_row, seg.count - k_);
      const std::uint64_t g = seg.base + row * seg.stride + in_row;
      const std::uint64_t at = j.tensor_start + g * ssz;
      const bool same = to_storage_dtype(j.src) == seg.type;
      if (direct_ && same && n * ssz >= direct_min_bytes) {
        if (open) return true;
        n = std::min(n, std::max<std::uint64_t>(1, direct_max_bytes / ssz));
        c.what = load_chunk::kind::direct;
        c.file = j.file;
        c.file_offset = at;
        c.bytes = n * ssz;
        c.arena_offset = seg.arena_offset + k_ * dsz;
        advance(k_ + n, seg.count);
        return true;
      }
      if (open) {
        const std::uint64_t end = c.file_offset + c.bytes;
        // Read through a gap only while it costs no more than the run before it (or lies within
        // a page): a tp=2 column shard reads whole rows in one call, a tp=8 one skips 7/8.
        const std::uint64_t last =
            c.pieces.empty() ? 0 : c.pieces.back().elements * st_dtype_size(c.pieces.back().src);
        if (j.file != c.file || at < end || c.pieces.size() >= max_pieces_ ||
            at - end > std::max(page_gap, std::min(last, max_gap)) ||
            at + ssz - c.file_offset > capacity_)
          return true;
      } else {
        c.what = load_chunk::kind::staged;
        c.file = j.file;
        c.file_offset = at;
        c.bytes = 0;
        open = true;
      }
      const std::uint64_t room = (capacity_ - (at - c.file_offset)) / ssz;
      n = std::min(n, room);
      c.pieces.push_back(
          {j.file, at - c.file_offset, n, seg.arena_offset + k_ * dsz, j.src, seg.type});
      c.bytes = at + n * ssz - c.file_offset;
      advance(k_ + n, seg.count);
    }
    return open;
  }

  static constexpr std::uint64_t direct_min_bytes = 64u << 10;
  static constexpr std::uint64_t direct_max_bytes = 64u << 20;
  static constexpr std::uint64_t max_gap = 64u << 10;
  static constexpr std::uint64_t page_gap = 4u << 10;

 private:
  void advance(std::uint64_t k, std::uint64_t count) {
    k_ = k;
    if (k_ >= count) {
      ++job_;
      k_ = 0;
    }
  }
  const program& prog_;
  std::vector<job> jobs_;
  std::uint64_t capacity_;
  bool direct_;
  std::size_t max_pieces_;
  std::size_t job_ = 0;
  std::uint64_t k_ = 0;
};

}  // namespace detail

namespace detail {

/// A load program before it runs: the key match, and the rank's segments split into fills
/// (init, padding) and reads (file order).
struct load_work {
  load_match match;
  std::vector<load_chunker::job> fills, reads;
  std::uint64_t total_bytes = 0;  // arena bytes the segments write
  std::uint64_t span_bytes = 0;   // file bytes the reads' rows span (a staging chunk needs less)
};

/// Matches keys (throws checkpoint_key_error under the strict policies, before anything is
/// written) and sorts the segments of `prog` into fills and reads.
template <class Layout>
[[nodiscard]] load_work prepare_load(const Layout& layout, const program& prog,
                                     const checkpoint& ckpt, const load_options& options) {
  load_work w;
  w.match = match_checkpoint(layout, ckpt, options);
  const auto tensors = layout.tensors();
  for (std::size_t s = 0; s < prog.segments.size(); ++s) {
    const segment& seg = prog.segments[s];
    w.total_bytes += seg.bytes();
    load_chunker::job j;
    j.segment_index = static_cast<std::uint32_t>(s);
    if (seg.padding != 0 || seg.tensor_index == no_tensor || seg.tensor_index >= tensors.size() ||
        w.match.sources[seg.tensor_index].from == tensor_source::kind::init) {
      j.fill = true;
      w.fills.push_back(j);
      continue;
    }
    const checkpoint_entry& e = *w.match.sources[seg.tensor_index].entry;
    j.file = e.file;
    j.tensor_start = ckpt.file_of(e).header.data_start + e.info->begin;
    j.src = e.info->type;
    w.reads.push_back(j);
    const std::uint64_t rows = seg.run == 0 ? 0 : (seg.count + seg.run - 1) / seg.run;
    w.span_bytes +=
        (seg.stride == seg.run || rows == 0 ? seg.count : (rows - 1) * seg.stride + seg.run) *
        st_dtype_size(j.src);
  }
  std::stable_sort(w.reads.begin(), w.reads.end(), [&](const auto& a, const auto& b) {
    const segment& sa = prog.segments[a.segment_index];
    const segment& sb = prog.segments[b.segment_index];
    const std::uint64_t oa = a.tensor_start + sa.base * st_dtype_size(a.src);
    const std::uint64_t ob = b.tensor_start + sb.base * st_dtype_size(b.src);
    return a.file != b.file ? a.file < b.file : oa < ob;
  });
  return w;
}

/// The key report of a load, completed with what the load did.
[[nodiscard]] inline load_report finished_report(load_report r, std::uint64_t bytes_read,
                                                 std::uint64_t bytes_written, unsigned threads,
                                                 std::uint64_t staging_bytes,
                                                 std::chrono::steady_clock::time_point started) {
  r.bytes_read = bytes_read;
  r.bytes_written = bytes_written;
  r.threads = threads;
  r.staging_bytes = staging_bytes;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return r;
}

/// A fill segment with its init resolved: the tensor's own init (a tensor marked `skip`, i.e.
/// meant to be loaded, gets its scheme's init), so a missing tensor equals a fresh init.
template <class Layout>
[[nodiscard]] segment fill_segment_of(const Layout& layout, segment seg) {
  const auto tensors = layout.tensors();
  if (seg.padding == 0 && seg.tensor_index < tensors.size()) {
    init_spec init = tensors[seg.tensor_index].init;
    if (init.kind == init_kind::skip)
      init = resolve_init(tensors[seg.tensor_index].spec, layout.options.scheme);
    seg.init = init;
  }
  return seg;
}

/// One file read of a staged transfer: `bytes` bytes at `file_offset` into the staging buffer
/// at `staging_offset`.
struct staged_read {
  std::uint32_t file = 0;
  std::uint64_t file_offset = 0;
  std::uint64_t bytes = 0;
  std::uint64_t staging_offset = 0;
};

/// One unit of the GPU loader: reads that fill a staging slot, and the scatter pieces that cast
/// the slot into the arena (one host-to-device copy and one kernel launch).
struct staged_transfer {
  std::vector<staged_read> reads;
  std::vector<scatter_piece> pieces;  // first_tile ascending from 0
  std::uint64_t data_bytes = 0;       // staging bytes the reads fill (16-byte aligned)
  std::uint64_t tiles = 0;
  std::uint64_t arena_bytes = 0;  // bytes the pieces write
};

/// Packs the chunks of a load program (reads only, no direct reads) into staged transfers of at
/// most `data_capacity` staging bytes and `max_pieces` pieces, in file order. Each chunk is one
/// pread; many short chunks (the rows of a tensor-parallel column shard) share a transfer.
class transfer_packer {
 public:
  /// @pre reads holds no fill jobs; data_capacity >= 16; max_pieces >= 1
  transfer_packer(const program& prog, std::vector<load_chunker::job> reads,
                  std::uint64_t data_capacity, std::size_t max_pieces)
      : chunker_(prog, std::move(reads), data_capacity, /*direct=*/false, max_pieces),
        capacity_(data_capacity),
        max_pieces_(max_pieces) {}

  /// The next transfer, or false when done.
  bool next(staged_transfer& t) {
    t.reads.clear();
    t.pieces.clear();
    t.data_bytes = t.tiles = t.arena_bytes = 0;
    for (;;) {
      if (!pending_) {
        if (!chunker_.next(chunk_)) break;
        pending_ = true;
      }
      const std::uint64_t at = t.data_bytes;
      if (!t.reads.empty() &&
          (at + chunk_.bytes > capacity_ || t.pieces.size() + chunk_.pieces.size() > max_pieces_))
        break;
      t.reads.push_back({chunk_.file, chunk_.file_offset, chunk_.bytes, at});
      for (const load_span& p : chunk_.pieces) {
        scatter_piece q;
        q.source_offset = at + p.file_offset;
        q.arena_offset = p.arena_offset;
        q.elements = p.elements;
        q.first_tile = t.tiles;
        q.source = source_format_of(p.src);
        q.target = p.dst;
        t.tiles += q.tiles();
        t.arena_bytes += p.elements * dtype_size(p.dst);
        t.pieces.push_back(q);
      }
      t.data_bytes = (at + chunk_.bytes + 15) / 16 * 16;
      pending_ = false;
    }
    return !t.reads.empty();
  }

 private:
  load_chunker chunker_;
  std::uint64_t capacity_;
  std::size_t max_pieces_;
  load_chunk chunk_;
  bool pending_ = false;
};

}  // namespace detail

/// Loads the checkpoint into `arena` (host memory of `prog.arena_bytes` bytes) following the
/// rank's program `prog` of `layout`. Validation (headers, index, keys) completes before the
/// first byte of the arena is written.
/// @pre prog was made for layout; arena.size() >= prog.arena_bytes
/// @post every byte of the arena's segments is written: file bytes cast to the segment dtype,
///       deterministic init (seed = options.seed, or 0) for init-sourced tensors, zeros for padding
template <class Layout>
load_report load_arena(const Layout& layout, const program& prog, std::span<std::byte> arena,
                       const checkpoint& ckpt, const load_options& options = {}) {
  const auto t0 = std::chrono::steady_clock::now();
  if (arena.size() < prog.arena_bytes)
    throw std::invalid_argument("load: the arena holds " + std::to_string(arena.size()) +
                                " bytes, the program needs " + std::to_string(prog.arena_bytes));
  detail::load_work work = detail::prepare_load(layout, prog, ckpt, options);
  load_match& m = work.match;
  const auto tensors = layout.tensors();
  const std::uint64_t seed = options.seed.value_or(0);
  const std::uint64_t total_bytes = work.total_bytes, span_bytes = work.span_bytes;
  std::vector<detail::load_chunker::job> jobs = std::move(work.fills);
  jobs.insert(jobs.end(), work.reads.begin(), work.reads.end());

  unsigned threads = options.threads != 0
                         ? options.threads
                         : std::min(4u, std::max(1u, std::thread::hardware_concurrency()));
  // Staging per worker: its share of the budget, but never more than the reads could use.
  const std::uint64_t per_worker =
      std::max<std::uint64_t>(64, std::min(options.staging_bytes / threads, span_bytes + 8)) / 8 *
      8;
  detail::load_chunker chunker(prog, std::move(jobs), per_worker, options.direct_reads);
  std::mutex next_mutex, progress_mutex;
  std::atomic<bool> stop{false};
  std::exception_ptr error;
  std::atomic<std::uint64_t> done_bytes{0}, read_bytes{0};
  std::byte* const base = arena.data();

  auto worker = [&] {
    std::unique_ptr<unsigned char[]> staging;
    detail::load_chunk c;
    try {
      while (!stop.load(std::memory_order_relaxed)) {
        {
          std::lock_guard lock(next_mutex);
          if (!chunker.next(c)) break;
        }
        std::uint64_t written = 0;
        if (c.what == detail::load_chunk::kind::fill) {
          const segment seg = detail::fill_segment_of(layout, c.seg);
          fill_segment_range(seg, seed, c.k_begin, c.k_end, base);
          written = (c.k_end - c.k_begin) * dtype_size(seg.type);
        } else {
          const safetensors_file& f = ckpt.files[c.file];
          if (c.what == detail::load_chunk::kind::direct) {
            detail::pread_all(f.fd.get(), base + c.arena_offset, c.bytes, c.file_offset, f.path);
            written = c.bytes;
          } else {
            // Default-initialized: pages are touched only as chunks fill them.
            if (!staging) staging.reset(new unsigned char[per_worker]);
            detail::pread_all(f.fd.get(), staging.get(), c.bytes, c.file_offset, f.path);
            for (const detail::load_span& p : c.pieces) {
              detail::convert_elements(staging.get() + p.file_offset, p.src, base + p.arena_offset,
                                       p.dst, p.elements);
              written += p.elements * dtype_size(p.dst);
            }
          }
          read_bytes += c.bytes;
        }
        const std::uint64_t now = done_bytes += written;
        if (options.progress) {
          std::lock_guard lock(progress_mutex);
          if (!options.progress(
                  total_bytes ? static_cast<float>(static_cast<double>(now) / total_bytes) : 1.0f))
            throw std::runtime_error("load cancelled by the progress callback");
        }
      }
    } catch (...) {
      std::lock_guard lock(progress_mutex);
      if (!error) error = std::current_exception();
      stop = true;
    }
  };
  std::vector<std::thread> pool;
  try {
    for (unsigned t = 1; t < threads; ++t) pool.emplace_back(worker);
  } catch (...) {  // no thread to be had: stop the ones started, then report
    stop = true;
    for (std::thread& t : pool) t.join();
    throw;
  }
  worker();
  for (std::thread& t : pool) t.join();
  if (error) std::rethrow_exception(error);

  return detail::finished_report(std::move(m.report), read_bytes, done_bytes, threads,
                                 per_worker * threads, t0);
}

/// Opens `path` and loads it (see the overload above).
template <class Layout>
load_report load_arena(const Layout& layout, const program& prog, std::span<std::byte> arena,
                       const std::string& path, const load_options& options = {}) {
  const checkpoint ckpt = open_checkpoint(path, options.limits);
  return load_arena(layout, prog, arena, ckpt, options);
}

/// The key report alone: headers and names, no tensor data (`blueprint verify`). Never throws
/// for key problems; they are in the report.
template <class Layout>
[[nodiscard]] load_report verify_checkpoint(const Layout& layout, const std::string& path,
                                            const st_read_limits& limits = {}) {
  const checkpoint ckpt = open_checkpoint(path, limits);
  load_options o;
  o.missing = missing_policy::init;
  o.unexpected = unexpected_policy::report;
  o.mismatched = mismatch_policy::init;
  load_report r = match_checkpoint(layout, ckpt, o).report;
  r.initialized.clear();
  return r;
}

}  // namespace blueprint
