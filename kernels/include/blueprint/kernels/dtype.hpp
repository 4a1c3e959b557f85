// The storage dtypes a parameter can be materialized in.
//
// A dtype is a one-byte tag so that it fits in the plain records that kernels receive. The
// names follow PyTorch (`f8_e4m3fn`) and the safetensors spellings (`F8_E4M3`) are provided
// for the checkpoint code.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "config.hpp"

namespace blueprint {

enum class dtype : std::uint8_t { f32, bf16, f16, f8_e4m3fn, f8_e5m2 };

inline constexpr dtype all_dtypes[] = {dtype::f32, dtype::bf16, dtype::f16, dtype::f8_e4m3fn,
                                       dtype::f8_e5m2};

/// Bytes per element.
[[nodiscard]] BLUEPRINT_HD constexpr std::size_t dtype_size(dtype t) {
  switch (t) {
    case dtype::f32:
      return 4;
    case dtype::bf16:
    case dtype::f16:
      return 2;
    case dtype::f8_e4m3fn:
    case dtype::f8_e5m2:
      return 1;
  }
  return 0;
}

/// A dtype as a type: what `with_dtype` hands its function.
template <dtype D>
struct dtype_constant {
  static constexpr dtype value = D;
};

/// Calls f(dtype_constant<d>{}) with `d` as a compile-time constant: the one switch from a
/// run-time dtype to the typed code of every kernel and loop.
///   with_dtype(seg.type, [&](auto tag) { fill_typed<decltype(tag)::value>(...); });
BLUEPRINT_HD_DISPATCH
template <class F>
BLUEPRINT_HD BLUEPRINT_INLINE decltype(auto) with_dtype(dtype d, F&& f) {
  switch (d) {
    case dtype::f32:
      return f(dtype_constant<dtype::f32>{});
    case dtype::bf16:
      return f(dtype_constant<dtype::bf16>{});
    case dtype::f16:
      return f(dtype_constant<dtype::f16>{});
    case dtype::f8_e4m3fn:
      return f(dtype_constant<dtype::f8_e4m3fn>{});
    default:
      return f(dtype_constant<dtype::f8_e5m2>{});
  }
}

/// The short name used on the command line and in JSON ("bf16").
[[nodiscard]] constexpr std::string_view dtype_name(dtype t) {
  switch (t) {
    case dtype::f32:
      return "f32";
    case dtype::bf16:
      return "bf16";
    case dtype::f16:
      return "f16";
    case dtype::f8_e4m3fn:
      return "f8_e4m3fn";
    case dtype::f8_e5m2:
      return "f8_e5m2";
  }
  return "?";
}

/// The safetensors header spelling ("BF16").
[[nodiscard]] constexpr std::string_view dtype_safetensors_name(dtype t) {
  switch (t) {
    case dtype::f32:
      return "F32";
    case dtype::bf16:
      return "BF16";
    case dtype::f16:
      return "F16";
    case dtype::f8_e4m3fn:
      return "F8_E4M3";
    case dtype::f8_e5m2:
      return "F8_E5M2";
  }
  return "?";
}

/// Parses a short name, also accepting common aliases ("float32", "bfloat16", "fp16", "e4m3").
[[nodiscard]] constexpr std::optional<dtype> parse_dtype(std::string_view s) {
  if (s == "f32" || s == "float32" || s == "fp32" || s == "float") return dtype::f32;
  if (s == "bf16" || s == "bfloat16") return dtype::bf16;
  if (s == "f16" || s == "float16" || s == "fp16" || s == "half") return dtype::f16;
  if (s == "f8_e4m3fn" || s == "float8_e4m3fn" || s == "e4m3" || s == "fp8")
    return dtype::f8_e4m3fn;
  if (s == "f8_e5m2" || s == "float8_e5m2" || s == "e5m2") return dtype::f8_e5m2;
  return std::nullopt;
}

}  // namespace blueprint
