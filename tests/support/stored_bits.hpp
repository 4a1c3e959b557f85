// Test support: the storage bits of element k of an arena region, for comparisons with
// expected_storage_bits (shared by the unit tests, which build as a few unity units).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include <blueprint/kernels/dtype.hpp>

namespace blueprint::test {

/// Element k's bits in a region of `t` elements starting at `base` (little-endian host).
inline std::uint32_t stored_bits(dtype t, const std::byte* base, std::uint64_t k) {
  std::uint32_t bits = 0;
  std::memcpy(&bits, base + k * dtype_size(t), dtype_size(t));
  return bits;
}

}  // namespace blueprint::test
