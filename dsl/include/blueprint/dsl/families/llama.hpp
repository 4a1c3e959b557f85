// The Llama family and its relatives — Llama 2/3, Mistral, Mixtral (MoE), Qwen2 (q/k/v bias) —
// as `*ForCausalLM` saves them: model.embed_tokens, model.layers.N.{input_layernorm,
// self_attn.{q,k,v,o}_proj, post_attention_layernorm, mlp.{gate,up,down}_proj or
// block_sparse_moe.{gate, experts.E.w1/w2/w3}}, model.norm, lm_head (or tied to the
// embedding), plus the non-persistent rotary buffer model.rotary_emb.inv_freq.
// Hugging Face's default init: normal(0, initializer_range) for every linear, router and
// embedding, zero biases, norms 1.
#pragma once

#include <cstdint>
#include <type_traits>

#include "../layers.hpp"
#include "../model.hpp"

namespace blueprint::dsl {

struct llama_config {
  std::uint64_t vocab = 32000;
  std::uint64_t hidden = 4096;
  std::uint64_t layers = 32;
  std::uint64_t heads = 32;
  std::uint64_t kv_heads = 32;
  std::uint64_t ffn = 11008;
  std::uint64_t head_dim = 0;  // 0: hidden / heads
  std::uint64_t experts = 0;   // > 0: Mixtral-style mixture of experts in every layer
  bool tied = false;           // lm_head tied to embed_tokens
  bool qkv_bias = false;       // Qwen2
  float initializer_range = 0.02f;
  float rope_theta = 10000.0f;
  float rope_llama3_factor = 0.0f;  // > 0: Llama 3.1 rope scaling ("rope_type": "llama3")
  float rope_original_max_positions = 8192.0f;
};

namespace detail {
template <llama_config C>
struct llama_rules {
  static_assert(C.head_dim != 0 || C.hidden % C.heads == 0,
                "llama: num_attention_heads must divide hidden_size");
  static_assert(C.heads % C.kv_heads == 0,
                "llama: num_key_value_heads must divide num_attention_heads");
  static constexpr std::uint64_t head_dim = C.head_dim != 0 ? C.head_dim : C.hidden / C.heads;
  static constexpr init_spec weight = init::normal(0, C.initializer_range);
  static constexpr attention_options attn{.head_dim = head_dim,
                                          .qkv_bias = C.qkv_bias,
                                          .weight_init = weight,
                                          .o_init = weight,
                                          .bias_init = init::zeros()};
  static constexpr mlp_options mlp{
      .weight_init = weight, .down_init = weight, .bias_init = init::zeros()};
  using feed_forward =
      std::conditional_t<(C.experts > 0),
                         mixture_of_experts<"block_sparse_moe", C.hidden, C.ffn, C.experts,
                                            moe_options{.router_init = weight, .expert = mlp}>,
                         swiglu_mlp<"mlp", C.hidden, C.ffn, mlp>>;
  using layer = block<C.hidden, rms_norm<"input_layernorm", C.hidden>,
                      attention<"self_attn", C.hidden, C.heads, C.kv_heads, attn>,
                      rms_norm<"post_attention_layernorm", C.hidden>, feed_forward>;
  using head = std::conditional_t<
      C.tied, tie<"lm_head.weight", "model.embed_tokens.weight", shape<C.vocab, C.hidden>>,
      linear<"lm_head", C.hidden, C.vocab,
             linear_options{.tp = tp_mode::column, .weight_init = weight}>>;
};
}  // namespace detail

template <fixed_string Name, llama_config C, class R = detail::llama_rules<C>>
using llama =
    model<Name,
          scope<"model",
                embedding<"embed_tokens", C.vocab, C.hidden, embedding_options{.init = R::weight}>,
                repeat<"layers", C.layers, typename R::layer>, rms_norm<"norm", C.hidden>,
                rotary<"rotary_emb", R::head_dim, C.rope_theta, C.rope_llama3_factor,
                       C.rope_original_max_positions>>,
          typename R::head>;

}  // namespace blueprint::dsl
