// Rule: with a static mesh, ep must divide the number of experts (tiny-mixtral: 4, ep = 3).
// expect: expert-parallel degree must divide the number of experts
#include <blueprint/codegen/plan.hpp>
#include <blueprint/dsl/models.hpp>

using namespace blueprint;
using broken = static_plan<models::tiny_mixtral_t, mesh{.dp = 3, .ep = 3}, zero3>;
static_assert(broken::value.max_rank_bytes() > 0);
