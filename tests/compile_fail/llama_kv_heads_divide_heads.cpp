// Rule (family config): num_key_value_heads must divide num_attention_heads (32 % 5 != 0).
// expect: llama: num_key_value_heads must divide num_attention_heads
// expect: llama_rules<blueprint::dsl::llama_config\{[^}]*32, 5,
#include <blueprint/dsl.hpp>

namespace dsl = blueprint::dsl;

using broken =
    dsl::llama<"broken-llama",
               dsl::llama_config{
                   .vocab = 128, .hidden = 64, .layers = 2, .heads = 32, .kv_heads = 5, .ffn = 96}>;
static_assert(broken::parameter_count() > 0);
