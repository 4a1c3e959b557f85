// Rule (family config): n_head must divide n_embd (100 % 3 != 0).
// expect: gpt2: n_head must divide n_embd
// expect: gpt2_rules<blueprint::dsl::gpt2_config\{[^}]*100, 2, 3,
#include <blueprint/dsl.hpp>

namespace dsl = blueprint::dsl;

using broken = dsl::gpt2<"broken-gpt2",
                         dsl::gpt2_config{
                             .vocab = 96, .positions = 32, .hidden = 100, .layers = 2, .heads = 3}>;
static_assert(broken::parameter_count() > 0);
