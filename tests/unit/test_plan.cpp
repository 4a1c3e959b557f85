// Tier 2: the contracts of shard plans (issue #4, codegen/plan.hpp). Every plan is checked
// element by element on the tiny models: programs cover each rank's arena exactly, every global
// element of every tensor is held by some rank and counted by exactly one, padding is zeros,
// and the documented shapes of tp, FSDP2 and ZeRO-3 shards hold.
#include <catch2/catch.hpp>

#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

#include <blueprint/codegen/plan.hpp>
#include <blueprint/dsl/models.hpp>

using namespace blueprint;

namespace {

struct coverage {
  std::vector<std::vector<std::uint32_t>> held;     // per tensor, per global element: copies
  std::vector<std::vector<std::uint32_t>> counted;  // ... copies that count in sums
};

// Walks every rank's program, checking the per-rank contracts, and returns how often each
// global element is held and counted.
template <class Plan>
coverage check_every_rank(const Plan& p) {
  const auto tensors = p.layout().tensors();
  coverage cov;
  for (const placed_tensor& t : tensors) {
    cov.held.emplace_back(t.numel(), 0);
    cov.counted.emplace_back(t.numel(), 0);
  }
  const plan_context c = p.context();
  for (std::uint32_t r = 0; r < p.world_size(); ++r) {
    INFO("rank " << r);
    std::vector<std::uint8_t> counted;
    const program prog = p.program(c, r, counted);
    const rank_summary s = p.summary(c, r);
    REQUIRE(prog.arena_bytes == s.arena_bytes);
    REQUIRE(p.rank_bytes(r) == s.arena_bytes);
    REQUIRE(s.arena_bytes == s.parameter_bytes + s.padding_bytes + s.alignment_bytes);
    REQUIRE(s.transient_bytes == 0);
    REQUIRE(counted.size() == prog.segments.size());
    std::uint64_t cursor = 0;
    for (std::size_t k = 0; k < prog.segments.size(); ++k) {
      const segment& g = prog.segments[k];
      REQUIRE(g.arena_offset == cursor);
      REQUIRE(g.count > 0);
      REQUIRE(g.arena_offset % dtype_size(g.type) == 0);
      cursor += g.bytes();
      if (g.padding) {
        REQUIRE(g.init.kind == init_kind::zeros);
        REQUIRE(counted[k] == 0);
        continue;
      }
      REQUIRE(g.tensor_index < tensors.size());
      const placed_tensor& t = tensors[g.tensor_index];
      REQUIRE(g.tensor_id == t.id());
      REQUIRE(g.type == t.type);
      REQUIRE(g.init == t.init);
      for (std::uint64_t e = 0; e < g.count; ++e) {
        const std::uint64_t i = g.global_index(e);
        if (i >= t.numel()) FAIL("global index " << i << " outside the tensor");
        ++cov.held[g.tensor_index][i];
        if (counted[k]) ++cov.counted[g.tensor_index][i];
      }
    }
    REQUIRE(cursor == prog.arena_bytes);
    for (const local_tensor& l : prog.tensors) {
      REQUIRE(l.offset + l.bytes <= prog.arena_bytes);
      REQUIRE(l.bytes == l.numel() * dtype_size(l.type));
    }
  }
  for (std::size_t t = 0; t < tensors.size(); ++t) {
    INFO(tensors[t].name());
    for (std::uint64_t i = 0; i < tensors[t].numel(); ++i) {
      if (cov.held[t][i] == 0) FAIL("element " << i << " is held by no rank");
      if (cov.counted[t][i] != 1)
        FAIL("element " << i << " counted " << cov.counted[t][i] << " times");
    }
  }
  return cov;
}

const mesh promise_meshes[] = {
    {.tp = 2},          {.dp = 4}, {.pp = 2, .tp = 2}, {.pp = 2, .dp = 2, .tp = 2},
    {.dp = 2, .ep = 2}, {.dp = 3}, {.pp = 3, .dp = 2},
};

}  // namespace

TEST_CASE("Rank order puts tp innermost, then dp, then pp", "[plan][mesh]") {
  constexpr mesh m{.pp = 2, .dp = 3, .tp = 4};
  STATIC_REQUIRE(m.world_size() == 24);
  for (std::uint32_t r = 0; r < m.world_size(); ++r) {
    const mesh_coords c = m.coords(r);
    REQUIRE(r == (c.pp * m.dp + c.dp) * m.tp + c.tp);
    REQUIRE(m.rank_of(c.pp, c.dp, c.tp) == r);
  }
  REQUIRE(m.coords(5) == mesh_coords{.pp = 0, .dp = 1, .tp = 1, .ep = 0, .edp = 1});
}

TEST_CASE("Expert parallelism is carved out of dp, ep innermost", "[plan][mesh]") {
  constexpr mesh m{.dp = 4, .ep = 2};
  REQUIRE(m.world_size() == 4);
  REQUIRE(m.expert_dp() == 2);
  REQUIRE(m.coords(1).ep == 1);
  REQUIRE(m.coords(1).edp == 0);
  REQUIRE(m.coords(2).ep == 0);
  REQUIRE(m.coords(2).edp == 1);
}

TEST_CASE("A mesh string parses in any order and rejects malformed axes", "[plan][mesh]") {
  STATIC_REQUIRE(parse_mesh("pp=4,dp=8,tp=8") == mesh{.pp = 4, .dp = 8, .tp = 8});
  REQUIRE(parse_mesh("tp=2") == mesh{.tp = 2});
  REQUIRE(parse_mesh("dp=4,ep=2") == mesh{.dp = 4, .ep = 2});
  REQUIRE(to_string(mesh{.pp = 4, .dp = 8, .tp = 8}) == "pp=4,dp=8,tp=8");
  REQUIRE_THROWS_WITH(parse_mesh("xp=2"), Catch::Contains("unknown axis"));
  REQUIRE_THROWS_WITH(parse_mesh("tp=0"), Catch::Contains("zero"));
  REQUIRE_THROWS_WITH(parse_mesh("tp"), Catch::Contains("no '='"));
  REQUIRE_THROWS_WITH(parse_mesh("dp=3,ep=2"), Catch::Contains("ep must divide dp"));
}

TEST_CASE("Mesh sizes are checked in 64 bits against 2^24 ranks; an axis is given once",
          "[plan][mesh]") {
  // Issue 12: dp=268435456 segfaulted, dp=268435457 wrapped to a 16-rank world.
  REQUIRE_THROWS_WITH(parse_mesh("pp=4,dp=268435456,tp=4"), Catch::Contains("exceeds 2^24"));
  REQUIRE_THROWS_WITH(parse_mesh("pp=4,dp=4194305,tp=4"), Catch::Contains("world size"));
  REQUIRE_THROWS_WITH(parse_mesh("dp=99999999999999999999"), Catch::Contains("exceeds 2^24"));
  REQUIRE_THROWS_WITH(parse_mesh("tp=2,tp=4"), Catch::Contains("given twice"));
  REQUIRE_THROWS_WITH(parse_mesh("tp=+2"), Catch::Contains("not a positive integer"));
  REQUIRE(parse_mesh("dp=010") == mesh{.dp = 10});  // decimal, not octal
  REQUIRE(parse_mesh("pp=256,dp=256,tp=256").world_size() == 16'777'216);
  STATIC_REQUIRE(!mesh{.pp = 65536, .dp = 65536, .tp = 2}.valid());
  STATIC_REQUIRE(mesh{.pp = 65536, .dp = 65536, .tp = 2}.world_size_64() == 1ull << 33);
  // A C++ caller's mesh is checked by the planner too: its own rule, not a wrapped plan.
  const dynamic_layout l = dynamic_layout_of(models::tiny_llama, dtype_policy::bf16());
  REQUIRE_THROWS_WITH(plan(l, mesh{.pp = 1, .dp = 65536, .tp = 65536}, fsdp),
                      Catch::Contains("at most 2^24"));
}

TEST_CASE("Every plan of the tiny models covers every element once, modulo replicas",
          "[plan][coverage]") {
  const dynamic_layout layouts[] = {
      dynamic_layout_of(models::tiny_gpt2, dtype_policy::bf16().norms_in_f32()),
      dynamic_layout_of(models::tiny_llama, dtype_policy::f32()),
      dynamic_layout_of(models::tiny_mixtral, dtype_policy::bf16()),
      dynamic_layout_of(models::tiny_qwen2, dtype_policy::f16()),
  };
  for (const dynamic_layout& l : layouts)
    for (const mesh& m : promise_meshes)
      for (strategy s : {replicate, fsdp, zero3}) {
        INFO(std::string(l.model_name) << " " << to_string(m) << " " << strategy_name(s));
        check_every_rank(plan(l, m, s));
      }
}

TEST_CASE("Under DDP every dp rank holds a copy; only dp index 0 counts", "[plan][replicate]") {
  const auto p =
      plan(dynamic_layout_of(models::tiny_llama, dtype_policy::f32()), mesh{.dp = 3}, replicate);
  const coverage cov = check_every_rank(p);
  for (const auto& t : cov.held)
    for (std::uint32_t copies : t) REQUIRE(copies == 3);
  REQUIRE(p.summary(0).counted_bytes == p.summary(0).parameter_bytes);
  REQUIRE(p.summary(1).counted_bytes == 0);
}

TEST_CASE("A rank's arena size depends only on its stage and ep index", "[plan][bytes]") {
  const auto l = dynamic_layout_of(models::tiny_mixtral, dtype_policy::bf16());
  for (strategy s : {replicate, fsdp, zero3}) {
    const auto p = plan(l, mesh{.pp = 2, .dp = 4, .tp = 2, .ep = 2}, s);
    std::uint64_t most = 0, total = 0;
    for (const rank_summary& r : p.summaries()) {
      REQUIRE(r.arena_bytes == p.summary(p.representative(r.rank)).arena_bytes);
      most = std::max(most, r.arena_bytes);
      total += r.arena_bytes;
    }
    REQUIRE(p.max_rank_bytes() == most);
    REQUIRE(p.total_bytes() == total);
  }
}

TEST_CASE("FSDP2 gives each dp rank ceil(rows / dp) rows, the last ones padded with zero rows",
          "[plan][fsdp]") {
  // tiny-gpt2's wpe is [32, 32] f32 and replicated under tp: over dp = 3, chunks of 11 rows;
  // dp rank 2 holds rows 22..31 and one padding row.
  const auto l = dynamic_layout_of(models::tiny_gpt2, dtype_policy::f32());
  const auto p = plan(l, mesh{.dp = 3}, fsdp);
  const std::uint32_t wpe = static_cast<std::uint32_t>(*l.find("transformer.wpe.weight"));
  for (std::uint32_t r = 0; r < 3; ++r) {
    const program prog = p.program(r);
    const auto it = std::find_if(prog.tensors.begin(), prog.tensors.end(),
                                 [&](const local_tensor& t) { return t.tensor_index == wpe; });
    REQUIRE(it != prog.tensors.end());
    REQUIRE(it->rank == 2);
    REQUIRE(it->shape[0] == 11);
    REQUIRE(it->shape[1] == 32);
    REQUIRE(it->global_begin == r * 11 * 32);
    std::uint64_t data = 0, padding = 0;
    for (const segment& s : prog.segments) {
      if (s.arena_offset < it->offset || s.arena_offset >= it->offset + it->bytes) continue;
      (s.padding ? padding : data) += s.bytes();
    }
    REQUIRE(data == (r < 2 ? 11 : 10) * 32 * 4);
    REQUIRE(padding == (r < 2 ? 0 : 32 * 4));
  }
}

TEST_CASE("ZeRO-3 concatenates a unit, pads it to a multiple of dp and splits it evenly",
          "[plan][zero3]") {
  const auto l = dynamic_layout_of(models::tiny_llama, dtype_policy::f32());
  const auto p = plan(l, mesh{.dp = 3}, zero3);
  const plan_context c = p.context();
  // Every rank: one aligned chunk per unit, each chunk the same size on every dp rank.
  std::uint64_t unit_elements[8]{};
  for (const placed_tensor& t : l.tensors()) unit_elements[t.spec.unit] += t.numel();
  std::uint64_t expected = 0;
  for (std::uint32_t u = 0; u < c.units; ++u)
    expected += align_up((unit_elements[u] + 2) / 3 * 4, 256);
  for (std::uint32_t r = 0; r < 3; ++r) {
    const rank_summary s = p.summary(c, r);
    REQUIRE(s.arena_bytes == expected);
  }
  // Padding only on the last dp rank (the tail of each flat unit).
  REQUIRE(p.summary(c, 0).padding_bytes == 0);
  std::uint64_t tail = 0;
  for (std::uint32_t u = 0; u < c.units; ++u)
    tail += ((unit_elements[u] + 2) / 3 * 3 - unit_elements[u]) * 4;
  REQUIRE(p.summary(c, 2).padding_bytes == tail);
}

TEST_CASE("Tensor parallelism splits each fused q, k, v sub-block of GPT-2's c_attn",
          "[plan][tp]") {
  // c_attn.weight is Conv1D [in 32, out 3 x 32], column-parallel: storage dim 1, fused 3.
  const auto l = dynamic_layout_of(models::tiny_gpt2, dtype_policy::f32());
  const auto p = plan(l, mesh{.tp = 2}, replicate);
  const std::uint32_t qkv =
      static_cast<std::uint32_t>(*l.find("transformer.h.0.attn.c_attn.weight"));
  for (std::uint32_t r = 0; r < 2; ++r) {
    const program prog = p.program(r);
    const auto lt = std::find_if(prog.tensors.begin(), prog.tensors.end(),
                                 [&](const local_tensor& t) { return t.tensor_index == qkv; });
    REQUIRE(lt->shape[0] == 32);
    REQUIRE(lt->shape[1] == 48);
    const auto s = std::find_if(prog.segments.begin(), prog.segments.end(),
                                [&](const segment& g) { return g.tensor_index == qkv; });
    REQUIRE(s->count == 32 * 48);  // one affine segment for the whole fused shard
    for (std::uint64_t row = 0; row < 32; ++row)
      for (std::uint64_t col = 0; col < 48; ++col) {
        const std::uint64_t block = col / 16, within = col % 16;
        REQUIRE(s->global_index(row * 48 + col) == row * 96 + block * 32 + r * 16 + within);
      }
  }
}

TEST_CASE("Row-parallel weights split dim 1 and their biases are replicated", "[plan][tp]") {
  const auto l = dynamic_layout_of(models::tiny_llama, dtype_policy::f32());
  const auto p = plan(l, mesh{.tp = 2}, replicate);
  const std::uint32_t o =
      static_cast<std::uint32_t>(*l.find("model.layers.1.self_attn.o_proj.weight"));
  const program prog = p.program(1);
  const auto lt = std::find_if(prog.tensors.begin(), prog.tensors.end(),
                               [&](const local_tensor& t) { return t.tensor_index == o; });
  REQUIRE(lt->shape[0] == 64);
  REQUIRE(lt->shape[1] == 32);
  const auto s = std::find_if(prog.segments.begin(), prog.segments.end(),
                              [&](const segment& g) { return g.tensor_index == o; });
  REQUIRE(s->global_index(0) == 32);
  REQUIRE(s->global_index(32) == 64 + 32);
}

TEST_CASE("kv heads fewer than tp are replicated on tp / kv_heads consecutive ranks",
          "[plan][tp]") {
  // tiny-llama: 4 heads, 2 kv heads of 16; tp = 4 gives each kv head to two ranks.
  const auto l = dynamic_layout_of(models::tiny_llama, dtype_policy::f32());
  const auto p = plan(l, mesh{.tp = 4}, replicate);
  const coverage cov = check_every_rank(p);
  const std::size_t k = *l.find("model.layers.0.self_attn.k_proj.weight");
  for (std::uint32_t copies : cov.held[k]) REQUIRE(copies == 2);
  const std::size_t q = *l.find("model.layers.0.self_attn.q_proj.weight");
  for (std::uint32_t copies : cov.held[q]) REQUIRE(copies == 1);
}

TEST_CASE("A role override by name glob replaces the family's role", "[plan][roles]") {
  const auto l = dynamic_layout_of(models::tiny_llama, dtype_policy::f32());
  const auto p = plan(l, mesh{.tp = 2}, replicate,
                      plan_options{}.with_role("*.mlp.*", parallel_role::replicated));
  const coverage cov = check_every_rank(p);
  for (std::size_t i = 0; i < l.size(); ++i) {
    const bool mlp = l.tensors()[i].name().find(".mlp.") != std::string_view::npos;
    if (!mlp) continue;
    REQUIRE(effective_role(l.tensors()[i].spec, p.options()) == parallel_role::replicated);
    for (std::uint32_t copies : cov.held[i]) REQUIRE(copies == 2);
  }
}

TEST_CASE("Vocab padding splits a vocab tp does not divide in ceil rows, padding with zeros",
          "[plan][tp]") {
  // Only the embedding split (everything else replicated), 96 rows over tp = 5: 20 rows each,
  // the last rank 16 rows and 4 zero rows.
  const auto l = dynamic_layout_of(models::tiny_gpt2, dtype_policy::f32());
  const plan_options o = plan_options{}
                             .with_role("*", parallel_role::replicated)
                             .with_role("transformer.wte.weight", parallel_role::split_rows)
                             .with_vocab_padding();
  const auto p = plan(l, mesh{.tp = 5}, replicate, o);
  check_every_rank(p);
  const rank_summary last = p.summary(4);
  REQUIRE(last.padding_bytes == 4 * 32 * 4);
  REQUIRE(p.summary(0).padding_bytes == 0);
}

TEST_CASE("Pipeline stages are contiguous units, embedding first, head last", "[plan][pp]") {
  const auto l = dynamic_layout_of(models::tiny_llama, dtype_policy::f32());
  const auto balanced = plan(l, mesh{.pp = 2}, replicate).stages();
  REQUIRE(balanced.size() == 3);
  REQUIRE(balanced.front() == 0);
  REQUIRE(balanced.back() == 4);
  REQUIRE(balanced[1] >= 1);
  REQUIRE(balanced[1] <= 3);
  const auto given =
      plan(l, mesh{.pp = 3}, replicate, plan_options{}.with_stage_boundaries({1, 3}));
  REQUIRE(given.stages() == std::vector<std::uint32_t>{0, 1, 3, 4});
  check_every_rank(given);
  const auto each = plan(l, mesh{.pp = 4}, replicate).stages();
  REQUIRE(each == std::vector<std::uint32_t>{0, 1, 2, 3, 4});
}

TEST_CASE("Balanced stages minimize the largest stage's bytes", "[plan][pp]") {
  const auto l = dynamic_layout_of(models::llama3_8b, dtype_policy::bf16());
  const auto p = plan(l, mesh{.pp = 4}, replicate);
  const auto st = p.stages();
  std::vector<std::uint64_t> unit(l.unit_count(), 0);
  for (const placed_tensor& t : l.tensors()) unit[t.spec.unit] += t.bytes;
  std::uint64_t most = 0, total = 0;
  for (std::size_t s = 0; s + 1 < st.size(); ++s) {
    std::uint64_t b = 0;
    for (std::uint32_t u = st[s]; u < st[s + 1]; ++u) b += unit[u];
    most = std::max(most, b);
    total += b;
  }
  std::uint64_t largest_unit = *std::max_element(unit.begin(), unit.end());
  REQUIRE(most <= total / 4 + largest_unit);
}

TEST_CASE("Expert tensors live only on the ep index of their expert", "[plan][ep]") {
  const auto l = dynamic_layout_of(models::tiny_mixtral, dtype_policy::f32());
  const auto p = plan(l, mesh{.dp = 2, .ep = 2}, replicate);
  check_every_rank(p);
  for (std::uint32_t r = 0; r < 2; ++r)
    for (const local_tensor& t : p.program(r).tensors) {
      const std::int32_t e = l.tensors()[t.tensor_index].spec.expert;
      if (e >= 0) REQUIRE(static_cast<std::uint32_t>(e) / 2 == r);
    }
}

TEST_CASE("Broken rules throw sentences that name the tensor", "[plan][rules]") {
  const auto llama = dynamic_layout_of(models::tiny_llama, dtype_policy::f32());
  const auto gpt2 = dynamic_layout_of(models::tiny_gpt2, dtype_policy::f32());
  const auto mixtral = dynamic_layout_of(models::tiny_mixtral, dtype_policy::f32());
  REQUIRE_THROWS_WITH(
      plan(llama, mesh{.tp = 3}, fsdp),
      Catch::Contains("tensor 'model.embed_tokens.weight'") &&
          Catch::Contains("tensor-parallel degree must divide the split dimension"));
  REQUIRE_THROWS_WITH(plan(llama, mesh{.tp = 8}, fsdp),
                      Catch::Contains("q_proj.weight") &&
                          Catch::Contains("must divide the number of attention heads"));
  REQUIRE_THROWS_WITH(plan(llama, mesh{.tp = 4}, fsdp, plan_options{.replicate_kv_heads = false}),
                      Catch::Contains("k_proj.weight") && Catch::Contains("kv heads"));
  REQUIRE_THROWS_WITH(
      plan(gpt2, mesh{.tp = 3}, fsdp, plan_options{}.with_vocab_padding()),
      Catch::Contains("c_attn.weight") && Catch::Contains("must divide each fused sub-block"));
  REQUIRE_THROWS_WITH(plan(llama, mesh{.pp = 5}, fsdp),
                      Catch::Contains("must not exceed the number of pipeline units"));
  REQUIRE_THROWS_WITH(plan(mixtral, mesh{.dp = 3, .ep = 3}, fsdp),
                      Catch::Contains("must divide the number of experts"));
  REQUIRE_THROWS_WITH(plan(mixtral, mesh{.dp = 2, .ep = 4}, fsdp),
                      Catch::Contains("must divide the data-parallel degree"));
  REQUIRE_THROWS_WITH(plan(llama, mesh{.pp = 2}, fsdp, plan_options{}.with_stage_boundaries({4})),
                      Catch::Contains("stage boundaries"));
  REQUIRE_THROWS_WITH(
      plan(llama, mesh{.tp = 2}, fsdp,
           plan_options{}.with_role("model.norm.weight", parallel_role::split_cols)),
      Catch::Contains("model.norm.weight") && Catch::Contains("at least two dimensions"));
  REQUIRE_THROWS_WITH(shard_program(llama, mesh{.tp = 2}, fsdp, 2), Catch::Contains("outside"));
}

TEST_CASE("The memory report compares our arena with the alternatives", "[plan][report]") {
  const auto l = dynamic_layout_of(models::tiny_llama, dtype_policy::bf16());
  const auto p = plan(l, mesh{.dp = 4}, fsdp);
  const memory_report m = p.report();
  REQUIRE(m.transient_bytes == 0);
  REQUIRE(m.max_rank_bytes == p.max_rank_bytes());
  REQUIRE(m.model_f32_bytes == l.parameter_count() * 4 + 8 * 4);  // + the inv_freq buffer
  REQUIRE(m.full_model_peak == m.max_rank_bytes + m.model_f32_bytes);
  REQUIRE(m.fsdp1_unit_peak > m.max_rank_bytes);
  REQUIRE(m.fsdp1_unit_peak < m.full_model_peak);
  REQUIRE(m.full_model_host_total == 4 * m.full_model_peak);
}
