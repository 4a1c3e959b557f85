// The fused CUDA materializer: one launch computes, casts and stores every segment of a rank's
// program into its device arena, bit-identical to the CPU loop (fill.hpp).
//
// Only .cu translation units include this header (it is empty for any other compiler). The
// runtime side (allocation, error checks, streams) lives in runtime/cuda.hpp; this header holds
// the device code and the plain records it receives, so that it depends on kernels/ only.
//
// Work decomposition (docs/KERNEL_NOTES.md has the reasoning and the alternatives):
//   - the arena is cut into 16-byte vectors; a block owns a tile of `tile_vectors` consecutive
//     vectors (16 KiB) and walks tiles grid-stride (a persistent grid sized by occupancy);
//   - one thread per block finds the tile's first segment by binary search over the sorted
//     segment starts (one search per 16 KiB, not per element); each thread then advances
//     linearly from there, which is a single comparison inside a large tensor;
//   - a vector that lies inside one segment is computed whole and written with one 16-byte
//     store (`st.global.cs.v4`); a vector that straddles segments, gaps or the arena end is
//     written element by element with the segment's own width (elements never straddle
//     vectors: segments start at a multiple of their element size, which divides 16);
//   - values come from the shared element functions only: the Philox group
//     (`philox_for_element_group`), the branch-free Box-Muller helpers of fill.hpp
//     (`log_of_unit`, `sincos_2pi_of_unit`, the same operations in the same order as
//     `fill_groups`), `truncnorm_value`, `to_storage<D>`, and for everything off the fast path
//     `expected_storage_bits` (= sample_element + cast). Nothing here is new math.
//
// Bit-identity needs the kernels' build flags: `--fmad=false` (no contraction; the root
// CMakeLists.txt puts it on blueprint::kernels) and no `-use_fast_math` / `-ftz=true`.
#pragma once

#if defined(__CUDACC__)

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

#include <blueprint/kernels/config.hpp>
#include <blueprint/kernels/distributions.hpp>
#include <blueprint/kernels/dtype.hpp>
#include <blueprint/kernels/fill.hpp>
#include <blueprint/kernels/fingerprint.hpp>
#include <blueprint/kernels/float_mode.hpp>
#include <blueprint/kernels/segment.hpp>

namespace blueprint::cuda_kernels {

inline constexpr unsigned block_threads = 256;
inline constexpr unsigned vectors_per_thread = 4;
inline constexpr std::uint64_t vector_bytes = 16;
inline constexpr std::uint64_t tile_vectors = block_threads * vectors_per_thread;  // 1024
inline constexpr std::uint64_t tile_bytes = tile_vectors * vector_bytes;           // 16 KiB

enum : std::uint32_t {
  flag_constant = 1u,    // padding, zeros, ones, constant, skip: `pattern` everywhere
  flag_single_row = 2u,  // count <= run: global index = base + k, no division
  flag_random = 4u,      // uniform, normal, truncated_normal
};

/// A program segment with what the kernel derives from it once, on the host.
struct kernel_segment {
  segment seg;
  std::uint64_t byte_end = 0;  // seg.arena_offset + seg.bytes()
  std::uint32_t flags = 0;
  std::uint32_t pattern = 0;  // constant segments: the storage bits replicated over 32 bits
};
static_assert(std::is_standard_layout_v<kernel_segment> &&
              std::is_trivially_copyable_v<kernel_segment>);

/// What every kernel of this file receives (by value): device pointers and sizes.
struct kernel_tables {
  const std::uint64_t* begins = nullptr;     // (S) segment start bytes, ascending
  const kernel_segment* segments = nullptr;  // (S)
  std::uint32_t count = 0;                   // S
  std::uint64_t arena_bytes = 0;
};
static_assert(std::is_standard_layout_v<kernel_tables> &&
              std::is_trivially_copyable_v<kernel_tables>);

/// What the coverage check reports (device memory, zeroed / max-initialized by the host).
struct coverage_counters {
  unsigned long long unwritten_elements;  // elements of segments still holding the poison
  unsigned long long first_unwritten;     // smallest byte offset of such an element (or ~0)
  unsigned long long gap_poison_bytes;    // bytes outside every segment still 0xFF
};
static_assert(std::is_standard_layout_v<coverage_counters> &&
              std::is_trivially_copyable_v<coverage_counters>);

// ---- host: the table ---------------------------------------------------------------------

/// The kernel's records of `segments`.
/// @pre segments sorted by arena_offset, disjoint, inside [0, arena_bytes), each starting at
///      a multiple of its element size, concrete init kinds (std::invalid_argument otherwise,
///      naming the segment and its layout row)
[[nodiscard]] inline std::vector<kernel_segment> make_kernel_segments(
    std::span<const segment> segments, std::uint64_t arena_bytes) {
  std::vector<kernel_segment> out;
  out.reserve(segments.size());
  std::uint64_t previous_end = 0;
  for (std::size_t i = 0; i < segments.size(); ++i) {
    const segment& s = segments[i];
    const auto where = [&] {
      return "segment " + std::to_string(i) + " (layout row " +
             (s.tensor_index == no_tensor ? std::string("none") : std::to_string(s.tensor_index)) +
             ", arena byte " + std::to_string(s.arena_offset) + ")";
    };
    const std::uint64_t size = dtype_size(s.type);
    if (size == 0) throw std::invalid_argument("cuda materialize: " + where() + " has no dtype");
    if (s.arena_offset % size != 0)
      throw std::invalid_argument("cuda materialize: " + where() +
                                  " does not start at a multiple of its element size");
    if (s.arena_offset < previous_end)
      throw std::invalid_argument("cuda materialize: " + where() +
                                  " overlaps or precedes the previous segment");
    if (s.arena_offset + s.bytes() > arena_bytes)
      throw std::invalid_argument("cuda materialize: " + where() + " ends past the arena (" +
                                  std::to_string(arena_bytes) + " bytes)");
    if (s.padding == 0 && !is_concrete(s.init.kind))
      throw std::invalid_argument("cuda materialize: " + where() + " has the unresolved init '" +
                                  std::string(init_kind_name(s.init.kind)) + "'");
    if (s.padding == 0 && s.count > 0 && s.run == 0)
      throw std::invalid_argument("cuda materialize: " + where() + " has run = 0");
    previous_end = s.arena_offset + s.bytes();
    if (s.count == 0) continue;  // nothing to write; keeps `begins` strictly useful
    kernel_segment k{};
    k.seg = s;
    k.byte_end = s.arena_offset + s.bytes();
    if (s.padding != 0 || blueprint::detail::is_constant_kind(s.init.kind)) {
      k.flags |= flag_constant;
      const std::uint32_t bits = expected_storage_bits(s, 0, 0);
      k.pattern = size == 4 ? bits : size == 2 ? bits * 0x00010001u : bits * 0x01010101u;
    }
    if (s.count <= s.run) k.flags |= flag_single_row;
    if (s.padding == 0 && blueprint::detail::is_random(s.init.kind)) k.flags |= flag_random;
    out.push_back(k);
  }
  return out;
}

/// The segment starts, for the binary search.
[[nodiscard]] inline std::vector<std::uint64_t> kernel_segment_begins(
    std::span<const kernel_segment> segments) {
  std::vector<std::uint64_t> begins(segments.size());
  for (std::size_t i = 0; i < segments.size(); ++i) begins[i] = segments[i].seg.arena_offset;
  return begins;
}

// ---- device: segment lookup --------------------------------------------------------------

namespace detail {

/// Index of the last segment starting at or before `byte`, or -1.
__device__ __forceinline__ int find_segment(const kernel_tables& t, std::uint64_t byte) {
  int lo = 0, hi = static_cast<int>(t.count);  // answer in [lo - 1, hi - 1]
  while (lo < hi) {
    const int mid = (lo + hi) >> 1;
    if (t.begins[mid] <= byte)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo - 1;
}

/// Moves `s` forward to the last segment starting at or before `byte` (byte only grows).
__device__ __forceinline__ int advance_segment(const kernel_tables& t, int s, std::uint64_t byte) {
  while (s + 1 < static_cast<int>(t.count) && t.begins[s + 1] <= byte) ++s;
  return s;
}

/// Local element k's global index, 32-bit division when it fits (64-bit division is a long
/// software sequence on the GPU).
__device__ __forceinline__ std::uint64_t row_of(std::uint64_t k, std::uint64_t run) {
  if ((k | run) >> 32 == 0) return static_cast<std::uint32_t>(k) / static_cast<std::uint32_t>(run);
  return k / run;
}

/// If local elements [k, k + n) are consecutive global elements, the first one's global index.
__device__ __forceinline__ bool contiguous_global(const kernel_segment& ks, std::uint64_t k,
                                                  std::uint64_t n, std::uint64_t* g) {
  const segment& s = ks.seg;
  if (ks.flags & flag_single_row) {
    *g = s.base + k;
    return true;
  }
  const std::uint64_t row = row_of(k, s.run);
  const std::uint64_t offset = k - row * s.run;
  if (offset + n > s.run) return false;
  *g = s.base + row * s.stride + offset;
  return true;
}

/// The local element index of arena byte `byte` in segment `ks`: a shift, not a division
/// (element sizes are 1, 2 or 4 bytes; a 64-bit division by a run-time value is a long
/// software sequence on the GPU).
__device__ __forceinline__ std::uint64_t local_element(const kernel_segment& ks,
                                                       std::uint64_t byte) {
  const unsigned shift = static_cast<unsigned>(dtype_size(ks.seg.type) >> 1);  // 1, 2, 4 -> 0, 1, 2
  return (byte - ks.seg.arena_offset) >> shift;
}

// ---- device: values ----------------------------------------------------------------------

/// The four values of Philox group `group` under random kind K: distributions.hpp's
/// group_values, the formulas every materializer assembles values from.
template <init_kind K>
__device__ __forceinline__ void group_values(const init_spec& s,
                                             const blueprint::detail::truncnorm_params& tp,
                                             const philox_schedule& key, std::uint64_t tensor_id,
                                             std::uint64_t group, float v[4]) {
  blueprint::detail::group_values<K>(s, tp, philox_for_element_group(key, tensor_id, group), v);
}

template <dtype D>
inline constexpr int elements_per_vector = static_cast<int>(vector_bytes / dtype_size(D));

/// Packs E storage words (little-endian) into a 16-byte vector.
template <dtype D>
__device__ __forceinline__ uint4 pack(const std::uint32_t (&w)[elements_per_vector<D>]) {
  constexpr int E = elements_per_vector<D>;
  std::uint32_t word[4];
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    if constexpr (E == 4) {
      word[i] = w[i];
    } else if constexpr (E == 8) {
      word[i] = w[2 * i] | (w[2 * i + 1] << 16);
    } else {
      word[i] = w[4 * i] | (w[4 * i + 1] << 8) | (w[4 * i + 2] << 16) | (w[4 * i + 3] << 24);
    }
  }
  return make_uint4(word[0], word[1], word[2], word[3]);
}

/// The truncated normal's four values, out of line: erf/erfinv are long and the kind is rare
/// in large models, so one copy serves every dtype and alignment. A template (as every
/// out-of-line function and kernel of this header): emitted only where used, and defined in
/// several translation units of one `-rdc=true` program without "multiple definition".
/// It takes the seed, not the schedule: a reference to the schedule in an out-of-line call
/// would copy the kernel's parameter to local memory (spills); the schedule's first round keys
/// are the seed's two words.
template <int = 0>
__device__ __noinline__ float4 truncnorm_group(const init_spec& s,
                                               const blueprint::detail::truncnorm_params& tp,
                                               std::uint64_t seed, std::uint64_t tensor_id,
                                               std::uint64_t group) {
  float v[4];
  blueprint::detail::group_values<init_kind::truncated_normal>(
      s, tp, philox_for_element_group(seed, tensor_id, group), v);
  return make_float4(v[0], v[1], v[2], v[3]);
}

/// Init stream v3's reference values of a group (distributions.hpp), out of line: called only
/// for a group with a lane at a refined level (probability about 2^-9 per group: a second
/// Philox call), so that the common path keeps its registers and has no call per element.
template <int = 0>
__device__ __noinline__ float4 icdf16_group_reference(init_spec s, std::uint64_t seed,
                                                      std::uint64_t tensor_id, std::uint64_t group,
                                                      uint4 words) {
  float v[4];
  blueprint::detail::normal_icdf16_group(s, seed, tensor_id, group,
                                         philox_result{{words.x, words.y, words.z, words.w}}, v);
  return make_float4(v[0], v[1], v[2], v[3]);
}

/// The four values of group `group` under init stream v3 from its Philox block: every lane by
/// normal_icdf16_core_value, branch-free, then the whole group again by the reference when a
/// lane is at a refined level.
__device__ __forceinline__ void icdf16_group_values(const init_spec& s, std::uint64_t seed,
                                                    std::uint64_t tensor_id, std::uint64_t group,
                                                    const philox_result& block, float v[4]) {
  const unsigned shift = static_cast<unsigned>(group & 1u) * 16u;
  bool refined = false;
#pragma unroll
  for (int l = 0; l < 4; ++l) {
    const std::uint32_t h = (block.v[l] >> shift) & 0xFFFFu;
    refined |= blueprint::detail::icdf16_level(h) < blueprint::detail::icdf16_refined_levels;
    v[l] = blueprint::detail::normal_icdf16_core_value(s, h);
  }
  if (refined) {
    const float4 r = icdf16_group_reference<>(
        s, seed, tensor_id, group, make_uint4(block.v[0], block.v[1], block.v[2], block.v[3]));
    v[0] = r.x;
    v[1] = r.y;
    v[2] = r.z;
    v[3] = r.w;
  }
}

/// The seed of a schedule: its first round keys are the seed's two words.
__device__ __forceinline__ std::uint64_t schedule_seed(const philox_schedule& key) {
  return key.k0[0] | (std::uint64_t{key.k1[0]} << 32);
}

template <init_kind K>
__device__ __forceinline__ void group_values_dispatch(const init_spec& s,
                                                      const blueprint::detail::truncnorm_params& tp,
                                                      const philox_schedule& key,
                                                      std::uint64_t tensor_id, std::uint64_t group,
                                                      float v[4]) {
  if constexpr (K == init_kind::normal_icdf16) {
    icdf16_group_values(s, schedule_seed(key), tensor_id, group,
                        philox_for_element_group(key, tensor_id, group >> 1), v);
  } else if constexpr (K == init_kind::truncated_normal) {
    const std::uint64_t seed = schedule_seed(key);
    const float4 r = truncnorm_group<>(s, tp, seed, tensor_id, group);
    v[0] = r.x;
    v[1] = r.y;
    v[2] = r.z;
    v[3] = r.w;
  } else {
    group_values<K>(s, tp, key, tensor_id, group, v);
  }
}

/// Global elements [g, g + E) of a random segment, cast to D and packed.
template <dtype D, init_kind K>
__device__ __forceinline__ uint4 random_vector(const init_spec& s, const philox_schedule& key,
                                               std::uint64_t tensor_id, std::uint64_t g) {
  constexpr int E = elements_per_vector<D>;
  constexpr int G = E / 4;  // whole groups when aligned
  blueprint::detail::truncnorm_params tp{};
  if constexpr (K == init_kind::truncated_normal) tp = blueprint::detail::truncnorm_setup(s);
  const std::uint64_t group = g >> 2;
  const unsigned shift = static_cast<unsigned>(g & 3u);
  // An unaligned start (flat-chunk shards, odd row offsets) needs one more group and shifted
  // lanes; one copy of the group code serves both cases (the extra group is skipped when
  // aligned, a branch uniform across the warp inside a tensor).
  float v[4 * G + 4];
  // Init stream v3 reads one Philox block per two groups: a vector that starts on a block
  // (bf16, f16: one block; fp8: two) computes each block once.
  bool whole_blocks = false;
  if constexpr (K == init_kind::normal_icdf16 && G % 2 == 0) {
    if (shift == 0 && (group & 1u) == 0) {
      whole_blocks = true;
      const std::uint64_t seed = schedule_seed(key);
#pragma unroll
      for (int i = 0; i < G; i += 2) {
        const philox_result block = philox_for_element_group(key, tensor_id, (group + i) >> 1);
        icdf16_group_values(s, seed, tensor_id, group + i, block, &v[4 * i]);
        icdf16_group_values(s, seed, tensor_id, group + i + 1, block, &v[4 * i + 4]);
      }
    }
  }
  if (!whole_blocks) {
#pragma unroll
    for (int i = 0; i <= G; ++i) {
      if (i < G || shift != 0) {
        group_values_dispatch<K>(s, tp, key, tensor_id, group + i, &v[4 * i]);
      } else {
        v[4 * i] = v[4 * i + 1] = v[4 * i + 2] = v[4 * i + 3] = 0.0f;
      }
    }
  }
  std::uint32_t w[E];
  if (shift == 0) {
#pragma unroll
    for (int e = 0; e < E; ++e) w[e] = blueprint::detail::to_storage<D>(v[e]);
  } else {
#pragma unroll
    for (int e = 0; e < E; ++e) {
      const float x = shift == 1 ? v[e + 1] : shift == 2 ? v[e + 2] : v[e + 3];
      w[e] = blueprint::detail::to_storage<D>(x);
    }
  }
  return pack<D>(w);
}

/// random_vector for init stream v3, out of line: its 8 to 16 values per vector need more
/// registers than the kernel's other paths, and inline they made the whole kernel spill (292
/// bytes of spill stores against 32). It takes the seed, not the schedule (a reference to the
/// kernel parameter would be copied to local memory), and recomputes the round keys.
template <dtype D, int = 0>
__device__ __noinline__ uint4 icdf16_vector(init_spec s, std::uint64_t seed,
                                            std::uint64_t tensor_id, std::uint64_t g) {
  return random_vector<D, init_kind::normal_icdf16>(s, philox_seed_schedule(seed), tensor_id, g);
}

/// The stored bits of local element k, by the reference function (sample_element + cast), out
/// of line: index functions (arange, rotary inv_freq) and vectors that cross a row of the
/// affine map or a segment boundary take this path, element by element.
template <int = 0>
__device__ __noinline__ std::uint32_t element_bits(const segment& s, std::uint64_t seed,
                                                   std::uint64_t k) {
  return expected_storage_bits(s, seed, k);
}

/// The 16 bytes at local elements [k, k + E) of a segment that holds them all, when they can
/// be computed as one vector (false: the caller stores them element by element).
template <dtype D>
__device__ __forceinline__ bool segment_vector(const kernel_segment& ks, const philox_schedule& key,
                                               std::uint64_t k, uint4* out) {
  constexpr int E = elements_per_vector<D>;
  if (ks.flags & flag_constant) {
    *out = make_uint4(ks.pattern, ks.pattern, ks.pattern, ks.pattern);
    return true;
  }
  std::uint64_t g = 0;
  if (!(ks.flags & flag_random) || !contiguous_global(ks, k, E, &g)) return false;
  switch (ks.seg.init.kind) {
    case init_kind::normal:
      *out = random_vector<D, init_kind::normal>(ks.seg.init, key, ks.seg.tensor_id, g);
      return true;
    case init_kind::uniform:
      *out = random_vector<D, init_kind::uniform>(ks.seg.init, key, ks.seg.tensor_id, g);
      return true;
    case init_kind::normal_icdf:
      *out = random_vector<D, init_kind::normal_icdf>(ks.seg.init, key, ks.seg.tensor_id, g);
      return true;
    case init_kind::normal_icdf16:
      *out = icdf16_vector<D>(ks.seg.init, schedule_seed(key), ks.seg.tensor_id, g);
      return true;
    default:
      *out = random_vector<D, init_kind::truncated_normal>(ks.seg.init, key, ks.seg.tensor_id, g);
      return true;
  }
}

/// Stores one element's bits at `p` with the width of `size`.
__device__ __forceinline__ void store_bits(std::byte* p, std::uint64_t size, std::uint32_t bits) {
  if (size == 4)
    *reinterpret_cast<std::uint32_t*>(p) = bits;
  else if (size == 2)
    *reinterpret_cast<std::uint16_t*>(p) = static_cast<std::uint16_t>(bits);
  else
    *reinterpret_cast<std::uint8_t*>(p) = static_cast<std::uint8_t>(bits);
}

__device__ __forceinline__ std::uint32_t load_bits(const std::byte* p, std::uint64_t size) {
  if (size == 4) return *reinterpret_cast<const std::uint32_t*>(p);
  if (size == 2) return *reinterpret_cast<const std::uint16_t*>(p);
  return *reinterpret_cast<const std::uint8_t*>(p);
}

/// Calls f(segment index, local element k, byte offset) for every element of any segment that
/// starts in [vb, ve), and g(byte) for every byte of [vb, ve) outside all segments. `s` is the
/// last segment starting at or before vb (or -1).
template <class F, class G>
__device__ __forceinline__ void for_each_element_in(const kernel_tables& t, int s, std::uint64_t vb,
                                                    std::uint64_t ve, F&& f, G&& g) {
  std::uint64_t byte = vb;
  int i = s;
  while (byte < ve) {
    if (i >= 0 && byte < t.segments[i].byte_end) {
      const kernel_segment& ks = t.segments[i];
      const std::uint64_t size = dtype_size(ks.seg.type);
      const std::uint64_t end = ks.byte_end < ve ? ks.byte_end : ve;
      // Elements start at multiples of `size` from the segment start; `byte` is one of them
      // (vb is 16-aligned and segment starts are size-aligned).
      for (; byte < end; byte += size) f(i, local_element(ks, byte), byte);
      continue;
    }
    // Outside segment i: either a gap before the next segment or past the last.
    const std::uint64_t next =
        i + 1 < static_cast<int>(t.count) ? t.begins[i + 1] : static_cast<std::uint64_t>(-1);
    if (next <= byte) {
      ++i;
      continue;
    }
    const std::uint64_t end = next < ve ? next : ve;
    for (; byte < end; ++byte) g(byte);
  }
}

struct fill_element {
  const kernel_tables* t;
  std::byte* arena;
  std::uint64_t seed;
  __device__ void operator()(int i, std::uint64_t k, std::uint64_t byte) const {
    const kernel_segment& ks = t->segments[i];
    store_bits(arena + byte, dtype_size(ks.seg.type), element_bits<>(ks.seg, seed, k));
  }
};
struct ignore_byte {
  __device__ void operator()(std::uint64_t) const {}
};

}  // namespace detail

namespace detail {

/// The work split of the three kernels (materialize, fingerprint, coverage), written once:
/// tiles of tile_bytes in grid-stride order, each thread vectors_per_thread 16-byte vectors of
/// its tile, and for each vector the segment that holds its first byte (thread 0 finds the
/// tile's first segment, every thread advances from it). Calls body(vb, s) for each vector
/// start vb < t.arena_bytes; s: the segment index, or -1 in a gap.
template <class Body>
__device__ __forceinline__ void for_each_vector(const kernel_tables& t, Body&& body) {
  __shared__ int tile_segment;
  const std::uint64_t vectors = (t.arena_bytes + vector_bytes - 1) / vector_bytes;
  const std::uint64_t tiles = (vectors + tile_vectors - 1) / tile_vectors;
  for (std::uint64_t tile = blockIdx.x; tile < tiles; tile += gridDim.x) {
    if (threadIdx.x == 0) tile_segment = find_segment(t, tile * tile_bytes);
    __syncthreads();
    int s = tile_segment;
    __syncthreads();  // tile_segment is rewritten next iteration
#pragma unroll 1
    for (unsigned j = 0; j < vectors_per_thread; ++j) {
      const std::uint64_t v = tile * tile_vectors + j * block_threads + threadIdx.x;
      const std::uint64_t vb = v * vector_bytes;
      if (vb >= t.arena_bytes) break;
      s = advance_segment(t, s, vb);
      body(vb, s);
    }
  }
}

}  // namespace detail

// ---- kernels -----------------------------------------------------------------------------

/// Writes every segment of `t` into `arena`. Bytes outside all segments are not touched.
/// @pre arena is 16-byte aligned (cudaMalloc: 256) and holds t.arena_bytes bytes
template <int = 0>
__global__ void __launch_bounds__(block_threads)
    materialize_kernel(const kernel_tables t, std::byte* __restrict__ arena, std::uint64_t seed) {
  const philox_schedule key = philox_seed_schedule(seed);
  detail::for_each_vector(t, [&](std::uint64_t vb, int s) {
    if (s >= 0 && vb + vector_bytes <= t.segments[s].byte_end) {
      const kernel_segment& ks = t.segments[s];
      const std::uint64_t size = dtype_size(ks.seg.type);
      const std::uint64_t k = detail::local_element(ks, vb);
      uint4 value;
      const bool whole = with_dtype(ks.seg.type, [&](auto tag) {
        return detail::segment_vector<decltype(tag)::value>(ks, key, k, &value);
      });
      if (whole) {
        __stcs(reinterpret_cast<uint4*>(arena + vb), value);  // streaming: written once
      } else {
#pragma unroll 1
        for (std::uint64_t e = 0; e < vector_bytes / size; ++e)
          detail::store_bits(arena + vb + e * size, size,
                             detail::element_bits<>(ks.seg, seed, k + e));
      }
    } else {
      const std::uint64_t ve =
          vb + vector_bytes < t.arena_bytes ? vb + vector_bytes : t.arena_bytes;
      detail::for_each_element_in(t, s, vb, ve, detail::fill_element{&t, arena, seed},
                                  detail::ignore_byte{});
    }
  });
}

namespace detail {

__device__ __forceinline__ unsigned long long block_sum(unsigned long long x) {
  __shared__ unsigned long long warp_sums[block_threads / 32];
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) x += __shfl_down_sync(0xffffffffu, x, o);
  const unsigned lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  if (lane == 0) warp_sums[warp] = x;
  __syncthreads();
  unsigned long long total = 0;
  if (warp == 0) {
    total = lane < block_threads / 32 ? warp_sums[lane] : 0ull;
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) total += __shfl_down_sync(0xffffffffu, total, o);
  }
  __syncthreads();
  return total;  // valid in thread 0
}

template <dtype D>
__device__ __forceinline__ std::uint64_t vector_fingerprint(const kernel_segment& ks,
                                                            std::uint64_t k, uint4 value) {
  constexpr int E = elements_per_vector<D>;
  const std::uint32_t word[4] = {value.x, value.y, value.z, value.w};
  std::uint64_t g0 = 0;
  const bool contiguous = contiguous_global(ks, k, E, &g0);
  std::uint64_t sum = 0;
#pragma unroll
  for (int e = 0; e < E; ++e) {
    std::uint32_t bits;
    if constexpr (E == 4)
      bits = word[e];
    else if constexpr (E == 8)
      bits = (word[e / 2] >> (16 * (e % 2))) & 0xFFFFu;
    else
      bits = (word[e / 4] >> (8 * (e % 4))) & 0xFFu;
    const std::uint64_t g = contiguous ? g0 + e : ks.seg.global_index(k + e);
    sum += element_fingerprint(ks.seg.tensor_id, g, bits);
  }
  return sum;
}

}  // namespace detail

/// Adds (mod 2^64) element_fingerprint(tensor id, global index, stored bits) over every element
/// of every non-padding segment to *result: the same sum as segment_fingerprint over the
/// program on the CPU (integer sums, so the order does not matter).
template <int = 0>
__global__ void __launch_bounds__(block_threads)
    fingerprint_kernel(const kernel_tables t, const std::byte* __restrict__ arena,
                       unsigned long long* result) {
  std::uint64_t sum = 0;
  detail::for_each_vector(t, [&](std::uint64_t vb, int s) {
    if (s >= 0 && vb + vector_bytes <= t.segments[s].byte_end) {
      const kernel_segment& ks = t.segments[s];
      if (ks.seg.padding != 0) return;
      const std::uint64_t k = detail::local_element(ks, vb);
      const uint4 value = __ldcs(reinterpret_cast<const uint4*>(arena + vb));
      // Both f8 dtypes hash alike: only the width matters here.
      sum += with_dtype(ks.seg.type, [&](auto tag) -> std::uint64_t {
        constexpr dtype d =
            decltype(tag)::value == dtype::f8_e5m2 ? dtype::f8_e4m3fn : decltype(tag)::value;
        return detail::vector_fingerprint<d>(ks, k, value);
      });
    } else {
      const std::uint64_t ve =
          vb + vector_bytes < t.arena_bytes ? vb + vector_bytes : t.arena_bytes;
      detail::for_each_element_in(
          t, s, vb, ve,
          [&](int i, std::uint64_t k, std::uint64_t byte) {
            const kernel_segment& ks = t.segments[i];
            if (ks.seg.padding != 0) return;
            const std::uint32_t bits = detail::load_bits(arena + byte, dtype_size(ks.seg.type));
            sum += element_fingerprint(ks.seg.tensor_id, ks.seg.global_index(k), bits);
          },
          detail::ignore_byte{});
    }
  });
  const unsigned long long total = detail::block_sum(sum);
  if (threadIdx.x == 0 && total != 0) atomicAdd(result, total);
}

/// Counts the elements of `t`'s segments whose bits are still all ones (the 0xFF poison: NaN
/// in every dtype, a pattern no init writes) and the gap bytes still 0xFF.
template <int = 0>
__global__ void __launch_bounds__(block_threads)
    coverage_kernel(const kernel_tables t, const std::byte* __restrict__ arena,
                    coverage_counters* out) {
  unsigned long long unwritten = 0, gap = 0, first = ~0ull;
  detail::for_each_vector(t, [&](std::uint64_t vb, int s) {
    const std::uint64_t ve = vb + vector_bytes < t.arena_bytes ? vb + vector_bytes : t.arena_bytes;
    if (s >= 0 && ve == vb + vector_bytes && ve <= t.segments[s].byte_end) {
      const uint4 x = __ldcs(reinterpret_cast<const uint4*>(arena + vb));
      const std::uint64_t size = dtype_size(t.segments[s].seg.type);
      const std::uint32_t w[4] = {x.x, x.y, x.z, x.w};
#pragma unroll
      for (int i = 0; i < 4; ++i) {
        for (std::uint64_t b = 0; b < 4; b += size) {
          const std::uint32_t mask = size == 4 ? 0xFFFFFFFFu : size == 2 ? 0xFFFFu : 0xFFu;
          if (((w[i] >> (8 * b)) & mask) == mask) {
            ++unwritten;
            const unsigned long long at = vb + 4 * i + b;
            first = at < first ? at : first;
          }
        }
      }
    } else {
      detail::for_each_element_in(
          t, s, vb, ve,
          [&](int i, std::uint64_t, std::uint64_t byte) {
            const std::uint64_t size = dtype_size(t.segments[i].seg.type);
            const std::uint32_t mask = size == 4 ? 0xFFFFFFFFu : size == 2 ? 0xFFFFu : 0xFFu;
            if (detail::load_bits(arena + byte, size) == mask) {
              ++unwritten;
              first = byte < first ? byte : first;
            }
          },
          [&](std::uint64_t byte) {
            if (static_cast<std::uint8_t>(arena[byte]) == 0xFFu) ++gap;
          });
    }
  });
  if (unwritten != 0) {
    atomicAdd(&out->unwritten_elements, unwritten);
    atomicMin(&out->first_unwritten, first);
  }
  if (gap != 0) atomicAdd(&out->gap_poison_bytes, gap);
}

// ---- the float-mode self-test --------------------------------------------------------------

/// One thread: the probe's operations on kernel arguments (nothing to fold at compile time),
/// written as the element functions write theirs, so that the flags that would change their
/// bits change these. @pre out is device memory
template <int = 0>
__global__ void float_mode_kernel(float a, float c, float tiny, float tinier,
                                  float_mode_probe* out) {
  float_mode_probe p;
  p.contracted = a * a + c;
  p.subnormal_mul = tiny * 0.5f;
  p.subnormal_fma = __fmaf_rn(tiny, 0.5f, 0.0f);
  p.subnormal_div = __fdiv_rn(tiny, 4.0f);
  p.subnormal_sqrt = __fsqrt_rn(tinier);
  *out = p;
}

/// Enqueues the probe; `out` (device memory) receives it.
[[nodiscard]] inline cudaError_t launch_float_mode_probe(float_mode_probe* out,
                                                         cudaStream_t stream) {
  float a = float_mode_expected::a, c = float_mode_expected::c;
  float tiny = float_mode_expected::tiny, tinier = float_mode_expected::tinier;
  void* params[] = {&a, &c, &tiny, &tinier, &out};
  return cudaLaunchKernel(reinterpret_cast<const void*>(&float_mode_kernel<>), dim3(1), dim3(1),
                          params, 0, stream);
}

// ---- host: launches ----------------------------------------------------------------------

/// Blocks per SM the materialize kernel can keep resident (at least 1).
template <class Kernel>
[[nodiscard]] inline int resident_blocks(Kernel kernel, int device, cudaError_t* error) {
  int per_sm = 0, sms = 0;
  *error = cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, kernel, block_threads, 0);
  if (*error != cudaSuccess) return 1;
  *error = cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device);
  if (*error != cudaSuccess) return 1;
  return (per_sm > 0 ? per_sm : 1) * (sms > 0 ? sms : 1);
}

[[nodiscard]] inline std::uint64_t tile_count(const kernel_tables& t) {
  const std::uint64_t vectors = (t.arena_bytes + vector_bytes - 1) / vector_bytes;
  return (vectors + tile_vectors - 1) / tile_vectors;
}

[[nodiscard]] inline unsigned grid_for(std::uint64_t tiles, int resident) {
  const std::uint64_t g = tiles < static_cast<std::uint64_t>(resident) ? tiles : resident;
  return static_cast<unsigned>(g == 0 ? 1 : g);
}

/// Enqueues `kernel(t, args...)` on `stream` over the tiles of `t`, with as many blocks as stay
/// resident. Returns this launch's own result (cudaLaunchKernel's), never an earlier error left
/// on the thread: a caller that frees memory after a failed launch must know that nothing was
/// enqueued, and must not free memory a kernel that did start is writing.
/// @pre the current device is `device`; `t` and the pointers in `args` are device memory
template <class... Params, class... Args>
[[nodiscard]] inline cudaError_t launch_over_tiles(void (*kernel)(kernel_tables, Params...),
                                                   const kernel_tables& t, int device,
                                                   cudaStream_t stream, Args... args) {
  if (t.arena_bytes == 0) return cudaSuccess;
  cudaError_t error = cudaSuccess;
  const int resident = resident_blocks(kernel, device, &error);
  if (error != cudaSuccess) return error;
  kernel_tables tables = t;
  std::tuple<Params...> values{args...};
  return std::apply(
      [&](auto&... v) {
        void* params[] = {static_cast<void*>(&tables), static_cast<void*>(&v)...};
        return cudaLaunchKernel(reinterpret_cast<const void*>(kernel),
                                dim3(grid_for(tile_count(t), resident)), dim3(block_threads),
                                params, 0, stream);
      },
      values);
}

/// True when `p` is 16-byte aligned: the kernels store (and read) whole 16-byte vectors, and a
/// misaligned vector access faults. cudaMalloc gives 256; a caller's own pointer may not.
[[nodiscard]] inline bool vector_aligned(const void* p) {
  return reinterpret_cast<std::uintptr_t>(p) % vector_bytes == 0;
}

/// Enqueues the materialize kernel on `stream`.
[[nodiscard]] inline cudaError_t launch_materialize(const kernel_tables& t, std::byte* arena,
                                                    std::uint64_t seed, int device,
                                                    cudaStream_t stream) {
  if (!vector_aligned(arena)) return cudaErrorMisalignedAddress;  // nothing enqueued
  return launch_over_tiles(materialize_kernel<>, t, device, stream, arena, seed);
}

/// Enqueues the fingerprint kernel; *result (device memory) must be zeroed before.
[[nodiscard]] inline cudaError_t launch_fingerprint(const kernel_tables& t, const std::byte* arena,
                                                    unsigned long long* result, int device,
                                                    cudaStream_t stream) {
  if (!vector_aligned(arena)) return cudaErrorMisalignedAddress;
  return launch_over_tiles(fingerprint_kernel<>, t, device, stream, arena, result);
}

/// Enqueues the coverage check; *out (device memory) must hold {0, ~0, 0} before.
[[nodiscard]] inline cudaError_t launch_coverage(const kernel_tables& t, const std::byte* arena,
                                                 coverage_counters* out, int device,
                                                 cudaStream_t stream) {
  if (!vector_aligned(arena)) return cudaErrorMisalignedAddress;
  return launch_over_tiles(coverage_kernel<>, t, device, stream, arena, out);
}

}  // namespace blueprint::cuda_kernels

#endif  // __CUDACC__
