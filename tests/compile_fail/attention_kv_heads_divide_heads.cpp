// Rule: grouped-query attention needs the kv head count to divide the query head count (8 % 3).
// expect: attention: the number of kv heads must divide the number of query heads
// expect: attention<[^{]*\{"self_attn"\}, 64, 8, 3
#include <blueprint/dsl.hpp>

namespace dsl = blueprint::dsl;

using broken = dsl::model<"broken", dsl::scope<"model", dsl::attention<"self_attn", 64, 8, 3>>>;
static_assert(broken::parameter_count() > 0);
