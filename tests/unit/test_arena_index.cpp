// The name index both models share (runtime/arena_index.hpp), and the fingerprint contract it
// carries: a shard's fingerprint counts the elements it is the first replica of, so the shards'
// fingerprints sum to the whole model's and fingerprint(shard, comm) needs no plan.
#include <catch2/catch.hpp>

#include <cstdint>
#include <string>

#include <blueprint/codegen/plan.hpp>
#include <blueprint/dsl/models.hpp>
#include <blueprint/runtime/arena_index.hpp>
#include <blueprint/runtime/materialize.hpp>

using namespace blueprint;

TEST_CASE("the index finds tensors and ties, and names what it lacks with a suggestion",
          "[arena_index]") {
  const dynamic_layout l = dynamic_layout_of(models::tiny_llama, dtype_policy::bf16());
  const auto p = plan(l, mesh{.pp = 2}, replicate);
  const arena_index stage1(l, p.program(1), p.counted_program(1));
  CHECK(stage1.contains("model.norm.weight"));
  CHECK(stage1.name_of(stage1.find("model.norm.weight")) == "model.norm.weight");
  CHECK_THROWS_WITH(stage1.find("model.norm.wieght"),
                    Catch::Contains("did you mean 'model.norm.weight'"));
  CHECK_THROWS_WITH(stage1.find("model.embed_tokens.weight"),
                    Catch::Contains("not held by this arena"));
  CHECK_THROWS_AS(stage1.find("nothing.like.it"), tensor_not_found);
  CHECK(stage1.owner_of(stage1.find("model.norm.weight").offset).find("model.norm.weight") !=
        std::string::npos);
}

TEST_CASE("the index refuses a program that writes outside its arena", "[arena_index]") {
  const dynamic_layout l = dynamic_layout_of(models::tiny_llama, dtype_policy::bf16());
  program bad = program_of(l);
  bad.arena_bytes -= 256;
  CHECK_THROWS_AS(arena_index(l, bad, bad), std::invalid_argument);
}

TEST_CASE("shard fingerprints count replicas once and sum to the whole model's",
          "[arena_index][fingerprint]") {
  const dynamic_layout l = dynamic_layout_of(models::tiny_mixtral, dtype_policy::bf16());
  const std::uint64_t whole = fingerprint(materialize(l, cpu{}, {.source = init{.seed = 4}}));
  for (const strategy s : {replicate, fsdp, zero3}) {
    const auto p = plan(l, mesh{.dp = 2, .tp = 2}, s);
    std::uint64_t sum = 0;
    for (std::uint32_t r = 0; r < p.world_size(); ++r) {
      const materialized_model shard = materialize(p, r, cpu{}, {.source = init{.seed = 4}});
      sum += fingerprint(shard);
      if (s == replicate && p.device_mesh().coords(r).dp == 1)
        CHECK(fingerprint(shard) == 0);  // a replica
    }
    INFO(strategy_name(s));
    CHECK(sum == whole);
  }
}
