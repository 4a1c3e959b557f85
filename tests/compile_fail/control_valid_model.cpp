// Control: a consistent declaration must compile, which proves the harness tells a broken
// declaration from a working one (and that the include paths are right).
// expect-success
#include <blueprint/blueprint.hpp>

namespace dsl = blueprint::dsl;

using layer =
    dsl::block<64, dsl::rms_norm<"input_layernorm", 64>, dsl::attention<"self_attn", 64, 4, 2>,
               dsl::rms_norm<"post_attention_layernorm", 64>, dsl::swiglu_mlp<"mlp", 64, 96>>;
using valid =
    dsl::model<"valid",
               dsl::scope<"model", dsl::embedding<"embed_tokens", 100, 64>,
                          dsl::repeat<"layers", 2, layer>, dsl::rms_norm<"norm", 64>>,
               dsl::tie<"lm_head.weight", "model.embed_tokens.weight", dsl::shape<100, 64>>>;
// embed_tokens [100, 64]; per layer: two norms [64], q/o [64, 64], k/v [32, 64] (head_dim 16,
// 2 kv heads), gate/up [96, 64], down [64, 96]; norm [64]. The tied head adds nothing.
static_assert(valid::parameter_count() == 6400 + 2 * (2 * 64 + 12288 + 18432) + 64);
static_assert(valid::tensors().size() == 1 + 2 * 9 + 1);
