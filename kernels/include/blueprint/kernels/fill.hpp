// The inner loop of every materializer: compute, cast and store a range of one segment, and
// hash what was stored.
//
// A segment maps local element k to global element base + (k / run) * stride + k % run of one
// tensor (segment.hpp). Within one row of that map (the same k / run) local and global indices
// both advance by one, so the loop walks the segment row by row, and inside a row it walks whole
// Philox groups (4 consecutive global elements, one generator call) where it can and partial
// groups only at the two ends of a row. Every value comes from the same functions as
// `sample_element` (distributions.hpp), so the bytes do not depend on how the work is cut into
// ranges, threads, ranks or devices. Nothing is ever buffered in float32 beyond one batch of a
// few dozen values in registers / on the stack.
//
// The CUDA kernel calls the same `fill_segment_range` per grid-stride range, so everything here
// is BLUEPRINT_HD and uses no library calls. On x86-64 hosts the random paths are additionally
// compiled for AVX2+FMA and AVX-512 and chosen at run time (`det_fma` is a library call to
// glibc's `fmaf` without hardware FMA; with it, one instruction giving the same correctly
// rounded result, so the bits do not depend on which version runs).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "cast.hpp"
#include "config.hpp"
#include "distributions.hpp"
#include "dtype.hpp"
#include "fingerprint.hpp"
#include "init.hpp"
#include "math.hpp"
#include "philox.hpp"
#include "segment.hpp"

#if BLUEPRINT_FILL_X86_DISPATCH
#include "x86/simd.hpp"  // ISA detection, AVX2 / AVX-512 Philox and sqrt (run-time chosen)
#endif

namespace blueprint {

namespace detail {

/// The unsigned storage word of a dtype.
template <dtype D>
struct storage_word {
  using type = std::uint8_t;
};
template <>
struct storage_word<dtype::f32> {
  using type = std::uint32_t;
};
template <>
struct storage_word<dtype::bf16> {
  using type = std::uint16_t;
};
template <>
struct storage_word<dtype::f16> {
  using type = std::uint16_t;
};
template <dtype D>
using storage_t = typename storage_word<D>::type;

/// The storage pattern of `v` in dtype D (the same narrowing as store_element<D>).
template <dtype D>
[[nodiscard]] BLUEPRINT_HD BLUEPRINT_INLINE constexpr storage_t<D> to_storage(float v) {
  if constexpr (D == dtype::f32) {
    return float_as_bits(v);
  } else if constexpr (D == dtype::bf16) {
    return float_to_bf16_bits(v);
  } else if constexpr (D == dtype::f16) {
    return float_to_f16_bits(v);
  } else if constexpr (D == dtype::f8_e4m3fn) {
    return float_to_f8_e4m3fn_bits(v);
  } else {
    static_assert(D == dtype::f8_e5m2, "to_storage: unknown dtype");
    return float_to_f8_e5m2_bits(v);
  }
}

[[nodiscard]] BLUEPRINT_HD BLUEPRINT_INLINE constexpr bool is_constant_kind(init_kind k) {
  return k == init_kind::zeros || k == init_kind::ones || k == init_kind::constant ||
         k == init_kind::skip;
}

/// Groups of 4 elements computed per batch: enough independent work for the compiler to keep
/// SIMD lanes busy (the loops below are written structure-of-arrays, without branches, so that
/// g++ vectorizes them), small enough to stay in L1.
inline constexpr std::uint64_t fill_batch_groups = 32;

/// x[i] = det_sqrt(x[i]) for i < n. On x86-64 hosts 16 (AVX-512) or 4 (SSE) at a time: SQRTPS
/// is IEEE correctly rounded like the scalar SQRTSS that sqrtf compiles to, so the same bits;
/// g++ cannot vectorize sqrtf itself under its default -fmath-errno (it keeps a branch to the
/// library call for negative inputs).
BLUEPRINT_HD BLUEPRINT_INLINE void sqrt_in_place(float* x, std::uint64_t n) {
  std::uint64_t i = 0;
#if BLUEPRINT_FILL_X86_DISPATCH
  if (host_isa_level() == 2) i = sqrt_in_place_avx512(x, n);
  for (; i + 4 <= n; i += 4) _mm_storeu_ps(x + i, _mm_sqrt_ps(_mm_loadu_ps(x + i)));
#endif
  for (; i < n; ++i) x[i] = det_sqrt(x[i]);
}

/// Stores whole groups [group, group + groups) of a random init to out[0 .. 4 groups).
/// The arithmetic is exactly sample_group's (distributions.hpp), spelled per kind so that the
/// kind test is outside the loop and the loops vectorize; tests/unit/test_materialize.cpp
/// checks every element of the tiny models against sample_element bit for bit.
template <dtype D, init_kind K>
BLUEPRINT_HD BLUEPRINT_INLINE void fill_groups(const init_spec& s, std::uint64_t seed,
                                               std::uint64_t tensor_id, std::uint64_t group,
                                               std::uint64_t groups, storage_t<D>* out) {
  constexpr std::uint64_t B = fill_batch_groups;
  while (groups != 0) {
    const std::uint64_t nb = groups < B ? groups : B;
    std::uint32_t x[4][B];
    std::uint64_t j = 0;
#if BLUEPRINT_FILL_X86_DISPATCH
    if (host_isa_level() == 2) {
      philox_blocks_avx512(seed, tensor_id, group, nb / 16, x[0], x[1], x[2], x[3]);
      j = nb / 16 * 16;
    } else if (host_isa_level() == 1) {
      philox_blocks_avx2(seed, tensor_id, group, nb / 8, x[0], x[1], x[2], x[3]);
      j = nb / 8 * 8;
    }
#endif
    const philox_schedule key = philox_seed_schedule(seed);
    for (; j < nb; ++j) {
      const philox_result r = philox_for_element_group(key, tensor_id, group + j);
      x[0][j] = r.v[0];
      x[1][j] = r.v[1];
      x[2][j] = r.v[2];
      x[3][j] = r.v[3];
    }
    float v[4][B];
    if constexpr (K == init_kind::normal) {
      // group_values<normal> of distributions.hpp, in three loops: under g++'s default
      // -fmath-errno a square root in the loop would keep the log and sincos scalar too.
      float rad[2][B], sn[2][B], cs[2][B];
      for (int pair = 0; pair < 2; ++pair)
        for (std::uint64_t j = 0; j < nb; ++j) {
          rad[pair][j] = box_muller_radius_squared(x[2 * pair][j]);
          box_muller_angle(x[2 * pair + 1][j], &sn[pair][j], &cs[pair][j]);
        }
      sqrt_in_place(rad[0], nb);
      sqrt_in_place(rad[1], nb);
      for (int pair = 0; pair < 2; ++pair)
        for (std::uint64_t j = 0; j < nb; ++j) {
          v[2 * pair][j] = normal_value(s, rad[pair][j], cs[pair][j]);
          v[2 * pair + 1][j] = normal_value(s, rad[pair][j], sn[pair][j]);
        }
    } else if constexpr (K == init_kind::uniform) {
      for (int l = 0; l < 4; ++l)
        for (std::uint64_t j = 0; j < nb; ++j) v[l][j] = uniform_value(s, x[l][j]);
    } else if constexpr (K == init_kind::normal_icdf) {
      // (Explicit VGATHERDPS was slower here than g++'s own code for the table lookups: 403
      // against 478 M values/s on an AMD EPYC with AVX-512; docs/PERFORMANCE.md.)
      for (int l = 0; l < 4; ++l)
        for (std::uint64_t j = 0; j < nb; ++j) v[l][j] = normal_icdf_value(s, x[l][j]);
    } else {
      static_assert(K == init_kind::truncated_normal, "fill_groups: random kinds only");
      const truncnorm_params p = truncnorm_setup(s);
      for (int l = 0; l < 4; ++l)
        for (std::uint64_t j = 0; j < nb; ++j) v[l][j] = truncnorm_value(s, p, x[l][j]);
    }
    for (std::uint64_t j = 0; j < nb; ++j)
      for (int l = 0; l < 4; ++l) out[4 * j + l] = to_storage<D>(v[l][j]);
    group += nb;
    groups -= nb;
    out += 4 * nb;
  }
}

/// Init stream v3's values of groups [group, group + nb) into v[lane][j] (nb = 1 for an odd
/// group, else even): one Philox block per pair of groups (group g reads the half g & 1 of
/// block g >> 1), the core polynomial for every lane in branch-free loops, then the rare
/// refined levels (probability 2^-11 each) patched one by one. Nothing here depends on the
/// dtype, so on x86 hosts it is compiled once per ISA (icdf16_values_portable / _avx2 below)
/// rather than inlined into every dtype's fill loop: that halves the fill code's compile time.
BLUEPRINT_HD BLUEPRINT_INLINE void icdf16_values(const init_spec& s, std::uint64_t seed,
                                                 std::uint64_t tensor_id, std::uint64_t group,
                                                 std::uint64_t nb, float (*v)[fill_batch_groups]) {
  constexpr std::uint64_t B = fill_batch_groups;
  const philox_schedule key = philox_seed_schedule(seed);
  std::uint32_t h[4][B];
  if (nb == 1) {
    const philox_result block = philox_for_element_group(key, tensor_id, group >> 1);
    const unsigned shift = static_cast<unsigned>(group & 1u) * 16u;
    for (int l = 0; l < 4; ++l) h[l][0] = (block.v[l] >> shift) & 0xFFFFu;
  } else {
    const std::uint64_t blocks = nb / 2, first = group / 2;
    std::uint32_t x[4][B / 2];
    std::uint64_t b = 0;
#if BLUEPRINT_FILL_X86_DISPATCH
    if (host_isa_level() >= 1) {
      philox_blocks_avx2(seed, tensor_id, first, blocks / 8, x[0], x[1], x[2], x[3]);
      b = blocks / 8 * 8;
    }
#endif
    for (; b < blocks; ++b) {
      const philox_result r = philox_for_element_group(key, tensor_id, first + b);
      for (int l = 0; l < 4; ++l) x[l][b] = r.v[l];
    }
    for (int l = 0; l < 4; ++l)
      for (b = 0; b < blocks; ++b) {
        h[l][2 * b] = x[l][b] & 0xFFFFu;
        h[l][2 * b + 1] = x[l][b] >> 16;
      }
  }
  for (int l = 0; l < 4; ++l)
    for (std::uint64_t j = 0; j < nb; ++j) v[l][j] = normal_icdf16_core_value(s, h[l][j]);
  for (int l = 0; l < 4; ++l)
    for (std::uint64_t j = 0; j < nb; ++j)
      if (icdf16_level(h[l][j]) < icdf16_refined_levels)
        v[l][j] = det_fma(
            s.b, normal_icdf16_standard(h[l][j], seed, tensor_id, (group + j) * 4 + l), s.a);
}

#if BLUEPRINT_FILL_X86_DISPATCH
__attribute__((noinline)) inline void icdf16_values_portable(const init_spec& s, std::uint64_t seed,
                                                             std::uint64_t tensor_id,
                                                             std::uint64_t group, std::uint64_t nb,
                                                             float (*v)[fill_batch_groups]) {
  icdf16_values(s, seed, tensor_id, group, nb, v);
}
__attribute__((target("avx2,fma,bmi2"), flatten, noinline)) inline void icdf16_values_avx2(
    const init_spec& s, std::uint64_t seed, std::uint64_t tensor_id, std::uint64_t group,
    std::uint64_t nb, float (*v)[fill_batch_groups]) {
  icdf16_values(s, seed, tensor_id, group, nb, v);
}
#endif

/// fill_groups for init stream v3: batches of icdf16_values, cast and stored. On AVX-512 hosts
/// whole batches of 32 groups starting at an even group are computed in registers and, for
/// f32 and bf16, stored from them (x86/simd.hpp, normal_icdf16_values_avx512); the bytes are
/// the same.
template <dtype D>
BLUEPRINT_HD BLUEPRINT_INLINE void fill_groups_icdf16(const init_spec& s, std::uint64_t seed,
                                                      std::uint64_t tensor_id, std::uint64_t group,
                                                      std::uint64_t groups, storage_t<D>* out) {
  constexpr std::uint64_t B = fill_batch_groups;
  while (groups != 0) {
    float v[4][B];
    std::uint64_t nb = 0;
#if BLUEPRINT_FILL_X86_DISPATCH
    if (host_isa_level() == 2 && group % 2 == 0 && groups >= B) {
      if constexpr (D == dtype::f32 || D == dtype::bf16) {
        const std::uint64_t batches = groups / B;
        if constexpr (D == dtype::f32)
          icdf16_batches_f32_avx512(s, seed, tensor_id, group, batches,
                                    reinterpret_cast<float*>(out));
        else
          icdf16_batches_bf16_avx512(s, seed, tensor_id, group, batches, out);
        group += batches * B;
        groups -= batches * B;
        out += 4 * B * batches;
        continue;
      }
      icdf16_batch_spread_avx512(s, seed, tensor_id, group, v);
      nb = B;
    }
#endif
    if (nb == 0) {
      // An odd first group alone (half a block), then whole blocks: two groups each.
      nb = group % 2 != 0 ? 1 : (groups < B ? groups : B) & ~std::uint64_t{1};
      if (nb == 0) nb = 1;
#if BLUEPRINT_FILL_X86_DISPATCH
      if (host_isa_level() >= 1)
        icdf16_values_avx2(s, seed, tensor_id, group, nb, v);
      else
        icdf16_values_portable(s, seed, tensor_id, group, nb, v);
#else
      icdf16_values(s, seed, tensor_id, group, nb, v);
#endif
    }
    for (std::uint64_t j = 0; j < nb; ++j)
      for (int l = 0; l < 4; ++l) out[4 * j + l] = to_storage<D>(v[l][j]);
    group += nb;
    groups -= nb;
    out += 4 * nb;
  }
}

#if BLUEPRINT_FILL_X86_DISPATCH
// sample_group for the partial groups at the ends of rows, out of line once per ISA: inlined
// (flatten) into every dtype x kind x ISA fill loop, its switch over all random kinds was the
// bulk of the fill code's compile time. The same bits on every ISA (tested).
__attribute__((noinline)) inline void sample_group_portable(const init_spec& s, std::uint64_t seed,
                                                            std::uint64_t tensor_id,
                                                            std::uint64_t group, float out[4]) {
  sample_group(s, seed, tensor_id, group, out);
}
__attribute__((target("avx2,fma,bmi2"), flatten, noinline)) inline void sample_group_avx2(
    const init_spec& s, std::uint64_t seed, std::uint64_t tensor_id, std::uint64_t group,
    float out[4]) {
  sample_group(s, seed, tensor_id, group, out);
}
#endif

/// sample_group as the fill loops call it (x86 hosts: the out-of-line copy for this CPU).
BLUEPRINT_HD BLUEPRINT_INLINE void sample_group_for_fill(const init_spec& s, std::uint64_t seed,
                                                         std::uint64_t tensor_id,
                                                         std::uint64_t group, float out[4]) {
#if BLUEPRINT_FILL_X86_DISPATCH
  if (host_isa_level() >= 1)
    sample_group_avx2(s, seed, tensor_id, group, out);
  else
    sample_group_portable(s, seed, tensor_id, group, out);
#else
  sample_group(s, seed, tensor_id, group, out);
#endif
}

/// Elements [g, g + n) of a tensor (contiguous in global index) to out[0 .. n).
template <dtype D, init_kind K>
BLUEPRINT_HD BLUEPRINT_INLINE void fill_contiguous_random(const init_spec& s, std::uint64_t seed,
                                                          std::uint64_t tensor_id, std::uint64_t g,
                                                          std::uint64_t n, storage_t<D>* out) {
  std::uint64_t i = 0;
  if (g % 4 != 0) {  // head: the tail lanes of a partial group
    float v[4];
    sample_group_for_fill(s, seed, tensor_id, g / 4, v);
    for (std::uint64_t lane = g % 4; lane < 4 && i < n; ++lane) out[i++] = to_storage<D>(v[lane]);
  }
  const std::uint64_t groups = (n - i) / 4;
  if (groups != 0) {
    if constexpr (K == init_kind::normal_icdf16)
      fill_groups_icdf16<D>(s, seed, tensor_id, (g + i) / 4, groups, out + i);
    else
      fill_groups<D, K>(s, seed, tensor_id, (g + i) / 4, groups, out + i);
    i += 4 * groups;
  }
  if (i < n) {  // tail: the head lanes of a partial group
    float v[4];
    sample_group_for_fill(s, seed, tensor_id, (g + i) / 4, v);
    for (std::uint64_t lane = 0; i < n; ++lane) out[i++] = to_storage<D>(v[lane]);
  }
}

/// Index-dependent, non-random kinds (arange, rotary_inv_freq): group by group.
template <dtype D>
BLUEPRINT_HD BLUEPRINT_INLINE void fill_contiguous_indexed(const init_spec& s, std::uint64_t seed,
                                                           std::uint64_t tensor_id, std::uint64_t g,
                                                           std::uint64_t n, storage_t<D>* out) {
  std::uint64_t i = 0;
  while (i < n) {
    float v[4];
    const std::uint64_t gi = g + i;
    sample_group_for_fill(s, seed, tensor_id, gi / 4, v);
    for (std::uint64_t lane = gi % 4; lane < 4 && i < n; ++lane) out[i++] = to_storage<D>(v[lane]);
  }
}

/// Walks the rows of the affine map that meet local range [k_begin, k_end) and calls
/// `f(global_begin, local_begin, count)` once per contiguous piece.
template <class F>
BLUEPRINT_HD BLUEPRINT_INLINE void for_each_contiguous(const segment& seg, std::uint64_t k_begin,
                                                       std::uint64_t k_end, F&& f) {
  std::uint64_t k = k_begin;
  while (k < k_end) {
    const std::uint64_t row = k / seg.run;
    const std::uint64_t offset = k - row * seg.run;
    std::uint64_t n = seg.run - offset;
    if (n > k_end - k) n = k_end - k;
    f(seg.base + row * seg.stride + offset, k, n);
    k += n;
  }
}

template <dtype D>
BLUEPRINT_HD BLUEPRINT_INLINE void fill_typed(const segment& seg, std::uint64_t seed,
                                              std::uint64_t k_begin, std::uint64_t k_end,
                                              std::byte* arena) {
  using word = storage_t<D>;
  word* const out = reinterpret_cast<word*>(arena + seg.arena_offset);
  const init_spec s = seg.init;
  const std::uint64_t id = seg.tensor_id;
  if (seg.padding != 0 || is_constant_kind(s.kind)) {
    // The value does not depend on the index: one pattern, stored n times.
    const word w = seg.padding != 0 ? word{0} : to_storage<D>(index_value(s, 0));
    for (std::uint64_t k = k_begin; k < k_end; ++k) out[k] = w;
    return;
  }
  switch (s.kind) {
    case init_kind::normal:
      for_each_contiguous(
          seg, k_begin, k_end, [&](std::uint64_t g, std::uint64_t k, std::uint64_t n) {
            fill_contiguous_random<D, init_kind::normal>(s, seed, id, g, n, out + k);
          });
      return;
    case init_kind::uniform:
      for_each_contiguous(
          seg, k_begin, k_end, [&](std::uint64_t g, std::uint64_t k, std::uint64_t n) {
            fill_contiguous_random<D, init_kind::uniform>(s, seed, id, g, n, out + k);
          });
      return;
    case init_kind::normal_icdf:
      for_each_contiguous(
          seg, k_begin, k_end, [&](std::uint64_t g, std::uint64_t k, std::uint64_t n) {
            fill_contiguous_random<D, init_kind::normal_icdf>(s, seed, id, g, n, out + k);
          });
      return;
    case init_kind::normal_icdf16:
      for_each_contiguous(
          seg, k_begin, k_end, [&](std::uint64_t g, std::uint64_t k, std::uint64_t n) {
            fill_contiguous_random<D, init_kind::normal_icdf16>(s, seed, id, g, n, out + k);
          });
      return;
    case init_kind::truncated_normal:
      for_each_contiguous(
          seg, k_begin, k_end, [&](std::uint64_t g, std::uint64_t k, std::uint64_t n) {
            fill_contiguous_random<D, init_kind::truncated_normal>(s, seed, id, g, n, out + k);
          });
      return;
    default:
      for_each_contiguous(seg, k_begin, k_end,
                          [&](std::uint64_t g, std::uint64_t k, std::uint64_t n) {
                            fill_contiguous_indexed<D>(s, seed, id, g, n, out + k);
                          });
      return;
  }
}

template <dtype D>
BLUEPRINT_HD BLUEPRINT_INLINE std::uint64_t fingerprint_typed(const segment& seg,
                                                              std::uint64_t k_begin,
                                                              std::uint64_t k_end,
                                                              const std::byte* arena) {
  using word = storage_t<D>;
  const word* const in = reinterpret_cast<const word*>(arena + seg.arena_offset);
  std::uint64_t sum = 0;
  for_each_contiguous(seg, k_begin, k_end, [&](std::uint64_t g, std::uint64_t k, std::uint64_t n) {
    for (std::uint64_t i = 0; i < n; ++i)
      sum += element_fingerprint(seg.tensor_id, g + i, static_cast<std::uint32_t>(in[k + i]));
  });
  return sum;
}

/// Portable entry points (any target; the CUDA kernel's path).
BLUEPRINT_HD BLUEPRINT_INLINE void fill_segment_range_portable(const segment& seg,
                                                               std::uint64_t seed,
                                                               std::uint64_t k_begin,
                                                               std::uint64_t k_end,
                                                               std::byte* arena) {
  with_dtype(seg.type, [&](auto tag) BLUEPRINT_LAMBDA_INLINE {
    fill_typed<decltype(tag)::value>(seg, seed, k_begin, k_end, arena);
  });
}

BLUEPRINT_HD BLUEPRINT_INLINE std::uint64_t segment_fingerprint_portable(const segment& seg,
                                                                         std::uint64_t k_begin,
                                                                         std::uint64_t k_end,
                                                                         const std::byte* arena) {
  if (seg.padding != 0) return 0;
  return with_dtype(seg.type, [&](auto tag) BLUEPRINT_LAMBDA_INLINE -> std::uint64_t {
    return fingerprint_typed<decltype(tag)::value>(seg, k_begin, k_end, arena);
  });
}

#if BLUEPRINT_FILL_X86_DISPATCH
// The same code compiled for wider x86 ISAs (flatten: every callee is inlined into, and so
// compiled for, the wrapper's target). Integer and IEEE operations give identical results on
// every ISA; fma is correctly rounded both as an instruction and as glibc's fmaf.
__attribute__((target("avx2,fma,bmi2"), flatten)) inline void fill_segment_range_avx2(
    const segment& seg, std::uint64_t seed, std::uint64_t k_begin, std::uint64_t k_end,
    std::byte* arena) {
  fill_segment_range_portable(seg, seed, k_begin, k_end, arena);
}
__attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma,bmi2"), flatten)) inline void
fill_segment_range_avx512(const segment& seg, std::uint64_t seed, std::uint64_t k_begin,
                          std::uint64_t k_end, std::byte* arena) {
  fill_segment_range_portable(seg, seed, k_begin, k_end, arena);
}
__attribute__((target("avx2,fma,bmi2"), flatten)) inline std::uint64_t segment_fingerprint_avx2(
    const segment& seg, std::uint64_t k_begin, std::uint64_t k_end, const std::byte* arena) {
  return segment_fingerprint_portable(seg, k_begin, k_end, arena);
}
__attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma,bmi2"),
               flatten)) inline std::uint64_t
segment_fingerprint_avx512(const segment& seg, std::uint64_t k_begin, std::uint64_t k_end,
                           const std::byte* arena) {
  return segment_fingerprint_portable(seg, k_begin, k_end, arena);
}

#endif

}  // namespace detail

/// Computes, casts and stores local elements [k_begin, k_end) of `seg` into the arena.
/// Padding segments store zeros. Each element's bits equal
/// `to_storage<seg.type>(sample_element(seg.init, seed, seg.tensor_id, seg.global_index(k)))`.
/// @pre k_begin <= k_end <= seg.count; the segment lies inside the arena; is_concrete(seg.init)
BLUEPRINT_HD inline void fill_segment_range(const segment& seg, std::uint64_t seed,
                                            std::uint64_t k_begin, std::uint64_t k_end,
                                            std::byte* arena) {
#if BLUEPRINT_FILL_X86_DISPATCH
  switch (detail::host_isa_level()) {
    case 2:
      detail::fill_segment_range_avx512(seg, seed, k_begin, k_end, arena);
      return;
    case 1:
      detail::fill_segment_range_avx2(seg, seed, k_begin, k_end, arena);
      return;
    default:
      break;
  }
#endif
  detail::fill_segment_range_portable(seg, seed, k_begin, k_end, arena);
}

/// Sum (mod 2^64) of element_fingerprint(tensor_id, global index, stored bits) over local
/// elements [k_begin, k_end) of `seg`, reading the stored bits from the arena. Padding: 0.
/// The seed does not enter: the fingerprint is of the bytes, whatever produced them.
/// @pre k_begin <= k_end <= seg.count; the segment lies inside the arena
[[nodiscard]] BLUEPRINT_HD inline std::uint64_t segment_fingerprint(const segment& seg,
                                                                    std::uint64_t k_begin,
                                                                    std::uint64_t k_end,
                                                                    const std::byte* arena) {
#if BLUEPRINT_FILL_X86_DISPATCH
  switch (detail::host_isa_level()) {
    case 2:
      return detail::segment_fingerprint_avx512(seg, k_begin, k_end, arena);
    case 1:
      return detail::segment_fingerprint_avx2(seg, k_begin, k_end, arena);
    default:
      break;
  }
#endif
  return detail::segment_fingerprint_portable(seg, k_begin, k_end, arena);
}

/// The whole segment.
[[nodiscard]] BLUEPRINT_HD inline std::uint64_t segment_fingerprint(const segment& seg,
                                                                    const std::byte* arena) {
  return segment_fingerprint(seg, 0, seg.count, arena);
}

/// The stored bits element `k` of `seg` must hold (what fill_segment_range writes), zero-extended.
[[nodiscard]] BLUEPRINT_HD inline std::uint32_t expected_storage_bits(const segment& seg,
                                                                      std::uint64_t seed,
                                                                      std::uint64_t k) {
  if (seg.padding != 0) return 0;
  return float_to_storage_bits(seg.type,
                               sample_element(seg.init, seed, seg.tensor_id, seg.global_index(k)));
}

}  // namespace blueprint
