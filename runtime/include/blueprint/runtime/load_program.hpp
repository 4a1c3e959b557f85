// The load program of one rank: the byte runs its segments need, in file order.
//
// For every segment of the rank's program that the key match (key_match.hpp) sources from the
// file, the rows of `run` elements at global index base + j * stride become byte runs
// (`byte_run`: file bytes bound for an arena run), coalesced when rows touch and read through
// small gaps when that is cheaper than another call. `load_program` yields them one step at a
// time — a staged read with its runs, a read straight into a host arena, or an init fill — so
// that the whole program never exists in memory (a row-parallel shard of a large model has
// millions of rows). The CPU executor (load.hpp) and the GPU packer (gpu_transfers.hpp)
// consume the same steps; missing tensors are filled by the same `fill_segment_range` a fresh
// init uses, so their bytes are identical to a fresh init.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <vector>

#include <blueprint/codegen/init_scheme.hpp>
#include <blueprint/codegen/layout.hpp>
#include <blueprint/codegen/program.hpp>
#include <blueprint/kernels/cast.hpp>
#include <blueprint/kernels/fill.hpp>
#include <blueprint/kernels/scatter.hpp>

#include "checkpoint_files.hpp"
#include "key_match.hpp"
#include "load_report.hpp"

namespace blueprint {

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

/// Converts n elements of source type `s` to storage type `d`: a copy when the encodings agree,
/// else widen to float and narrow with cast.hpp (bit-identical to store_element).
inline void convert_elements(const unsigned char* src, st_dtype s, std::byte* dst, dtype d,
                             std::uint64_t n) {
  if (to_storage_dtype(s) == d) {
    std::memcpy(dst, src, n * dtype_size(d));
    return;
  }
  with_dtype(d, [&](auto target) BLUEPRINT_LAMBDA_INLINE {
    with_source_format(source_format_of(s), [&](auto source) BLUEPRINT_LAMBDA_INLINE {
      convert_typed<decltype(source)::value, decltype(target)::value>(src, dst, n);
    });
  });
}

/// A run of bytes from a file to an arena: `elements` contiguous source elements bound for a
/// contiguous run of the arena. The one record every loader works in.
struct byte_run {
  std::uint32_t file = 0;
  std::uint64_t file_offset = 0;  // absolute
  std::uint64_t elements = 0;
  std::uint64_t arena_offset = 0;
  st_dtype src = st_dtype::f32;
  dtype dst = dtype::f32;
};

/// One unit of work: a read into a worker's staging buffer (and the casts out of it), a read
/// straight into the arena, or an init/zero fill of a segment range.
struct load_step {
  enum class kind : std::uint8_t { staged, direct, fill } what = kind::staged;
  std::uint32_t file = 0;
  std::uint64_t file_offset = 0, bytes = 0;  // staged / direct
  std::uint64_t arena_offset = 0;            // direct
  std::vector<byte_run> pieces;              // staged: file_offset relative to the step
  segment seg{};                             // fill
  std::uint64_t k_begin = 0, k_end = 0;      // fill
};

/// Emits the chunks of a load program one at a time, in file order, so that the whole program
/// never exists in memory at once (a row-parallel shard of a large model has millions of rows).
class load_program {
 public:
  struct job {
    std::uint32_t segment_index = 0;
    bool fill = false;
    std::uint32_t file = 0;
    std::uint64_t tensor_start = 0;  // absolute file offset of the tensor's data
    st_dtype src = st_dtype::f32;
  };

  /// capacity: staging bytes of one step; direct: same-dtype runs go straight to the arena
  /// (host arenas); max_pieces: the most runs one staged step may carry (the GPU's table size).
  load_program(const program& prog, std::vector<job> jobs, std::uint64_t capacity, bool direct,
               std::size_t max_pieces = static_cast<std::size_t>(-1))
      : prog_(prog),
        jobs_(std::move(jobs)),
        capacity_(capacity),
        direct_(direct),
        max_pieces_(max_pieces) {}

  /// The next step, or false when done.
  bool next(load_step& c) {
    c.pieces.clear();
    bool open = false;
    while (job_ < jobs_.size()) {
      const job& j = jobs_[job_];
      const segment& seg = prog_.segments[j.segment_index];
      if (j.fill) {
        if (open) return true;
        c.what = load_step::kind::fill;
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
        c.what = load_step::kind::direct;
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
        c.what = load_step::kind::staged;
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

/// A load before it runs: the rank's segments split into fills (init, padding) and reads
/// (file order), with the sizes the executors budget staging by.
struct prepared_load {
  std::vector<load_program::job> fills, reads;
  std::uint64_t total_bytes = 0;  // arena bytes the segments write
  std::uint64_t span_bytes = 0;   // file bytes the reads' rows span (a staging step needs less)
};

/// Sorts the segments of `prog` into fills and reads by the sources of `match` (the one key
/// match of this load, made by match_checkpoint).
/// @pre match was made for `layout` and `ckpt`
template <class Layout>
[[nodiscard]] prepared_load prepare_load(const Layout& layout, const program& prog,
                                         const checkpoint_files& ckpt, const load_match& match) {
  prepared_load w;
  const auto tensors = layout.tensors();
  for (std::size_t s = 0; s < prog.segments.size(); ++s) {
    const segment& seg = prog.segments[s];
    w.total_bytes += seg.bytes();
    load_program::job j;
    j.segment_index = static_cast<std::uint32_t>(s);
    if (seg.padding != 0 || seg.tensor_index == no_tensor || seg.tensor_index >= tensors.size() ||
        match.sources[seg.tensor_index].from == tensor_source::kind::init) {
      j.fill = true;
      w.fills.push_back(j);
      continue;
    }
    const checkpoint_entry& e = *match.sources[seg.tensor_index].entry;
    j.file = e.file;
    j.tensor_start = ckpt.file_of(e).header.data_start + e.info->begin;
    j.src = e.info->type;
    w.reads.push_back(j);
    const std::uint64_t rows = seg.run == 0 ? 0 : (seg.count + seg.run - 1) / seg.run;
    w.span_bytes +=
        (seg.stride == seg.run || rows == 0 ? seg.count : (rows - 1) * seg.stride + seg.run) *
        st_dtype_size(j.src);
  }
  // std::sort with a total order (libstdc++'s stable_sort warns under clang 19: its
  // get_temporary_buffer is deprecated).
  std::sort(w.reads.begin(), w.reads.end(), [&](const auto& a, const auto& b) {
    const segment& sa = prog.segments[a.segment_index];
    const segment& sb = prog.segments[b.segment_index];
    const std::uint64_t oa = a.tensor_start + sa.base * st_dtype_size(a.src);
    const std::uint64_t ob = b.tensor_start + sb.base * st_dtype_size(b.src);
    if (a.file != b.file) return a.file < b.file;
    return oa != ob ? oa < ob : a.segment_index < b.segment_index;
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
      init = resolve_init(tensors[seg.tensor_index].spec, layout.options.scheme,
                          layout.options.stream);
    seg.init = init;
  }
  return seg;
}

}  // namespace detail

}  // namespace blueprint
