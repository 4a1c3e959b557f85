// Each plan rule is written once (codegen/plan_rules.hpp's table); the static_assert texts,
// which C++20 wants as literals, sit in one block beside it. These tests hold the two equal, and
// check that a run-time failure states the table's sentence and detail.
#include <catch2/catch.hpp>

#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>

#include <blueprint/codegen/plan.hpp>
#include <blueprint/dsl/models.hpp>

using namespace blueprint;

namespace {
std::map<std::string, std::string> static_assert_texts() {
  std::ifstream in(std::string(BLUEPRINT_SOURCE_DIR) +
                   "/codegen/include/blueprint/codegen/plan_rules.hpp");
  std::stringstream text;
  text << in.rdbuf();
  const std::string source = text.str();
  const std::regex check(R"re(static_assert\(Rule != plan_rule::(\w+), "([^"]*)"\);)re");
  std::map<std::string, std::string> out;
  for (auto it = std::sregex_iterator(source.begin(), source.end(), check);
       it != std::sregex_iterator(); ++it)
    out[(*it)[1]] = (*it)[2];
  return out;
}
}  // namespace

TEST_CASE("every plan rule's static_assert text is 'plan: ' and its sentence", "[plan][rules]") {
  const std::map<std::string, std::string> texts = static_assert_texts();
  const std::map<plan_rule, std::string> names = {
      {plan_rule::mesh_axes_positive, "mesh_axes_positive"},
      {plan_rule::ep_divides_dp, "ep_divides_dp"},
      {plan_rule::world_size_at_most_max, "world_size_at_most_max"},
      {plan_rule::pp_at_most_units, "pp_at_most_units"},
      {plan_rule::stage_boundaries_increasing, "stage_boundaries_increasing"},
      {plan_rule::ep_divides_experts, "ep_divides_experts"},
      {plan_rule::split_dim_exists, "split_dim_exists"},
      {plan_rule::tp_divides_fused_blocks, "tp_divides_fused_blocks"},
      {plan_rule::tp_divides_heads, "tp_divides_heads"},
      {plan_rule::tp_divides_kv_heads, "tp_divides_kv_heads"},
      {plan_rule::tp_divides_split_dim, "tp_divides_split_dim"},
      {plan_rule::unequal_blocks_split_rows, "unequal_blocks_split_rows"},
  };
  REQUIRE(texts.size() == names.size());  // one static_assert per rule, none extra
  for (const plan_rule_info& info : plan_rules) {
    if (info.rule == plan_rule::none) continue;
    INFO(info.sentence);
    REQUIRE(names.count(info.rule) == 1);
    REQUIRE(texts.count(names.at(info.rule)) == 1);
    CHECK(texts.at(names.at(info.rule)) == "plan: " + std::string(info.sentence));
  }
}

TEST_CASE("the rule table is indexed by the rule", "[plan][rules]") {
  for (std::size_t i = 0; i < std::size(plan_rules); ++i)
    CHECK(static_cast<std::size_t>(plan_rules[i].rule) == i);
}

TEST_CASE("a run-time plan failure states the rule's sentence, the tensor and the numbers",
          "[plan][rules]") {
  const auto l = layout(models::tiny_llama, dtype_policy::bf16());  // vocab 128, 4 heads
  try {
    (void)plan(l, mesh{.tp = 3}, replicate);
    FAIL("tp = 3 must not divide a vocab of 128");
  } catch (const std::invalid_argument& e) {
    const std::string what = e.what();
    CHECK_THAT(what, Catch::Contains("'model.embed_tokens.weight'"));
    CHECK_THAT(what, Catch::Contains(std::string(rule_sentence(plan_rule::tp_divides_split_dim))));
    CHECK_THAT(what, Catch::Contains("(extent 128, tp = 3)"));
  }
  try {
    (void)plan(l, mesh{.tp = 3}, replicate, plan_options{}.with_vocab_padding());
    FAIL("tp = 3 must not divide 4 heads");
  } catch (const std::invalid_argument& e) {
    const std::string what = e.what();
    CHECK_THAT(what, Catch::Contains(std::string(rule_sentence(plan_rule::tp_divides_heads))));
    CHECK_THAT(what, Catch::Contains("(4 heads, tp = 3)"));
    CHECK_THAT(what, Catch::Contains("model.layers.0."));
  }
}

TEST_CASE("too many stage boundaries fail with their own rule", "[plan][rules]") {
  plan_options o;
  std::vector<std::uint32_t> many(64, 1);
  CHECK_THROWS_WITH(o.with_stage_boundaries(std::span<const std::uint32_t>(many)),
                    Catch::Contains("at most 63 pipeline stage boundaries"));
}
