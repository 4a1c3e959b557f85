// `materialize(layout, cpu{}, {.source = checkpoint{.path = dir, .missing = ...}})`: the one-step
// form of issue #6 — the arena is filled from a checkpoint instead of the init, in the same call.
#include <catch2/catch.hpp>

#include "../support/scratch.hpp"

#include <cstring>
#include <filesystem>
#include <string>

#include <blueprint/blueprint.hpp>

using namespace blueprint;
namespace fs = std::filesystem;

TEST_CASE("Materializing from a saved checkpoint gives the saved model's bytes",
          "[checkpoint][materialize]") {
  constexpr auto l = layout(models::tiny_llama, dtype_policy::bf16());
  const materialized_model original = materialize(l, cpu{}, {.source = init{.seed = 5}});
  const fs::path dir = test::scratch_dir("materialize_from_checkpoint", "mfc_whole");
  (void)save(original, dir.string());
  // seed 99: ignored for tensors the checkpoint holds
  const materialized_model loaded =
      materialize(l, cpu{}, {.source = checkpoint{.path = dir.string(), .seed = 99}});
  CHECK(loaded.load_report() != nullptr);
  // inv_freq is a non-persistent buffer: not in the file, initialized with seed 99 — it does
  // not depend on the seed at all, so the whole arena matches.
  CHECK(test::same_arena(original, loaded));
  CHECK(loaded.fingerprint() == original.fingerprint());
}

TEST_CASE("Materializing from a checkpoint that lacks tensors fails strictly, naming them",
          "[checkpoint][materialize]") {
  constexpr auto small = layout(models::tiny_llama, dtype_policy::f32());
  const fs::path dir = test::scratch_dir("materialize_from_checkpoint", "mfc_partial");
  {
    // A checkpoint of tiny-gpt2 has none of tiny-llama's names.
    const materialized_model other =
        materialize(layout(models::tiny_gpt2, dtype_policy::f32()), cpu{}, {});
    (void)save(other, dir.string());
  }
  CHECK_THROWS_WITH(materialize(small, cpu{}, {.source = checkpoint{.path = dir.string()}}),
                    Catch::Contains("model.layers.0.mlp.up_proj.weight"));
}

TEST_CASE("Missing tensors under init_missing get exactly a fresh init",
          "[checkpoint][materialize]") {
  // A one-layer member of the family shares every name (and so every value, for the same seed)
  // with tiny-llama except layer 1: its checkpoint is a partial checkpoint of tiny-llama.
  using one_layer_t = dsl::llama<
      "tiny-llama-1-layer",
      dsl::llama_config{
          .vocab = 128, .hidden = 64, .layers = 1, .heads = 4, .kv_heads = 2, .ffn = 96}>;
  const fs::path dir = test::scratch_dir("materialize_from_checkpoint", "mfc_missing");
  (void)save(
      materialize(layout(one_layer_t{}, dtype_policy::bf16()), cpu{}, {.source = init{.seed = 3}}),
      dir.string());
  constexpr auto l = layout(models::tiny_llama, dtype_policy::bf16());
  const materialized_model loaded =
      materialize(l, cpu{},
                  {.source = checkpoint{.path = dir.string(), .missing = init_missing, .seed = 3},
                   .poison = true});  // and prove every byte was written
  REQUIRE(loaded.load_report() != nullptr);
  CHECK(loaded.load_report()->missing.size() == 9);  // layer 1's tensors
  const materialized_model fresh = materialize(l, cpu{}, {.source = init{.seed = 3}});
  CHECK(test::same_arena(loaded, fresh));
}

TEST_CASE("Saving one rank's shard alone is refused, naming a tensor it lacks",
          "[checkpoint][materialize]") {
  constexpr auto l = layout(models::tiny_llama, dtype_policy::bf16());
  const auto p = plan(l, mesh{.pp = 2}, replicate);
  const materialized_model stage0 = materialize(p, 0, cpu{}, {.source = init{.seed = 3}});
  CHECK_THROWS_WITH(
      save(stage0, test::scratch_dir("materialize_from_checkpoint", "mfc_shard_alone").string()),
      Catch::Contains("one rank's shard") && Catch::Contains("model.layers.1."));
}

TEST_CASE("A checkpoint the caller opened already is loaded without opening it again",
          "[checkpoint][materialize]") {
  constexpr auto l = layout(models::tiny_llama, dtype_policy::bf16());
  const fs::path dir = test::scratch_dir("materialize_from_checkpoint", "opened");
  (void)save(materialize(l, cpu{}, {.source = init{.seed = 6}}), dir.string());
  auto files = std::make_shared<const checkpoint_files>(open_checkpoint(dir.string()));
  fs::remove_all(dir);  // nothing left to open: the open descriptors are what is read
  const materialized_model loaded = materialize(
      l, cpu{}, {.source = checkpoint{.path = dir.string(), .seed = 6, .opened = files}});
  CHECK(test::same_arena(loaded, materialize(l, cpu{}, {.source = init{.seed = 6}})));
  CHECK_THROWS_AS(materialize(l, cpu{}, {.source = checkpoint{.path = dir.string()}}),
                  checkpoint_error);
}
