// Tensor identity and the order-free model fingerprint.
//
// A tensor's id is a fixed hash of its fully-qualified name, computed at compile time by the DSL
// and used as half of every Philox counter, so a tensor's values never depend on which other
// tensors the model has. The fingerprint of a model is the sum (mod 2^64) of a strong hash of
// (tensor id, element index, stored bits) over all elements: a sum does not care in which
// order, on which rank or in which shard layout the elements were visited, so two jobs with
// different meshes that print the same fingerprint hold the same model (DESIGN.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "config.hpp"

namespace blueprint {

/// The splitmix64 finalizer (Stafford's Mix13): a bijection with full avalanche.
[[nodiscard]] BLUEPRINT_HD BLUEPRINT_INLINE constexpr std::uint64_t mix64(std::uint64_t z) {
  z ^= z >> 30;
  z *= 0xBF58476D1CE4E5B9ull;
  z ^= z >> 27;
  z *= 0x94D049BB133111EBull;
  z ^= z >> 31;
  return z;
}

/// FNV-1a 64 of the bytes, then mix64. Usable on device (no std::string_view there).
[[nodiscard]] BLUEPRINT_HD constexpr std::uint64_t tensor_id_from_name(const char* name,
                                                                       std::size_t size) {
  std::uint64_t h = 0xCBF29CE484222325ull;
  for (std::size_t i = 0; i < size; ++i) {
    h ^= static_cast<std::uint8_t>(name[i]);
    h *= 0x100000001B3ull;
  }
  return mix64(h);
}

/// The stable 64-bit id of a tensor, from its fully-qualified name
/// ("model.layers.3.self_attn.q_proj.weight").
[[nodiscard]] constexpr std::uint64_t tensor_id_from_name(std::string_view name) {
  return tensor_id_from_name(name.data(), name.size());
}

/// The hash of one stored element. `bits` is the element's storage pattern zero-extended
/// (f32: 32 bits; bf16/f16: 16; f8: 8), so the same values in different dtypes differ.
[[nodiscard]] BLUEPRINT_HD BLUEPRINT_INLINE constexpr std::uint64_t element_fingerprint(
    std::uint64_t tensor_id, std::uint64_t index, std::uint32_t bits) {
  std::uint64_t h = mix64(tensor_id ^ 0x6A09E667F3BCC909ull);
  h = mix64(h + index * 0x9E3779B97F4A7C15ull);
  return mix64(h ^
               (static_cast<std::uint64_t>(bits) * 0xD6E8FEB86659FD93ull + 0x3C6EF372FE94F82Bull));
}

}  // namespace blueprint
