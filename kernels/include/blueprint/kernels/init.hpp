// What value an element gets: the init spec, a plain record the kernels understand.
//
// Declarations speak in schemes (kaiming_uniform, xavier_normal, scaled normal); the plan
// resolves every scheme into one of the few concrete kinds below, with its parameters already
// computed from the tensor's fans. The kernels therefore only ever see `init_spec` values of a
// concrete kind, and a CPU and a GPU that receive the same record compute the same bits.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "config.hpp"

namespace blueprint {

enum class init_kind : std::uint8_t {
  zeros,                   // 0
  ones,                    // 1
  constant,                // a
  uniform,                 // U(a, b)
  normal,                  // N(mean = a, std = b)
  truncated_normal,        // N(a, b) restricted to [c, d], by inverse CDF
  rotary_inv_freq,         // element i: 1 / a^(2i / b)   (a = theta, b = rotary dim)
  arange,                  // element i: a + i * b
  rotary_inv_freq_llama3,  // Llama 3.1 rope scaling of rotary_inv_freq (a = theta, b = dim,
                           // c = factor, d = original max positions; low/high freq factors 1, 4)
  rotary_inv_freq_yarn,    // YaRN scaling (DeepSeek-V3): a = theta, b = dim, c = factor,
                           // d = low * 65536 + high, the truncated correction range
  // Schemes: resolved by the plan into one of the concrete kinds above using the tensor's fans.
  kaiming_uniform,  // a = negative slope ("a" of torch), b = 0 for fan_in, 1 for fan_out
  kaiming_normal,   // same parameters
  xavier_uniform,   // a = gain
  xavier_normal,    // a = gain
  fan_in_uniform,   // U(-1/sqrt(fan_in), 1/sqrt(fan_in)): torch's default Linear bias
  skip,             // allocate only; the bytes are filled by a checkpoint load
  normal_icdf,      // N(mean = a, std = b) by init stream v2 (inverse CDF of a 24-bit uniform)
  normal_icdf16,    // N(mean = a, std = b) by init stream v3 (inverse CDF of a 16-bit uniform,
                    // refined by 23 more bits beyond 3.49 sigma)
};

/// Which definition turns random bits into normal values (docs/MATERIALIZE.md, "Init streams").
/// v1 (the default, bit-stable): Box-Muller over lane pairs of a Philox group. v2 (opt-in): each
/// lane's own word through a piecewise-cubic inverse CDF — a fraction of v1's arithmetic, every
/// promise kept (any mesh, CPU = GPU, keyed by name), tails truncated at 5.42 sigma (v1: 5.77).
/// v3 (opt-in, the fastest): 16 bits per value, so one Philox block feeds 8 values, through a
/// piecewise-polynomial inverse CDF; the outer 16 of the 2^15 levels per sign (|z| > 3.49 sigma)
/// take 23 more bits from a second Philox stream, so the tails stay continuous to 6.65 sigma.
/// Uniform and truncated normal inits are the same in all three.
enum class init_stream : std::uint8_t { v1, v2, v3 };

[[nodiscard]] constexpr std::string_view init_stream_name(init_stream s) {
  return s == init_stream::v3 ? "v3" : s == init_stream::v2 ? "v2" : "v1";
}

struct init_spec {
  init_kind kind = init_kind::zeros;
  float a = 0, b = 0, c = 0, d = 0;

  /// Parameter `i` (0..3: a, b, c, d); init_parameter_names says what it means for the kind.
  [[nodiscard]] constexpr float parameter(std::size_t i) const {
    return i == 0 ? a : i == 1 ? b : i == 2 ? c : d;
  }

  friend constexpr bool operator==(const init_spec&, const init_spec&) = default;
};

/// Two roles, one name, because they are one idea: `init::normal(0, 0.02)` and the other static
/// functions build the init a declaration gives a tensor; `blueprint::init{.seed = 7}` is the
/// materialization source that runs those inits (runtime/source.hpp). A struct rather than a
/// namespace so that both spellings can be had.
struct init {
  /// The Philox key of every element (DESIGN.md "Identity and determinism").
  std::uint64_t seed = 0;

  [[nodiscard]] static constexpr init_spec zeros() { return {init_kind::zeros}; }
  [[nodiscard]] static constexpr init_spec ones() { return {init_kind::ones}; }
  [[nodiscard]] static constexpr init_spec constant(float v) { return {init_kind::constant, v}; }
  [[nodiscard]] static constexpr init_spec uniform(float lo, float hi) {
    return {init_kind::uniform, lo, hi};
  }
  [[nodiscard]] static constexpr init_spec normal(float mean, float std) {
    return {init_kind::normal, mean, std};
  }
  [[nodiscard]] static constexpr init_spec truncated_normal(float mean, float std, float lo,
                                                            float hi) {
    return {init_kind::truncated_normal, mean, std, lo, hi};
  }
  [[nodiscard]] static constexpr init_spec rotary_inv_freq(float theta, float dim) {
    return {init_kind::rotary_inv_freq, theta, dim};
  }
  /// Llama 3.1 / 3.2 ("rope_type": "llama3") scaled inverse frequencies, with Meta's
  /// low_freq_factor = 1 and high_freq_factor = 4.
  [[nodiscard]] static constexpr init_spec rotary_inv_freq_llama3(float theta, float dim,
                                                                  float factor,
                                                                  float original_max_positions) {
    return {init_kind::rotary_inv_freq_llama3, theta, dim, factor, original_max_positions};
  }
  /// YaRN ("rope_type": "yarn") inverse frequencies; `low`, `high`: the correction range
  /// (find_correction_range, truncated), each below 65536.
  [[nodiscard]] static constexpr init_spec rotary_inv_freq_yarn(float theta, float dim,
                                                                float factor, std::uint32_t low,
                                                                std::uint32_t high) {
    return {init_kind::rotary_inv_freq_yarn, theta, dim, factor,
            static_cast<float>(low * 65536u + high)};
  }
  [[nodiscard]] static constexpr init_spec arange(float start, float step) {
    return {init_kind::arange, start, step};
  }
  [[nodiscard]] static constexpr init_spec kaiming_uniform(float neg_slope = 0,
                                                           bool fan_out = false) {
    return {init_kind::kaiming_uniform, neg_slope, fan_out ? 1.0f : 0.0f};
  }
  [[nodiscard]] static constexpr init_spec kaiming_normal(float neg_slope = 0,
                                                          bool fan_out = false) {
    return {init_kind::kaiming_normal, neg_slope, fan_out ? 1.0f : 0.0f};
  }
  [[nodiscard]] static constexpr init_spec xavier_uniform(float gain = 1) {
    return {init_kind::xavier_uniform, gain};
  }
  [[nodiscard]] static constexpr init_spec xavier_normal(float gain = 1) {
    return {init_kind::xavier_normal, gain};
  }
  [[nodiscard]] static constexpr init_spec fan_in_uniform() { return {init_kind::fan_in_uniform}; }
};

[[nodiscard]] constexpr std::string_view init_kind_name(init_kind k) {
  switch (k) {
    case init_kind::zeros:
      return "zeros";
    case init_kind::ones:
      return "ones";
    case init_kind::constant:
      return "constant";
    case init_kind::uniform:
      return "uniform";
    case init_kind::normal:
      return "normal";
    case init_kind::truncated_normal:
      return "truncated_normal";
    case init_kind::rotary_inv_freq:
      return "rotary_inv_freq";
    case init_kind::rotary_inv_freq_llama3:
      return "rotary_inv_freq_llama3";
    case init_kind::rotary_inv_freq_yarn:
      return "rotary_inv_freq_yarn";
    case init_kind::arange:
      return "arange";
    case init_kind::kaiming_uniform:
      return "kaiming_uniform";
    case init_kind::kaiming_normal:
      return "kaiming_normal";
    case init_kind::xavier_uniform:
      return "xavier_uniform";
    case init_kind::xavier_normal:
      return "xavier_normal";
    case init_kind::fan_in_uniform:
      return "fan_in_uniform";
    case init_kind::skip:
      return "skip";
    case init_kind::normal_icdf:
      return "normal_icdf";
    case init_kind::normal_icdf16:
      return "normal_icdf16";
  }
  return "?";
}

/// What parameters a, b, c, d of an init_spec of kind `k` mean, by name ("mean", "std", ...);
/// empty names past the last parameter. Reports print and export inits through this table.
[[nodiscard]] constexpr std::array<std::string_view, 4> init_parameter_names(init_kind k) {
  switch (k) {
    case init_kind::constant:
      return {"value", "", "", ""};
    case init_kind::uniform:
      return {"low", "high", "", ""};
    case init_kind::normal:
    case init_kind::normal_icdf:
    case init_kind::normal_icdf16:
      return {"mean", "std", "", ""};
    case init_kind::truncated_normal:
      return {"mean", "std", "low", "high"};
    case init_kind::rotary_inv_freq:
      return {"theta", "dim", "", ""};
    case init_kind::rotary_inv_freq_llama3:
      return {"theta", "dim", "factor", "original_max_positions"};
    case init_kind::rotary_inv_freq_yarn:
      return {"theta", "dim", "factor", "correction_range"};
    case init_kind::arange:
      return {"start", "step", "", ""};
    case init_kind::kaiming_uniform:
    case init_kind::kaiming_normal:
      return {"negative_slope", "fan_out", "", ""};
    case init_kind::xavier_uniform:
    case init_kind::xavier_normal:
      return {"gain", "", "", ""};
    default:
      return {"", "", "", ""};
  }
}

/// True for the kinds a kernel can evaluate directly (schemes are resolved first).
[[nodiscard]] BLUEPRINT_HD constexpr bool is_concrete(init_kind k) {
  return k == init_kind::zeros || k == init_kind::ones || k == init_kind::constant ||
         k == init_kind::uniform || k == init_kind::normal || k == init_kind::truncated_normal ||
         k == init_kind::rotary_inv_freq || k == init_kind::rotary_inv_freq_llama3 ||
         k == init_kind::rotary_inv_freq_yarn || k == init_kind::arange || k == init_kind::skip ||
         k == init_kind::normal_icdf || k == init_kind::normal_icdf16;
}

}  // namespace blueprint
