// The Llama family and the families that share its decoder — Llama 2/3, Mistral, Mixtral
// (MoE), Qwen2 (q/k/v bias), Qwen3 (per-head q/k norms), Qwen3-MoE, Gemma and Gemma 2 (norms
// stored as an offset from 1, four norms per layer in Gemma 2), Phi-3 (fused qkv_proj and
// gate_up_proj) — as `*ForCausalLM` saves them: model.embed_tokens, model.layers.N.{norms,
// self_attn.*, mlp.* or block_sparse_moe.*}, model.norm, lm_head (or tied to the embedding),
// plus the non-persistent rotary buffer model.rotary_emb.inv_freq.
//
// Defined once, as `emit_llama(builder, config)`: the compile-time type `llama<"name",
// llama_config{...}>` and a config.json read at run time both run this function.
// Hugging Face's default init (`_init_weights`): normal(0, initializer_range) for every
// linear, router and embedding, the embedding row at pad_token_id zero, zero biases, norms 1
// (Gemma's 0, since its norm scales by 1 + weight).
#pragma once

#include <cstdint>

#include "../layers.hpp"
#include "../model.hpp"

namespace blueprint::dsl {

/// How a family names the experts of a mixture-of-experts layer.
enum class moe_naming : std::uint8_t {
  mixtral,  // block_sparse_moe.gate, block_sparse_moe.experts.E.{w1, w2, w3}
  qwen,     // mlp.gate, mlp.experts.E.{gate_proj, up_proj, down_proj}
};

/// How the norms of a layer look.
enum class norm_style : std::uint8_t {
  llama,   // input_layernorm, post_attention_layernorm; weights start at 1
  gemma,   // the same names; weights start at 0 (the norm scales by 1 + weight)
  gemma2,  // gemma's, plus pre_feedforward_layernorm and post_feedforward_layernorm
};

struct llama_config {
  std::uint64_t vocab = 32000;
  std::uint64_t hidden = 4096;
  std::uint64_t layers = 32;
  std::uint64_t heads = 32;
  std::uint64_t kv_heads = 32;
  std::uint64_t ffn = 11008;
  std::uint64_t head_dim = 0;  // 0: hidden / heads
  std::uint64_t experts = 0;   // > 0: a mixture of experts (in the layers moe_every selects)
  bool tied = false;           // lm_head tied to embed_tokens
  bool qkv_bias = false;       // Qwen2; attention_bias elsewhere (with o_bias)
  float initializer_range = 0.02f;
  float rope_theta = 10000.0f;
  float rope_llama3_factor = 0.0f;  // > 0: Llama 3.1 rope scaling ("rope_type": "llama3")
  float rope_original_max_positions = 8192.0f;
  bool o_bias = false;    // o_proj bias (Llama's attention_bias biases all four)
  bool mlp_bias = false;  // Llama's mlp_bias
  bool qk_norm = false;   // Qwen3: self_attn.q_norm, self_attn.k_norm [head_dim]
  moe_naming moe = moe_naming::mixtral;
  std::uint64_t expert_ffn = 0;  // moe_intermediate_size; 0: ffn
  std::uint64_t moe_every = 1;   // decoder_sparse_step: layer i is sparse when (i+1) % it == 0
  norm_style norms = norm_style::llama;
  bool fused_projections = false;  // Phi-3: qkv_proj, gate_up_proj
  std::int64_t pad_token = -1;     // pad_token_id: that embedding row starts at zero
};

/// The checks a config must pass, each a sentence; "" when it passes. The compile-time type
/// states the same rules as static_asserts, a config.json reader throws these sentences.
[[nodiscard]] constexpr std::string_view llama_config_problem(const llama_config& c) {
  if (c.vocab == 0 || c.hidden == 0 || c.layers == 0 || c.heads == 0 || c.kv_heads == 0 ||
      c.ffn == 0)
    return "vocab_size, hidden_size, num_hidden_layers, num_attention_heads, "
           "num_key_value_heads and intermediate_size must be positive";
  if (c.head_dim == 0 && c.hidden % c.heads != 0)
    return "num_attention_heads must divide hidden_size (or head_dim must be given)";
  if (c.heads % c.kv_heads != 0) return "num_key_value_heads must divide num_attention_heads";
  if (c.moe_every == 0) return "decoder_sparse_step must be at least 1";
  if (c.pad_token >= 0 && static_cast<std::uint64_t>(c.pad_token) >= c.vocab)
    return "pad_token_id must be below vocab_size";
  const std::uint64_t head_dim = c.head_dim != 0 ? c.head_dim : c.hidden / c.heads;
  if (head_dim % 2 != 0) return "the head size must be even (rotary embedding)";
  return "";
}

/// The Llama-family decoder of config `c`.
/// @pre llama_config_problem(c).empty()
constexpr void emit_llama(table_builder& b, const llama_config& c) {
  const std::uint64_t head_dim = c.head_dim != 0 ? c.head_dim : c.hidden / c.heads;
  const init_spec weight = init::normal(0, c.initializer_range);
  const init_spec norm = c.norms == norm_style::llama ? init::ones() : init::zeros();
  const attention_options attn{.head_dim = head_dim,
                               .qkv_bias = c.qkv_bias,
                               .o_bias = c.o_bias,
                               .fused_qkv = c.fused_projections,
                               .qk_norm = c.qk_norm,
                               .weight_init = weight,
                               .o_init = weight,
                               .bias_init = init::zeros(),
                               .norm_init = norm};
  const mlp_options mlp{
      .bias = c.mlp_bias, .weight_init = weight, .down_init = weight, .bias_init = init::zeros()};
  swiglu_names mlp_names{};
  if (c.fused_projections) mlp_names.fused_gate_up = "gate_up_proj";
  const bool mixtral = c.moe == moe_naming::mixtral;
  const moe_options moe{.router_init = weight, .expert = mlp, .mixtral_names = mixtral};
  const std::uint64_t expert_ffn = c.expert_ffn != 0 ? c.expert_ffn : c.ffn;
  {
    const named_scope model{b, "model"};
    emit::embedding(b, "embed_tokens", c.vocab, c.hidden,
                    {.init = weight, .padding_row = c.pad_token});
    repeat_blocks(b, "layers", c.layers, [&](std::uint64_t i) {
      emit::rms_norm(b, "input_layernorm", c.hidden, norm);
      emit::attention(b, "self_attn", c.hidden, c.heads, c.kv_heads, attn);
      emit::rms_norm(b, "post_attention_layernorm", c.hidden, norm);
      if (c.norms == norm_style::gemma2)
        emit::rms_norm(b, "pre_feedforward_layernorm", c.hidden, norm);
      const bool sparse = c.experts > 0 && (i + 1) % c.moe_every == 0;
      if (sparse)
        emit::mixture_of_experts(b, mixtral ? "block_sparse_moe" : "mlp", c.hidden, expert_ffn,
                                 c.experts, moe);
      else
        emit::swiglu_mlp(b, "mlp", c.hidden, c.ffn, mlp, mlp_names);
      if (c.norms == norm_style::gemma2)
        emit::rms_norm(b, "post_feedforward_layernorm", c.hidden, norm);
    });
    emit::rms_norm(b, "norm", c.hidden, norm);
    emit::rotary(b, "rotary_emb", head_dim,
                 emit::rotary_init(head_dim, c.rope_theta, c.rope_llama3_factor,
                                   c.rope_original_max_positions));
  }
  emit::lm_head(b, c.tied, "model.embed_tokens.weight", c.hidden, c.vocab, weight);
}

namespace detail {
template <llama_config C>
struct llama_rules {
  static_assert(C.head_dim != 0 || C.hidden % C.heads == 0,
                "llama: num_attention_heads must divide hidden_size");
  static_assert(C.heads % C.kv_heads == 0,
                "llama: num_key_value_heads must divide num_attention_heads");
  static_assert(llama_config_problem(C).empty(),
                "llama: the config breaks a rule of llama_config_problem (see its sentence)");
  static constexpr void emit(table_builder& b) { emit_llama(b, C); }
};
}  // namespace detail

template <fixed_string Name, llama_config C>
using llama = defined_model<Name, detail::llama_rules<C>>;

}  // namespace blueprint::dsl
