// Rule: the number of attention heads must divide the model dimension (100 % 3 != 0).
// expect: attention: the number of heads must divide the model dimension
// expect: attention<[^{]*\{"self_attn"\}, 100, 3, 3
#include <blueprint/dsl.hpp>

namespace dsl = blueprint::dsl;

using broken = dsl::model<"broken", dsl::scope<"model", dsl::attention<"self_attn", 100, 3, 3>>>;
static_assert(broken::parameter_count() > 0);
