// Tier 1: compile-time facts of the declaration and layout phases. Compiling this file is the
// test; every line is a contract from DESIGN.md or issue #2.
#include <blueprint/blueprint.hpp>
#include <blueprint/runtime/registry.hpp>

namespace m = blueprint::models;
using namespace blueprint;

// Reference parameter counts (DESIGN.md "Reference facts").
static_assert(m::gpt2.parameter_count() == 124'439'808);
static_assert(m::gpt2_medium.parameter_count() == 354'823'168);
static_assert(m::gpt2_large.parameter_count() == 774'030'080);
static_assert(m::gpt2_xl.parameter_count() == 1'557'611'200);
static_assert(m::llama2_7b.parameter_count() == 6'738'415'616);
static_assert(m::llama2_70b.parameter_count() == 68'976'648'192);
static_assert(m::llama3_8b.parameter_count() == 8'030'261'248);
static_assert(m::llama3_70b.parameter_count() == 70'553'706'496);
static_assert(m::mistral_7b.parameter_count() == 7'241'732'096);
static_assert(m::mixtral_8x7b.parameter_count() == 46'702'792'704);
static_assert(m::tinyllama_1_1b.parameter_count() == 1'100'048'384);
// Published sizes of the configs without a DESIGN.md oracle.
static_assert(m::llama3_1_405b.parameter_count() == 405'853'388'800);
static_assert(m::llama3_2_1b.parameter_count() == 1'235'814'400);
static_assert(m::qwen2_5_7b.parameter_count() == 7'615'616'512);

// The shape of use.
constexpr auto llama3_8b_bf16 = layout(m::llama3_8b, dtype_policy::bf16());
static_assert(llama3_8b_bf16.total_bytes() < 17'000'000'000);
static_assert(llama3_8b_bf16.tensor_bytes() == 2 * 8'030'261'248 + 2 * 64);  // + inv_freq
static_assert(llama3_8b_bf16.total_bytes() % 256 == 0);

// Hugging Face names, in save_pretrained order, with HF shapes.
constexpr auto& gpt2_tensors = m::gpt2.tensors();
static_assert(gpt2_tensors[0].name() == "transformer.wte.weight");
static_assert(gpt2_tensors[1].name() == "transformer.wpe.weight");
static_assert(gpt2_tensors[2].name() == "transformer.h.0.ln_1.weight");
static_assert(gpt2_tensors[4].name() == "transformer.h.0.attn.c_attn.weight");
static_assert(gpt2_tensors[4].shape[0] == 768 &&
              gpt2_tensors[4].shape[1] == 2304);  // Conv1D [in, out]
static_assert(gpt2_tensors.back().name() == "transformer.ln_f.bias");
static_assert(m::gpt2.tensor_count == 2 + 12 * 12 + 2);
static_assert(m::gpt2.ties()[0].name() == "lm_head.weight");
static_assert(m::gpt2.ties()[0].target == 0);
static_assert(*m::gpt2.find("lm_head.weight") == 0);  // tied: one tensor

static_assert(m::llama3_8b.find("model.layers.31.mlp.down_proj.weight").has_value());
constexpr auto& down =
    m::llama3_8b.tensors()[*m::llama3_8b.find("model.layers.31.mlp.down_proj.weight")];
static_assert(down.shape[0] == 4096 && down.shape[1] == 14336);
static_assert(down.role == parallel_role::split_cols);  // row-parallel
constexpr auto& k_proj =
    m::llama3_8b.tensors()[*m::llama3_8b.find("model.layers.0.self_attn.k_proj.weight")];
static_assert(k_proj.shape[0] == 1024 && k_proj.shape[1] == 4096);  // GQA: 8 kv heads x 128
static_assert(k_proj.role == parallel_role::split_rows);            // column-parallel
static_assert(m::llama3_8b.tensors().back().name() == "lm_head.weight");
static_assert(m::llama3_8b.ties().size() == 0);
static_assert(m::llama3_2_1b.ties().size() == 1);  // tied head
static_assert(!m::llama3_2_1b.find("lm_head.weight").has_value() == false);

static_assert(m::qwen2_5_7b.find("model.layers.0.self_attn.q_proj.bias").has_value());
static_assert(!m::qwen2_5_7b.find("model.layers.0.self_attn.o_proj.bias").has_value());
static_assert(!m::llama3_8b.find("model.layers.0.self_attn.q_proj.bias").has_value());

constexpr auto& w2 =
    m::mixtral_8x7b
        .tensors()[*m::mixtral_8x7b.find("model.layers.3.block_sparse_moe.experts.7.w2.weight")];
static_assert(w2.expert == 7 && w2.block == 3 && w2.shape[0] == 4096 && w2.shape[1] == 14336);
static_assert(m::mixtral_8x7b.find("model.layers.3.block_sparse_moe.gate.weight").has_value());

// Identity: the id is a fixed hash of the fully-qualified name.
static_assert(gpt2_tensors[0].id == tensor_id_from_name("transformer.wte.weight"));
static_assert(gpt2_tensors[0].id != gpt2_tensors[1].id);

// Buffers: present in the table, not in the parameter count, not persistent.
constexpr auto& inv_freq = m::llama3_8b.tensors()[*m::llama3_8b.find("model.rotary_emb.inv_freq")];
static_assert(!inv_freq.persistent && inv_freq.kind == tensor_kind::buffer && inv_freq.numel == 64);
static_assert(inv_freq.init.kind == init_kind::rotary_inv_freq && inv_freq.init.a == 500000.0f);

// Hugging Face default init.
static_assert(gpt2_tensors[4].init == init::normal(0, 0.02f));
constexpr auto& c_proj = m::gpt2.tensors()[*m::gpt2.find("transformer.h.0.mlp.c_proj.weight")];
static_assert(c_proj.init.kind == init_kind::normal &&
              c_proj.init.b == static_cast<float>(0.02f / dsl::ct_sqrt(24.0)));
static_assert(m::gpt2.tensors()[*m::gpt2.find("transformer.h.0.attn.c_attn.bias")].init ==
              init::zeros());
static_assert(m::gpt2.tensors()[*m::gpt2.find("transformer.h.0.ln_1.weight")].init == init::ones());
static_assert(k_proj.init == init::normal(0, 0.02f));

// Pipeline units: embedding first, one per block, final norm + head last.
static_assert(m::llama3_8b.unit_count() == 34 && m::llama3_8b.block_count() == 32);
static_assert(m::llama3_8b.tensors()[0].unit == 0);
static_assert(m::llama3_8b.tensors().back().unit == 33);

// PyTorch default init: kaiming_uniform(a = sqrt 5) = U(+-1/sqrt(fan_in)).
constexpr auto torch_init =
    layout(m::tiny_llama, dtype_policy::f32(), {.scheme = init_scheme::pytorch});
// torch computes sqrt(3) * (sqrt(2 / (1 + a^2)) / sqrt(fan_in)) in double; so do we.
constexpr auto torch_down =
    torch_init.tensors()[*torch_init.find("model.layers.0.mlp.down_proj.weight")].init;
static_assert(torch_down.kind == init_kind::uniform && torch_down.a == -torch_down.b);
static_assert(torch_down.b > 0.1020620f && torch_down.b < 0.1020621f);  // 1/sqrt(96)
static_assert(torch_init.tensors()[0].init == init::normal(0, 1));      // embedding

// Dtype policy: one dtype with overrides by kind or name pattern; later overrides win.
constexpr auto mixed =
    layout(m::tiny_gpt2, dtype_policy::bf16().norms_in_f32().with("*.wpe.*", dtype::f16));
static_assert(mixed.tensors()[0].type == dtype::bf16);
static_assert(mixed.tensors()[1].type == dtype::f16);
static_assert(mixed.tensors()[2].type == dtype::f32);  // ln_1.weight
static_assert(glob_match("model.layers.*.mlp.*", "model.layers.3.mlp.up_proj.weight"));
static_assert(!glob_match("model.layers.?.mlp.*", "model.layers.31.mlp.up_proj.weight"));

// Layout: aligned, in order, disjoint; alignment configurable.
template <class L>
constexpr bool well_placed(const L& l, std::uint64_t alignment) {
  std::uint64_t end = 0;
  for (const auto& t : l.tensors()) {
    if (t.offset % alignment != 0 || t.offset < end) return false;
    end = t.offset + t.bytes;
  }
  return end <= l.total_bytes();
}
static_assert(well_placed(layout(m::tiny_mixtral, dtype_policy::f8_e4m3fn()), 256));
static_assert(well_placed(layout(m::tiny_mixtral, dtype_policy::f16(), {.alignment = 4096}), 4096));
static_assert(layout(m::tiny_llama, dtype_policy::f32(), {.alignment = 1}).total_bytes() ==
              4 * (78'144 + 8));

// A user's own model, declared with the same vocabulary.
namespace user {
using namespace blueprint::dsl;
constexpr std::uint64_t d = 48;
using my_block =
    block<d, layer_norm<"norm1", d, false>,
          attention<"attn", d, 6, 2, attention_options{.fused_qkv = true}>, layer_norm<"norm2", d>,
          gelu_mlp<"mlp", d, 4 * d, mlp_options{.bias = true}>>;
using my_model = model<"my-model",
                       scope<"net", embedding<"tok", 100, d>, repeat<"blocks", 3, my_block>,
                             rms_norm<"final", d>, rotary<"rope", 8, 10000.0f>>,
                       linear<"head", d, 100, linear_options{.bias = true, .tp = tp_mode::column}>>;
constexpr my_model net{};
static_assert(net.tensor_count == 1 + 3 * 9 + 1 + 1 + 2);
static_assert(net.tensors()[2].name() == "net.blocks.0.attn.qkv_proj.weight");
static_assert(net.tensors()[2].shape[0] == 48 + 2 * 16 && net.tensors()[2].fused == 1);
static_assert(net.parameter_count() ==
              100 * 48 +
                  3 * (48 + (80 * 48) + (48 * 48) + 96 + (192 * 48 + 192) + (48 * 192 + 48)) + 48 +
                  (100 * 48 + 100));
}  // namespace user

// Llama 3.1 / 3.2 rope scaling of the rotary buffer ("rope_type": "llama3").
constexpr auto& inv_freq_405b =
    m::llama3_1_405b.tensors()[*m::llama3_1_405b.find("model.rotary_emb.inv_freq")];
static_assert(inv_freq_405b.init == init::rotary_inv_freq_llama3(500000.0f, 128.0f, 8.0f, 8192.0f));
static_assert(m::llama3_2_1b.tensors()[*m::llama3_2_1b.find("model.rotary_emb.inv_freq")].init.c ==
              32.0f);

// Issue 11: the newer families, defined once as emit functions over their config records.
static_assert(m::qwen3_8b.parameter_count() == 8'190'735'360);
static_assert(m::gemma_7b.parameter_count() == 8'537'680'896);
static_assert(m::phi3_mini.parameter_count() == 3'821'079'552);
static_assert(m::tiny_deepseek_v3.parameter_count() == 131'896);  // transformers' count
static_assert(m::qwen3_8b.find("model.layers.35.self_attn.q_norm.weight").has_value());
static_assert(m::tiny_qwen3_moe.find("model.layers.1.mlp.experts.3.down_proj.weight").has_value());
static_assert(m::tiny_gemma2.find("model.layers.0.post_feedforward_layernorm.weight").has_value());
static_assert(m::tiny_deepseek_v3.find("model.layers.2.mlp.gate.e_score_correction_bias"));
static_assert(m::tiny_deepseek_v3.find("model.layers.0.mlp.gate_proj.weight"));  // dense first
static_assert(m::tiny_deepseek_v3.find("model.layers.1.mlp.shared_experts.up_proj.weight"));
// Gemma's norms are stored as an offset from 1: they start at 0; its head is tied.
static_assert(m::gemma_7b.tensors()[*m::gemma_7b.find("model.norm.weight")].init == init::zeros());
static_assert(m::gemma_7b.ties().size() == 1);
// Meaning in the record: heads, vocabularies, fused blocks and the pad row.
constexpr auto& phi_qkv =
    m::phi3_mini.tensors()[*m::phi3_mini.find("model.layers.0.self_attn.qkv_proj.weight")];
static_assert(phi_qkv.fused == 3 && phi_qkv.heads == head_group::query && phi_qkv.head_size == 96);
static_assert(m::phi3_mini.tensors()[*m::phi3_mini.find("model.layers.0.mlp.gate_up_proj.weight")]
                  .fused == 2);
static_assert(m::phi3_mini.tensors()[0].zero_row == 32000 && m::phi3_mini.tensors()[0].vocab);
static_assert(k_proj.heads == head_group::key_value && k_proj.head_size == 128);
static_assert(m::llama3_8b.tensors().back().vocab);  // lm_head
constexpr auto& gqa_qkv =
    m::tiny_phi3.tensors()[*m::tiny_phi3.find("model.layers.0.self_attn.qkv_proj.weight")];
static_assert(gqa_qkv.blocks[0] == 0);  // tiny-phi3: 4 kv heads of 4, equal blocks
namespace fused_gqa {
using namespace blueprint::dsl;
// Phi-3-medium's attention: 40 query heads, 10 kv heads of 128 -> unequal q, k, v blocks.
using medium = llama<"phi3-medium-attn", llama_config{.vocab = 32064,
                                                      .hidden = 5120,
                                                      .layers = 1,
                                                      .heads = 40,
                                                      .kv_heads = 10,
                                                      .ffn = 17920,
                                                      .fused_projections = true}>;
constexpr auto& qkv = medium::tensors()[*medium::find("model.layers.0.self_attn.qkv_proj.weight")];
static_assert(qkv.shape[0] == 7680 && qkv.blocks[0] == 5120 && qkv.blocks[1] == 1280 &&
              qkv.blocks[2] == 1280 && qkv.fused == 1);
}  // namespace fused_gqa
// Issue 11, scale: the whole DeepSeek-V3 and Qwen3-30B-A3B declarations under g++'s default
// constexpr limits. Their definition tables hold one record per expert group (`experts.*`);
// the counts are the expanded model's.
static_assert(m::deepseek_v3_671b_t::parameter_count() == 671'026'404'352);
static_assert(m::deepseek_v3_671b_t::tensor_count == 45'396);
static_assert(m::deepseek_v3_671b_t::definition_table().tensors.size() == 1'026);
static_assert(m::qwen3_30b_a3b_t::parameter_count() == 30'532'122'624);
static_assert(m::qwen3_30b_a3b_t::definition_table().tensors.size() == 580);
namespace expert_groups {
constexpr auto& group = m::deepseek_v3_671b_t::definition_table().tensors;
constexpr const tensor_spec& find_definition(std::string_view name) {
  for (const tensor_spec& t : group)
    if (t.name() == name) return t;
  return group[0];
}
constexpr const tensor_spec& w = find_definition("model.layers.60.mlp.experts.*.down_proj.weight");
static_assert(w.expert_count == 256 && w.shape[0] == 7168 && w.shape[1] == 2048);
// Expanded: expert by expert, each expert's tensors in declaration order, the index in the name.
constexpr auto& t = m::tiny_qwen3_moe.tensors();
constexpr std::size_t first =
    *m::tiny_qwen3_moe.find("model.layers.1.mlp.experts.0.gate_proj.weight");
static_assert(t[first + 1].name() == "model.layers.1.mlp.experts.0.up_proj.weight");
static_assert(t[first + 3].name() == "model.layers.1.mlp.experts.1.gate_proj.weight");
static_assert(t[first + 3].expert == 1 && t[first + 3].expert_count == 0);
static_assert(t[first + 3].id ==
              tensor_id_from_name("model.layers.1.mlp.experts.1.gate_proj.weight"));
}  // namespace expert_groups
// DeepSeek-V3's YaRN rotary buffer over qk_rope_head_dim: the correction range [10, 23] of
// transformers' find_correction_range(32, 1, 64, 10000, 4096).
static_assert(dsl::deepseek_v3_rotary_init(m::deepseek_v3_671b_config) ==
              init::rotary_inv_freq_yarn(10000.0f, 64.0f, 40.0f, 10, 23));

// ---- the built-in registry is a constant: generated benchmarks check their MODEL with it ----
static_assert(blueprint::is_builtin_model("gpt2"));
static_assert(blueprint::is_builtin_model("tiny-deepseek-v3"));
static_assert(!blueprint::is_builtin_model("gpt3"));
static_assert(!blueprint::is_builtin_model("GPT2"));
static_assert(blueprint::builtin_models.size() == 29);
