// Tier 2: run-time contracts of declarations and layouts (issue #2). The same constexpr code
// that tests/static/dsl_static.cpp checks at compile time runs here at run time.
#include <catch2/catch.hpp>

#include <cstring>
#include <set>
#include <string>

#include <blueprint/blueprint.hpp>
#include <blueprint/runtime/registry.hpp>

using namespace blueprint;

TEST_CASE("A run-time layout equals the compile-time layout record for record", "[dsl][layout]") {
  constexpr auto fixed = layout(models::gpt2, dtype_policy::bf16().norms_in_f32());
  const dynamic_layout dynamic =
      dynamic_layout_of(models::gpt2, dtype_policy::bf16().norms_in_f32());
  REQUIRE(dynamic.size() == fixed.size());
  REQUIRE(dynamic.total_bytes() == fixed.total_bytes());
  for (std::size_t i = 0; i < fixed.size(); ++i) {
    INFO(fixed.tensors()[i].name());
    REQUIRE(std::memcmp(&dynamic.tensors()[i], &fixed.tensors()[i], sizeof(placed_tensor)) == 0);
  }
}

TEST_CASE("Every built-in model has aligned, disjoint, ordered tensors and unique names",
          "[dsl][layout]") {
  for (const model_entry& m : builtin_models) {
    INFO(m.name);
    const dynamic_layout l = m.make_layout(dtype_policy::bf16(), {});
    std::set<std::string_view> names;
    std::set<std::uint64_t> ids;
    std::uint64_t end = 0, persistent = 0;
    for (const placed_tensor& t : l.tensors()) {
      INFO(t.name());
      CHECK(t.offset % 256 == 0);
      CHECK(t.offset >= end);
      CHECK(t.bytes == t.numel() * 2);
      std::uint64_t numel = 1;
      for (std::uint64_t d : t.shape()) numel *= d;
      CHECK(numel == t.numel());
      CHECK(is_concrete(t.init.kind));
      CHECK(t.id() == tensor_id_from_name(t.name()));
      end = t.offset + t.bytes;
      if (t.spec.persistent && t.spec.kind != tensor_kind::buffer) persistent += t.numel();
      CHECK(names.insert(t.name()).second);
      CHECK(ids.insert(t.id()).second);
    }
    CHECK(end <= l.total_bytes());
    CHECK(l.total_bytes() - end < 256);
    CHECK(persistent == m.parameter_count());
    CHECK(l.parameter_count() == m.parameter_count());
    for (const tie_spec& t : l.ties()) {
      CHECK(names.count(t.name()) == 0);
      REQUIRE(t.target < l.size());
      CHECK(l.tensors()[t.target].name() == t.target_name());
    }
  }
}

TEST_CASE("Looking up an unknown model names it and lists the built-ins", "[dsl][registry]") {
  try {
    (void)find_model("llama-9000");
    FAIL("no exception");
  } catch (const std::invalid_argument& e) {
    const std::string what = e.what();
    CHECK(what.find("llama-9000") != std::string::npos);
    CHECK(what.find("llama3-8b") != std::string::npos);
    CHECK(what.find("mixtral-8x7b") != std::string::npos);
  }
}

TEST_CASE("Tied tensors resolve to their target and are stored once", "[dsl][layout]") {
  const dynamic_layout l = find_model("llama3.2-1b").make_layout(dtype_policy::bf16(), {});
  REQUIRE(l.find("lm_head.weight").has_value());
  CHECK(*l.find("lm_head.weight") == *l.find("model.embed_tokens.weight"));
  for (const placed_tensor& t : l.tensors()) CHECK(t.name() != "lm_head.weight");
}

TEST_CASE("Each family declares the Hugging Face names of its ForCausalLM class", "[dsl]") {
  const auto has = [](std::string_view model, std::string_view name) {
    return find_model(model).make_layout(dtype_policy::f32(), {}).find(name).has_value();
  };
  CHECK(has("gpt2", "transformer.h.11.mlp.c_fc.bias"));
  CHECK(has("gpt2", "transformer.wpe.weight"));
  CHECK(has("llama2-7b", "model.layers.31.post_attention_layernorm.weight"));
  CHECK(has("llama2-7b", "lm_head.weight"));
  CHECK(has("mistral-7b", "model.layers.0.self_attn.v_proj.weight"));
  CHECK(has("mixtral-8x7b", "model.layers.31.block_sparse_moe.experts.0.w3.weight"));
  CHECK(has("qwen2.5-7b", "model.layers.27.self_attn.k_proj.bias"));
  CHECK_FALSE(has("llama3-8b", "model.layers.32.input_layernorm.weight"));
  CHECK_FALSE(has("gpt2", "transformer.h.0.attn.bias"));  // a non-persistent HF buffer we omit
}

TEST_CASE("The dtype policy applies later overrides over earlier ones", "[dsl][policy]") {
  const auto policy =
      dtype_policy::bf16().with("*norm*", dtype::f32).with("model.norm.*", dtype::f16);
  const dynamic_layout l = dynamic_layout_of(models::tiny_llama, policy);
  CHECK(l.tensors()[*l.find("model.layers.0.input_layernorm.weight")].type == dtype::f32);
  CHECK(l.tensors()[*l.find("model.norm.weight")].type == dtype::f16);
  CHECK(l.tensors()[*l.find("lm_head.weight")].type == dtype::bf16);
}

TEST_CASE("A dtype policy refuses a ninth override with a clear error", "[dsl][policy]") {
  dtype_policy p = dtype_policy::bf16();
  for (int i = 0; i < 8; ++i) p = p.with("*", dtype::f32);
  CHECK_THROWS_WITH(p.with("*", dtype::f16), Catch::Contains("at most 8 overrides"));
}
