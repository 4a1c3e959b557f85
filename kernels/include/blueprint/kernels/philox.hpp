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

/// The Philox4x32 bijection with 10 rounds (Random123's philox4x32_R(10, ...)).
[[nodiscard]] BLUEPRINT_HD constexpr philox_result philox4x32_10(philox_counter ctr,
                                                                 philox_key key) {
  using namespace philox_constants;
  std::uint32_t c0 = ctr.v[0], c1 = ctr.v[1], c2 = ctr.v[2], c3 = ctr.v[3];
  std::uint32_t k0 = key.v[0], k1 = key.v[1];
  for (int round = 0; round < 10; ++round) {
    if (round != 0) {
      k0 += w0;
      k1 += w1;
    }
    const std::uint64_t p0 = static_cast<std::uint64_t>(m0) * c0;
    const std::uint64_t p1 = static_cast<std::uint64_t>(m1) * c2;
    const std::uint32_t hi0 = static_cast<std::uint32_t>(p0 >> 32),
                        lo0 = static_cast<std::uint32_t>(p0);
    const std::uint32_t hi1 = static_cast<std::uint32_t>(p1 >> 32),
                        lo1 = static_cast<std::uint32_t>(p1);
    c0 = hi1 ^ c1 ^ k0;
    c1 = lo1;
    c2 = hi0 ^ c3 ^ k1;
    c3 = lo0;
  }
  return {{c0, c1, c2, c3}};
}

/// The Blueprint convention: key = seed, counter = (group, tensor id), both as little-endian
/// pairs of 32-bit words. Element i of a tensor reads lane i % 4 of group i / 4.
[[nodiscard]] BLUEPRINT_HD constexpr philox_result philox_for_element_group(std::uint64_t seed,
                                                                            std::uint64_t tensor_id,
                                                                            std::uint64_t group) {
  const philox_key key{{static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)}};
  const philox_counter ctr{
      {static_cast<std::uint32_t>(group), static_cast<std::uint32_t>(group >> 32),
       static_cast<std::uint32_t>(tensor_id), static_cast<std::uint32_t>(tensor_id >> 32)}};
  return philox4x32_10(ctr, key);
}

}  // namespace blueprint
