// Tier 1: shard plans evaluated by the compiler (issue #4). Each line is a contract of
// codegen/plan.hpp checked at compile time by the same code the runtime uses.
#include <blueprint/codegen/plan.hpp>
#include <blueprint/dsl/models.hpp>

namespace {

using namespace blueprint;

// ---- mesh --------------------------------------------------------------------------------
constexpr mesh m844{.pp = 4, .dp = 8, .tp = 8};
static_assert(m844.world_size() == 256);
static_assert(m844.coords(255) == mesh_coords{.pp = 3, .dp = 7, .tp = 7, .ep = 0, .edp = 7});
static_assert(m844.coords(9) == mesh_coords{.pp = 0, .dp = 1, .tp = 1, .ep = 0, .edp = 1});
static_assert(parse_mesh("pp=4,dp=8,tp=8") == m844);
static_assert(parse_mesh("dp=4,ep=2").expert_dp() == 2);
static_assert(mesh_problem("pp=4,dp=8,tp=8").empty());
static_assert(mesh_problem("tp=0") == "an axis size is zero");
static_assert(mesh_problem("tp=2,tp=2") == "an axis is given twice");
static_assert(mesh_problem("dp=3,ep=2") ==
              "ep must divide dp (expert parallelism is carved out of dp)");
static_assert(mesh_problem("xp=2") == "unknown axis");
static_assert(4_GiB == 4ull << 30 && 5_GB == 5'000'000'000ull && 80_GiB > 80_GB);

// ---- the user's sketch: Llama 3 70B on 256 H100s -------------------------------------------
// 70.6e9 parameters in bf16 over pp = 4, dp = 8, tp = 8: about 141 GB / 256 = 551 MB a rank.
constexpr auto llama70 = plan(models::llama3_70b, dtype_policy::bf16(), m844, fsdp);
static_assert(llama70.max_rank_bytes() <= 80_GiB, "does not fit an H100");
static_assert(llama70.max_rank_bytes() >= 70'553'706'496ull * 2 / 256);
static_assert(llama70.max_rank_bytes() <= 70'553'706'496ull * 2 / 256 * 11 / 10);
static_assert(llama70.world_size() == 256);
// Without any sharding the model does not fit one device.
static_assert(plan(models::llama3_70b, dtype_policy::bf16(), mesh{}, replicate).max_rank_bytes() >
              80_GiB);

// ---- exact byte counts on a tiny model -----------------------------------------------------
// tiny-gpt2 in f32, one rank: the plan's arena is the layout's arena.
constexpr auto gpt2_one = plan(models::tiny_gpt2, dtype_policy::f32(), mesh{}, replicate);
static_assert(gpt2_one.max_rank_bytes() == layout(models::tiny_gpt2).total_bytes());
static_assert(gpt2_one.program(0).segments.size() >= layout(models::tiny_gpt2).size());
// Over dp = 4 with ZeRO-3 every rank holds a quarter of each unit (padded), aligned to 256:
// unit 0 (wte 96x32 + wpe 32x32 = 4096 elements) is 1024 elements = 4096 bytes a rank.
constexpr auto gpt2_zero3 = plan(models::tiny_gpt2, dtype_policy::f32(), mesh{.dp = 4}, zero3);
static_assert(gpt2_zero3.summary(0).padding_bytes == 0);
static_assert(gpt2_zero3.total_bytes() == 4 * gpt2_zero3.max_rank_bytes());
// tp = 2 halves every split tensor; replicated ones (norms, wpe, row-parallel biases) stay.
constexpr auto gpt2_tp = plan(models::tiny_gpt2, dtype_policy::f32(), mesh{.tp = 2}, replicate);
static_assert(gpt2_tp.summary(0).parameter_bytes == gpt2_tp.summary(1).parameter_bytes);
static_assert(gpt2_tp.summary(0).parameter_bytes < layout(models::tiny_gpt2).tensor_bytes());
// FSDP2 on dp = 3: wpe's 32 rows become chunks of 11, so the last rank has padding.
constexpr auto gpt2_fsdp3 = plan(models::tiny_gpt2, dtype_policy::f32(), mesh{.dp = 3}, fsdp);
static_assert(gpt2_fsdp3.summary(0).padding_bytes < gpt2_fsdp3.summary(2).padding_bytes);
// Every rank of every plan: parameters + padding + alignment = arena.
constexpr bool sums_hold(const auto& p) {
  for (std::uint32_t r = 0; r < p.world_size(); ++r) {
    const rank_summary s = p.summary(r);
    if (s.arena_bytes != s.parameter_bytes + s.padding_bytes + s.alignment_bytes) return false;
    if (s.arena_bytes != p.program(r).arena_bytes) return false;
  }
  return true;
}
static_assert(sums_hold(plan(models::tiny_llama, dtype_policy::bf16(),
                             mesh{.pp = 2, .dp = 2, .tp = 2}, zero3)));
static_assert(sums_hold(plan(models::tiny_mixtral, dtype_policy::bf16(), mesh{.dp = 2, .ep = 2},
                             fsdp)));

// ---- static plans: the mesh and strategy as template arguments ------------------------------
using tiny_llama_pp2 = static_plan<models::tiny_llama_t, mesh{.pp = 2, .tp = 2}, fsdp>;
static_assert(tiny_llama_pp2::violation.rule == plan_rule::none);
static_assert(tiny_llama_pp2::value.max_rank_bytes() > 0);
static_assert(find_violation(layout(models::tiny_llama), mesh{.tp = 8}, {}).rule ==
              plan_rule::tp_divides_heads);
static_assert(find_violation(layout(models::tiny_llama), mesh{.tp = 4}, {}).rule ==
              plan_rule::none);  // kv heads replicated
static_assert(find_violation(layout(models::tiny_mixtral), mesh{.dp = 3, .ep = 3}, {}).rule ==
              plan_rule::ep_divides_experts);

}  // namespace
