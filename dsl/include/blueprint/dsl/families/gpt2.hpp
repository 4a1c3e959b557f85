// GPT-2 (`GPT2LMHeadModel`), with the tensor names `save_pretrained` writes and Hugging Face's
// default init: normal(0, 0.02) weights and embeddings, c_proj weights scaled by
// 1/sqrt(2 n_layer), zero biases, LayerNorm 1 and 0. Conv1D weights are stored [in, out].
// lm_head.weight is tied to transformer.wte.weight.
#pragma once

#include <cstdint>

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
};

namespace detail {
template <gpt2_config C>
struct gpt2_rules {
  static_assert(C.hidden % C.heads == 0, "gpt2: n_head must divide n_embd");
  static constexpr init_spec weight = init::normal(0, C.initializer_range);
  static constexpr init_spec residual =
      init::normal(0, static_cast<float>(C.initializer_range / ct_sqrt(2.0 * C.layers)));
};
}  // namespace detail

template <fixed_string Name, gpt2_config C, class R = detail::gpt2_rules<C>>
using gpt2 = model<
    Name,
    scope<"transformer", embedding<"wte", C.vocab, C.hidden, embedding_options{.init = R::weight}>,
          embedding<"wpe", C.positions, C.hidden,
                    embedding_options{.init = R::weight, .vocab_parallel = false}>,
          repeat<"h", C.layers,
                 block<C.hidden, layer_norm<"ln_1", C.hidden>,
                       gpt2_attention<"attn", C.hidden, C.heads,
                                      gpt2_attention_options{.weight_init = R::weight,
                                                             .proj_init = R::residual}>,
                       layer_norm<"ln_2", C.hidden>,
                       gelu_mlp<"mlp", C.hidden, 4 * C.hidden,
                                mlp_options{.bias = true,
                                            .layout = weight_layout::in_out,
                                            .weight_init = R::weight,
                                            .down_init = R::residual,
                                            .bias_init = init::zeros()},
                                "c_fc", "c_proj">>>,
          layer_norm<"ln_f", C.hidden>>,
    tie<"lm_head.weight", "transformer.wte.weight", shape<C.vocab, C.hidden>>>;

}  // namespace blueprint::dsl
