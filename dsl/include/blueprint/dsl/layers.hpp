// The layer vocabulary: linear, embedding, norms, attention, MLPs, mixture of experts, rotary.
//
// Each layer is defined once, as a constexpr function over plain values in `dsl::emit` that
// writes its tensor records into a builder. The families call these functions with values
// from a config record, which is how one definition serves both a compile-time model type and
// a model read from config.json at run time. The node types below (`linear<...>`,
// `attention<...>`) wrap the same functions for declarations written as types; they add the
// layer's rules as static_asserts, so a violated rule fails to compile with the rule as the
// message and the layer's name in the instantiation chain. Defaults are PyTorch's
// (kaiming_uniform(a=sqrt 5) weights, U(+-1/sqrt(fan_in)) biases, N(0, 1) embeddings, norms
// 1 and 0); the families pass Hugging Face's defaults explicitly.
#pragma once

#include <cstdint>
#include <string_view>

#include "graph.hpp"

namespace blueprint::dsl {

/// How tensor parallelism treats a linear layer (Megatron's terms).
enum class tp_mode : std::uint8_t {
  column,  // split the output features (q/k/v, gate/up, lm_head); bias split with them
  row,     // split the input features (o_proj, down_proj); bias replicated
  none,    // replicated (routers, small heads)
};

/// Storage order of a linear weight: torch `nn.Linear` is [out, in]; GPT-2's `Conv1D` is
/// [in, out].
enum class weight_layout : std::uint8_t { out_in, in_out };

inline constexpr float sqrt5 = 2.2360679774997896f;

struct linear_options {
  bool bias = false;
  weight_layout layout = weight_layout::out_in;
  tp_mode tp = tp_mode::column;
  init_spec weight_init = init::kaiming_uniform(sqrt5);
  init_spec bias_init = init::fan_in_uniform();
  std::uint8_t fused = 1;  // equal sub-blocks of the output features (fused qkv: 3)
  // What the split features are, for the planner (see tensor_spec):
  head_group heads = head_group::none;
  std::uint32_t head_size = 0;
  bool vocab = false;
  std::uint64_t blocks[3]{};  // unequal fused sub-blocks of the output features
};

struct embedding_options {
  init_spec init = init::normal(0, 1);
  bool vocab_parallel = true;     // Megatron splits the vocabulary; position tables replicate
  std::int64_t padding_row = -1;  // nn.Embedding's padding_idx: that row starts at zero
};

struct attention_options {
  std::uint64_t head_dim = 0;  // 0: model dim / heads
  bool qkv_bias = false;
  bool o_bias = false;
  bool fused_qkv = false;  // one `qkv_proj` instead of q_proj, k_proj, v_proj
  bool qk_norm = false;    // per-head RMSNorm `q_norm`, `k_norm` [head_dim] (Qwen3)
  init_spec weight_init = init::kaiming_uniform(sqrt5);
  init_spec o_init = init::kaiming_uniform(sqrt5);  // residual projection (may be scaled)
  init_spec bias_init = init::fan_in_uniform();
  init_spec norm_init = init::ones();
};

struct gpt2_attention_options {
  init_spec weight_init = init::normal(0, 0.02f);
  init_spec proj_init = init::normal(0, 0.02f);  // c_proj: scaled by 1/sqrt(2 n_layer) in GPT-2
  init_spec bias_init = init::zeros();
};

struct mlp_options {
  bool bias = false;
  weight_layout layout = weight_layout::out_in;
  init_spec weight_init = init::kaiming_uniform(sqrt5);
  init_spec down_init = init::kaiming_uniform(sqrt5);  // residual projection (may be scaled)
  init_spec bias_init = init::fan_in_uniform();
};

/// The names of a SwiGLU MLP's three matrices, or of its one fused gate/up matrix.
struct swiglu_names {
  std::string_view gate = "gate_proj", up = "up_proj", down = "down_proj";
  std::string_view fused_gate_up = "";  // non-empty: one [2 ffn, dim] matrix (Phi-3)
};

struct moe_options {
  init_spec router_init = init::kaiming_uniform(sqrt5);
  mlp_options expert{};
  bool mixtral_names = true;  // experts.E.{w1, w2, w3} (declared in that order); false:
                              // experts.E.{gate_proj, up_proj, down_proj}
};

/// The layer functions: each writes its tensors under `name` into `b`.
namespace emit {

namespace detail {
constexpr parallel_role weight_role(const linear_options& o) {
  if (o.tp == tp_mode::none) return parallel_role::replicated;
  const bool split_out = o.tp == tp_mode::column;
  const bool out_first = o.layout == weight_layout::out_in;
  return split_out == out_first ? parallel_role::split_rows : parallel_role::split_cols;
}
constexpr parallel_role bias_role(const linear_options& o) {
  return o.tp == tp_mode::column ? parallel_role::split_rows : parallel_role::replicated;
}
}  // namespace detail

/// `name.weight` ([out, in], or [in, out] for Conv1D) and, optionally, `name.bias` [out].
constexpr void linear(table_builder& b, std::string_view name, std::uint64_t in, std::uint64_t out,
                      const linear_options& o = {}) {
  const named_scope s{b, name};
  tensor_options w{.role = detail::weight_role(o),
                   .kind = tensor_kind::weight,
                   .init = o.weight_init,
                   .fan_in = in,
                   .fan_out = out,
                   .fused = o.fused,
                   .heads = o.heads,
                   .head_size = o.head_size,
                   .vocab = o.vocab};
  for (std::size_t i = 0; i < 3; ++i) w.blocks[i] = o.blocks[i];
  if (o.layout == weight_layout::out_in)
    add_tensor(b, "weight", {out, in}, w);
  else
    add_tensor(b, "weight", {in, out}, w);
  if (!o.bias) return;
  tensor_options bias = w;
  bias.role = detail::bias_role(o);
  bias.kind = tensor_kind::bias;
  bias.init = o.bias_init;
  if (o.tp != tp_mode::column) {  // a row-parallel bias is whole on every rank
    bias.fused = 1;
    bias.heads = head_group::none;
    for (std::size_t i = 0; i < 3; ++i) bias.blocks[i] = 0;
  }
  add_tensor(b, "bias", {out}, bias);
}

/// `name.weight` [count, dim].
constexpr void embedding(table_builder& b, std::string_view name, std::uint64_t count,
                         std::uint64_t dim, const embedding_options& o = {}) {
  const named_scope s{b, name};
  add_tensor(b, "weight", {count, dim},
             {.role = o.vocab_parallel ? parallel_role::split_rows : parallel_role::replicated,
              .kind = tensor_kind::embedding,
              .init = o.init,
              .fan_in = dim,
              .fan_out = count,
              .vocab = o.vocab_parallel,
              .zero_row = o.padding_row});
}

/// LayerNorm `name.weight` (ones) and, optionally, `name.bias` (zeros).
constexpr void layer_norm(table_builder& b, std::string_view name, std::uint64_t dim,
                          bool bias = true) {
  const named_scope s{b, name};
  add_tensor(b, "weight", {dim}, {.kind = tensor_kind::norm_weight, .init = init::ones()});
  if (bias) add_tensor(b, "bias", {dim}, {.kind = tensor_kind::norm_bias, .init = init::zeros()});
}

/// RMSNorm `name.weight`: ones, or zeros where the norm stores its scale as an offset from 1
/// (Gemma).
constexpr void rms_norm(table_builder& b, std::string_view name, std::uint64_t dim,
                        init_spec weight_init = init::ones()) {
  const named_scope s{b, name};
  add_tensor(b, "weight", {dim}, {.kind = tensor_kind::norm_weight, .init = weight_init});
}

/// The rotary buffer `name.inv_freq` [rotary_dim / 2] with the given init (one of the
/// rotary_inv_freq kinds). Not persistent: Hugging Face does not save it.
constexpr void rotary(table_builder& b, std::string_view name, std::uint64_t rotary_dim,
                      init_spec inv_freq) {
  const named_scope s{b, name};
  add_tensor(b, "inv_freq", {rotary_dim / 2},
             {.kind = tensor_kind::buffer, .init = inv_freq, .persistent = false});
}

/// The inv_freq init: plain, or Llama 3.1's scaling when llama3_factor > 0.
[[nodiscard]] constexpr init_spec rotary_init(std::uint64_t rotary_dim, float theta,
                                              float llama3_factor = 0.0f,
                                              float original_max_positions = 8192.0f) {
  return llama3_factor > 0.0f ? init::rotary_inv_freq_llama3(theta, static_cast<float>(rotary_dim),
                                                             llama3_factor, original_max_positions)
                              : init::rotary_inv_freq(theta, static_cast<float>(rotary_dim));
}

[[nodiscard]] constexpr std::uint64_t head_dim_of(std::uint64_t dim, std::uint64_t heads,
                                                  const attention_options& o) {
  return o.head_dim != 0 ? o.head_dim : dim / heads;
}

/// Multi-head or grouped-query attention: q_proj, k_proj, v_proj, o_proj (or one fused
/// qkv_proj: q rows, then k, then v, as Phi-3 stores it), then q_norm, k_norm when asked.
/// @pre heads > 0, kv_heads > 0, heads % kv_heads == 0, head size known
constexpr void attention(table_builder& b, std::string_view name, std::uint64_t dim,
                         std::uint64_t heads, std::uint64_t kv_heads,
                         const attention_options& o = {}) {
  const named_scope s{b, name};
  const std::uint64_t head_dim = head_dim_of(dim, heads, o);
  const std::uint64_t q_out = heads * head_dim, kv_out = kv_heads * head_dim;
  const auto size = static_cast<std::uint32_t>(head_dim);
  const linear_options out{.bias = o.o_bias,
                           .tp = tp_mode::row,
                           .weight_init = o.o_init,
                           .bias_init = o.bias_init,
                           .heads = head_group::query,
                           .head_size = size};
  if (o.fused_qkv) {
    linear_options qkv{.bias = o.qkv_bias,
                       .tp = tp_mode::column,
                       .weight_init = o.weight_init,
                       .bias_init = o.bias_init,
                       .heads = head_group::query,
                       .head_size = size};
    if (q_out == kv_out) {
      qkv.fused = 3;
    } else {
      qkv.blocks[0] = q_out;
      qkv.blocks[1] = qkv.blocks[2] = kv_out;
    }
    linear(b, "qkv_proj", dim, q_out + 2 * kv_out, qkv);
    linear(b, "o_proj", q_out, dim, out);
  } else {
    linear_options q{.bias = o.qkv_bias,
                     .tp = tp_mode::column,
                     .weight_init = o.weight_init,
                     .bias_init = o.bias_init,
                     .heads = head_group::query,
                     .head_size = size};
    linear_options kv = q;
    kv.heads = head_group::key_value;
    linear(b, "q_proj", dim, q_out, q);
    linear(b, "k_proj", dim, kv_out, kv);
    linear(b, "v_proj", dim, kv_out, kv);
    linear(b, "o_proj", q_out, dim, out);
  }
  if (o.qk_norm) {
    rms_norm(b, "q_norm", head_dim, o.norm_init);
    rms_norm(b, "k_norm", head_dim, o.norm_init);
  }
}

/// GPT-2 attention: Conv1D `c_attn` [dim, 3 dim] (fused q, k, v) and `c_proj` [dim, dim], both
/// with bias.
constexpr void gpt2_attention(table_builder& b, std::string_view name, std::uint64_t dim,
                              std::uint64_t heads, const gpt2_attention_options& o = {}) {
  const named_scope s{b, name};
  const auto size = static_cast<std::uint32_t>(dim / heads);
  linear(b, "c_attn", dim, 3 * dim,
         {.bias = true,
          .layout = weight_layout::in_out,
          .tp = tp_mode::column,
          .weight_init = o.weight_init,
          .bias_init = o.bias_init,
          .fused = 3,
          .heads = head_group::query,
          .head_size = size});
  linear(b, "c_proj", dim, dim,
         {.bias = true,
          .layout = weight_layout::in_out,
          .tp = tp_mode::row,
          .weight_init = o.proj_init,
          .bias_init = o.bias_init,
          .heads = head_group::query,
          .head_size = size});
}

[[nodiscard]] constexpr linear_options mlp_in(const mlp_options& o) {
  return {.bias = o.bias,
          .layout = o.layout,
          .tp = tp_mode::column,
          .weight_init = o.weight_init,
          .bias_init = o.bias_init};
}
[[nodiscard]] constexpr linear_options mlp_out(const mlp_options& o) {
  return {.bias = o.bias,
          .layout = o.layout,
          .tp = tp_mode::row,
          .weight_init = o.down_init,
          .bias_init = o.bias_init};
}

/// Two-matrix GELU MLP: `up` [dim -> ffn] and `down` [ffn -> dim].
constexpr void gelu_mlp(table_builder& b, std::string_view name, std::uint64_t dim,
                        std::uint64_t ffn, const mlp_options& o = {}, std::string_view up = "fc1",
                        std::string_view down = "fc2") {
  const named_scope s{b, name};
  linear(b, up, dim, ffn, mlp_in(o));
  linear(b, down, ffn, dim, mlp_out(o));
}

/// Three-matrix SwiGLU MLP (gate, up [dim -> ffn], down [ffn -> dim]), or Phi-3's fused
/// gate_up [dim -> 2 ffn] (two equal halves) and down.
constexpr void swiglu_mlp(table_builder& b, std::string_view name, std::uint64_t dim,
                          std::uint64_t ffn, const mlp_options& o = {},
                          const swiglu_names& names = {}) {
  const named_scope s{b, name};
  if (!names.fused_gate_up.empty()) {
    linear_options gate_up = mlp_in(o);
    gate_up.fused = 2;
    linear(b, names.fused_gate_up, dim, 2 * ffn, gate_up);
    linear(b, names.down, ffn, dim, mlp_out(o));
    return;
  }
  linear(b, names.gate, dim, ffn, mlp_in(o));
  linear(b, names.up, dim, ffn, mlp_in(o));
  linear(b, names.down, ffn, dim, mlp_out(o));
}

/// A router `name.weight` [experts, dim].
constexpr void router(table_builder& b, std::string_view name, std::uint64_t dim,
                      std::uint64_t experts, init_spec weight_init) {
  const named_scope s{b, name};
  add_tensor(b, "weight", {experts, dim},
             {.kind = tensor_kind::router, .init = weight_init, .fan_in = dim, .fan_out = experts});
}

/// `count` SwiGLU experts `name.E.*` (see moe_options), each of hidden size `ffn`.
constexpr void experts(table_builder& b, std::string_view name, std::uint64_t dim,
                       std::uint64_t ffn, std::uint64_t count, const moe_options& o) {
  repeat_experts(b, name, count, [&] {
    if (o.mixtral_names) {
      linear(b, "w1", dim, ffn, mlp_in(o.expert));
      linear(b, "w2", ffn, dim, mlp_out(o.expert));
      linear(b, "w3", dim, ffn, mlp_in(o.expert));
    } else {
      linear(b, "gate_proj", dim, ffn, mlp_in(o.expert));
      linear(b, "up_proj", dim, ffn, mlp_in(o.expert));
      linear(b, "down_proj", ffn, dim, mlp_out(o.expert));
    }
  });
}

/// Mixture of experts (Mixtral's block_sparse_moe): router `gate` [experts, dim], then the
/// experts.
constexpr void mixture_of_experts(table_builder& b, std::string_view name, std::uint64_t dim,
                                  std::uint64_t ffn, std::uint64_t count,
                                  const moe_options& o = {}) {
  const named_scope s{b, name};
  router(b, "gate", dim, count, o.router_init);
  experts(b, "experts", dim, ffn, count, o);
}

/// A causal LM's head: `lm_head` [vocab, hidden] (column-parallel, a vocabulary), or when
/// tied the alias `lm_head.weight` of the embedding `embedding_weight`.
constexpr void lm_head(table_builder& b, bool tied, std::string_view embedding_weight,
                       std::uint64_t hidden, std::uint64_t vocab, init_spec weight_init) {
  if (tied)
    b.add_tie("lm_head.weight", embedding_weight);
  else
    linear(b, "lm_head", hidden, vocab,
           {.tp = tp_mode::column, .weight_init = weight_init, .vocab = true});
}

}  // namespace emit

/// A linear (or Conv1D) layer `Name` with `weight` and, optionally, `bias`.
template <fixed_string Name, std::uint64_t In, std::uint64_t Out,
          linear_options O = linear_options{}>
struct linear {
  static_assert(In > 0 && Out > 0, "linear: in_features and out_features must be positive");
  static_assert(Out % O.fused == 0, "linear: fused sub-blocks must divide out_features");
  static constexpr std::string_view node_name = Name.view();
  static constexpr std::uint64_t in_features = In;
  static constexpr std::uint64_t out_features = Out;
  static constexpr std::uint64_t model_dim = 0;
  static constexpr void emit(table_builder& b) { emit::linear(b, node_name, In, Out, O); }
  static constexpr record_counts counts =
      count_records([](table_builder& b) { emit::linear(b, "", In, Out, O); });
  static constexpr std::size_t tensor_count = counts.tensors;
  static constexpr std::size_t tie_count = 0;
  static constexpr std::uint64_t parameter_count = counts.parameters;
};

/// An embedding table `Name.weight` of shape [Count, Dim].
template <fixed_string Name, std::uint64_t Count, std::uint64_t Dim,
          embedding_options O = embedding_options{}>
struct embedding {
  static_assert(O.padding_row < 0 || static_cast<std::uint64_t>(O.padding_row) < Count,
                "embedding: the padding row must be inside the table");
  static constexpr std::string_view node_name = Name.view();
  static constexpr std::uint64_t model_dim = Dim;
  static constexpr void emit(table_builder& b) { emit::embedding(b, node_name, Count, Dim, O); }
  static constexpr std::size_t tensor_count = 1;
  static constexpr std::size_t tie_count = 0;
  static constexpr std::uint64_t parameter_count = Count * Dim;
};

/// LayerNorm `Name` with `weight` (ones) and, optionally, `bias` (zeros).
template <fixed_string Name, std::uint64_t Dim, bool Bias = true>
struct layer_norm {
  static constexpr std::string_view node_name = Name.view();
  static constexpr std::uint64_t model_dim = Dim;
  static constexpr void emit(table_builder& b) { emit::layer_norm(b, node_name, Dim, Bias); }
  static constexpr std::size_t tensor_count = Bias ? 2 : 1;
  static constexpr std::size_t tie_count = 0;
  static constexpr std::uint64_t parameter_count = tensor_count * Dim;
};

/// RMSNorm `Name` with `weight` (ones).
template <fixed_string Name, std::uint64_t Dim>
struct rms_norm {
  static constexpr std::string_view node_name = Name.view();
  static constexpr std::uint64_t model_dim = Dim;
  static constexpr void emit(table_builder& b) { emit::rms_norm(b, node_name, Dim); }
  static constexpr std::size_t tensor_count = 1;
  static constexpr std::size_t tie_count = 0;
  static constexpr std::uint64_t parameter_count = Dim;
};

/// Rotary embedding buffer `Name.inv_freq` of shape [RotaryDim / 2]:
/// inv_freq[i] = 1 / Theta^(2i / RotaryDim), with Llama 3.1's rope scaling when
/// Llama3Factor > 0 (original context OriginalMaxPositions). Not persistent (Hugging Face does
/// not save it).
template <fixed_string Name, std::uint64_t RotaryDim, float Theta, float Llama3Factor = 0.0f,
          float OriginalMaxPositions = 8192.0f>
struct rotary {
  static_assert(RotaryDim % 2 == 0, "rotary: the rotary dimension must be even");
  static constexpr std::string_view node_name = Name.view();
  static constexpr std::uint64_t model_dim = 0;
  static constexpr void emit(table_builder& b) {
    emit::rotary(b, node_name, RotaryDim,
                 emit::rotary_init(RotaryDim, Theta, Llama3Factor, OriginalMaxPositions));
  }
  static constexpr std::size_t tensor_count = 1;
  static constexpr std::size_t tie_count = 0;
  static constexpr std::uint64_t parameter_count = 0;
};

namespace detail {
template <std::uint64_t Dim, std::uint64_t Heads, std::uint64_t KvHeads, attention_options O>
struct attention_rules {
  static_assert(Heads > 0 && KvHeads > 0, "attention: head counts must be positive");
  static_assert(O.head_dim != 0 || Dim % Heads == 0,
                "attention: the number of heads must divide the model dimension");
  static_assert(Heads % KvHeads == 0,
                "attention: the number of kv heads must divide the number of query heads");
  static constexpr bool ok = true;
};
}  // namespace detail

/// Multi-head or grouped-query attention `Name` over a model of dimension Dim, with Heads query
/// heads and KvHeads key/value heads: q_proj, k_proj, v_proj, o_proj (or a fused qkv_proj).
template <fixed_string Name, std::uint64_t Dim, std::uint64_t Heads, std::uint64_t KvHeads,
          attention_options O = attention_options{}>
struct attention {
  static_assert(detail::attention_rules<Dim, Heads, KvHeads, O>::ok);
  static constexpr std::string_view node_name = Name.view();
  static constexpr std::uint64_t model_dim = Dim;
  static constexpr std::uint64_t head_dim = emit::head_dim_of(Dim, Heads, O);
  static constexpr std::uint64_t heads = Heads;
  static constexpr std::uint64_t kv_heads = KvHeads;
  static constexpr void emit(table_builder& b) {
    emit::attention(b, node_name, Dim, Heads, KvHeads, O);
  }
  static constexpr record_counts counts =
      count_records([](table_builder& b) { emit::attention(b, "", Dim, Heads, KvHeads, O); });
  static constexpr std::size_t tensor_count = counts.tensors;
  static constexpr std::size_t tie_count = 0;
  static constexpr std::uint64_t parameter_count = counts.parameters;
};

/// GPT-2 attention `Name`: Conv1D `c_attn` [Dim, 3 Dim] (fused q, k, v) and `c_proj` [Dim, Dim],
/// both with bias.
template <fixed_string Name, std::uint64_t Dim, std::uint64_t Heads,
          gpt2_attention_options O = gpt2_attention_options{}>
struct gpt2_attention {
  static_assert(detail::attention_rules<Dim, Heads, Heads, attention_options{}>::ok);
  static constexpr std::string_view node_name = Name.view();
  static constexpr std::uint64_t model_dim = Dim;
  static constexpr std::uint64_t heads = Heads;
  static constexpr void emit(table_builder& b) {
    emit::gpt2_attention(b, node_name, Dim, Heads, O);
  }
  static constexpr record_counts counts =
      count_records([](table_builder& b) { emit::gpt2_attention(b, "", Dim, Heads, O); });
  static constexpr std::size_t tensor_count = counts.tensors;
  static constexpr std::size_t tie_count = 0;
  static constexpr std::uint64_t parameter_count = counts.parameters;
};

/// Two-matrix GELU MLP `Name`: `Up` [Dim -> Ffn] and `Down` [Ffn -> Dim]. GPT-2 names them
/// c_fc and c_proj and stores them as Conv1D.
template <fixed_string Name, std::uint64_t Dim, std::uint64_t Ffn, mlp_options O = mlp_options{},
          fixed_string Up = "fc1", fixed_string Down = "fc2">
struct gelu_mlp {
  static constexpr std::string_view node_name = Name.view();
  static constexpr std::uint64_t model_dim = Dim;
  static constexpr void emit(table_builder& b) {
    emit::gelu_mlp(b, node_name, Dim, Ffn, O, Up.view(), Down.view());
  }
  static constexpr record_counts counts = count_records(
      [](table_builder& b) { emit::gelu_mlp(b, "", Dim, Ffn, O, Up.view(), Down.view()); });
  static constexpr std::size_t tensor_count = counts.tensors;
  static constexpr std::size_t tie_count = 0;
  static constexpr std::uint64_t parameter_count = counts.parameters;
};

/// Three-matrix SwiGLU MLP `Name`: gate_proj, up_proj [Dim -> Ffn], down_proj [Ffn -> Dim].
template <fixed_string Name, std::uint64_t Dim, std::uint64_t Ffn, mlp_options O = mlp_options{}>
struct swiglu_mlp {
  static constexpr std::string_view node_name = Name.view();
  static constexpr std::uint64_t model_dim = Dim;
  static constexpr void emit(table_builder& b) { emit::swiglu_mlp(b, node_name, Dim, Ffn, O); }
  static constexpr record_counts counts =
      count_records([](table_builder& b) { emit::swiglu_mlp(b, "", Dim, Ffn, O); });
  static constexpr std::size_t tensor_count = counts.tensors;
  static constexpr std::size_t tie_count = 0;
  static constexpr std::uint64_t parameter_count = counts.parameters;
};

/// Mixture of experts `Name` (Mixtral's block_sparse_moe): a router `gate` [Experts, Dim] and
/// Experts SwiGLU experts `experts.e.{w1, w2, w3}` (w1 gate, w3 up, w2 down).
template <fixed_string Name, std::uint64_t Dim, std::uint64_t Ffn, std::size_t Experts,
          moe_options O = moe_options{}>
struct mixture_of_experts {
  static_assert(Experts >= 1, "experts: a mixture of experts needs at least one expert");
  static constexpr std::string_view node_name = Name.view();
  static constexpr std::uint64_t model_dim = Dim;
  static constexpr std::size_t expert_count = Experts;
  static constexpr void emit(table_builder& b) {
    emit::mixture_of_experts(b, node_name, Dim, Ffn, Experts, O);
  }
  static constexpr record_counts counts = count_records(
      [](table_builder& b) { emit::mixture_of_experts(b, "", Dim, Ffn, Experts, O); });
  static constexpr std::size_t tensor_count = counts.tensors;
  static constexpr std::size_t tie_count = 0;
  static constexpr std::uint64_t parameter_count = counts.parameters;
};

}  // namespace blueprint::dsl
