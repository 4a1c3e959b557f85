// Which dtype each tensor is stored in: one default plus overrides by name pattern or by kind
// ("norms in float32").
//
// A policy is a small constexpr value; later overrides win over earlier ones. Patterns are
// globs over the fully-qualified name (`*` any run, `?` one character).
#pragma once

#include <array>
#include <cstdint>
#include <stdexcept>
#include <string_view>

#include <blueprint/dsl/tensor_spec.hpp>
#include <blueprint/kernels/dtype.hpp>

namespace blueprint {

/// Glob match: `*` matches any run of characters, `?` any one character.
[[nodiscard]] constexpr bool glob_match(std::string_view pattern, std::string_view text) {
  std::size_t p = 0, t = 0, star = std::string_view::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

struct dtype_override {
  char pattern[64]{};  // glob over the name; empty: match by kind
  std::uint8_t pattern_size = 0;
  bool by_kind = false;
  tensor_kind kind = tensor_kind::weight;
  dtype type = dtype::f32;

  [[nodiscard]] constexpr std::string_view glob() const { return {pattern, pattern_size}; }
  [[nodiscard]] constexpr bool matches(const tensor_spec& t) const {
    return by_kind ? t.kind == kind : glob_match(glob(), t.name());
  }
};

struct dtype_policy {
  static constexpr std::size_t max_overrides = 8;

  dtype default_type = dtype::f32;
  std::array<dtype_override, max_overrides> overrides{};
  std::uint8_t override_count = 0;

  [[nodiscard]] static constexpr dtype_policy uniform(dtype t) { return {t}; }
  [[nodiscard]] static constexpr dtype_policy f32() { return {dtype::f32}; }
  [[nodiscard]] static constexpr dtype_policy bf16() { return {dtype::bf16}; }
  [[nodiscard]] static constexpr dtype_policy f16() { return {dtype::f16}; }
  [[nodiscard]] static constexpr dtype_policy f8_e4m3fn() { return {dtype::f8_e4m3fn}; }
  [[nodiscard]] static constexpr dtype_policy f8_e5m2() { return {dtype::f8_e5m2}; }

  /// Tensors whose name matches `pattern` are stored as `t`.
  /// @pre pattern.size() < 64 and fewer than max_overrides overrides so far
  [[nodiscard]] constexpr dtype_policy with(std::string_view pattern, dtype t) const {
    dtype_policy p = *this;
    if (override_count == max_overrides || pattern.size() >= 64) too_many_or_too_long_overrides();
    dtype_override& o = p.overrides[p.override_count++];
    for (std::size_t i = 0; i < pattern.size(); ++i) o.pattern[i] = pattern[i];
    o.pattern_size = static_cast<std::uint8_t>(pattern.size());
    o.type = t;
    return p;
  }
  /// Tensors of kind `k` are stored as `t`.
  [[nodiscard]] constexpr dtype_policy with_kind(tensor_kind k, dtype t) const {
    dtype_policy p = *this;
    if (override_count == max_overrides) too_many_or_too_long_overrides();
    dtype_override& o = p.overrides[p.override_count++];
    o.by_kind = true;
    o.kind = k;
    o.type = t;
    return p;
  }
  /// Norm weights and biases in float32 (a common mixed-precision recipe).
  [[nodiscard]] constexpr dtype_policy norms_in_f32() const {
    return with_kind(tensor_kind::norm_weight, dtype::f32)
        .with_kind(tensor_kind::norm_bias, dtype::f32);
  }

  [[nodiscard]] constexpr dtype resolve(const tensor_spec& t) const {
    dtype result = default_type;
    for (std::size_t i = 0; i < override_count; ++i)
      if (overrides[i].matches(t)) result = overrides[i].type;
    return result;
  }

 private:
  // Not constexpr: reaching it in a constant expression is the compile error.
  static void too_many_or_too_long_overrides() {
    throw std::length_error(
        "dtype_policy: at most 8 overrides, patterns shorter than 64 characters");
  }
};

}  // namespace blueprint
