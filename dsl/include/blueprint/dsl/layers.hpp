// The layer vocabulary: linear, embedding, norms, attention, MLPs, mixture of experts, rotary.
//
// Each layer is a node type (see graph.hpp) assembled from tensor leaves and scopes, with the
// rules that make it consistent as static_asserts; a violated rule fails to compile with the
// rule as the message and the layer's name in the instantiation chain. Defaults are PyTorch's
// (kaiming_uniform(a=sqrt 5) weights, U(+-1/sqrt(fan_in)) biases, N(0, 1) embeddings, norms
// 1 and 0); the families pass Hugging Face's defaults explicitly.
#pragma once

#include <cstdint>
#include <type_traits>

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
};

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
template <std::uint64_t In, std::uint64_t Out, weight_layout L>
using weight_shape = std::conditional_t<L == weight_layout::out_in, shape<Out, In>, shape<In, Out>>;
}  // namespace detail

/// A linear (or Conv1D) layer `Name` with `weight` and, optionally, `bias`.
template <fixed_string Name, std::uint64_t In, std::uint64_t Out,
          linear_options O = linear_options{}>
struct linear
    : std::conditional_t<
          O.bias,
          scope<
              Name,
              tensor<"weight", detail::weight_shape<In, Out, O.layout>,
                     tensor_options{.role = detail::weight_role(O),
                                    .kind = tensor_kind::weight,
                                    .init = O.weight_init,
                                    .fan_in = In,
                                    .fan_out = Out,
                                    .fused = O.fused}>,
              tensor<"bias", shape<Out>,
                     tensor_options{.role = detail::bias_role(O),
                                    .kind = tensor_kind::bias,
                                    .init = O.bias_init,
                                    .fan_in = In,
                                    .fan_out = Out,
                                    .fused = O.tp == tp_mode::column ? O.fused : std::uint8_t{1}}>>,
          scope<Name, tensor<"weight", detail::weight_shape<In, Out, O.layout>,
                             tensor_options{.role = detail::weight_role(O),
                                            .kind = tensor_kind::weight,
                                            .init = O.weight_init,
                                            .fan_in = In,
                                            .fan_out = Out,
                                            .fused = O.fused}>>> {
  static_assert(In > 0 && Out > 0, "linear: in_features and out_features must be positive");
  static_assert(Out % O.fused == 0, "linear: fused sub-blocks must divide out_features");
  static constexpr std::uint64_t in_features = In;
  static constexpr std::uint64_t out_features = Out;
};

struct embedding_options {
  init_spec init = init::normal(0, 1);
  bool vocab_parallel = true;  // Megatron splits the vocabulary; position tables replicate
};

/// An embedding table `Name.weight` of shape [Count, Dim].
template <fixed_string Name, std::uint64_t Count, std::uint64_t Dim,
          embedding_options O = embedding_options{}>
struct embedding
    : scope<Name, tensor<"weight", shape<Count, Dim>,
                         tensor_options{.role = O.vocab_parallel ? parallel_role::split_rows
                                                                 : parallel_role::replicated,
                                        .kind = tensor_kind::embedding,
                                        .init = O.init,
                                        .fan_in = Dim,
                                        .fan_out = Count}>> {
  static constexpr std::uint64_t model_dim = Dim;
};

/// LayerNorm `Name` with `weight` (ones) and, optionally, `bias` (zeros).
template <fixed_string Name, std::uint64_t Dim, bool Bias = true>
struct layer_norm
    : std::conditional_t<
          Bias,
          scope<Name,
                tensor<"weight", shape<Dim>,
                       tensor_options{.kind = tensor_kind::norm_weight, .init = init::ones()}>,
                tensor<"bias", shape<Dim>,
                       tensor_options{.kind = tensor_kind::norm_bias, .init = init::zeros()}>>,
          scope<Name,
                tensor<"weight", shape<Dim>,
                       tensor_options{.kind = tensor_kind::norm_weight, .init = init::ones()}>>> {
  static constexpr std::uint64_t model_dim = Dim;
};

/// RMSNorm `Name` with `weight` (ones).
template <fixed_string Name, std::uint64_t Dim>
struct rms_norm
    : scope<Name, tensor<"weight", shape<Dim>,
                         tensor_options{.kind = tensor_kind::norm_weight, .init = init::ones()}>> {
  static constexpr std::uint64_t model_dim = Dim;
};

/// Rotary embedding buffer `Name.inv_freq` of shape [RotaryDim / 2]:
/// inv_freq[i] = 1 / Theta^(2i / RotaryDim), with Llama 3.1's rope scaling when
/// Llama3Factor > 0 (original context OriginalMaxPositions). Not persistent (Hugging Face does
/// not save it).
template <fixed_string Name, std::uint64_t RotaryDim, float Theta, float Llama3Factor = 0.0f,
          float OriginalMaxPositions = 8192.0f>
struct rotary
    : scope<Name, tensor<"inv_freq", shape<RotaryDim / 2>,
                         tensor_options{.kind = tensor_kind::buffer,
                                        .init = (Llama3Factor > 0.0f)
                                                    ? init::rotary_inv_freq_llama3(
                                                          Theta, static_cast<float>(RotaryDim),
                                                          Llama3Factor, OriginalMaxPositions)
                                                    : init::rotary_inv_freq(
                                                          Theta, static_cast<float>(RotaryDim)),
                                        .persistent = false}>> {
  static_assert(RotaryDim % 2 == 0, "rotary: the rotary dimension must be even");
};

struct attention_options {
  std::uint64_t head_dim = 0;  // 0: model dim / heads
  bool qkv_bias = false;
  bool o_bias = false;
  bool fused_qkv = false;  // one `qkv_proj` instead of q_proj, k_proj, v_proj
  init_spec weight_init = init::kaiming_uniform(sqrt5);
  init_spec o_init = init::kaiming_uniform(sqrt5);  // residual projection (may be scaled)
  init_spec bias_init = init::fan_in_uniform();
};

namespace detail {
template <std::uint64_t Dim, std::uint64_t Heads, std::uint64_t KvHeads, attention_options O>
struct attention_rules {
  static_assert(Heads > 0 && KvHeads > 0, "attention: head counts must be positive");
  static_assert(O.head_dim != 0 || Dim % Heads == 0,
                "attention: the number of heads must divide the model dimension");
  static_assert(Heads % KvHeads == 0,
                "attention: the number of kv heads must divide the number of query heads");
  static constexpr std::uint64_t head_dim = O.head_dim != 0 ? O.head_dim : Dim / Heads;
  static constexpr std::uint64_t q_out = Heads * head_dim;
  static constexpr std::uint64_t kv_out = KvHeads * head_dim;
};
template <std::uint64_t Dim, std::uint64_t Heads, std::uint64_t KvHeads, attention_options O>
using attn_rules = attention_rules<Dim, Heads, KvHeads, O>;

template <attention_options O>
constexpr linear_options qkv_linear(std::uint8_t fused = 1) {
  return {.bias = O.qkv_bias,
          .tp = tp_mode::column,
          .weight_init = O.weight_init,
          .bias_init = O.bias_init,
          .fused = fused};
}
template <attention_options O>
constexpr linear_options o_linear() {
  return {.bias = O.o_bias, .tp = tp_mode::row, .weight_init = O.o_init, .bias_init = O.bias_init};
}
}  // namespace detail

/// Multi-head or grouped-query attention `Name` over a model of dimension Dim, with Heads query
/// heads and KvHeads key/value heads: q_proj, k_proj, v_proj, o_proj (or a fused qkv_proj).
template <fixed_string Name, std::uint64_t Dim, std::uint64_t Heads, std::uint64_t KvHeads,
          attention_options O = attention_options{},
          class R = detail::attn_rules<Dim, Heads, KvHeads, O>>
struct attention
    : std::conditional_t<O.fused_qkv,
                         scope<Name,
                               linear<"qkv_proj", Dim, R::q_out + 2 * R::kv_out,
                                      detail::qkv_linear<O>(R::q_out == R::kv_out ? 3 : 1)>,
                               linear<"o_proj", R::q_out, Dim, detail::o_linear<O>()>>,
                         scope<Name, linear<"q_proj", Dim, R::q_out, detail::qkv_linear<O>()>,
                               linear<"k_proj", Dim, R::kv_out, detail::qkv_linear<O>()>,
                               linear<"v_proj", Dim, R::kv_out, detail::qkv_linear<O>()>,
                               linear<"o_proj", R::q_out, Dim, detail::o_linear<O>()>>> {
  static constexpr std::uint64_t model_dim = Dim;
  static constexpr std::uint64_t head_dim = R::head_dim;
  static constexpr std::uint64_t heads = Heads;
  static constexpr std::uint64_t kv_heads = KvHeads;
};

struct gpt2_attention_options {
  init_spec weight_init = init::normal(0, 0.02f);
  init_spec proj_init = init::normal(0, 0.02f);  // c_proj: scaled by 1/sqrt(2 n_layer) in GPT-2
  init_spec bias_init = init::zeros();
};

/// GPT-2 attention `Name`: Conv1D `c_attn` [Dim, 3 Dim] (fused q, k, v) and `c_proj` [Dim, Dim],
/// both with bias.
template <fixed_string Name, std::uint64_t Dim, std::uint64_t Heads,
          gpt2_attention_options O = gpt2_attention_options{},
          class R = detail::attn_rules<Dim, Heads, Heads, attention_options{}>>
struct gpt2_attention : scope<Name,
                              linear<"c_attn", Dim, 3 * Dim,
                                     linear_options{.bias = true,
                                                    .layout = weight_layout::in_out,
                                                    .tp = tp_mode::column,
                                                    .weight_init = O.weight_init,
                                                    .bias_init = O.bias_init,
                                                    .fused = 3}>,
                              linear<"c_proj", Dim, Dim,
                                     linear_options{.bias = true,
                                                    .layout = weight_layout::in_out,
                                                    .tp = tp_mode::row,
                                                    .weight_init = O.proj_init,
                                                    .bias_init = O.bias_init}>> {
  static constexpr std::uint64_t model_dim = Dim;
  static constexpr std::uint64_t heads = Heads;
};

struct mlp_options {
  bool bias = false;
  weight_layout layout = weight_layout::out_in;
  init_spec weight_init = init::kaiming_uniform(sqrt5);
  init_spec down_init = init::kaiming_uniform(sqrt5);  // residual projection (may be scaled)
  init_spec bias_init = init::fan_in_uniform();
};

namespace detail {
template <mlp_options O>
constexpr linear_options mlp_in() {
  return {.bias = O.bias,
          .layout = O.layout,
          .tp = tp_mode::column,
          .weight_init = O.weight_init,
          .bias_init = O.bias_init};
}
template <mlp_options O>
constexpr linear_options mlp_out() {
  return {.bias = O.bias,
          .layout = O.layout,
          .tp = tp_mode::row,
          .weight_init = O.down_init,
          .bias_init = O.bias_init};
}
}  // namespace detail

/// Two-matrix GELU MLP `Name`: `Up` [Dim -> Ffn] and `Down` [Ffn -> Dim]. GPT-2 names them
/// c_fc and c_proj and stores them as Conv1D.
template <fixed_string Name, std::uint64_t Dim, std::uint64_t Ffn, mlp_options O = mlp_options{},
          fixed_string Up = "fc1", fixed_string Down = "fc2">
struct gelu_mlp : scope<Name, linear<Up, Dim, Ffn, detail::mlp_in<O>()>,
                        linear<Down, Ffn, Dim, detail::mlp_out<O>()>> {
  static constexpr std::uint64_t model_dim = Dim;
};

/// Three-matrix SwiGLU MLP `Name`: gate_proj, up_proj [Dim -> Ffn], down_proj [Ffn -> Dim].
template <fixed_string Name, std::uint64_t Dim, std::uint64_t Ffn, mlp_options O = mlp_options{},
          fixed_string Gate = "gate_proj", fixed_string Up = "up_proj",
          fixed_string Down = "down_proj">
struct swiglu_mlp : scope<Name, linear<Gate, Dim, Ffn, detail::mlp_in<O>()>,
                          linear<Up, Dim, Ffn, detail::mlp_in<O>()>,
                          linear<Down, Ffn, Dim, detail::mlp_out<O>()>> {
  static constexpr std::uint64_t model_dim = Dim;
};

struct moe_options {
  init_spec router_init = init::kaiming_uniform(sqrt5);
  mlp_options expert{};
};

/// Mixture of experts `Name` (Mixtral's block_sparse_moe): a router `gate` [Experts, Dim] and
/// Experts SwiGLU experts `experts.e.{w1, w2, w3}` (w1 gate, w3 up, w2 down).
template <fixed_string Name, std::uint64_t Dim, std::uint64_t Ffn, std::size_t Experts,
          moe_options O = moe_options{}>
struct mixture_of_experts
    : scope<Name,
            scope<"gate", tensor<"weight", shape<Experts, Dim>,
                                 tensor_options{.kind = tensor_kind::router,
                                                .init = O.router_init,
                                                .fan_in = Dim,
                                                .fan_out = Experts}>>,
            experts<"experts", Experts,
                    scope<"", linear<"w1", Dim, Ffn, detail::mlp_in<O.expert>()>,
                          linear<"w2", Ffn, Dim, detail::mlp_out<O.expert>()>,
                          linear<"w3", Dim, Ffn, detail::mlp_in<O.expert>()>>>> {
  static constexpr std::uint64_t model_dim = Dim;
  static constexpr std::size_t expert_count = Experts;
};

}  // namespace blueprint::dsl
