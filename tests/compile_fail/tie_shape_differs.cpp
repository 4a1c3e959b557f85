// Rule: a tied tensor is the same tensor as its target, so it must have the target's shape
// (the head is declared [100, 64], the embedding is [100, 32]).
// expect: tie: a tied tensor must have the same shape as its target
// expect: tie<[^{]*\{"lm_head.weight"\}, [^{]*\{"model.embed_tokens.weight"\}, [^<]*shape<100, 64>
#include <blueprint/dsl.hpp>

namespace dsl = blueprint::dsl;

using broken =
    dsl::model<"broken", dsl::scope<"model", dsl::embedding<"embed_tokens", 100, 32>>,
               dsl::tie<"lm_head.weight", "model.embed_tokens.weight", dsl::shape<100, 64>>>;
static_assert(broken::parameter_count() > 0);
