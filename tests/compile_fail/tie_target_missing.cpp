// Rule: a tie must name an existing tensor by its fully-qualified name (the embedding is
// "model.embed_tokens.weight", not "model.embed.weight").
// expect: tie: the tied tensor's target does not exist
// expect: tie<[^{]*\{"lm_head.weight"\}, [^{]*\{"model.embed.weight"\}
#include <blueprint/dsl.hpp>

namespace dsl = blueprint::dsl;

using broken = dsl::model<"broken", dsl::scope<"model", dsl::embedding<"embed_tokens", 100, 32>>,
                          dsl::tie<"lm_head.weight", "model.embed.weight", dsl::shape<100, 32>>>;
static_assert(broken::parameter_count() > 0);
