// Philox4x32-10: the counter-based generator behind every random element.
//
// A counter-based generator turns (key, counter) into random bits with no state, so element i
// of a tensor can be computed by whichever thread, rank or device holds it, in any order, and
// still get the same value (DESIGN.md "Identity and determinism"). Philox4x32-10 is the one
// cuRAND, PyTorch and JAX use: 10 rounds of two 32x32->64 multiplies, with the Random123
// constants, checked against Random123's known-answer vectors in tests/unit/test_philox.cpp.
#pragma once

#include <cstdint>

#include "config.hpp"

namespace blueprint {

struct philox_counter {
  std::uint32_t v[4];
};
struct philox_key {
  std::uint32_t v[2];
};
struct philox_result {
  std::uint32_t v[4];
};

namespace philox_constants {
inline constexpr std::uint32_t m0 = 0xD2511F53u;  // round multipliers
inline constexpr std::uint32_t m1 = 0xCD9E8D57u;
inline constexpr std::uint32_t w0 = 0x9E3779B9u;  // Weyl key increments
inline constexpr std::uint32_t w1 = 0xBB67AE85u;
}  // namespace philox_constants

/// The round keys of a key: (k0, k1) + r (w0, w1) for rounds r = 0..9. A kernel computes them
/// once (they depend on the seed only) instead of per group: on the GPU they sit in the launch's
/// parameter space, where the three-way XOR reads them directly (no register, no add per round).
struct philox_schedule {
  std::uint32_t k0[10];
  std::uint32_t k1[10];
};
static_assert(sizeof(philox_schedule) == 80);

[[nodiscard]] BLUEPRINT_HD constexpr philox_schedule philox_key_schedule(philox_key key) {
  using namespace philox_constants;
  philox_schedule s{};
  std::uint32_t k0 = key.v[0], k1 = key.v[1];
  for (int round = 0; round < 10; ++round) {
    s.k0[round] = k0;
    s.k1[round] = k1;
    k0 += w0;
    k1 += w1;
  }
  return s;
}

/// The Blueprint key of a seed: its two little-endian 32-bit words.
[[nodiscard]] BLUEPRINT_HD constexpr philox_schedule philox_seed_schedule(std::uint64_t seed) {
  return philox_key_schedule(
      {{static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)}});
}

namespace detail {
/// a * b as 64 bits. On the device one `mul.wide.u32` (IMAD.WIDE.U32): nvcc 13 compiles the
/// portable form to a 64-bit multiply of zero-extended words, one extra add per multiply.
[[nodiscard]] BLUEPRINT_HD BLUEPRINT_INLINE constexpr std::uint64_t mul_wide_u32(std::uint32_t a,
                                                                                 std::uint32_t b) {
#if BLUEPRINT_ON_DEVICE
  if (!__builtin_is_constant_evaluated()) {
    std::uint64_t p = 0;
    asm("mul.wide.u32 %0, %1, %2;" : "=l"(p) : "r"(a), "r"(b));
    return p;
  }
#endif
  return static_cast<std::uint64_t>(a) * b;
}
}  // namespace detail

/// The Philox4x32 bijection with 10 rounds under a precomputed schedule.
[[nodiscard]] BLUEPRINT_HD BLUEPRINT_INLINE constexpr philox_result philox4x32_10_scheduled(
    philox_counter ctr, const philox_schedule& key) {
  using namespace philox_constants;
  std::uint32_t c0 = ctr.v[0], c1 = ctr.v[1], c2 = ctr.v[2], c3 = ctr.v[3];
  for (int round = 0; round < 10; ++round) {
    const std::uint64_t p0 = detail::mul_wide_u32(m0, c0);
    const std::uint64_t p1 = detail::mul_wide_u32(m1, c2);
    const std::uint32_t hi0 = static_cast<std::uint32_t>(p0 >> 32),
                        lo0 = static_cast<std::uint32_t>(p0);
    const std::uint32_t hi1 = static_cast<std::uint32_t>(p1 >> 32),
                        lo1 = static_cast<std::uint32_t>(p1);
    c0 = hi1 ^ c1 ^ key.k0[round];
    c1 = lo1;
    c2 = hi0 ^ c3 ^ key.k1[round];
    c3 = lo0;
  }
  return {{c0, c1, c2, c3}};
}

/// The Philox4x32 bijection with 10 rounds (Random123's philox4x32_R(10, ...)).
[[nodiscard]] BLUEPRINT_HD constexpr philox_result philox4x32_10(philox_counter ctr,
                                                                 philox_key key) {
  return philox4x32_10_scheduled(ctr, philox_key_schedule(key));
}

/// The counter of element group `group` of tensor `tensor_id`: (group, tensor id) as
/// little-endian pairs of 32-bit words.
[[nodiscard]] BLUEPRINT_HD BLUEPRINT_INLINE constexpr philox_counter element_group_counter(
    std::uint64_t tensor_id, std::uint64_t group) {
  return {{static_cast<std::uint32_t>(group), static_cast<std::uint32_t>(group >> 32),
           static_cast<std::uint32_t>(tensor_id), static_cast<std::uint32_t>(tensor_id >> 32)}};
}

/// The Blueprint convention: key = seed, counter = (group, tensor id), both as little-endian
/// pairs of 32-bit words. Element i of a tensor reads lane i % 4 of group i / 4.
[[nodiscard]] BLUEPRINT_HD constexpr philox_result philox_for_element_group(std::uint64_t seed,
                                                                            std::uint64_t tensor_id,
                                                                            std::uint64_t group) {
  return philox4x32_10_scheduled(element_group_counter(tensor_id, group),
                                 philox_seed_schedule(seed));
}

/// The same with the seed's schedule computed once (kernels: per launch, not per group).
[[nodiscard]] BLUEPRINT_HD BLUEPRINT_INLINE constexpr philox_result philox_for_element_group(
    const philox_schedule& key, std::uint64_t tensor_id, std::uint64_t group) {
  return philox4x32_10_scheduled(element_group_counter(tensor_id, group), key);
}

}  // namespace blueprint
