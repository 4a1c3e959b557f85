// Rule: the layers and tensors of one scope have distinct names (two "q_proj" in "self_attn").
// expect: scope: two layers or tensors in the same scope have the same name
// expect: scope<[^{]*\{"self_attn"\}, [^<]*linear<[^{]*\{"q_proj"\}
#include <blueprint/dsl.hpp>

namespace dsl = blueprint::dsl;

using broken = dsl::model<"broken", dsl::scope<"self_attn", dsl::linear<"q_proj", 64, 64>,
                                               dsl::linear<"q_proj", 64, 64>>>;
static_assert(broken::parameter_count() > 0);
