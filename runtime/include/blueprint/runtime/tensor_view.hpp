// A non-owning view of one materialized tensor (or of this arena's piece of it).
//
// Views are what users hold: a name, a shape, a dtype and the bytes in the arena. They stay
// valid as long as the materialized_model that handed them out (moving the model keeps them
// valid: the arena and the tables do not move).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

#include <blueprint/kernels/cast.hpp>
#include <blueprint/kernels/dtype.hpp>

namespace blueprint {

struct tensor_view {
  std::string_view name;                 // the stored tensor's name (a tie resolves to its target)
  std::span<const std::uint64_t> shape;  // local shape (the whole tensor when unsharded)
  dtype type = dtype::f32;
  std::byte* data = nullptr;
  std::uint64_t bytes = 0;

  [[nodiscard]] std::uint64_t numel() const { return bytes / dtype_size(type); }

  /// Element `i` (local, row-major) widened exactly to float.
  /// @pre i < numel()
  [[nodiscard]] float at(std::uint64_t i) const {
    return load_element_as_float(type, data, static_cast<std::size_t>(i));
  }

  /// The elements as raw storage words (`float` for f32, `std::uint16_t` for bf16 / f16,
  /// `std::uint8_t` for the f8 types). Throws if sizeof(T) is not the dtype's size.
  template <class T>
  [[nodiscard]] std::span<T> as() const {
    if (sizeof(T) != dtype_size(type))
      throw std::invalid_argument("tensor '" + std::string(name) + "' is " +
                                  std::string(dtype_name(type)) + " (" +
                                  std::to_string(dtype_size(type)) + " bytes per element), not " +
                                  std::to_string(sizeof(T)) + "-byte elements");
    return {reinterpret_cast<T*>(data), static_cast<std::size_t>(numel())};
  }
};

}  // namespace blueprint
