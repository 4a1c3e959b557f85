// The built-in models: published configurations of the families, by their usual names.
//
// Each is an empty constexpr object of a model type, so `models::llama3_8b.parameter_count()`
// and `layout(models::llama3_8b, ...)` are constant expressions.
#pragma once

#include "families/gpt2.hpp"
#include "families/llama.hpp"

namespace blueprint::models {

using namespace blueprint::dsl;

// GPT-2 (openai-community/gpt2*)
using gpt2_t = dsl::gpt2<"gpt2", gpt2_config{}>;
using gpt2_medium_t =
    dsl::gpt2<"gpt2-medium", gpt2_config{.hidden = 1024, .layers = 24, .heads = 16}>;
using gpt2_large_t =
    dsl::gpt2<"gpt2-large", gpt2_config{.hidden = 1280, .layers = 36, .heads = 20}>;
using gpt2_xl_t = dsl::gpt2<"gpt2-xl", gpt2_config{.hidden = 1600, .layers = 48, .heads = 25}>;

// Llama 2 / 3 (meta-llama/*)
using llama2_7b_t = llama<"llama2-7b", llama_config{}>;
using llama2_70b_t =
    llama<"llama2-70b",
          llama_config{.hidden = 8192, .layers = 80, .heads = 64, .kv_heads = 8, .ffn = 28672}>;
using llama3_8b_t =
    llama<"llama3-8b",
          llama_config{.vocab = 128256, .kv_heads = 8, .ffn = 14336, .rope_theta = 500000.0f}>;
using llama3_70b_t = llama<"llama3-70b", llama_config{.vocab = 128256,
                                                      .hidden = 8192,
                                                      .layers = 80,
                                                      .heads = 64,
                                                      .kv_heads = 8,
                                                      .ffn = 28672,
                                                      .rope_theta = 500000.0f}>;
using llama3_1_405b_t = llama<"llama3.1-405b", llama_config{.vocab = 128256,
                                                            .hidden = 16384,
                                                            .layers = 126,
                                                            .heads = 128,
                                                            .kv_heads = 8,
                                                            .ffn = 53248,
                                                            .rope_theta = 500000.0f,
                                                            .rope_llama3_factor = 8.0f}>;
using llama3_2_1b_t = llama<"llama3.2-1b", llama_config{.vocab = 128256,
                                                        .hidden = 2048,
                                                        .layers = 16,
                                                        .heads = 32,
                                                        .kv_heads = 8,
                                                        .ffn = 8192,
                                                        .tied = true,
                                                        .rope_theta = 500000.0f,
                                                        .rope_llama3_factor = 32.0f}>;
using tinyllama_1_1b_t =
    llama<"tinyllama-1.1b",
          llama_config{.hidden = 2048, .layers = 22, .heads = 32, .kv_heads = 4, .ffn = 5632}>;
// Mistral / Mixtral (mistralai/*)
using mistral_7b_t = llama<"mistral-7b", llama_config{.kv_heads = 8, .ffn = 14336}>;
using mixtral_8x7b_t =
    llama<"mixtral-8x7b",
          llama_config{.kv_heads = 8, .ffn = 14336, .experts = 8, .rope_theta = 1e6f}>;
// Qwen2.5 (Qwen/Qwen2.5-7B)
using qwen2_5_7b_t = llama<"qwen2.5-7b", llama_config{.vocab = 152064,
                                                      .hidden = 3584,
                                                      .layers = 28,
                                                      .heads = 28,
                                                      .kv_heads = 4,
                                                      .ffn = 18944,
                                                      .qkv_bias = true,
                                                      .rope_theta = 1e6f}>;

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

// Small members of each family for tests and examples: same structure, tiny sizes.
using tiny_gpt2_t =
    dsl::gpt2<"tiny-gpt2",
              gpt2_config{.vocab = 96, .positions = 32, .hidden = 32, .layers = 2, .heads = 4}>;
using tiny_llama_t =
    llama<"tiny-llama",
          llama_config{
              .vocab = 128, .hidden = 64, .layers = 2, .heads = 4, .kv_heads = 2, .ffn = 96}>;
using tiny_mixtral_t = llama<"tiny-mixtral", llama_config{.vocab = 128,
                                                          .hidden = 64,
                                                          .layers = 2,
                                                          .heads = 4,
                                                          .kv_heads = 2,
                                                          .ffn = 96,
                                                          .experts = 4}>;
using tiny_qwen2_t = llama<"tiny-qwen2", llama_config{.vocab = 128,
                                                      .hidden = 64,
                                                      .layers = 2,
                                                      .heads = 4,
                                                      .kv_heads = 2,
                                                      .ffn = 96,
                                                      .qkv_bias = true,
                                                      .rope_theta = 1e6f}>;
inline constexpr tiny_gpt2_t tiny_gpt2{};
inline constexpr tiny_llama_t tiny_llama{};
inline constexpr tiny_mixtral_t tiny_mixtral{};
inline constexpr tiny_qwen2_t tiny_qwen2{};

}  // namespace blueprint::models
