// config.json in, model out (issue 11): one family definition for both modes, the reader,
// and checkpoints written by transformers' own save_pretrained (tests/data/hf, made by
// tests/data/hf/make_fixtures.py where torch and transformers are installed).
#include <catch2/catch.hpp>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <blueprint/kernels/distributions.hpp>
#include <blueprint/runtime/hf_config.hpp>
#include <blueprint/runtime/materialize.hpp>
#include <blueprint/runtime/registry.hpp>
#include <blueprint/runtime/save_model.hpp>

#include "../support/scratch.hpp"

namespace fs = std::filesystem;
using namespace blueprint;
namespace m = blueprint::models;

namespace {

const fs::path fixtures = fs::path(BLUEPRINT_SOURCE_DIR) / "tests" / "data" / "hf";

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// A safetensors file as name -> raw bytes (the test's own reader, independent of the library's).
std::map<std::string, std::string> raw_tensors(const fs::path& file) {
  const std::string bytes = slurp(file);
  REQUIRE(bytes.size() >= 8);
  std::uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  const nlohmann::json header = nlohmann::json::parse(bytes.substr(8, n));
  std::map<std::string, std::string> out;
  for (const auto& [name, v] : header.items()) {
    if (name == "__metadata__") continue;
    const auto b = v["data_offsets"][0].get<std::uint64_t>(),
               e = v["data_offsets"][1].get<std::uint64_t>();
    out[name] = bytes.substr(8 + n + b, e - b);
  }
  return out;
}

std::vector<std::string> fixture_names() {
  const nlohmann::json manifest = nlohmann::json::parse(slurp(fixtures / "manifest.json"));
  std::vector<std::string> names;
  for (const auto& [name, v] : manifest["fixtures"].items()) names.push_back(name);
  return names;
}

void require_same_records(const dynamic_layout& a, const dynamic_layout& b) {
  REQUIRE(a.size() == b.size());
  REQUIRE(a.ties().size() == b.ties().size());
  CHECK(a.total_bytes() == b.total_bytes());
  CHECK(a.parameter_count() == b.parameter_count());
  CHECK(a.unit_count() == b.unit_count());
  for (std::size_t i = 0; i < a.size(); ++i) {
    const placed_tensor &x = a.tensors()[i], &y = b.tensors()[i];
    INFO(x.name());
    REQUIRE(x.name() == y.name());
    CHECK(x.id() == y.id());
    CHECK(x.spec.rank == y.spec.rank);
    for (std::size_t d = 0; d < max_rank; ++d) CHECK(x.spec.shape[d] == y.spec.shape[d]);
    CHECK(x.spec.numel == y.spec.numel);
    CHECK(x.spec.role == y.spec.role);
    CHECK(x.spec.kind == y.spec.kind);
    CHECK(x.spec.persistent == y.spec.persistent);
    CHECK(x.spec.fused == y.spec.fused);
    CHECK(x.spec.init == y.spec.init);
    CHECK(x.init == y.init);
    CHECK(x.spec.fan_in == y.spec.fan_in);
    CHECK(x.spec.fan_out == y.spec.fan_out);
    CHECK(x.spec.unit == y.spec.unit);
    CHECK(x.spec.block == y.spec.block);
    CHECK(x.spec.expert == y.spec.expert);
    CHECK(x.spec.heads == y.spec.heads);
    CHECK(x.spec.head_size == y.spec.head_size);
    CHECK(x.spec.vocab == y.spec.vocab);
    for (std::size_t k = 0; k < 3; ++k) CHECK(x.spec.blocks[k] == y.spec.blocks[k]);
    CHECK(x.spec.zero_row == y.spec.zero_row);
    CHECK(x.type == y.type);
    CHECK(x.offset == y.offset);
    CHECK(x.bytes == y.bytes);
  }
  for (std::size_t i = 0; i < a.ties().size(); ++i) {
    CHECK(a.ties()[i].name() == b.ties()[i].name());
    CHECK(a.ties()[i].target == b.ties()[i].target);
  }
}

template <class M>
void require_builtin_matches(const M& model) {
  INFO(M::name());
  for (const dtype_policy& p : {dtype_policy::f32(), dtype_policy::bf16().norms_in_f32()})
    require_same_records(to_dynamic(layout(model, p)), find_model(M::name()).make_layout(p));
}

hf_model edited_fixture(const std::string& fixture,
                        const std::function<void(nlohmann::json&)>& edit) {
  nlohmann::json j = nlohmann::json::parse(slurp(fixtures / fixture / "config.json"));
  edit(j);
  return hf::parse_config(j.dump(), fixture + "/config.json (edited)", fixture);
}

}  // namespace

TEST_CASE("every built-in's run-time table equals its compile-time table, record for record",
          "[hf][dsl]") {
  require_builtin_matches(m::gpt2);
  require_builtin_matches(m::gpt2_xl);
  require_builtin_matches(m::llama2_7b);
  require_builtin_matches(m::llama3_8b);
  require_builtin_matches(m::llama3_1_405b);
  require_builtin_matches(m::llama3_2_1b);
  require_builtin_matches(m::tinyllama_1_1b);
  require_builtin_matches(m::mistral_7b);
  require_builtin_matches(m::mixtral_8x7b);
  require_builtin_matches(m::qwen2_5_7b);
  require_builtin_matches(m::qwen3_8b);
  require_builtin_matches(m::gemma_7b);
  require_builtin_matches(m::phi3_mini);
  require_builtin_matches(m::tiny_gpt2);
  require_builtin_matches(m::tiny_llama);
  require_builtin_matches(m::tiny_mixtral);
  require_builtin_matches(m::tiny_qwen2);
  require_builtin_matches(m::tiny_qwen3);
  require_builtin_matches(m::tiny_qwen3_moe);
  require_builtin_matches(m::tiny_gemma);
  require_builtin_matches(m::tiny_gemma2);
  require_builtin_matches(m::tiny_phi3);
  require_builtin_matches(m::tiny_deepseek_v3);
}

TEST_CASE("expert groups expand to the records a per-expert emission writes, for every built-in",
          "[hf][dsl]") {
  for (const model_entry& entry : builtin_models) {
    INFO(entry.name);
    const dsl::dynamic_table grouped = table_of(entry.config);
    const dsl::dynamic_table direct = table_of(entry.config, /*group_experts=*/false);
    REQUIRE(grouped.tensors.size() == direct.tensors.size());
    CHECK(grouped.parameters == direct.parameters);
    CHECK(grouped.unit_count == direct.unit_count);
    for (std::size_t i = 0; i < direct.tensors.size(); ++i) {
      const tensor_spec &x = grouped.tensors[i], &y = direct.tensors[i];
      INFO(y.name());
      REQUIRE(x.name() == y.name());
      CHECK(x.id == y.id);
      CHECK(x.rank == y.rank);
      for (std::size_t d = 0; d < max_rank; ++d) CHECK(x.shape[d] == y.shape[d]);
      CHECK((x.numel == y.numel && x.role == y.role && x.kind == y.kind));
      CHECK((x.persistent == y.persistent && x.fused == y.fused && x.init == y.init));
      CHECK((x.fan_in == y.fan_in && x.fan_out == y.fan_out && x.unit == y.unit));
      CHECK((x.block == y.block && x.expert == y.expert && x.expert_count == y.expert_count));
      CHECK((x.heads == y.heads && x.head_size == y.head_size && x.vocab == y.vocab));
      CHECK((x.blocks[0] == y.blocks[0] && x.blocks[1] == y.blocks[1] &&
             x.blocks[2] == y.blocks[2] && x.zero_row == y.zero_row));
    }
  }
  // DeepSeek-V3 in full: 45,396 tensors from 1,026 definition records.
  CHECK(table_of(find_model("deepseek-v3").config).tensors.size() == 45'396);
}

namespace fixture_types {
// The fixtures' configs transcribed as compile-time records: the reader must give the same.
using namespace blueprint::dsl;
inline constexpr llama_config qwen3_moe{.vocab = 48,
                                        .hidden = 16,
                                        .layers = 2,
                                        .heads = 4,
                                        .kv_heads = 2,
                                        .ffn = 24,
                                        .head_dim = 4,
                                        .experts = 4,
                                        .qk_norm = true,
                                        .moe = moe_naming::qwen,
                                        .expert_ffn = 8};
inline constexpr llama_config phi3_gqa{.vocab = 48,
                                       .hidden = 16,
                                       .layers = 2,
                                       .heads = 4,
                                       .kv_heads = 2,
                                       .ffn = 24,
                                       .fused_projections = true,
                                       .pad_token = 1};
inline constexpr deepseek_v3_config deepseek{.vocab = 48,
                                             .hidden = 16,
                                             .layers = 2,
                                             .heads = 2,
                                             .ffn = 24,
                                             .expert_ffn = 8,
                                             .routed_experts = 4,
                                             .shared_experts = 1,
                                             .first_dense = 1,
                                             .q_lora_rank = 8,
                                             .kv_lora_rank = 8,
                                             .qk_nope_dim = 4,
                                             .qk_rope_dim = 8,
                                             .v_head_dim = 4,
                                             .yarn_factor = 40.0f,
                                             .yarn_original_max_positions = 16.0f};
inline constexpr gpt2_config gpt2{
    .vocab = 48, .positions = 32, .hidden = 16, .layers = 2, .heads = 4};
}  // namespace fixture_types

TEST_CASE("a config.json fixture's table equals the compile-time table of the same record",
          "[hf][dsl]") {
  const auto same = [](const std::string& fixture, const auto& model) {
    INFO(fixture);
    const hf_model read = hf::read_config(fixtures / fixture);
    require_same_records(to_dynamic(layout(model, dtype_policy::f32())),
                         layout(read, dtype_policy::f32()));
  };
  same("qwen3_moe", dsl::llama<"qwen3_moe", fixture_types::qwen3_moe>{});
  same("phi3_gqa", dsl::llama<"phi3_gqa", fixture_types::phi3_gqa>{});
  same("deepseek_v3", dsl::deepseek_v3<"deepseek_v3", fixture_types::deepseek>{});
  same("gpt2", dsl::gpt2<"gpt2", fixture_types::gpt2>{});
}

TEST_CASE("published parameter counts are met exactly", "[hf][dsl]") {
  // transformers' count (parameters only; DeepSeek-V3 without its next-token-prediction layer).
  CHECK(find_model("llama3-8b").parameter_count() == 8'030'261'248);
  CHECK(find_model("qwen3-8b").parameter_count() == 8'190'735'360);
  CHECK(find_model("qwen3-30b-a3b").parameter_count() == 30'532'122'624);
  CHECK(find_model("gemma-7b").parameter_count() == 8'537'680'896);
  CHECK(find_model("phi3-mini").parameter_count() == 3'821'079'552);
  CHECK(find_model("deepseek-v3").parameter_count() == 671'026'404'352);
  // The published configs in tests/data/configs read to the same models.
  const fs::path configs = fs::path(BLUEPRINT_SOURCE_DIR) / "tests" / "data" / "configs";
  const std::map<std::string, std::uint64_t> published = {
      {"Llama-3.1-8B-Instruct", 8'030'261'248},  {"Qwen3-8B", 8'190'735'360},
      {"Qwen3-30B-A3B", 30'532'122'624},         {"gemma-7b", 8'537'680'896},
      {"Phi-3-mini-4k-instruct", 3'821'079'552}, {"DeepSeek-V3", 671'026'404'352}};
  for (const auto& [name, count] : published) {
    INFO(name);
    const hf_model model = hf::read_config(configs / name / "config.json");
    CHECK(layout(model, dtype_policy::bf16()).parameter_count() == count);
  }
}

TEST_CASE("every save_pretrained fixture loads with no missing or unexpected tensor, bit for bit",
          "[hf][checkpoint]") {
  const nlohmann::json manifest = nlohmann::json::parse(slurp(fixtures / "manifest.json"));
  REQUIRE(manifest["fixtures"].size() >= 12);
  for (const std::string& name : fixture_names()) {
    INFO(name);
    const hf_model model = hf::read_config(fixtures / name);
    CHECK(model.model_type == manifest["fixtures"][name]["model_type"].get<std::string>());
    const dynamic_layout l = layout(model, dtype_policy::f32());
    CHECK(l.parameter_count() == manifest["fixtures"][name]["parameters"].get<std::uint64_t>());
    const load_report report = verify_checkpoint(l, (fixtures / name).string());
    CHECK(report.clean());
    materialized_model loaded =
        materialize(l, cpu{}, {.source = checkpoint{.path = (fixtures / name).string()}});
    const auto files = raw_tensors(fixtures / name / "model.safetensors");
    for (const auto& [tensor, bytes] : files) {
      INFO(tensor);
      REQUIRE(loaded.contains(tensor));
      const tensor_view v = loaded[tensor];
      REQUIRE(v.bytes == bytes.size());
      CHECK(std::memcmp(v.data, bytes.data(), bytes.size()) == 0);
    }
  }
}

TEST_CASE("rotary inv_freq equals transformers' buffer bit for bit (default, llama3, yarn)",
          "[hf][rope]") {
  int compared = 0;
  for (const std::string& name : fixture_names()) {
    INFO(name);
    const auto buffers = raw_tensors(fixtures / name / "buffers.safetensors");
    const hf_model model = hf::read_config(fixtures / name);
    const materialized_model made = materialize(layout(model, dtype_policy::f32()), cpu{});
    for (const auto& [buffer, bytes] : buffers) {
      if (buffer.find("inv_freq") == std::string::npos) continue;
      INFO(buffer);
      REQUIRE(made.contains(buffer));
      const tensor_view v = made[buffer];
      REQUIRE(v.bytes == bytes.size());
      std::vector<float> ours(v.numel()), theirs(v.numel());
      std::memcpy(ours.data(), v.data, v.bytes);
      std::memcpy(theirs.data(), bytes.data(), bytes.size());
      for (std::size_t i = 0; i < ours.size(); ++i) {
        INFO("element " << i);
        CHECK(std::memcmp(&ours[i], &theirs[i], 4) == 0);
      }
      ++compared;
    }
  }
  CHECK(compared >= 12);
}

TEST_CASE("published configs' rotary buffers equal transformers' bit for bit", "[hf][rope]") {
  // tests/data/hf/rope_reference.safetensors: inv_freq of transformers' rotary modules built
  // from tests/data/configs (default rope at theta 1e4 and 1e6, llama3, yarn).
  const auto reference = raw_tensors(fixtures / "rope_reference.safetensors");
  REQUIRE(reference.size() == 6);
  const fs::path configs = fs::path(BLUEPRINT_SOURCE_DIR) / "tests" / "data" / "configs";
  for (const auto& [name, bytes] : reference) {
    INFO(name);
    const dynamic_layout l = layout(hf::read_config(configs / name), dtype_policy::f32());
    const placed_tensor& t = l.tensors()[*l.find("model.rotary_emb.inv_freq")];
    REQUIRE(t.numel() * 4 == bytes.size());
    for (std::uint64_t i = 0; i < t.numel(); ++i) {
      INFO("element " << i);
      const float ours = sample_element(t.init, 0, t.id(), i);
      CHECK(std::memcmp(&ours, bytes.data() + 4 * i, 4) == 0);
    }
  }
}

TEST_CASE("the embedding row at pad_token_id starts at zero, the other rows keep their values",
          "[hf][init]") {
  for (const char* name : {"phi3", "qwen3", "llama"}) {
    INFO(name);
    const hf_model model = hf::read_config(fixtures / name);
    const std::int64_t pad = std::get<dsl::llama_config>(model.config).pad_token;
    REQUIRE(pad >= 0);
    const dynamic_layout l = layout(model, dtype_policy::f32());
    const materialized_model made = materialize(l, cpu{}, {.source = init{.seed = 11}});
    const tensor_view e = made["model.embed_tokens.weight"];
    const std::uint64_t dim = e.shape[1];
    std::uint64_t nonzero_elsewhere = 0;
    for (std::uint64_t i = 0; i < e.numel(); ++i) {
      if (i / dim == static_cast<std::uint64_t>(pad))
        CHECK(e.at(i) == 0.0f);
      else
        nonzero_elsewhere += e.at(i) != 0.0f;
    }
    CHECK(nonzero_elsewhere > e.numel() - 2 * dim);
    // transformers' file has the row zero too.
    const auto files = raw_tensors(fixtures / name / "model.safetensors");
    const std::string& row = files.at("model.embed_tokens.weight");
    for (std::uint64_t i = 0; i < dim; ++i) {
      float x;
      std::memcpy(&x, row.data() + (pad * dim + i) * 4, 4);
      CHECK(x == 0.0f);
    }
    // The same elements as without a pad row everywhere else: the values depend on the
    // global index only.
    hf_model unpadded = model;
    std::get<dsl::llama_config>(unpadded.config).pad_token = -1;
    const materialized_model plain =
        materialize(layout(unpadded, dtype_policy::f32()), cpu{}, {.source = init{.seed = 11}});
    const tensor_view p = plain["model.embed_tokens.weight"];
    for (std::uint64_t i = 0; i < e.numel(); ++i)
      if (i / dim != static_cast<std::uint64_t>(pad)) CHECK(e.at(i) == p.at(i));
  }
}

TEST_CASE("older and newer transformers keys read to the same model", "[hf][config]") {
  const hf_model newer = hf::read_config(fixtures / "llama3");
  const hf_model older = edited_fixture("llama3", [](nlohmann::json& j) {
    nlohmann::json rope = j["rope_parameters"];
    j["rope_theta"] = rope["rope_theta"];
    rope.erase("rope_theta");
    rope["type"] = rope["rope_type"];
    rope.erase("rope_type");
    j["rope_scaling"] = rope;
    j.erase("rope_parameters");
    j["torch_dtype"] = j["dtype"];
    j.erase("dtype");
  });
  require_same_records(layout(newer, dtype_policy::f32()), layout(older, dtype_policy::f32()));
  CHECK(hf::declared_dtype(newer) == hf::declared_dtype(older));
  const auto& c = std::get<dsl::llama_config>(older.config);
  CHECK(c.rope_theta == 500000.0f);
  CHECK(c.rope_llama3_factor == 8.0f);
  CHECK(c.rope_original_max_positions == 16.0f);
  // Absent keys take transformers' defaults: a Mixtral config without rope_theta has 1e6.
  const hf_model mixtral = edited_fixture("mixtral", [](nlohmann::json& j) {
    j.erase("rope_parameters");
    j.erase("rope_theta");
    j.erase("num_key_value_heads");
    j["num_attention_heads"] = 8;
  });
  CHECK(std::get<dsl::llama_config>(mixtral.config).rope_theta == 1e6f);
  CHECK(std::get<dsl::llama_config>(mixtral.config).kv_heads == 8);  // MixtralConfig's default
}

TEST_CASE("config.json errors name the file, the key, the value and what is supported",
          "[hf][config]") {
  const auto fails = [](const std::string& fixture, const std::function<void(nlohmann::json&)>& f,
                        const std::vector<std::string>& parts) {
    try {
      (void)edited_fixture(fixture, f);
      FAIL("accepted");
    } catch (const std::invalid_argument& e) {
      const std::string what = e.what();
      INFO(what);
      CHECK(what.find(fixture + "/config.json") != std::string::npos);
      for (const std::string& p : parts) CHECK(what.find(p) != std::string::npos);
    }
  };
  fails("llama", [](nlohmann::json& j) { j["model_type"] = "mamba"; },
        {"model_type", "\"mamba\"", "qwen3_moe", "deepseek_v3"});
  fails("llama", [](nlohmann::json& j) { j.erase("model_type"); }, {"model_type", "missing"});
  fails("llama",
        [](nlohmann::json& j) {
          j["rope_parameters"] = {{"rope_type", "longrope"}, {"rope_theta", 1e4}};
        },
        {"rope_type", "longrope", "default, llama3"});
  fails("qwen3_moe", [](nlohmann::json& j) { j["mlp_only_layers"] = {0}; },
        {"mlp_only_layers", "[0]", "only []"});
  fails("llama", [](nlohmann::json& j) { j["num_key_value_heads"] = 3; },
        {"num_key_value_heads must divide num_attention_heads"});
  fails("llama", [](nlohmann::json& j) { j["hidden_size"] = "wide"; },
        {"hidden_size", "\"wide\"", "integer"});
  fails("llama", [](nlohmann::json& j) { j["dtype"] = "int4"; }, {"dtype", "int4", "bfloat16"});
  fails("gpt2", [](nlohmann::json& j) { j["tie_word_embeddings"] = false; },
        {"tie_word_embeddings", "not supported"});
  fails("phi3", [](nlohmann::json& j) { j["partial_rotary_factor"] = 0.5; },
        {"partial_rotary_factor", "0.5"});
  fails("deepseek_v3", [](nlohmann::json& j) { j["rope_parameters"]["rope_type"] = "dynamic"; },
        {"rope_type", "dynamic", "default, yarn"});
  CHECK_THROWS_WITH(hf::parse_config("{not json", "x/config.json", "x"),
                    Catch::Contains("x/config.json") && Catch::Contains("not valid JSON"));
  CHECK_THROWS_WITH(hf::read_config(fixtures / "no-such-model"),
                    Catch::Contains("no-such-model") && Catch::Contains("config.json"));
}

TEST_CASE("a saved model carries a config.json transformers reads back to the same model",
          "[hf][save]") {
  const fs::path dir = test::scratch_dir("hf", "save");
  for (const std::string& source : {std::string("builtin"), std::string("fixture")}) {
    INFO(source);
    const hf_model model = source == "builtin" ? find_model("tiny-qwen3-moe").model()
                                               : hf::read_config(fixtures / "gemma2");
    const dynamic_layout l = layout(model, dtype_policy::bf16());
    const materialized_model made = materialize(l, cpu{}, {.source = init{.seed = 3}});
    const fs::path out = dir / source;
    save_options options{.max_shard_size = 4'000};  // sharded: an index with total_parameters
    options.extra_files = {{"config.json", hf::config_json_for(model, dtype::bf16)}};
    if (!model.generation_config_json.empty())
      options.extra_files.emplace("generation_config.json", model.generation_config_json);
    (void)save(made, out.string(), options);
    const hf_model back = hf::read_config(out);
    CHECK(back.model_type == model.model_type);
    CHECK(hf::declared_dtype(back) == dtype::bf16);
    const nlohmann::json saved = nlohmann::json::parse(slurp(out / "config.json"));
    CHECK(saved["torch_dtype"] == "bfloat16");
    CHECK(saved["dtype"] == "bfloat16");
    require_same_records(layout(back, dtype_policy::bf16()), l);
    CHECK(verify_checkpoint(layout(back, dtype_policy::bf16()), out.string()).clean());
    const nlohmann::json index = nlohmann::json::parse(slurp(out / "model.safetensors.index.json"));
    CHECK(index["metadata"]["total_parameters"].get<std::uint64_t>() == l.parameter_count());
    CHECK(fs::exists(out / "generation_config.json") == !model.generation_config_json.empty());
  }
}
