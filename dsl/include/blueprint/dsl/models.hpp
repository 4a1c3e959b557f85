// The built-in models: published configurations of the families, by their usual names.
//
// Each is a constexpr config record (`models::llama3_8b_config`) and, where its table fits the
// compiler's constexpr budget, an empty constexpr object of its model type, so that
// `models::llama3_8b.parameter_count()` and `layout(models::llama3_8b, ...)` are constant
// expressions. The run-time registry (runtime/registry.hpp) builds tables from the same
// config records with the same family functions.
#pragma once

#include "families/deepseek.hpp"
#include "families/gpt2.hpp"
#include "families/llama.hpp"

namespace blueprint::models {

using namespace blueprint::dsl;

// GPT-2 (openai-community/gpt2*)
inline constexpr gpt2_config gpt2_small_config{};
using gpt2_t = dsl::gpt2<"gpt2", gpt2_small_config>;
inline constexpr gpt2_config gpt2_medium_config{.hidden = 1024, .layers = 24, .heads = 16};
using gpt2_medium_t = dsl::gpt2<"gpt2-medium", gpt2_medium_config>;
inline constexpr gpt2_config gpt2_large_config{.hidden = 1280, .layers = 36, .heads = 20};
using gpt2_large_t = dsl::gpt2<"gpt2-large", gpt2_large_config>;
inline constexpr gpt2_config gpt2_xl_config{.hidden = 1600, .layers = 48, .heads = 25};
using gpt2_xl_t = dsl::gpt2<"gpt2-xl", gpt2_xl_config>;

// Llama 2 / 3 (meta-llama/*)
inline constexpr llama_config llama2_7b_config{};
using llama2_7b_t = llama<"llama2-7b", llama2_7b_config>;
inline constexpr llama_config llama2_70b_config{
    .hidden = 8192, .layers = 80, .heads = 64, .kv_heads = 8, .ffn = 28672};
using llama2_70b_t = llama<"llama2-70b", llama2_70b_config>;
inline constexpr llama_config llama3_8b_config{
    .vocab = 128256, .kv_heads = 8, .ffn = 14336, .rope_theta = 500000.0f};
using llama3_8b_t = llama<"llama3-8b", llama3_8b_config>;
inline constexpr llama_config llama3_70b_config{.vocab = 128256,
                                                .hidden = 8192,
                                                .layers = 80,
                                                .heads = 64,
                                                .kv_heads = 8,
                                                .ffn = 28672,
                                                .rope_theta = 500000.0f};
using llama3_70b_t = llama<"llama3-70b", llama3_70b_config>;
inline constexpr llama_config llama3_1_405b_config{.vocab = 128256,
                                                   .hidden = 16384,
                                                   .layers = 126,
                                                   .heads = 128,
                                                   .kv_heads = 8,
                                                   .ffn = 53248,
                                                   .rope_theta = 500000.0f,
                                                   .rope_llama3_factor = 8.0f};
using llama3_1_405b_t = llama<"llama3.1-405b", llama3_1_405b_config>;
inline constexpr llama_config llama3_2_1b_config{.vocab = 128256,
                                                 .hidden = 2048,
                                                 .layers = 16,
                                                 .heads = 32,
                                                 .kv_heads = 8,
                                                 .ffn = 8192,
                                                 .tied = true,
                                                 .rope_theta = 500000.0f,
                                                 .rope_llama3_factor = 32.0f};
using llama3_2_1b_t = llama<"llama3.2-1b", llama3_2_1b_config>;
inline constexpr llama_config tinyllama_1_1b_config{
    .hidden = 2048, .layers = 22, .heads = 32, .kv_heads = 4, .ffn = 5632};
using tinyllama_1_1b_t = llama<"tinyllama-1.1b", tinyllama_1_1b_config>;
// Mistral / Mixtral (mistralai/*)
inline constexpr llama_config mistral_7b_config{.kv_heads = 8, .ffn = 14336};
using mistral_7b_t = llama<"mistral-7b", mistral_7b_config>;
inline constexpr llama_config mixtral_8x7b_config{
    .kv_heads = 8, .ffn = 14336, .experts = 8, .rope_theta = 1e6f};
using mixtral_8x7b_t = llama<"mixtral-8x7b", mixtral_8x7b_config>;
// Qwen2.5 (Qwen/Qwen2.5-7B)
inline constexpr llama_config qwen2_5_7b_config{.vocab = 152064,
                                                .hidden = 3584,
                                                .layers = 28,
                                                .heads = 28,
                                                .kv_heads = 4,
                                                .ffn = 18944,
                                                .qkv_bias = true,
                                                .rope_theta = 1e6f};
using qwen2_5_7b_t = llama<"qwen2.5-7b", qwen2_5_7b_config>;

// Qwen3 (Qwen/Qwen3-8B, Qwen/Qwen3-30B-A3B)
inline constexpr llama_config qwen3_8b_config{.vocab = 151936,
                                              .hidden = 4096,
                                              .layers = 36,
                                              .heads = 32,
                                              .kv_heads = 8,
                                              .ffn = 12288,
                                              .head_dim = 128,
                                              .rope_theta = 1e6f,
                                              .qk_norm = true};
using qwen3_8b_t = llama<"qwen3-8b", qwen3_8b_config>;
inline constexpr llama_config qwen3_30b_a3b_config{.vocab = 151936,
                                                   .hidden = 2048,
                                                   .layers = 48,
                                                   .heads = 32,
                                                   .kv_heads = 4,
                                                   .ffn = 6144,
                                                   .head_dim = 128,
                                                   .experts = 128,
                                                   .rope_theta = 1e6f,
                                                   .qk_norm = true,
                                                   .moe = moe_naming::qwen,
                                                   .expert_ffn = 768};
// Its 18,432 expert tensors are 144 records of the definition table; the expanded table()
// (one record per tensor) is past g++'s default constexpr budget: build it at run time
// (registry.hpp, hf_model), while the type's rules, counts and definition are compile-time.
using qwen3_30b_a3b_t = llama<"qwen3-30b-a3b", qwen3_30b_a3b_config>;
// Gemma (google/gemma-7b): head_dim 256, tied, norms stored as an offset from 1
inline constexpr llama_config gemma_7b_config{.vocab = 256000,
                                              .hidden = 3072,
                                              .layers = 28,
                                              .heads = 16,
                                              .kv_heads = 16,
                                              .ffn = 24576,
                                              .head_dim = 256,
                                              .tied = true,
                                              .norms = norm_style::gemma,
                                              .pad_token = 0};
using gemma_7b_t = llama<"gemma-7b", gemma_7b_config>;
// Phi-3 (microsoft/Phi-3-mini-4k-instruct): fused qkv_proj and gate_up_proj
inline constexpr llama_config phi3_mini_config{.vocab = 32064,
                                               .hidden = 3072,
                                               .layers = 32,
                                               .heads = 32,
                                               .kv_heads = 32,
                                               .ffn = 8192,
                                               .fused_projections = true,
                                               .pad_token = 32000};
using phi3_mini_t = llama<"phi3-mini", phi3_mini_config>;

// DeepSeek-V3 (deepseek-ai/DeepSeek-V3): 61 layers, 256 routed experts, 45,396 tensors in
// 1,026 definition records; like qwen3-30b-a3b, its expanded table is built at run time.
inline constexpr deepseek_v3_config deepseek_v3_671b_config{.yarn_factor = 40.0f};
using deepseek_v3_671b_t = deepseek_v3<"deepseek-v3", deepseek_v3_671b_config>;

inline constexpr gpt2_t gpt2{};
inline constexpr gpt2_medium_t gpt2_medium{};
inline constexpr gpt2_large_t gpt2_large{};
inline constexpr gpt2_xl_t gpt2_xl{};
inline constexpr llama2_7b_t llama2_7b{};
inline constexpr llama2_70b_t llama2_70b{};
inline constexpr llama3_8b_t llama3_8b{};
inline constexpr llama3_70b_t llama3_70b{};
inline constexpr llama3_1_405b_t llama3_1_405b{};
inline constexpr llama3_2_1b_t llama3_2_1b{};
inline constexpr tinyllama_1_1b_t tinyllama_1_1b{};
inline constexpr mistral_7b_t mistral_7b{};
inline constexpr mixtral_8x7b_t mixtral_8x7b{};
inline constexpr qwen2_5_7b_t qwen2_5_7b{};
inline constexpr qwen3_8b_t qwen3_8b{};
inline constexpr gemma_7b_t gemma_7b{};
inline constexpr phi3_mini_t phi3_mini{};

// Small members of each family for tests and examples: same structure, tiny sizes.
inline constexpr gpt2_config tiny_gpt2_config{
    .vocab = 96, .positions = 32, .hidden = 32, .layers = 2, .heads = 4};
using tiny_gpt2_t = dsl::gpt2<"tiny-gpt2", tiny_gpt2_config>;
inline constexpr llama_config tiny_llama_config{
    .vocab = 128, .hidden = 64, .layers = 2, .heads = 4, .kv_heads = 2, .ffn = 96};
using tiny_llama_t = llama<"tiny-llama", tiny_llama_config>;
inline constexpr llama_config tiny_mixtral_config{
    .vocab = 128, .hidden = 64, .layers = 2, .heads = 4, .kv_heads = 2, .ffn = 96, .experts = 4};
using tiny_mixtral_t = llama<"tiny-mixtral", tiny_mixtral_config>;
inline constexpr llama_config tiny_qwen2_config{.vocab = 128,
                                                .hidden = 64,
                                                .layers = 2,
                                                .heads = 4,
                                                .kv_heads = 2,
                                                .ffn = 96,
                                                .qkv_bias = true,
                                                .rope_theta = 1e6f};
using tiny_qwen2_t = llama<"tiny-qwen2", tiny_qwen2_config>;
// The tiny members of the newer families match the configs tests/data/hf/make_fixtures.py
// hands to transformers.
inline constexpr llama_config tiny_qwen3_config{.vocab = 128,
                                                .hidden = 64,
                                                .layers = 2,
                                                .heads = 4,
                                                .kv_heads = 2,
                                                .ffn = 96,
                                                .head_dim = 16,
                                                .rope_theta = 1e6f,
                                                .qk_norm = true};
using tiny_qwen3_t = llama<"tiny-qwen3", tiny_qwen3_config>;
inline constexpr llama_config tiny_qwen3_moe_config{.vocab = 128,
                                                    .hidden = 64,
                                                    .layers = 2,
                                                    .heads = 4,
                                                    .kv_heads = 2,
                                                    .ffn = 96,
                                                    .head_dim = 16,
                                                    .experts = 4,
                                                    .qk_norm = true,
                                                    .moe = moe_naming::qwen,
                                                    .expert_ffn = 32};
using tiny_qwen3_moe_t = llama<"tiny-qwen3-moe", tiny_qwen3_moe_config>;
inline constexpr llama_config tiny_gemma_config{.vocab = 128,
                                                .hidden = 64,
                                                .layers = 2,
                                                .heads = 4,
                                                .kv_heads = 2,
                                                .ffn = 96,
                                                .head_dim = 16,
                                                .tied = true,
                                                .norms = norm_style::gemma,
                                                .pad_token = 0};
using tiny_gemma_t = llama<"tiny-gemma", tiny_gemma_config>;
inline constexpr llama_config tiny_gemma2_config{.vocab = 128,
                                                 .hidden = 64,
                                                 .layers = 2,
                                                 .heads = 4,
                                                 .kv_heads = 2,
                                                 .ffn = 96,
                                                 .head_dim = 16,
                                                 .tied = true,
                                                 .norms = norm_style::gemma2,
                                                 .pad_token = 0};
using tiny_gemma2_t = llama<"tiny-gemma2", tiny_gemma2_config>;
inline constexpr llama_config tiny_phi3_config{.vocab = 128,
                                               .hidden = 64,
                                               .layers = 2,
                                               .heads = 4,
                                               .kv_heads = 4,
                                               .ffn = 96,
                                               .fused_projections = true,
                                               .pad_token = 0};
using tiny_phi3_t = llama<"tiny-phi3", tiny_phi3_config>;
inline constexpr deepseek_v3_config tiny_deepseek_v3_config{.vocab = 128,
                                                            .hidden = 64,
                                                            .layers = 3,
                                                            .heads = 4,
                                                            .ffn = 96,
                                                            .expert_ffn = 32,
                                                            .routed_experts = 4,
                                                            .shared_experts = 1,
                                                            .first_dense = 1,
                                                            .q_lora_rank = 24,
                                                            .kv_lora_rank = 16,
                                                            .qk_nope_dim = 16,
                                                            .qk_rope_dim = 8,
                                                            .v_head_dim = 16};
using tiny_deepseek_v3_t = deepseek_v3<"tiny-deepseek-v3", tiny_deepseek_v3_config>;
inline constexpr tiny_qwen3_t tiny_qwen3{};
inline constexpr tiny_qwen3_moe_t tiny_qwen3_moe{};
inline constexpr tiny_gemma_t tiny_gemma{};
inline constexpr tiny_gemma2_t tiny_gemma2{};
inline constexpr tiny_phi3_t tiny_phi3{};
inline constexpr tiny_deepseek_v3_t tiny_deepseek_v3{};
inline constexpr tiny_gpt2_t tiny_gpt2{};
inline constexpr tiny_llama_t tiny_llama{};
inline constexpr tiny_mixtral_t tiny_mixtral{};
inline constexpr tiny_qwen2_t tiny_qwen2{};

}  // namespace blueprint::models
