// The x86-64 parts of the CPU fill loops: ISA detection and the AVX2 / AVX-512 forms of
// Philox and sqrt. Included by fill.hpp only where BLUEPRINT_FILL_X86_DISPATCH is set
// (config.hpp: g++ on x86-64, host code), so the portable kernel header itself holds no
// intrinsics and no library call; the paths chosen here at run time store the same bits.
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>

#include "../config.hpp"
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
__attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma,bmi2"))) inline __m512i shl32(
    __m512i a) {
  return _mm512_maskz_slli_epi64(0xFF, a, 32);
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

/// Philox for groups [group, group + 16 * blocks) into x[lane][j], 16 groups per AVX-512
/// vector: the two 32x32->64 products of a round as even/odd VPMULUDQ, recombined with
/// shifts and blends, the three-way XORs as one VPTERNLOGD. Integer operations only: the words
/// are philox_for_element_group's exactly (tests compare every path's bytes). g++ left alone
/// widens the words to 64 bits and multiplies with VPMULLQ plus shuffles, about twice the work.
__attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma,bmi2"))) inline void
philox_blocks_avx512(std::uint64_t seed, std::uint64_t tensor_id, std::uint64_t group,
                     std::uint64_t blocks, std::uint32_t* x0, std::uint32_t* x1, std::uint32_t* x2,
                     std::uint32_t* x3) {
  using namespace philox_constants;
  const __m512i iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  const __m512i mul0 = _mm512_set1_epi32(static_cast<int>(m0));
  const __m512i mul1 = _mm512_set1_epi32(static_cast<int>(m1));
  const __m512i tid_lo = _mm512_set1_epi32(static_cast<int>(static_cast<std::uint32_t>(tensor_id)));
  const __m512i tid_hi =
      _mm512_set1_epi32(static_cast<int>(static_cast<std::uint32_t>(tensor_id >> 32)));
  constexpr __mmask16 odd = 0xAAAA;
  for (std::uint64_t b = 0; b < blocks; ++b, group += 16) {
    // counter = (group + j as two words, tensor id as two words); the carry of the low word
    const __m512i base_lo = _mm512_set1_epi32(static_cast<int>(static_cast<std::uint32_t>(group)));
    __m512i c0 = _mm512_add_epi32(base_lo, iota);
    __m512i c1 = _mm512_set1_epi32(static_cast<int>(static_cast<std::uint32_t>(group >> 32)));
    c1 = _mm512_mask_add_epi32(c1, _mm512_cmplt_epu32_mask(c0, base_lo), c1, _mm512_set1_epi32(1));
    __m512i c2 = tid_lo, c3 = tid_hi;
    std::uint32_t k0 = static_cast<std::uint32_t>(seed),
                  k1 = static_cast<std::uint32_t>(seed >> 32);
    for (int round = 0; round < 10; ++round) {
      if (round != 0) {
        k0 += w0;
        k1 += w1;
      }
      const __m512i p0_even = mul_epu32(c0, mul0);
      const __m512i p0_odd = mul_epu32(shr32(c0), mul0);
      const __m512i p1_even = mul_epu32(c2, mul1);
      const __m512i p1_odd = mul_epu32(shr32(c2), mul1);
      const __m512i lo0 = _mm512_mask_blend_epi32(odd, p0_even, shl32(p0_odd));
      const __m512i hi0 = _mm512_mask_blend_epi32(odd, shr32(p0_even), p0_odd);
      const __m512i lo1 = _mm512_mask_blend_epi32(odd, p1_even, shl32(p1_odd));
      const __m512i hi1 = _mm512_mask_blend_epi32(odd, shr32(p1_even), p1_odd);
      c0 = _mm512_ternarylogic_epi32(hi1, c1, _mm512_set1_epi32(static_cast<int>(k0)), 0x96);
      c1 = lo1;
      c2 = _mm512_ternarylogic_epi32(hi0, c3, _mm512_set1_epi32(static_cast<int>(k1)), 0x96);
      c3 = lo0;
    }
    _mm512_storeu_si512(x0 + 16 * b, c0);
    _mm512_storeu_si512(x1 + 16 * b, c1);
    _mm512_storeu_si512(x2 + 16 * b, c2);
    _mm512_storeu_si512(x3 + 16 * b, c3);
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

}  // namespace blueprint::detail
