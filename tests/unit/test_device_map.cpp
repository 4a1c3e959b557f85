// Device maps (codegen/device_map.hpp, runtime/device_map.hpp): placement against budgets,
// pinned maps and their errors, the KV reserve against hand-computed bytes, GPU budgets
// planned without a GPU, and host + disk tiers bit-exact against a plain load or init.
#include <catch2/catch.hpp>

#include "../support/scratch.hpp"

#include <sys/stat.h>

#include <cstring>
#include <filesystem>
#include <set>
#include <string>

#include <blueprint/runtime/device_map.hpp>
#include <blueprint/runtime/device_map_report.hpp>
#include <blueprint/runtime/model_entry.hpp>
#include <blueprint/runtime/registry.hpp>
#include <blueprint/runtime/save_model.hpp>

using namespace blueprint;
namespace fs = std::filesystem;

namespace {

constexpr std::uint64_t MiB = 1ull << 20;

/// An 8-layer llama small enough for the loads, large enough for several devices.
hf_model eight_layer_llama(bool tied = false) {
  hf_model m;
  m.name = tied ? "map-llama-tied" : "map-llama";
  m.model_type = "llama";
  m.config = dsl::llama_config{.vocab = 512,
                               .hidden = 128,
                               .layers = 8,
                               .heads = 4,
                               .kv_heads = 2,
                               .ffn = 256,
                               .tied = tied};
  return m;
}

std::uint64_t unit_bytes(const dynamic_layout& l, std::string_view prefix) {
  std::uint64_t n = 0;
  for (const placed_tensor& t : l.tensors())
    if (detail::prefix_covers(prefix, t.name())) n += align_up(t.bytes, l.options.alignment);
  return n;
}

device_ref device_of_entry(const device_map_plan& p, std::string_view prefix) {
  for (const map_entry& e : p.entries)
    if (e.prefix == prefix) return e.device;
  FAIL("no entry " << prefix);
  return {};
}

std::uint64_t largest_unit(const dynamic_layout& l) {
  std::uint64_t n = 0;
  for (const detail::placement_unit& u : detail::placement_units(l))
    n = std::max(n, unit_bytes(l, u.prefix));
  return n;
}

/// Every block sits whole on one device, and units never go back to an earlier device (a tied
/// alias's entry, such as GPT-2's lm_head, follows the tensor it names).
void check_in_order_and_whole(const device_map_plan& p) {
  device_ref last = device_ref::gpu(0);
  for (const map_entry& e : p.entries) {
    bool alias = false;
    for (const tie_spec& t : p.layout.ties())
      alias = alias || detail::placement_unit_of(t.name(), -1) == e.prefix;
    if (alias) continue;
    CHECK(e.device >= last);
    last = e.device;
  }
  for (std::size_t i = 0; i < p.layout.size(); ++i) {
    const placed_tensor& t = p.layout.tensors()[i];
    const std::string_view unit = detail::placement_unit_of(t.name(), t.spec.block);
    CHECK(p.tensor_devices[i] == device_of_entry(p, unit));
  }
}

}  // namespace

TEST_CASE("device_map auto fills the GPUs in order, then the host, within the budgets",
          "[device_map]") {
  const dynamic_layout l = layout(eight_layer_llama(), dtype_policy::bf16());
  const std::uint64_t block = unit_bytes(l, "model.layers.0");
  const std::uint64_t embed = unit_bytes(l, "model.embed_tokens");
  // GPU 0 takes the embedding and two blocks; GPU 1 three blocks; the rest goes to the cpu.
  const device_map_plan p =
      device_map(l, {.strategy = placement_strategy::sequential,
                     .max_memory = {{device_ref::gpu(0), embed + 2 * block + block / 2},
                                    {device_ref::gpu(1), 3 * block + block / 2}}});
  check_in_order_and_whole(p);
  CHECK(device_of_entry(p, "model.embed_tokens") == device_ref::gpu(0));
  CHECK(device_of_entry(p, "model.layers.1") == device_ref::gpu(0));
  CHECK(device_of_entry(p, "model.layers.2") == device_ref::gpu(1));
  CHECK(device_of_entry(p, "model.layers.4") == device_ref::gpu(1));
  CHECK(device_of_entry(p, "model.layers.5") == device_ref::cpu());
  CHECK(device_of_entry(p, "lm_head") == device_ref::cpu());
  std::uint64_t total = 0;
  for (const device_usage& u : p.devices) {
    total += u.weight_bytes;
    if (u.budget != unlimited_bytes) CHECK(u.used() <= u.budget);
  }
  CHECK(total == l.total_bytes());  // every tensor placed once, alignment as in the layout
  CHECK(p.usage(device_ref::gpu(0))->weight_bytes == embed + 2 * block);
  // The tier programs hold exactly those bytes.
  for (const device_usage& u : p.devices)
    CHECK(p.program_for(u.device).arena_bytes == u.weight_bytes);

  // auto: when units are offloaded, GPU 0 keeps room for the largest unit (they run there).
  const device_map_plan a =
      device_map(l, {.max_memory = {{device_ref::gpu(0), embed + 2 * block + block / 2},
                                    {device_ref::gpu(1), 3 * block + block / 2}}});
  check_in_order_and_whole(a);
  const std::uint64_t largest = largest_unit(l);
  CHECK(a.usage(device_ref::gpu(0))->weight_bytes + largest <= a.usage(device_ref::gpu(0))->budget);
}

TEST_CASE("device_map balanced gives the GPUs equal shares", "[device_map]") {
  const dynamic_layout l = layout(eight_layer_llama(), dtype_policy::bf16());
  const device_map_options big{
      .max_memory = {{device_ref::gpu(0), 1ull << 40}, {device_ref::gpu(1), 1ull << 40}}};
  const device_map_plan in_order = device_map(l, big);
  CHECK(in_order.usage(device_ref::gpu(1))->tensors == 0);  // all of it fits GPU 0
  device_map_options even = big;
  even.strategy = placement_strategy::balanced;
  const device_map_plan b = device_map(l, even);
  check_in_order_and_whole(b);
  const std::uint64_t g0 = b.usage(device_ref::gpu(0))->weight_bytes;
  const std::uint64_t g1 = b.usage(device_ref::gpu(1))->weight_bytes;
  const std::uint64_t largest = largest_unit(l);
  CHECK(g0 + g1 == l.total_bytes());
  CHECK((g0 > g1 ? g0 - g1 : g1 - g0) <= 2 * largest);
  CHECK(g1 > 0);
}

TEST_CASE("device_map keeps tied tensors together on the first device that holds either",
          "[device_map]") {
  const dynamic_layout l = layout(eight_layer_llama(/*tied=*/true), dtype_policy::bf16());
  REQUIRE(l.ties().size() == 1);
  const device_map_plan p =
      device_map(l, {.pinned = {{"lm_head", device_ref::gpu(0)}, {"model", device_ref::cpu()}}});
  CHECK(p.where("model.embed_tokens.weight") == device_ref::gpu(0));
  CHECK(p.where("lm_head.weight") == device_ref::gpu(0));
  CHECK(device_of_entry(p, "lm_head") == device_ref::gpu(0));
  CHECK(device_of_entry(p, "model.embed_tokens") == device_ref::gpu(0));
  CHECK(p.usage(device_ref::gpu(0))->weight_bytes == unit_bytes(l, "model.embed_tokens"));
  // The other way round: the alias follows the stored tensor's earlier device.
  const device_map_plan q =
      device_map(l, {.pinned = {{"lm_head", device_ref::disk()}, {"", device_ref::cpu()}}});
  CHECK(q.where("lm_head.weight") == device_ref::cpu());
  CHECK(q.usage(device_ref::disk())->tensors == 0);
}

TEST_CASE("device_map places MoE blocks whole and tied GPT-2 heads with their embedding",
          "[device_map]") {
  for (const char* name : {"tiny-mixtral", "tiny-qwen3-moe", "tiny-deepseek-v3", "tiny-gpt2",
                           "tiny-gemma", "mixtral-8x7b", "llama3-70b"}) {
    CAPTURE(name);
    const dynamic_layout l = find_model(name).make_layout(dtype_policy::bf16());
    // Two pretend GPUs of a third of the model each, the rest on the host.
    const std::uint64_t third = l.total_bytes() / 3;
    const device_map_plan p =
        device_map(l, {.max_memory = {{device_ref::gpu(0), third}, {device_ref::gpu(1), third}}});
    check_in_order_and_whole(p);
    for (const tie_spec& t : l.ties()) CHECK(p.where(t.name()) == p.where(t.target_name()));
    std::uint64_t total = 0;
    for (const device_usage& u : p.devices) total += u.weight_bytes;
    CHECK(total == l.total_bytes());
    CHECK(p.usage(device_ref::gpu(0))->used() <= third);
  }
}

TEST_CASE("device_map reserves the KV cache the config asks for, per layer on its device",
          "[device_map]") {
  // Llama 3 8B: 8 KV heads of 128, bf16: 2 * 8 * 128 * 2 bytes = 4 KiB per token per layer.
  const hf_model m = find_model("llama3-8b").model();
  CHECK(kv_cache_elements_per_token_layer(m.config) == 2 * 8 * 128);
  CHECK(kv_cache_elements_per_token_layer(find_model("gpt2").model().config) == 2 * 768);
  // DeepSeek-V3 caches K of 128 + 64 and V of 128 for each of its 128 heads.
  CHECK(kv_cache_elements_per_token_layer(find_model("deepseek-v3").model().config) ==
        128 * (128 + 64 + 128));
  const dynamic_layout l = layout(m, dtype_policy::bf16());
  const std::uint64_t per_layer = 2ull * 8 * 128 * 32768 * 2;  // 128 MiB at 32768 tokens
  CHECK(per_layer == 128 * MiB);
  const device_map_plan p = device_map(
      l, {.max_memory = {{device_ref::gpu(0), 8ull << 30}, {device_ref::gpu(1), 16ull << 30}},
          .gpu_reserve_bytes = 512 * MiB,
          .reserve_kv_tokens = 32768,
          .kv_cache = {kv_cache_elements_per_token_layer(m.config)}});
  CHECK(p.kv_bytes_per_layer == per_layer);
  std::uint32_t layers = 0;
  for (const device_usage& u : p.devices) {
    CHECK(u.kv_bytes == u.layers * per_layer);
    layers += u.layers;
    if (u.device.tier == device_tier::gpu) {
      CHECK(u.reserve_bytes == 512 * MiB);
      CHECK(u.used() <= u.budget);
    }
  }
  CHECK(layers == 32);
  // Layers on GPU 0 = those whose blocks it holds.
  std::set<std::int32_t> blocks_on_0;
  for (std::size_t i = 0; i < l.size(); ++i)
    if (p.tensor_devices[i] == device_ref::gpu(0) && l.tensors()[i].spec.block >= 0)
      blocks_on_0.insert(l.tensors()[i].spec.block);
  CHECK(p.usage(device_ref::gpu(0))->layers == blocks_on_0.size());
  CHECK_THROWS_WITH(device_map(l, {.reserve_kv_tokens = 16}), Catch::Contains("KV-cache shape"));
}

TEST_CASE("device_map errors name the unit, the prefix and the bytes", "[device_map]") {
  const dynamic_layout l = layout(eight_layer_llama(), dtype_policy::bf16());
  const std::uint64_t block = unit_bytes(l, "model.layers.0");
  // Everything must fit a budgeted cpu; the first unit that does not is named with its bytes.
  try {
    (void)device_map(l, {.max_memory = {{device_ref::cpu(), 3 * block}}});
    FAIL("expected an error");
  } catch (const device_map_error& e) {
    const std::string what = e.what();
    CHECK_THAT(what, Catch::Contains("'model.layers.2'") || Catch::Contains("'model.layers.1'"));
    CHECK_THAT(what, Catch::Contains("missing on cpu"));
    CHECK_THAT(what, Catch::Contains("offload dir"));
  }
  CHECK_THROWS_WITH(device_map(l, {.pinned = {{"model.layer.3", device_ref::cpu()}}}),
                    Catch::Contains("'model.layer.3' matches no tensor"));
  // A prefix is a module path: "model.layers.1" does not cover model.layers.10.
  CHECK_THROWS_WITH(device_map(l, {.pinned = {{"model.layers.1", device_ref::cpu()},
                                              {"model.layers.1", device_ref::disk()}}}),
                    Catch::Contains("given twice"));
  CHECK_THROWS_WITH(
      device_map(l, {.max_memory = {{device_ref::gpu(0), block / 4}},
                     .pinned = {{"model.embed_tokens", device_ref::gpu(0)}}}),
      Catch::Contains("pinned tensor 'model.embed_tokens.weight' does not fit on cuda:0"));
  CHECK_THROWS_WITH(
      device_map(l, {.max_memory = {{device_ref::gpu(0), MiB}}, .gpu_reserve_bytes = 2 * MiB}),
      Catch::Contains("larger than cuda:0's budget"));
  CHECK_THROWS_WITH(parse_device(""), Catch::Contains("expected a GPU index"));
  CHECK_THROWS_WITH(parse_device("cuda:x"), Catch::Contains("cuda:x"));
}

TEST_CASE("device_map pins finer prefixes than a block; the rest follows the strategy",
          "[device_map]") {
  const dynamic_layout l = layout(eight_layer_llama(), dtype_policy::bf16());
  const device_map_plan p = device_map(
      l, {.max_memory = {{device_ref::gpu(0), 1ull << 40}},
          .pinned = {{"model.layers.3.mlp", device_ref::cpu()}, {"lm_head", device_ref::disk()}}});
  CHECK(p.where("model.layers.3.mlp.up_proj.weight") == device_ref::cpu());
  CHECK(p.where("model.layers.3.self_attn.q_proj.weight") == device_ref::gpu(0));
  CHECK(p.where("lm_head.weight") == device_ref::disk());
  CHECK(device_of_entry(p, "model.layers.3.mlp.up_proj") == device_ref::cpu());
  CHECK(device_of_entry(p, "model.layers.3.self_attn.q_proj") == device_ref::gpu(0));
  CHECK(device_of_entry(p, "model.layers.4") == device_ref::gpu(0));
}

TEST_CASE("device map requests parse like transformers' device_map values", "[device_map]") {
  CHECK(parse_device_map_request("balanced").strategy == placement_strategy::balanced);
  CHECK(parse_device_map_request("disk").pinned ==
        std::vector<std::pair<std::string, device_ref>>{{"", device_ref::disk()}});
  const device_map_request r = parse_device_map_request(
      R"({"model.layers.30": "cpu", "lm_head": "disk", "model.embed_tokens": 1})");
  REQUIRE(r.pinned.size() == 3);
  CHECK(r.pinned[0] == std::pair<std::string, device_ref>{"lm_head", device_ref::disk()});
  CHECK(r.pinned[1] ==
        std::pair<std::string, device_ref>{"model.embed_tokens", device_ref::gpu(1)});
  CHECK_THROWS_WITH(parse_device_map_request("{\"lm_head\": true}"), Catch::Contains("lm_head"));
  CHECK_THROWS_WITH(parse_device_map_request("{nope"), Catch::Contains("not valid JSON"));
  CHECK_THROWS_WITH(parse_device_map_request("gpu"), Catch::Contains("expected auto"));
  // The report's hf_device_map reads back as the same placement.
  const dynamic_layout l = layout(eight_layer_llama(), dtype_policy::bf16());
  const device_map_plan p =
      device_map(l, {.max_memory = {{device_ref::gpu(0), l.total_bytes() / 2}}});
  const device_map_request back = parse_device_map_request(to_json(p)["hf_device_map"].dump());
  const device_map_plan q = device_map(l, {.pinned = back.pinned});
  CHECK(q.tensor_devices == p.tensor_devices);
  CHECK_THAT(to_string(p), Catch::Contains("cuda:0"));
}

TEST_CASE("Init under a device map is bit-identical to the one-device model", "[device_map]") {
  const dynamic_layout l = layout(eight_layer_llama(/*tied=*/true), dtype_policy::bf16());
  const fs::path dir = test::scratch_dir("device_map", "init_offload");
  const materialized_model whole = materialize(l, cpu{}, {.source = init{.seed = 11}});
  const device_map_plan p = device_map(
      l, {.max_memory = {{device_ref::cpu(), l.total_bytes() / 2}}, .offload_dir = dir.string()});
  REQUIRE(p.uses(device_tier::disk));
  std::string offload;
  {
    const mapped_model m = materialize(p, {.source = init{.seed = 11}, .poison = true});
    CHECK(m.fingerprint() == whole.fingerprint());
    offload = m.offload_file();
    REQUIRE(fs::exists(offload));
    for (const placed_tensor& t : l.tensors()) {
      const mapped_view v = m[t.name()];
      CHECK(v.where() == p.where(t.name()));
      REQUIRE(v.bytes == t.bytes);
      CHECK(std::memcmp(v.data, whole[t.name()].data, t.bytes) == 0);
    }
    CHECK(m["lm_head.weight"].data == m["model.embed_tokens.weight"].data);
    // The offload file is a safetensors file of those tensors, readable by the reader.
    const checkpoint_files f = open_checkpoint(offload);
    CHECK(f.tensors.size() == p.tensors_on(device_ref::disk()).size());
    CHECK(f.files[0].header.data_start % 4096 == 0);
  }
  CHECK_FALSE(fs::exists(offload));  // removed with the model
}

TEST_CASE("Loads under a device map read each tensor once, cast, and equal a plain load",
          "[device_map][checkpoint]") {
  const hf_model hm = eight_layer_llama();
  const fs::path ckpt = test::scratch_dir("device_map", "load_ckpt");
  const fs::path off = test::scratch_dir("device_map", "load_offload");
  (void)save(materialize(layout(hm, dtype_policy::f32()), cpu{}, {.source = init{.seed = 3}}),
             ckpt.string());

  SECTION("cast on the way: host and offload file") {
    const dynamic_layout l = layout(hm, dtype_policy::bf16());
    const materialized_model plain =
        materialize(l, cpu{}, {.source = checkpoint{.path = ckpt.string()}});
    const device_map_plan p = device_map(
        l, {.pinned = {{"model.layers.0", device_ref::disk()}, {"lm_head", device_ref::disk()}},
            .offload_dir = off.string()});
    const mapped_model m =
        materialize(p, {.source = checkpoint{.path = ckpt.string()}, .poison = true});
    CHECK(m.fingerprint() == plain.fingerprint());
    CHECK(m.in_place_bytes() == 0);  // f32 file, bf16 model: every byte cast, none in place
    REQUIRE(m.load_report() != nullptr);
    CHECK(m.load_report()->bytes_read == plain.load_report()->bytes_read);
    CHECK(m.load_report()->loaded == plain.load_report()->loaded);
    for (const placed_tensor& t : l.tensors())
      CHECK(std::memcmp(m[t.name()].data, plain[t.name()].data, t.bytes) == 0);
  }
  SECTION("same dtype: disk tensors are views of the checkpoint file, no copy") {
    const dynamic_layout l = layout(hm, dtype_policy::f32());
    const materialized_model plain =
        materialize(l, cpu{}, {.source = checkpoint{.path = ckpt.string()}});
    const device_map_plan p = device_map(l, {.pinned = {{"model.layers", device_ref::disk()}}});
    const mapped_model m = materialize(p, {.source = checkpoint{.path = ckpt.string()}});
    CHECK(m.fingerprint() == plain.fingerprint());
    CHECK(m.offload() == nullptr);  // nothing written: no offload dir was needed
    const mapped_view v = m["model.layers.5.mlp.down_proj.weight"];
    CHECK(v.in_place);
    CHECK(v.where() == device_ref::disk());
    CHECK(std::memcmp(v.data, plain["model.layers.5.mlp.down_proj.weight"].data, v.bytes) == 0);
    // A GPU-less map whose host tensors are all in their dtype serves them in place too.
    CHECK(m["model.norm.weight"].in_place);
    CHECK(m["model.norm.weight"].where() == device_ref::cpu());
    device_map_options disk_only{.pinned = {{"model.layers", device_ref::disk()}}};
    disk_only.in_place = in_place_policy::disk_only;
    const mapped_model copy_host =
        materialize(device_map(l, disk_only), {.source = checkpoint{.path = ckpt.string()}});
    CHECK_FALSE(copy_host["model.norm.weight"].in_place);
    CHECK(copy_host["model.layers.5.mlp.down_proj.weight"].in_place);
    CHECK(copy_host.fingerprint() == plain.fingerprint());
    // --device-map disk: the whole model in place.
    const mapped_model all = materialize(device_map(l, {.pinned = {{"", device_ref::disk()}}}),
                                         {.source = checkpoint{.path = ckpt.string()}});
    CHECK(all.fingerprint() == plain.fingerprint());
    // The rotary buffer is computed, never saved: it stays on the host, the rest is in place.
    CHECK(all.where("model.rotary_emb.inv_freq") == device_ref::cpu());
    REQUIRE(all.host() != nullptr);
    CHECK(all.host()->program().tensors.size() == 1);
    CHECK(all.in_place_bytes() + l.tensors()[*l.find("model.rotary_emb.inv_freq")].bytes ==
          l.tensor_bytes());
  }
  SECTION("partial checkpoint: init_missing fills the gaps on their tier") {
    const dynamic_layout l = layout(hm, dtype_policy::bf16());
    // A checkpoint without layer 7: saved from a map-less plain model, then one file's
    // tensor dropped by re-saving a model with fewer layers.
    hf_model seven = hm;
    std::get<dsl::llama_config>(seven.config).layers = 7;
    seven.name = "map-llama";
    const fs::path part = test::scratch_dir("device_map", "partial_ckpt");
    (void)save(materialize(layout(seven, dtype_policy::f32()), cpu{}, {.source = init{.seed = 3}}),
               part.string());
    const checkpoint src{.path = part.string(), .missing = init_missing};
    const materialized_model plain = materialize(l, cpu{}, {.source = src});
    const device_map_plan p = device_map(
        l, {.pinned = {{"model.layers.7", device_ref::disk()}}, .offload_dir = off.string()});
    const mapped_model m = materialize(p, {.source = src, .poison = true});
    CHECK(m.fingerprint() == plain.fingerprint());
    CHECK(m.offload() != nullptr);
  }
}

TEST_CASE("A GPU-less map whose host tensors are all in their target dtype is served in place",
          "[device_map][checkpoint]") {
  const dynamic_layout l = find_model("tiny-gpt2").make_layout(dtype_policy::f32());
  const fs::path ckpt = test::scratch_dir("device_map", "host_in_place");
  const materialized_model original = materialize(l, cpu{}, {.source = init{.seed = 8}});
  (void)save(original, ckpt.string());
  const mapped_model m = materialize(device_map(l), {.source = checkpoint{.path = ckpt.string()}});
  CHECK(m.fingerprint() == original.fingerprint());
  std::uint64_t persistent = 0;
  for (const placed_tensor& t : l.tensors())
    if (t.spec.persistent) persistent += t.bytes;
  CHECK(m.in_place_bytes() == persistent);  // every saved tensor: a view of the file
  CHECK(m["transformer.h.1.mlp.c_fc.weight"].in_place);
  // A bf16 model from the f32 file cannot be: the host tier is one arena, cast.
  const dynamic_layout half = find_model("tiny-gpt2").make_layout(dtype_policy::bf16());
  const mapped_model cast =
      materialize(device_map(half), {.source = checkpoint{.path = ckpt.string()}});
  CHECK(cast.in_place_bytes() == 0);
  CHECK(cast.fingerprint() ==
        materialize(half, cpu{}, {.source = checkpoint{.path = ckpt.string()}}).fingerprint());
  device_map_options keep{};
  keep.in_place = in_place_policy::never;
  const mapped_model copied =
      materialize(device_map(l, keep), {.source = checkpoint{.path = ckpt.string()}});
  CHECK(copied.fingerprint() == original.fingerprint());
  CHECK(copied.in_place_bytes() == 0);
}

TEST_CASE("A map with GPU tiers is refused by the CPU build before anything is allocated",
          "[device_map]") {
  const dynamic_layout l = layout(eight_layer_llama(), dtype_policy::bf16());
  const device_map_plan p =
      device_map(l, {.max_memory = {{device_ref::gpu(0), l.total_bytes() / 2}}});
  CHECK(p.uses(device_tier::gpu));
  CHECK_THROWS_WITH(materialize(p, {}),
                    Catch::Contains("GPU tiers need the CUDA build") && Catch::Contains("cuda:0"));
}
