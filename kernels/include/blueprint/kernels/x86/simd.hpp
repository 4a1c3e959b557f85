// The x86-64 parts of the CPU fill loops: ISA detection and the AVX2 / AVX-512 forms of
// Philox and sqrt. Included by fill.hpp only where BLUEPRINT_FILL_X86_DISPATCH is set
// (config.hpp: g++ on x86-64, host code), so the portable kernel header itself holds no
// intrinsics and no library call; the paths chosen here at run time store the same bits.
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "../config.hpp"
#include "../distributions.hpp"
#include "../philox.hpp"

#if !BLUEPRINT_FILL_X86_DISPATCH
#error "kernels/x86/simd.hpp is for g++ host builds on x86-64 (BLUEPRINT_FILL_X86_DISPATCH)"
#endif

namespace blueprint::detail {

/// 0: portable, 1: AVX2+FMA, 2: AVX-512 (what this CPU supports).
inline int detected_isa_level() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
      __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
      __builtin_cpu_supports("fma") && __builtin_cpu_supports("bmi2"))
    return 2;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
      __builtin_cpu_supports("bmi2"))
    return 1;
  return 0;
}

/// 0: portable, 1: AVX2+FMA, 2: AVX-512. Decided once per process; the environment variable
/// BLUEPRINT_FILL_ISA=0|1|2 lowers it (benchmarks compare the paths; the bytes are the same).
inline int host_isa_level() {
  static const int level = [] {
    const int cap = [] {
      const char* e = std::getenv("BLUEPRINT_FILL_ISA");
      return e != nullptr && e[0] >= '0' && e[0] <= '2' ? e[0] - '0' : 2;
    }();
    return std::min(cap, detected_isa_level());
  }();
  return level;
}

// The zero-masked forms with every lane selected: the same instructions, but g++ 12's plain
// forms start from _mm512_undefined_*() and trip -Wmaybe-uninitialized (GCC bug 105593).
__attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma,bmi2"))) inline __m512i
mul_epu32(__m512i a, __m512i b) {
  return _mm512_maskz_mul_epu32(0xFF, a, b);
}
__attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma,bmi2"))) inline __m512i shr32(
    __m512i a) {
  return _mm512_maskz_srli_epi64(0xFF, a, 32);
}

// The same for the 32-bit lane forms init stream v3 uses.
__attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma,bmi2"))) inline __m512i
shr32_lanes(__m512i a, unsigned n) {
  return _mm512_maskz_srli_epi32(0xFFFF, a, n);
}
__attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma,bmi2"))) inline __m512i
shl32_lanes(__m512i a, unsigned n) {
  return _mm512_maskz_slli_epi32(0xFFFF, a, n);
}
__attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma,bmi2"))) inline __m512i and_not(
    __m512i a, __m512i b) {
  return _mm512_maskz_andnot_epi32(0xFFFF, a, b);
}
__attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma,bmi2"))) inline __m512 to_float(
    __m512i a) {
  return _mm512_maskz_cvtepi32_ps(0xFFFF, a);
}

/// philox_blocks_avx512 for AVX2 hosts: 8 groups per vector, the same steps (two XORs in place
/// of the ternary logic).
__attribute__((target("avx2,fma,bmi2"))) inline void philox_blocks_avx2(
    std::uint64_t seed, std::uint64_t tensor_id, std::uint64_t group, std::uint64_t blocks,
    std::uint32_t* x0, std::uint32_t* x1, std::uint32_t* x2, std::uint32_t* x3) {
  using namespace philox_constants;
  const __m256i iota = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256i mul0 = _mm256_set1_epi32(static_cast<int>(m0));
  const __m256i mul1 = _mm256_set1_epi32(static_cast<int>(m1));
  const __m256i tid_lo = _mm256_set1_epi32(static_cast<int>(static_cast<std::uint32_t>(tensor_id)));
  const __m256i tid_hi =
      _mm256_set1_epi32(static_cast<int>(static_cast<std::uint32_t>(tensor_id >> 32)));
  const __m256i sign = _mm256_set1_epi32(static_cast<int>(0x80000000u));
  for (std::uint64_t b = 0; b < blocks; ++b, group += 8) {
    const __m256i base_lo = _mm256_set1_epi32(static_cast<int>(static_cast<std::uint32_t>(group)));
    __m256i c0 = _mm256_add_epi32(base_lo, iota);
    // unsigned c0 < base_lo (the low word wrapped): signed compare of sign-flipped words; the
    // all-ones mask is -1, so subtracting it adds the carry
    const __m256i wrapped =
        _mm256_cmpgt_epi32(_mm256_xor_si256(base_lo, sign), _mm256_xor_si256(c0, sign));
    __m256i c1 = _mm256_sub_epi32(
        _mm256_set1_epi32(static_cast<int>(static_cast<std::uint32_t>(group >> 32))), wrapped);
    __m256i c2 = tid_lo, c3 = tid_hi;
    std::uint32_t k0 = static_cast<std::uint32_t>(seed),
                  k1 = static_cast<std::uint32_t>(seed >> 32);
    for (int round = 0; round < 10; ++round) {
      if (round != 0) {
        k0 += w0;
        k1 += w1;
      }
      const __m256i p0_even = _mm256_mul_epu32(c0, mul0);
      const __m256i p0_odd = _mm256_mul_epu32(_mm256_srli_epi64(c0, 32), mul0);
      const __m256i p1_even = _mm256_mul_epu32(c2, mul1);
      const __m256i p1_odd = _mm256_mul_epu32(_mm256_srli_epi64(c2, 32), mul1);
      const __m256i lo0 = _mm256_blend_epi32(p0_even, _mm256_slli_epi64(p0_odd, 32), 0xAA);
      const __m256i hi0 = _mm256_blend_epi32(_mm256_srli_epi64(p0_even, 32), p0_odd, 0xAA);
      const __m256i lo1 = _mm256_blend_epi32(p1_even, _mm256_slli_epi64(p1_odd, 32), 0xAA);
      const __m256i hi1 = _mm256_blend_epi32(_mm256_srli_epi64(p1_even, 32), p1_odd, 0xAA);
      c0 = _mm256_xor_si256(_mm256_xor_si256(hi1, c1), _mm256_set1_epi32(static_cast<int>(k0)));
      c1 = lo1;
      c2 = _mm256_xor_si256(_mm256_xor_si256(hi0, c3), _mm256_set1_epi32(static_cast<int>(k1)));
      c3 = lo0;
    }
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(x0 + 8 * b), c0);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(x1 + 8 * b), c1);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(x2 + 8 * b), c2);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(x3 + 8 * b), c3);
  }
}

/// Philox for the 16 counters (first + j, tensor id), j < 16, into c[lane] (lane j of vector
/// c[l] = word l of counter j). The state lives in 64-bit lanes, even counters in one set of
/// vectors and odd ones in another, each word in the low half of its lane: VPMULUDQ then
/// multiplies every lane's word directly, the high word of a product is one shift away and its
/// low word needs no move (the garbage above it is never read: multiplies take the low half,
/// XORs are lane-wise), so a round has no shuffle at all; four VPERMT2D interleave the result.
/// 28% faster than shuffling products back into 32-bit lanes every round. Integer operations
/// only: the words are philox_for_element_group's exactly (tests compare every path's bytes).
__attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma,bmi2"))) inline void
philox_vectors_avx512(std::uint64_t seed, std::uint64_t tensor_id, std::uint64_t first,
                      __m512i c[4]) {
  using namespace philox_constants;
  const __m512i mul0 = _mm512_set1_epi64(m0), mul1 = _mm512_set1_epi64(m1);
  // Counters first + 2j (even set) and first + 2j + 1 (odd set), j < 8, as 64-bit sums: the
  // low word's carry into the high word comes for free.
  const __m512i even = _mm512_add_epi64(_mm512_set1_epi64(static_cast<long long>(first)),
                                        _mm512_setr_epi64(0, 2, 4, 6, 8, 10, 12, 14));
  const __m512i odd = _mm512_add_epi64(even, _mm512_set1_epi64(1));
  __m512i e0 = even, e1 = shr32(even), o0 = odd, o1 = shr32(odd);
  __m512i e2 = _mm512_set1_epi64(static_cast<std::uint32_t>(tensor_id));
  __m512i e3 = _mm512_set1_epi64(static_cast<std::uint32_t>(tensor_id >> 32));
  __m512i o2 = e2, o3 = e3;
  std::uint32_t k0 = static_cast<std::uint32_t>(seed), k1 = static_cast<std::uint32_t>(seed >> 32);
  for (int round = 0; round < 10; ++round) {
    if (round != 0) {
      k0 += w0;
      k1 += w1;
    }
    const __m512i key0 = _mm512_set1_epi32(static_cast<int>(k0));
    const __m512i key1 = _mm512_set1_epi32(static_cast<int>(k1));
    const __m512i pe0 = mul_epu32(e0, mul0), pe1 = mul_epu32(e2, mul1);
    const __m512i po0 = mul_epu32(o0, mul0), po1 = mul_epu32(o2, mul1);
    e0 = _mm512_ternarylogic_epi32(shr32(pe1), e1, key0, 0x96);
    e2 = _mm512_ternarylogic_epi32(shr32(pe0), e3, key1, 0x96);
    e1 = pe1;
    e3 = pe0;
    o0 = _mm512_ternarylogic_epi32(shr32(po1), o1, key0, 0x96);
    o2 = _mm512_ternarylogic_epi32(shr32(po0), o3, key1, 0x96);
    o1 = po1;
    o3 = po0;
  }
  const __m512i interleave =
      _mm512_setr_epi32(0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30);
  c[0] = _mm512_permutex2var_epi32(e0, interleave, o0);
  c[1] = _mm512_permutex2var_epi32(e1, interleave, o1);
  c[2] = _mm512_permutex2var_epi32(e2, interleave, o2);
  c[3] = _mm512_permutex2var_epi32(e3, interleave, o3);
}

/// Philox for groups [group, group + 16 * blocks) into x[lane][j], 16 groups per vector.
__attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma,bmi2"))) inline void
philox_blocks_avx512(std::uint64_t seed, std::uint64_t tensor_id, std::uint64_t group,
                     std::uint64_t blocks, std::uint32_t* x0, std::uint32_t* x1, std::uint32_t* x2,
                     std::uint32_t* x3) {
  for (std::uint64_t b = 0; b < blocks; ++b, group += 16) {
    __m512i c[4];
    philox_vectors_avx512(seed, tensor_id, group, c);
    _mm512_storeu_si512(x0 + 16 * b, c[0]);
    _mm512_storeu_si512(x1 + 16 * b, c[1]);
    _mm512_storeu_si512(x2 + 16 * b, c[2]);
    _mm512_storeu_si512(x3 + 16 * b, c[3]);
  }
}

/// Init stream v3's core coefficients by power: row k holds c_k of the 22 core quintics, so
/// that one VPERMT2PS over two registers looks up 16 lanes' segments at once. VPERMT2PS reads
/// the index modulo 32, so segment r sits at (r + icdf16_core_first_key) % 32 and the index is
/// the float's bits >> 22 itself, with no subtraction. The columns hold c_k 2^k rather than
/// c_k: the vector loop evaluates the quintic at s / 2 (one bit operation and a subtraction
/// from the float's bits, no conversion), and Horner's steps on (c_k 2^k, s / 2) are those on
/// (c_k, s) scaled by 2^k, powers of two that change no rounding: the same bits.
struct icdf16_core_by_power {
  alignas(64) float c[6][32];
};
inline constexpr icdf16_core_by_power icdf16_core_columns = [] {
  icdf16_core_by_power t{};
  for (int k = 0; k < 6; ++k)
    for (std::uint32_t r = 0; r < 22; ++r)
      t.c[k][(r + icdf16_core_first_key) % 32] =
          normal_icdf16_core[r].c[k] * static_cast<float>(1u << k);
  return t;
}();

/// The lanes of V at a refined level (patch) recomputed by the scalar function: out of line,
/// since a 16-lane vector has one about once in 128 calls.
__attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma,bmi2"), noinline)) inline __m512
normal_icdf16_patch(__m512 V, __m512i words, int half, __mmask16 patch, const init_spec& s,
                    std::uint64_t seed, std::uint64_t tensor_id, std::uint64_t first_index) {
  alignas(64) std::uint32_t w[16];
  alignas(64) float values[16];
  std::memcpy(w, &words, sizeof w);
  std::memcpy(values, &V, sizeof values);
  for (int b = 0; b < 16; ++b)
    if ((patch >> b) & 1) {
      const std::uint32_t h = (w[b] >> (16 * half)) & 0xFFFFu;
      values[b] = det_fma(
          s.b, normal_icdf16_standard(h, seed, tensor_id, first_index + 8 * std::uint64_t(b)), s.a);
    }
  std::memcpy(&V, values, sizeof values);
  return V;
}

/// Init stream v3's values of groups [group, group + 32) (group even: 16 Philox blocks, one
/// vector per word) as V[e], e = 4 half + lane: lane b of V[e] is element 8 b + e of the batch.
/// normal_icdf16_core_magnitude for 16 lanes at a time, in fewer steps that give the same
/// numbers: 2d + 1 = ~(2 (h & 0x7FFF)) & 0xFFFF (one VPTERNLOGD); the table lookups as
/// VPERMT2PS; Horner's steps as VFMADD; the sign flip (bit 15 of h clear) folded into one
/// VPTERNLOGD; then the fma of normal_icdf16_group. Lanes at a refined level are patched with
/// the scalar function. Each step exact or correctly rounded, so the portable loop's bits.
__attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma,bmi2"))) inline void
normal_icdf16_values_avx512(const init_spec& s, std::uint64_t seed, std::uint64_t tensor_id,
                            std::uint64_t group, __m512 V[8]) {
  __m512i c[4];
  philox_vectors_avx512(seed, tensor_id, group >> 1, c);
  __m512 lo[6], hi[6];
  for (int k = 0; k < 6; ++k) {
    lo[k] = _mm512_load_ps(&icdf16_core_columns.c[k][0]);
    hi[k] = _mm512_load_ps(&icdf16_core_columns.c[k][16]);
  }
  const __m512i f_bits = _mm512_set1_epi32(0xFFFE), one = _mm512_set1_epi32(1);
  const __m512i sign = _mm512_set1_epi32(static_cast<int>(0x80000000u));
  const __m512i low22 = _mm512_set1_epi32(0x3FFFFF), one_bits = _mm512_set1_epi32(0x3F800000);
  const __m512i refined = _mm512_set1_epi32(static_cast<int>(2 * icdf16_refined_levels + 1));
  const __m512 one_f = _mm512_set1_ps(1.0f);
  const __m512 mean = _mm512_set1_ps(s.a), std_dev = _mm512_set1_ps(s.b);
  __mmask16 any = 0;
  __mmask16 patch[8];
  for (int e = 0; e < 8; ++e) {
    const __m512i w = c[e % 4];
    // 2 (h & 0x7FFF) in bits 1..15 of x, h's sign bit in bit 31 of y
    const __m512i x = e < 4 ? shl32_lanes(w, 1) : shr32_lanes(w, 15);
    const __m512i y = e < 4 ? shl32_lanes(w, 16) : w;
    const __m512i f = _mm512_ternarylogic_epi32(x, f_bits, one, 0xAE);  // (~x & 0xFFFE) | 1
    patch[e] = _mm512_cmplt_epu32_mask(f, refined);
    any |= patch[e];
    const __m512i bits = _mm512_castps_si512(to_float(f));
    const __m512i row = shr32_lanes(bits, 22);
    // s / 2 = (1 + s / 2) - 1, the 22 bits placed under the exponent of 1 (exact)
    const __m512 t = _mm512_sub_ps(
        _mm512_castsi512_ps(_mm512_ternarylogic_epi32(bits, low22, one_bits, 0xEA)), one_f);
    __m512 q = _mm512_permutex2var_ps(lo[5], row, hi[5]);
    for (int k = 4; k >= 0; --k)
      q = _mm512_fmadd_ps(q, t, _mm512_permutex2var_ps(lo[k], row, hi[k]));
    // z = q ^ (~y & 0x80000000): negative when the sign bit is clear
    const __m512 z =
        _mm512_castsi512_ps(_mm512_ternarylogic_epi32(_mm512_castps_si512(q), y, sign, 0xD2));
    V[e] = _mm512_fmadd_ps(std_dev, z, mean);
  }
  if (any != 0)
    for (int e = 0; e < 8; ++e)
      if (patch[e] != 0)
        V[e] = normal_icdf16_patch(V[e], c[e % 4], e / 4, patch[e], s, seed, tensor_id,
                                   group * 4 + static_cast<std::uint64_t>(e));
}

/// Rows (a, b, c, d) of 16 words each to 16 blocks of (a[j], b[j], c[j], d[j]), block j at
/// out + 4 j: a 4 x 4 transpose inside each 128-bit lane, then one across the lanes.
__attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma,bmi2"))) inline void
store_transposed_4x16(__m512i a, __m512i b, __m512i c, __m512i d, void* out) {
  const __m512i ab_lo = _mm512_maskz_unpacklo_epi32(0xFFFF, a, b),
                ab_hi = _mm512_maskz_unpackhi_epi32(0xFFFF, a, b);
  const __m512i cd_lo = _mm512_maskz_unpacklo_epi32(0xFFFF, c, d),
                cd_hi = _mm512_maskz_unpackhi_epi32(0xFFFF, c, d);
  // (the zero-masked forms: see mul_epu32.) r[k], 128-bit lane j: block 4 j + k
  const __m512i r0 = _mm512_maskz_unpacklo_epi64(0xFF, ab_lo, cd_lo),
                r1 = _mm512_maskz_unpackhi_epi64(0xFF, ab_lo, cd_lo);
  const __m512i r2 = _mm512_maskz_unpacklo_epi64(0xFF, ab_hi, cd_hi),
                r3 = _mm512_maskz_unpackhi_epi64(0xFF, ab_hi, cd_hi);
  const __m512i u0 = _mm512_maskz_shuffle_i32x4(0xFFFF, r0, r1, 0x44),
                u1 = _mm512_maskz_shuffle_i32x4(0xFFFF, r2, r3, 0x44);
  const __m512i u2 = _mm512_maskz_shuffle_i32x4(0xFFFF, r0, r1, 0xEE),
                u3 = _mm512_maskz_shuffle_i32x4(0xFFFF, r2, r3, 0xEE);
  auto* o = static_cast<__m512i*>(out);
  _mm512_storeu_si512(o + 0, _mm512_maskz_shuffle_i32x4(0xFFFF, u0, u1, 0x88));
  _mm512_storeu_si512(o + 1, _mm512_maskz_shuffle_i32x4(0xFFFF, u0, u1, 0xDD));
  _mm512_storeu_si512(o + 2, _mm512_maskz_shuffle_i32x4(0xFFFF, u2, u3, 0x88));
  _mm512_storeu_si512(o + 3, _mm512_maskz_shuffle_i32x4(0xFFFF, u2, u3, 0xDD));
}

/// u + 0x7FFF + (bit 16 of u): float_to_bf16_bits (cast.hpp) of a non-NaN float is the upper
/// half of this sum (round to nearest even; infinities stay infinities).
__attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma,bmi2"))) inline __m512i
bf16_rounding_sum(__m512 v) {
  const __m512i u = _mm512_castps_si512(v);
  const __m512i lsb = _mm512_and_si512(shr32_lanes(u, 16), _mm512_set1_epi32(1));
  return _mm512_add_epi32(_mm512_add_epi32(u, _mm512_set1_epi32(0x7FFF)), lsb);
}

/// float_to_bf16_bits of 16 lanes, NaN included, in the low half of each 32-bit lane.
__attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma,bmi2"))) inline __m512i
bf16_bits_avx512(__m512 v) {
  const __m512i u = _mm512_castps_si512(v);
  const __m512i magnitude = _mm512_and_si512(u, _mm512_set1_epi32(0x7FFFFFFF));
  const __mmask16 nan = _mm512_cmpgt_epu32_mask(magnitude, _mm512_set1_epi32(0x7F800000));
  const __m512i quiet = _mm512_or_si512(
      _mm512_and_si512(shr32_lanes(u, 16), _mm512_set1_epi32(0x8000)), _mm512_set1_epi32(0x7FC0));
  return _mm512_mask_blend_epi32(nan, shr32_lanes(bf16_rounding_sum(v), 16), quiet);
}

/// The 128 values of normal_icdf16_values_avx512 stored as float32, in element order.
__attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma,bmi2"))) inline void
store_icdf16_f32_avx512(const __m512 V[8], float* out) {
  // Block j = 8 floats at out + 8 j: transpose the two halves into a scratch of 16-byte rows,
  // then interleave them with 256-bit stores.
  alignas(64) std::uint32_t half0[64], half1[64];
  store_transposed_4x16(_mm512_castps_si512(V[0]), _mm512_castps_si512(V[1]),
                        _mm512_castps_si512(V[2]), _mm512_castps_si512(V[3]), half0);
  store_transposed_4x16(_mm512_castps_si512(V[4]), _mm512_castps_si512(V[5]),
                        _mm512_castps_si512(V[6]), _mm512_castps_si512(V[7]), half1);
  for (int j = 0; j < 16; ++j) {
    const __m128i a = _mm_load_si128(reinterpret_cast<const __m128i*>(half0 + 4 * j));
    const __m128i b = _mm_load_si128(reinterpret_cast<const __m128i*>(half1 + 4 * j));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 8 * j), _mm256_set_m128i(b, a));
  }
}

/// The 128 values of normal_icdf16_values_avx512 stored as bfloat16, in element order.
__attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma,bmi2"))) inline void
store_icdf16_bf16_avx512(const init_spec& s, const __m512 V[8], std::uint16_t* out) {
  // 32-bit word w of a block holds elements 2w and 2w + 1. Without NaN (a finite mean and
  // std give none) each is the upper half of its rounding sum, taken with one VPTERNLOGD.
  __m512i pair[4];
  const __m512i upper = _mm512_set1_epi32(static_cast<int>(0xFFFF0000u));
  const bool finite = (float_as_bits(s.a) & 0x7F800000u) != 0x7F800000u &&
                      (float_as_bits(s.b) & 0x7F800000u) != 0x7F800000u;
  for (int w = 0; w < 4; ++w)
    pair[w] = finite ? _mm512_ternarylogic_epi32(shr32_lanes(bf16_rounding_sum(V[2 * w]), 16),
                                                 bf16_rounding_sum(V[2 * w + 1]), upper, 0xF8)
                     : _mm512_or_si512(bf16_bits_avx512(V[2 * w]),
                                       shl32_lanes(bf16_bits_avx512(V[2 * w + 1]), 16));
  store_transposed_4x16(pair[0], pair[1], pair[2], pair[3], out);
}

/// The 128 values of normal_icdf16_values_avx512 as v[lane][group] (the portable loops' layout).
__attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma,bmi2"))) inline void
spread_icdf16_avx512(const __m512 V[8], float (*v)[32]) {
  // v[l][2 b + half] = V[4 half + l] lane b: interleave the two halves
  const __m512i first16 = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const __m512i second16 =
      _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
  for (int l = 0; l < 4; ++l) {
    _mm512_storeu_ps(&v[l][0], _mm512_permutex2var_ps(V[l], first16, V[l + 4]));
    _mm512_storeu_ps(&v[l][16], _mm512_permutex2var_ps(V[l], second16, V[l + 4]));
  }
}

/// The 16-wide VSQRTPS part of sqrt_in_place; returns how many it did (a multiple of 16).
__attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma,bmi2"))) inline std::uint64_t
sqrt_in_place_avx512(float* x, std::uint64_t n) {
  std::uint64_t i = 0;
  for (; i + 16 <= n; i += 16)
    _mm512_storeu_ps(x + i, _mm512_maskz_sqrt_ps(0xFFFF, _mm512_loadu_ps(x + i)));  // as above
  return i;
}

/// Whole batches of init stream v3 (32 groups each, from an even group) for the fill loops, out
/// of line and once per program for each of the three ways the values leave the registers:
/// inlined into every dtype's loop they doubled the fill code's compile time. They loop over
/// the batches themselves, so the table and constants stay in registers across batches (one
/// call per batch cost 7%).
__attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma,bmi2"), noinline)) inline void
icdf16_batches_f32_avx512(const init_spec& s, std::uint64_t seed, std::uint64_t tensor_id,
                          std::uint64_t group, std::uint64_t batches, float* out) {
  for (std::uint64_t b = 0; b < batches; ++b, group += 32, out += 128) {
    __m512 values[8];
    normal_icdf16_values_avx512(s, seed, tensor_id, group, values);
    store_icdf16_f32_avx512(values, out);
  }
}
__attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma,bmi2"), noinline)) inline void
icdf16_batches_bf16_avx512(const init_spec& s, std::uint64_t seed, std::uint64_t tensor_id,
                           std::uint64_t group, std::uint64_t batches, std::uint16_t* out) {
  for (std::uint64_t b = 0; b < batches; ++b, group += 32, out += 128) {
    __m512 values[8];
    normal_icdf16_values_avx512(s, seed, tensor_id, group, values);
    store_icdf16_bf16_avx512(s, values, out);
  }
}
/// One batch as v[lane][group] (the other dtypes' store loops take it from there).
__attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma,bmi2"), noinline)) inline void
icdf16_batch_spread_avx512(const init_spec& s, std::uint64_t seed, std::uint64_t tensor_id,
                           std::uint64_t group, float (*v)[32]) {
  __m512 values[8];
  normal_icdf16_values_avx512(s, seed, tensor_id, group, values);
  spread_icdf16_avx512(values, v);
}

}  // namespace blueprint::detail
