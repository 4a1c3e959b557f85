// GPT-2 (`GPT2LMHeadModel`), with the tensor names `save_pretrained` writes and Hugging Face's
// default init: normal(0, initializer_range) weights and embeddings, c_proj weights scaled by
// 1/sqrt(2 n_layer), zero biases, LayerNorm 1 and 0. Conv1D weights are stored [in, out].
// lm_head.weight is tied to transformer.wte.weight.
//
// Defined once, as `emit_gpt2(builder, config)`: the compile-time type `gpt2<"name",
// gpt2_config{...}>` and a config.json read at run time both run this function.
#pragma once

#include <cstdint>
#include <string_view>

#include "../layers.hpp"
#include "../math.hpp"
#include "../model.hpp"

namespace blueprint::dsl {

struct gpt2_config {
  std::uint64_t vocab = 50257;
  std::uint64_t positions = 1024;
  std::uint64_t hidden = 768;
  std::uint64_t layers = 12;
  std::uint64_t heads = 12;
  float initializer_range = 0.02f;
  std::uint64_t ffn = 0;  // n_inner; 0: 4 * hidden
};

/// The rule a config breaks, as a sentence; "" when it passes.
[[nodiscard]] constexpr std::string_view gpt2_config_problem(const gpt2_config& c) {
  if (c.vocab == 0 || c.positions == 0 || c.hidden == 0 || c.layers == 0 || c.heads == 0)
    return "vocab_size, n_positions, n_embd, n_layer and n_head must be positive";
  if (c.hidden % c.heads != 0) return "n_head must divide n_embd";
  return "";
}

/// The GPT-2 model of config `c`. @pre gpt2_config_problem(c).empty()
constexpr void emit_gpt2(table_builder& b, const gpt2_config& c) {
  const init_spec weight = init::normal(0, c.initializer_range);
  const init_spec residual = init::normal(
      0, static_cast<float>(c.initializer_range / ct_sqrt(2.0 * static_cast<double>(c.layers))));
  const std::uint64_t ffn = c.ffn != 0 ? c.ffn : 4 * c.hidden;
  {
    const named_scope transformer{b, "transformer"};
    emit::embedding(b, "wte", c.vocab, c.hidden, {.init = weight});
    emit::embedding(b, "wpe", c.positions, c.hidden, {.init = weight, .vocab_parallel = false});
    repeat_blocks(b, "h", c.layers, [&](std::uint64_t) {
      emit::layer_norm(b, "ln_1", c.hidden);
      emit::gpt2_attention(b, "attn", c.hidden, c.heads,
                           {.weight_init = weight, .proj_init = residual});
      emit::layer_norm(b, "ln_2", c.hidden);
      emit::gelu_mlp(b, "mlp", c.hidden, ffn,
                     {.bias = true,
                      .layout = weight_layout::in_out,
                      .weight_init = weight,
                      .down_init = residual,
                      .bias_init = init::zeros()},
                     "c_fc", "c_proj");
    });
    emit::layer_norm(b, "ln_f", c.hidden);
  }
  b.add_tie("lm_head.weight", "transformer.wte.weight");
}

namespace detail {
template <gpt2_config C>
struct gpt2_rules {
  static_assert(C.hidden % C.heads == 0, "gpt2: n_head must divide n_embd");
  static_assert(gpt2_config_problem(C).empty(),
                "gpt2: the config breaks a rule of gpt2_config_problem (see its sentence)");
  static constexpr void emit(table_builder& b) { emit_gpt2(b, C); }
};
}  // namespace detail

template <fixed_string Name, gpt2_config C>
using gpt2 = defined_model<Name, detail::gpt2_rules<C>>;

}  // namespace blueprint::dsl
