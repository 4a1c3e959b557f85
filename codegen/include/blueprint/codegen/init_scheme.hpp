// From declared init to the concrete spec a kernel evaluates.
//
// Declarations may name schemes (kaiming, xavier, fan-in uniform) whose parameters depend on
// the tensor's fans; this file computes them, on the host, once per tensor record, so kernels
// only see concrete kinds and every device computes with the same float parameters.
// `init_scheme::pytorch` replaces the declared init by PyTorch's module defaults:
// kaiming_uniform(a = sqrt 5) weights (= U(+-1/sqrt(fan_in))), U(+-1/sqrt(fan_in)) biases,
// N(0, 1) embeddings, norms 1 and 0.
#pragma once

#include <string_view>

#include <string>

#include <stdexcept>

#include <cstdint>

#include <blueprint/dsl/math.hpp>
#include <blueprint/dsl/tensor_spec.hpp>
#include <blueprint/kernels/init.hpp>

namespace blueprint {

enum class init_scheme : std::uint8_t {
  declared,  // what the declaration says (Hugging Face's defaults for the built-in families)
  pytorch,   // PyTorch's nn.Module defaults, by tensor kind
};

/// "declared" (alias "hf") | "pytorch". @throws std::invalid_argument naming the text
[[nodiscard]] inline init_scheme parse_init_scheme(std::string_view text) {
  if (text == "declared" || text == "hf") return init_scheme::declared;
  if (text == "pytorch") return init_scheme::pytorch;
  throw std::invalid_argument("init scheme '" + std::string(text) +
                              "': expected declared (alias hf) or pytorch");
}
[[nodiscard]] constexpr std::string_view init_scheme_name(init_scheme s) {
  return s == init_scheme::pytorch ? "pytorch" : "declared";
}

/// "v1" | "v2" | "v3" (init.hpp, init_stream). @throws std::invalid_argument naming the text
[[nodiscard]] inline init_stream parse_init_stream(std::string_view text) {
  if (text == "v1") return init_stream::v1;
  if (text == "v2") return init_stream::v2;
  if (text == "v3") return init_stream::v3;
  throw std::invalid_argument("init stream '" + std::string(text) + "': expected v1, v2 or v3");
}

/// PyTorch's default init for a tensor of this kind.
[[nodiscard]] constexpr init_spec pytorch_default_init(const tensor_spec& t) {
  switch (t.kind) {
    case tensor_kind::weight:
    case tensor_kind::router:
      return init::kaiming_uniform(2.2360679774997896f);
    case tensor_kind::bias:
      return init::fan_in_uniform();
    case tensor_kind::embedding:
      return init::normal(0, 1);
    case tensor_kind::norm_weight:
      return init::ones();
    case tensor_kind::norm_bias:
      return init::zeros();
    case tensor_kind::buffer:
      return t.init;
  }
  return t.init;
}

/// The init of `t` with its scheme resolved with its fans.
[[nodiscard]] constexpr init_spec resolve_scheme(const tensor_spec& t, init_scheme scheme) {
  const init_spec s = scheme == init_scheme::pytorch ? pytorch_default_init(t) : t.init;
  const double fan_in = static_cast<double>(t.fan_in != 0 ? t.fan_in : 1);
  const double fan_out = static_cast<double>(t.fan_out != 0 ? t.fan_out : 1);
  using dsl::ct_sqrt;
  switch (s.kind) {
    case init_kind::kaiming_uniform:
    case init_kind::kaiming_normal: {
      const double slope = s.a;
      const double gain = ct_sqrt(2.0 / (1.0 + slope * slope));
      const double std = gain / ct_sqrt(s.b != 0 ? fan_out : fan_in);
      if (s.kind == init_kind::kaiming_normal) return init::normal(0, static_cast<float>(std));
      const float bound = static_cast<float>(ct_sqrt(3.0) * std);
      return init::uniform(-bound, bound);
    }
    case init_kind::xavier_uniform: {
      const float bound = static_cast<float>(s.a * ct_sqrt(6.0 / (fan_in + fan_out)));
      return init::uniform(-bound, bound);
    }
    case init_kind::xavier_normal:
      return init::normal(0, static_cast<float>(s.a * ct_sqrt(2.0 / (fan_in + fan_out))));
    case init_kind::fan_in_uniform: {
      const float bound = static_cast<float>(1.0 / ct_sqrt(fan_in));
      return init::uniform(-bound, bound);
    }
    default:
      return s;
  }
}

/// The concrete init of `t` (schemes resolved with its fans), its normal values drawn by
/// `stream` (init_stream::v2: normal becomes normal_icdf, v3: normal_icdf16, same mean and std).
/// @post is_concrete(result.kind)
[[nodiscard]] constexpr init_spec resolve_init(const tensor_spec& t,
                                               init_scheme scheme = init_scheme::declared,
                                               init_stream stream = init_stream::v1) {
  init_spec s = resolve_scheme(t, scheme);
  if (s.kind == init_kind::normal && stream == init_stream::v2) s.kind = init_kind::normal_icdf;
  if (s.kind == init_kind::normal && stream == init_stream::v3) s.kind = init_kind::normal_icdf16;
  return s;
}

}  // namespace blueprint
