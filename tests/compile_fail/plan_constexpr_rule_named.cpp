// Rule: a constexpr plan whose mesh breaks a rule fails to compile, the error naming the rule
// (a function called tensor_parallel_degree_must_divide_the_split_dimension) — tiny-gpt2's
// vocab of 96 rows does not split over tp = 5.
// expect: tensor_parallel_degree_must_divide
#include <blueprint/codegen/plan.hpp>
#include <blueprint/dsl/models.hpp>

using namespace blueprint;
constexpr auto broken = plan(models::tiny_gpt2, dtype_policy::bf16(), mesh{.tp = 5}, fsdp);
static_assert(broken.max_rank_bytes() > 0);
