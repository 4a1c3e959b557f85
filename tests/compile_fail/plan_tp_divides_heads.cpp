// Rule: with a static mesh, tp must divide the attention heads (tiny-llama: 4 heads, tp = 8).
// The static_assert states the rule; the instantiation context names the tensor.
// expect: tensor-parallel degree must divide the number of attention heads
// expect: model\.layers\.0\.self_attn\.q_proj\.weight
#include <blueprint/codegen/plan.hpp>
#include <blueprint/dsl/models.hpp>

using namespace blueprint;
using broken = static_plan<models::tiny_llama_t, mesh{.tp = 8}, fsdp>;
static_assert(broken::value.max_rank_bytes() > 0);
