// The checkpoint API on materialized models (materialize.hpp, save_model.hpp): load, save and
// a checkpoint source agree with fresh materializations, whole and sharded.
#include <catch2/catch.hpp>

#include "../support/scratch.hpp"

#include <cstring>
#include <filesystem>
#include <fstream>

#include <blueprint/runtime/materialize.hpp>
#include <blueprint/runtime/registry.hpp>
#include <blueprint/runtime/save_model.hpp>

namespace fs = std::filesystem;
using namespace blueprint;

TEST_CASE("a saved model loads into a skip-init model with the same bytes and fingerprint",
          "[checkpoint]") {
  const dynamic_layout l =
      find_model("tiny-mixtral").make_layout(dtype_policy::bf16().norms_in_f32(), {});
  const materialized_model original =
      materialize(l, cpu{.threads = 2}, {.source = init{.seed = 5}});
  const fs::path dir = test::scratch_dir("safetensors_model", "model_roundtrip");
  const save_report s = save(original, dir.string(), {.max_shard_size = 50_KB});
  CHECK(s.files.size() > 2);
  materialized_model target =
      materialize(l, cpu{.threads = 2}, {.source = no_init{.seed = 5}, .poison = true});
  const load_report r = load(target, {.path = dir.string()});
  CHECK(r.clean());
  target.verify_coverage();  // every byte was written
  CHECK(test::same_arena(original, target));
  CHECK(original.fingerprint() == target.fingerprint());
}

TEST_CASE("load gives missing tensors the model's own seed", "[checkpoint]") {
  const dynamic_layout l = find_model("tiny-llama").make_layout(dtype_policy::f32(), {});
  const materialized_model original = materialize(l, cpu{}, {.source = init{.seed = 11}});
  const fs::path dir = test::scratch_dir("safetensors_model", "model_partial");
  (void)save(original, dir.string());
  // Drop one tensor by saving a model whose layout lacks it: rewrite the file without it.
  const safetensors_file f = open_safetensors((dir / "model.safetensors").string());
  std::vector<st_entry> entries;
  std::string data;
  for (const st_tensor& t : f.header.tensors) {
    if (t.name == "model.layers.1.self_attn.k_proj.weight") continue;
    entries.push_back({t.name, t.type, t.shape, t.bytes()});
    std::string bytes(t.bytes(), '\0');
    detail::pread_all(f.fd.get(), bytes.data(), t.bytes(), f.header.data_start + t.begin, f.path);
    data += bytes;
  }
  const fs::path partial = dir / "partial.safetensors";
  std::ofstream(partial, std::ios::binary) << serialize_safetensors_header(entries) << data;
  materialized_model target = materialize(l, cpu{}, {.source = no_init{.seed = 11}});
  const load_report r = load(target, {.path = partial.string(), .missing = init_missing});
  REQUIRE(r.missing.size() == 1);
  CHECK(test::same_arena(original, target));
}

TEST_CASE("a checkpoint source gives each rank exactly its fresh shard", "[checkpoint]") {
  const dynamic_layout l = find_model("tiny-llama").make_layout(dtype_policy::bf16(), {});
  const fs::path dir = test::scratch_dir("safetensors_model", "from_checkpoint");
  (void)save(materialize(l, cpu{}, {.source = init{.seed = 3}}), dir.string(),
             {.max_shard_size = 40_KB});
  const auto p = plan(l, mesh{.pp = 2, .tp = 2}, fsdp);
  for (std::uint32_t rank = 0; rank < p.world_size(); ++rank) {
    const materialized_model loaded = materialize(
        p, rank, cpu{}, {.source = checkpoint{.path = dir.string(), .seed = 3}, .poison = true});
    REQUIRE(loaded.load_report() != nullptr);
    CHECK(loaded.load_report()->clean());
    CHECK(test::same_arena(loaded, materialize(p, rank, cpu{}, {.source = init{.seed = 3}})));
  }
}

TEST_CASE("a checkpoint source reports key errors before it allocates", "[checkpoint]") {
  const fs::path dir = test::scratch_dir("safetensors_model", "key_error");
  (void)save(materialize(find_model("tiny-gpt2").make_layout(dtype_policy::f32(), {}), cpu{}),
             dir.string());
  const dynamic_layout llama = find_model("tiny-llama").make_layout(dtype_policy::f32(), {});
  CHECK_THROWS_AS(materialize(llama, cpu{}, {.source = checkpoint{.path = dir.string()}}),
                  checkpoint_key_error);
}

TEST_CASE("a plan save writes each piece once and loads back as the whole model", "[checkpoint]") {
  const dynamic_layout l = find_model("tiny-gpt2").make_layout(dtype_policy::f16(), {});
  const auto p = plan(l, mesh{.dp = 2}, replicate);
  const fs::path dir = test::scratch_dir("safetensors_model", "plan_save");
  single_process_communicator comm;  // rank 0 alone writes everything it holds (all of it)
  const materialized_model shard = materialize(p, 0, cpu{}, {.source = init{.seed = 9}});
  const save_report s = save(p, 0, shard, comm, dir.string());
  CHECK(s.bytes_written == s.total_size);
  materialized_model whole = materialize(l, cpu{}, {.source = no_init{}});
  (void)load(whole, {.path = dir.string()});
  CHECK(whole.fingerprint() == materialize(l, cpu{}, {.source = init{.seed = 9}}).fingerprint());
}
