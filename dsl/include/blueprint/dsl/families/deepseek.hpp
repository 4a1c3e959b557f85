// DeepSeek-V3 (`DeepseekV3ForCausalLM`): multi-head latent attention and a mixture of routed
// plus shared experts, with the names save_pretrained writes: model.layers.N.self_attn.{q_a_proj,
// q_a_layernorm, q_b_proj (or q_proj without q_lora_rank), kv_a_proj_with_mqa, kv_a_layernorm,
// kv_b_proj, o_proj}; the first `first_k_dense_replace` layers have a dense mlp.{gate,up,
// down}_proj, the others mlp.gate (router, with the persistent buffer
// gate.e_score_correction_bias), mlp.experts.E.{gate,up,down}_proj and mlp.shared_experts.*.
// The next-token-prediction layer (num_nextn_predict_layers) is not part of the model, as in
// transformers. Rotary buffer: YaRN-scaled inv_freq over qk_rope_head_dim when rope_scaling says
// "yarn".
//
// Defined once, as `emit_deepseek_v3(builder, config)`; `deepseek_v3<"name", config>` is its
// compile-time type. Init as `_init_weights`: normal(0, initializer_range) linears, routers and
// embedding, correction bias 0, norms 1.
#pragma once

#include <cstdint>
#include <string_view>

#include "../layers.hpp"
#include "../math.hpp"
#include "../model.hpp"

namespace blueprint::dsl {

struct deepseek_v3_config {
  std::uint64_t vocab = 129280;
  std::uint64_t hidden = 7168;
  std::uint64_t layers = 61;
  std::uint64_t heads = 128;
  std::uint64_t ffn = 18432;        // intermediate_size (dense layers)
  std::uint64_t expert_ffn = 2048;  // moe_intermediate_size
  std::uint64_t routed_experts = 256;
  std::uint64_t shared_experts = 1;
  std::uint64_t first_dense = 3;     // first_k_dense_replace
  std::uint64_t q_lora_rank = 1536;  // 0: a plain q_proj
  std::uint64_t kv_lora_rank = 512;
  std::uint64_t qk_nope_dim = 128;
  std::uint64_t qk_rope_dim = 64;
  std::uint64_t v_head_dim = 128;
  bool attention_bias = false;
  bool tied = false;
  float initializer_range = 0.02f;
  float rope_theta = 10000.0f;
  float yarn_factor = 0.0f;  // > 0: "rope_type": "yarn"
  float yarn_beta_fast = 32.0f;
  float yarn_beta_slow = 1.0f;
  float yarn_original_max_positions = 4096.0f;
  std::int64_t pad_token = -1;
};

[[nodiscard]] constexpr std::string_view deepseek_v3_config_problem(const deepseek_v3_config& c) {
  if (c.vocab == 0 || c.hidden == 0 || c.layers == 0 || c.heads == 0 || c.ffn == 0 ||
      c.kv_lora_rank == 0 || c.qk_rope_dim == 0 || c.v_head_dim == 0)
    return "vocab_size, hidden_size, num_hidden_layers, num_attention_heads, intermediate_size, "
           "kv_lora_rank, qk_rope_head_dim and v_head_dim must be positive";
  if (c.qk_rope_dim % 2 != 0) return "qk_rope_head_dim must be even";
  if (c.routed_experts > 0 && c.expert_ffn == 0)
    return "moe_intermediate_size must be positive with routed experts";
  if (c.pad_token >= 0 && static_cast<std::uint64_t>(c.pad_token) >= c.vocab)
    return "pad_token_id must be below vocab_size";
  return "";
}

namespace detail {
/// find_correction_dim of transformers' YaRN: the rotary dimension whose frequency turns
/// `rotations` times over the original context.
constexpr double yarn_correction_dim(double rotations, double dim, double theta, double positions) {
  return (dim * ct_log(positions / (rotations * 2.0 * 3.14159265358979311600))) /
         (2.0 * ct_log(theta));
}
constexpr std::int64_t floor_to_int(double x) {
  const auto i = static_cast<std::int64_t>(x);
  return static_cast<double>(i) > x ? i - 1 : i;
}
constexpr std::int64_t ceil_to_int(double x) {
  const auto i = static_cast<std::int64_t>(x);
  return static_cast<double>(i) < x ? i + 1 : i;
}
}  // namespace detail

/// The inv_freq init of a DeepSeek-V3 config: plain, or YaRN with its truncated correction range.
[[nodiscard]] constexpr init_spec deepseek_v3_rotary_init(const deepseek_v3_config& c) {
  if (c.yarn_factor <= 0.0f) return emit::rotary_init(c.qk_rope_dim, c.rope_theta);
  const double dim = static_cast<double>(c.qk_rope_dim);
  std::int64_t low = detail::floor_to_int(detail::yarn_correction_dim(
      c.yarn_beta_fast, dim, c.rope_theta, c.yarn_original_max_positions));
  std::int64_t high = detail::ceil_to_int(detail::yarn_correction_dim(
      c.yarn_beta_slow, dim, c.rope_theta, c.yarn_original_max_positions));
  low = low < 0 ? 0 : low;
  high = high > static_cast<std::int64_t>(c.qk_rope_dim) - 1
             ? static_cast<std::int64_t>(c.qk_rope_dim) - 1
             : high;
  return init::rotary_inv_freq_yarn(c.rope_theta, static_cast<float>(c.qk_rope_dim), c.yarn_factor,
                                    static_cast<std::uint32_t>(low),
                                    static_cast<std::uint32_t>(high));
}

/// The DeepSeek-V3 model of config `c`. @pre deepseek_v3_config_problem(c).empty()
constexpr void emit_deepseek_v3(table_builder& b, const deepseek_v3_config& c) {
  const init_spec weight = init::normal(0, c.initializer_range);
  const std::uint64_t qk_head = c.qk_nope_dim + c.qk_rope_dim;
  const auto head = [](std::uint64_t size) { return static_cast<std::uint32_t>(size); };
  // The low-rank down projections are small and replicated; the up projections split by head.
  const linear_options down{.bias = c.attention_bias,
                            .tp = tp_mode::none,
                            .weight_init = weight,
                            .bias_init = init::zeros()};
  const linear_options by_head{.tp = tp_mode::column,
                               .weight_init = weight,
                               .bias_init = init::zeros(),
                               .heads = head_group::query};
  const mlp_options mlp{.weight_init = weight, .down_init = weight, .bias_init = init::zeros()};
  {
    const named_scope model{b, "model"};
    emit::embedding(b, "embed_tokens", c.vocab, c.hidden,
                    {.init = weight, .padding_row = c.pad_token});
    repeat_blocks(b, "layers", c.layers, [&](std::uint64_t i) {
      emit::rms_norm(b, "input_layernorm", c.hidden);
      {
        const named_scope attn{b, "self_attn"};
        linear_options q = by_head;
        q.head_size = head(qk_head);
        if (c.q_lora_rank == 0) {
          emit::linear(b, "q_proj", c.hidden, c.heads * qk_head, q);
        } else {
          emit::linear(b, "q_a_proj", c.hidden, c.q_lora_rank, down);
          emit::rms_norm(b, "q_a_layernorm", c.q_lora_rank);
          emit::linear(b, "q_b_proj", c.q_lora_rank, c.heads * qk_head, q);
        }
        emit::linear(b, "kv_a_proj_with_mqa", c.hidden, c.kv_lora_rank + c.qk_rope_dim, down);
        emit::rms_norm(b, "kv_a_layernorm", c.kv_lora_rank);
        linear_options kv = by_head;
        kv.head_size = head(c.qk_nope_dim + c.v_head_dim);
        emit::linear(b, "kv_b_proj", c.kv_lora_rank, c.heads * (c.qk_nope_dim + c.v_head_dim), kv);
        emit::linear(b, "o_proj", c.heads * c.v_head_dim, c.hidden,
                     {.bias = c.attention_bias,
                      .tp = tp_mode::row,
                      .weight_init = weight,
                      .bias_init = init::zeros(),
                      .heads = head_group::query,
                      .head_size = head(c.v_head_dim)});
      }
      emit::rms_norm(b, "post_attention_layernorm", c.hidden);
      const bool sparse = c.routed_experts > 0 && i >= c.first_dense;
      if (!sparse) {
        emit::swiglu_mlp(b, "mlp", c.hidden, c.ffn, mlp);
        return;
      }
      const named_scope moe{b, "mlp"};
      {
        const named_scope gate{b, "gate"};
        add_tensor(b, "weight", {c.routed_experts, c.hidden},
                   {.kind = tensor_kind::router,
                    .init = weight,
                    .fan_in = c.hidden,
                    .fan_out = c.routed_experts});
        add_tensor(b, "e_score_correction_bias", {c.routed_experts},
                   {.kind = tensor_kind::buffer, .init = init::zeros()});
      }
      emit::experts(b, "experts", c.hidden, c.expert_ffn, c.routed_experts,
                    {.router_init = weight, .expert = mlp, .mixtral_names = false});
      if (c.shared_experts > 0)
        emit::swiglu_mlp(b, "shared_experts", c.hidden, c.expert_ffn * c.shared_experts, mlp);
    });
    emit::rms_norm(b, "norm", c.hidden);
    emit::rotary(b, "rotary_emb", c.qk_rope_dim, deepseek_v3_rotary_init(c));
  }
  emit::lm_head(b, c.tied, "model.embed_tokens.weight", c.hidden, c.vocab, weight);
}

namespace detail {
template <deepseek_v3_config C>
struct deepseek_v3_rules {
  static_assert(deepseek_v3_config_problem(C).empty(),
                "deepseek_v3: the config breaks a rule of deepseek_v3_config_problem (see its "
                "sentence)");
  static constexpr void emit(table_builder& b) { emit_deepseek_v3(b, C); }
};
}  // namespace detail

template <fixed_string Name, deepseek_v3_config C>
using deepseek_v3 = defined_model<Name, detail::deepseek_v3_rules<C>>;

}  // namespace blueprint::dsl
