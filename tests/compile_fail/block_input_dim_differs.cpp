// Rule: every layer of a block works on the block's model dimension; the MLP here takes 32
// features inside a block of dimension 64.
// expect: block: this layer's input dimension differs from the model dimension
// expect: dim_agrees<64, [^<]*swiglu_mlp<[^{]*\{"mlp"\}, 32, 96
#include <blueprint/dsl.hpp>

namespace dsl = blueprint::dsl;

using layer =
    dsl::block<64, dsl::rms_norm<"input_layernorm", 64>, dsl::attention<"self_attn", 64, 4, 2>,
               dsl::rms_norm<"post_attention_layernorm", 64>, dsl::swiglu_mlp<"mlp", 32, 96>>;
using broken = dsl::model<"broken", dsl::scope<"model", dsl::repeat<"layers", 2, layer>>>;
static_assert(broken::parameter_count() > 0);
