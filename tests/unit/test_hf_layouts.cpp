// The hub's real layouts (issue 11): older checkpoints load as transformers loads them, an
// unmatched checkpoint is never silently "loaded" as a random model, and tensor parallelism of
// fused projections follows the records' meaning (Megatron: each rank its own heads' q, k, v).
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <blueprint/runtime/hf_config.hpp>
#include <blueprint/runtime/materialize.hpp>
#include <blueprint/runtime/save_model.hpp>

#include "../support/assemble.hpp"
#include "../support/scratch.hpp"

namespace fs = std::filesystem;
using namespace blueprint;

namespace {

const fs::path hf_fixtures = fs::path(BLUEPRINT_SOURCE_DIR) / "tests" / "data" / "hf";

struct raw_tensor {
  std::string dtype;
  std::vector<std::uint64_t> shape;
  std::string bytes;
};

std::map<std::string, raw_tensor> read_safetensors(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  const std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  std::uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  const nlohmann::json header = nlohmann::json::parse(bytes.substr(8, n));
  std::map<std::string, raw_tensor> out;
  for (const auto& [name, v] : header.items()) {
    if (name == "__metadata__") continue;
    const auto b = v["data_offsets"][0].get<std::uint64_t>(),
               e = v["data_offsets"][1].get<std::uint64_t>();
    out[name] = {v["dtype"].get<std::string>(), v["shape"].get<std::vector<std::uint64_t>>(),
                 bytes.substr(8 + n + b, e - b)};
  }
  return out;
}

void write_safetensors(const fs::path& file, const std::map<std::string, raw_tensor>& tensors) {
  nlohmann::json header = nlohmann::json::object();
  std::uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    header[name] = {{"dtype", t.dtype},
                    {"shape", t.shape},
                    {"data_offsets", {offset, offset + t.bytes.size()}}};
    offset += t.bytes.size();
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  std::ofstream out(file, std::ios::binary);
  const std::uint64_t n = text.size();
  out.write(reinterpret_cast<const char*>(&n), 8);
  out << text;
  for (const auto& [name, t] : tensors) out << t.bytes;
}

std::vector<std::byte> arena_of(const materialized_model& m) {
  return {m.arena().begin(), m.arena().end()};
}

}  // namespace

TEST_CASE(
    "GPT-2's original layout (no transformer. prefix, attn.bias masks) loads as the canonical one",
    "[hf][legacy]") {
  const hf_model model = hf::read_config(hf_fixtures / "gpt2");
  const dynamic_layout l = layout(model, dtype_policy::f32());
  const load_report report = verify_checkpoint(l, (hf_fixtures / "gpt2_legacy").string());
  CHECK(report.clean());
  CHECK(report.prefix.find("'transformer.'") != std::string::npos);
  CHECK(report.ignored.size() == 4);  // h.{0,1}.attn.bias and attn.masked_bias
  for (const std::string& i : report.ignored) CHECK(i.find("attn.") != std::string::npos);
  const materialized_model canonical =
      materialize(l, cpu{}, {.source = checkpoint{.path = (hf_fixtures / "gpt2").string()}});
  const materialized_model legacy =
      materialize(l, cpu{}, {.source = checkpoint{.path = (hf_fixtures / "gpt2_legacy").string()}});
  CHECK(arena_of(canonical) == arena_of(legacy));
  CHECK(legacy.load_report()->prefix == report.prefix);
}

TEST_CASE("Llama-2's per-layer rotary_emb.inv_freq buffers are listed as ignored", "[hf][legacy]") {
  const dynamic_layout l = layout(hf::read_config(hf_fixtures / "llama"), dtype_policy::f32());
  const load_report report = verify_checkpoint(l, (hf_fixtures / "llama_legacy").string());
  CHECK(report.clean());
  CHECK(report.prefix.empty());
  REQUIRE(report.ignored.size() == 2);
  CHECK(report.ignored[0].find("model.layers.0.self_attn.rotary_emb.inv_freq") == 0);
  // Strict policies accept it: ignored is not unexpected.
  const materialized_model loaded = materialize(
      l, cpu{}, {.source = checkpoint{.path = (hf_fixtures / "llama_legacy").string()}});
  CHECK(loaded.load_report()->loaded == report.loaded);
}

TEST_CASE("A checkpoint with the model's names under one more prefix matches with it",
          "[hf][legacy]") {
  const fs::path dir = test::scratch_dir("hf_layouts", "extra_prefix");
  std::map<std::string, raw_tensor> renamed;
  for (auto& [name, t] : read_safetensors(hf_fixtures / "qwen3" / "model.safetensors"))
    renamed["base_model." + name] = t;
  write_safetensors(dir / "model.safetensors", renamed);
  const dynamic_layout l = layout(hf::read_config(hf_fixtures / "qwen3"), dtype_policy::f32());
  const load_report report = verify_checkpoint(l, dir.string());
  CHECK(report.clean());
  CHECK(report.prefix.find("'base_model.'") != std::string::npos);
}

TEST_CASE("--missing init refuses a checkpoint that matched nothing or differs by a prefix",
          "[hf][legacy]") {
  const dynamic_layout llama = layout(hf::read_config(hf_fixtures / "llama"), dtype_policy::f32());
  const std::string gpt2_dir = (hf_fixtures / "gpt2").string();
  checkpoint lenient{.path = gpt2_dir, .missing = missing_policy::init};
  CHECK_THROWS_WITH(materialize(llama, cpu{}, {.source = lenient}),
                    Catch::Contains("refusing --missing init") &&
                        Catch::Contains("no checkpoint tensor matched") &&
                        Catch::Contains("--allow-unmatched"));
  lenient.allow_unmatched = true;
  CHECK_NOTHROW(materialize(llama, cpu{}, {.source = lenient}));

  // The model's names under another first component ("decoder." for "model."): a prefix
  // mismatch, not a partial checkpoint.
  const fs::path dir = test::scratch_dir("hf_layouts", "other_prefix");
  std::map<std::string, raw_tensor> renamed;
  for (auto& [name, t] : read_safetensors(hf_fixtures / "llama" / "model.safetensors"))
    renamed[name.rfind("model.", 0) == 0 ? "decoder." + name.substr(6) : name] = t;
  // One tensor under the right name, so that "nothing matched" is not what refuses it.
  renamed["model.norm.weight"] = renamed.at("decoder.norm.weight");
  renamed.erase("decoder.norm.weight");
  write_safetensors(dir / "model.safetensors", renamed);
  checkpoint other{.path = dir.string(), .missing = missing_policy::init};
  CHECK_THROWS_WITH(materialize(llama, cpu{}, {.source = other}),
                    Catch::Contains("prefix mismatch") && Catch::Contains("'decoder.'") &&
                        Catch::Contains("'model.'"));
  // A partial checkpoint (some tensors simply absent) still initializes the rest.
  std::map<std::string, raw_tensor> partial =
      read_safetensors(hf_fixtures / "llama" / "model.safetensors");
  partial.erase("model.layers.1.mlp.down_proj.weight");
  const fs::path part_dir = test::scratch_dir("hf_layouts", "partial");
  write_safetensors(part_dir / "model.safetensors", partial);
  const materialized_model m = materialize(
      llama, cpu{},
      {.source = checkpoint{.path = part_dir.string(), .missing = missing_policy::init}});
  CHECK(m.load_report()->missing.size() == 1);
  // verify never refuses: it reports.
  CHECK_NOTHROW(verify_checkpoint(llama, dir.string()));
}

TEST_CASE("convert: a legacy layout in, the canonical layout and config.json out",
          "[hf][legacy][save]") {
  const hf_model model = hf::read_config(hf_fixtures / "gpt2_legacy");
  const dynamic_layout l = layout(model, dtype_policy::bf16());
  const materialized_model m =
      materialize(l, cpu{}, {.source = checkpoint{.path = (hf_fixtures / "gpt2_legacy").string()}});
  const fs::path out = test::scratch_dir("hf_layouts", "converted");
  save_options options;
  options.extra_files = {{"config.json", hf::config_json_for(model, dtype::bf16)}};
  (void)save(m, out.string(), options);
  const auto saved = read_safetensors(out / "model.safetensors");
  CHECK(saved.count("transformer.wte.weight") == 1);
  CHECK(saved.count("wte.weight") == 0);
  CHECK(saved.count("h.0.attn.bias") == 0);
  CHECK(saved.at("transformer.h.0.attn.c_attn.weight").dtype == "BF16");
  const load_report back =
      verify_checkpoint(layout(hf::read_config(out), dtype_policy::bf16()), out.string());
  CHECK(back.clean());
  CHECK(back.prefix.empty());
  CHECK(back.ignored.empty());
}

TEST_CASE("Tensor parallelism gives each rank its own heads' q, k and v rows of a fused qkv_proj",
          "[hf][plan][tp]") {
  // phi3_gqa: 4 query heads, 2 kv heads of size 4 -> qkv_proj rows q 16, k 8, v 8 (unequal);
  // gate_up_proj: two equal halves of 24 rows.
  const dynamic_layout l = layout(hf::read_config(hf_fixtures / "phi3_gqa"), dtype_policy::f32());
  const auto qkv = *l.find("model.layers.0.self_attn.qkv_proj.weight");
  REQUIRE(l.tensors()[qkv].spec.blocks[0] == 16);
  REQUIRE(l.tensors()[qkv].spec.blocks[1] == 8);
  const auto file = read_safetensors(hf_fixtures / "phi3_gqa" / "model.safetensors");
  const std::string& full_qkv = file.at("model.layers.0.self_attn.qkv_proj.weight").bytes;
  const std::string& full_gate_up = file.at("model.layers.0.mlp.gate_up_proj.weight").bytes;
  const std::uint64_t in = 16, row_bytes = in * 4;
  const auto p = plan(l, mesh{.tp = 2}, replicate);
  std::vector<std::vector<std::byte>> arenas;
  for (std::uint32_t r = 0; r < 2; ++r) {
    INFO("tp rank " << r);
    const materialized_model shard = materialize(
        p, r, cpu{}, {.source = checkpoint{.path = (hf_fixtures / "phi3_gqa").string()}});
    const tensor_view v = shard["model.layers.0.self_attn.qkv_proj.weight"];
    REQUIRE(v.shape[0] == 16);  // 8 q rows + 4 k rows + 4 v rows
    std::string want;
    want += full_qkv.substr((r * 8) * row_bytes, 8 * row_bytes);       // q heads 2r, 2r + 1
    want += full_qkv.substr((16 + r * 4) * row_bytes, 4 * row_bytes);  // kv head r: k
    want += full_qkv.substr((24 + r * 4) * row_bytes, 4 * row_bytes);  // kv head r: v
    CHECK(std::memcmp(v.data, want.data(), want.size()) == 0);
    const tensor_view g = shard["model.layers.0.mlp.gate_up_proj.weight"];
    REQUIRE(g.shape[0] == 24);
    std::string gate_up = full_gate_up.substr(r * 12 * row_bytes, 12 * row_bytes);
    gate_up += full_gate_up.substr((24 + r * 12) * row_bytes, 12 * row_bytes);
    CHECK(std::memcmp(g.data, gate_up.data(), gate_up.size()) == 0);
    arenas.push_back(arena_of(shard));
  }
  // Reassembled from both ranks, every tensor equals the file.
  const assembled_model whole = assemble(p, arenas);
  const auto tensors = l.tensors();
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    if (!tensors[i].spec.persistent) continue;
    INFO(tensors[i].name());
    const std::string& bytes = file.at(std::string(tensors[i].name())).bytes;
    REQUIRE(whole.tensors[i].size() == bytes.size());
    CHECK(std::memcmp(whole.tensors[i].data(), bytes.data(), bytes.size()) == 0);
  }
  // Under FSDP on top (dp = 2 x tp = 2) the rows still reassemble to the same tensors.
  const auto p4 = plan(l, mesh{.dp = 2, .tp = 2}, fsdp);
  std::vector<std::vector<std::byte>> arenas4;
  for (std::uint32_t r = 0; r < 4; ++r)
    arenas4.push_back(arena_of(materialize(
        p4, r, cpu{}, {.source = checkpoint{.path = (hf_fixtures / "phi3_gqa").string()}})));
  const assembled_model whole4 = assemble(p4, arenas4);
  for (std::size_t i = 0; i < tensors.size(); ++i)
    if (tensors[i].spec.persistent) CHECK(whole4.tensors[i] == whole.tensors[i]);
}

TEST_CASE("The planner reads heads from the records: any names get the head rules",
          "[hf][plan][tp]") {
  // A user's attention called "mixer" with projections "wq"-style names: no "attn." or
  // "k_proj." anywhere, yet tp must divide its heads.
  using namespace blueprint::dsl;
  struct mixer_model {
    static constexpr void emit(table_builder& b) {
      emit::embedding(b, "tok", 64, 24, {.init = init::normal(0, 0.02f)});
      repeat_blocks(b, "blocks", 2,
                    [&](std::uint64_t) { emit::attention(b, "mixer", 24, 3, 3, {.head_dim = 8}); });
    }
  };
  const auto model = defined_model<"mixer", mixer_model>{};
  const auto l = to_dynamic(layout(model, dtype_policy::f32()));
  CHECK(l.tensors()[*l.find("blocks.0.mixer.q_proj.weight")].spec.heads == head_group::query);
  CHECK_THROWS_WITH(plan(l, mesh{.tp = 2}, replicate),
                    Catch::Contains("blocks.0.mixer.q_proj.weight") &&
                        Catch::Contains("number of attention heads"));
  // The vocabulary flag, not the name "lm_head", lets a vocab split be padded.
  CHECK_THROWS_WITH(plan(l, mesh{.tp = 3}, replicate),
                    Catch::Contains("tok.weight") && Catch::Contains("vocab padding"));
  const auto padded = plan(l, mesh{.tp = 3}, replicate, plan_options{.pad_vocab = true});
  CHECK(padded.world_size() == 3);
  // Unequal fused blocks may split only along rows.
  const dynamic_layout phi = layout(hf::read_config(hf_fixtures / "phi3_gqa"), dtype_policy::f32());
  plan_options cols;
  cols = with_role_overrides(cols, "*.qkv_proj.weight=split_cols");
  CHECK_THROWS_WITH(plan(phi, mesh{.tp = 2}, replicate, cols),
                    Catch::Contains("qkv_proj.weight") && Catch::Contains("only along its rows"));
  // tp must divide the kv heads of the k and v blocks too (2 kv heads, tp = 4).
  CHECK_THROWS_WITH(plan(phi, mesh{.tp = 4}, replicate),
                    Catch::Contains("qkv_proj.weight") && Catch::Contains("kv heads"));
}
