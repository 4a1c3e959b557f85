// Interop with the official Python `safetensors` package, both ways (issue 6, "Interop").
//
// tests/python/make_safetensors_interop.py (a CTest fixture of the `unit` test) writes
// checkpoints with `safetensors.numpy.save_file` and the bytes each tensor must have once loaded;
// we load them and compare bit for bit. In the other direction we save checkpoints plus a raw
// dump of what they must hold, and tests/python/check_blueprint_save.py (which requires the
// `unit` test) reads them with the Python package and compares.
#include <catch2/catch.hpp>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <blueprint/kernels/fill.hpp>
#include <blueprint/runtime/load.hpp>
#include <blueprint/runtime/registry.hpp>
#include <blueprint/runtime/save.hpp>
#include "../support/load_at.hpp"

namespace fs = std::filesystem;
using namespace blueprint;

namespace {

const fs::path interop_root = fs::path(BLUEPRINT_TEST_DATA_DIR) / "safetensors_interop";

std::vector<char> slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

nlohmann::json read_json(const fs::path& p) {
  std::ifstream in(p);
  return nlohmann::json::parse(in);
}

}  // namespace

TEST_CASE("checkpoints written by the Python safetensors package load bit for bit",
          "[checkpoint][interop]") {
  INFO("written by tests/python/make_safetensors_interop.py (the CTest fixture of `unit`)");
  REQUIRE(fs::exists(interop_root / "cases.json"));
  const nlohmann::json cases = read_json(interop_root / "cases.json");
  REQUIRE(cases.size() == 3);
  for (const auto& c : cases) {
    const std::string name = c.get<std::string>();
    const nlohmann::json manifest = read_json(interop_root / (name + ".manifest.json"));
    for (const auto& [target, file] : manifest["targets"].items()) {
      INFO(name << " -> " << target);
      const dtype t = *parse_dtype(target);
      const dynamic_layout l = find_model(manifest["model"].get<std::string>())
                                   .make_layout(dtype_policy::uniform(t), {});
      const program p = program_of(l);
      std::vector<std::byte> arena(p.arena_bytes, std::byte{0x5A});
      const load_report r =
          test::load_arena_at(l, p, arena, (interop_root / name).string());  // strict
      CHECK(r.clean());
      const std::vector<char> expected = slurp(interop_root / file.get<std::string>());
      std::uint64_t at = 0;
      for (const auto& entry : manifest["tensors"]) {
        const std::string tensor = entry[0].get<std::string>();
        INFO(tensor);
        const auto index = l.find(tensor);
        REQUIRE(index);
        const placed_tensor& pt = l.tensors()[*index];
        CHECK(entry[1].get<std::vector<std::uint64_t>>() ==
              std::vector<std::uint64_t>(pt.shape().begin(), pt.shape().end()));
        REQUIRE(at + pt.bytes <= expected.size());
        CHECK(std::memcmp(arena.data() + pt.offset, expected.data() + at, pt.bytes) == 0);
        at += pt.bytes;
      }
      CHECK(at == expected.size());
    }
  }
}

TEST_CASE("checkpoints we save are left with a raw reference for the Python package to check",
          "[checkpoint][interop]") {
  struct save_case {
    std::string dir, model;
    dtype_policy policy;
    std::uint64_t max_shard_size;
  };
  const std::vector<save_case> cases = {
      {"single_bf16", "tiny-llama", dtype_policy::bf16(), 5_GB},
      {"sharded_f32", "tiny-mixtral", dtype_policy::f32(), 50_KB},
      {"gpt2_mixed", "tiny-gpt2", dtype_policy::f16().norms_in_f32(), 5_GB},
      {"f8", "tiny-llama", dtype_policy::f8_e4m3fn().with("*mlp*", dtype::f8_e5m2), 20_KB},
  };
  const fs::path root = interop_root / "blueprint_saved";
  fs::remove_all(root);
  nlohmann::json list = nlohmann::json::array();
  for (const save_case& c : cases) {
    const dynamic_layout l = find_model(c.model).make_layout(c.policy, {});
    const program p = program_of(l);
    std::vector<std::byte> arena(p.arena_bytes);
    for (const segment& s : p.segments) fill_segment_range(s, 77, 0, s.count, arena.data());
    (void)save_arena(l, p, arena, (root / c.dir).string(), {.max_shard_size = c.max_shard_size});
    nlohmann::json m;
    m["tensors"] = nlohmann::json::array();
    std::ofstream bin(root / (c.dir + ".expected.bin"), std::ios::binary);
    for (const placed_tensor& t : l.tensors()) {
      if (!t.spec.persistent) continue;
      m["tensors"].push_back(
          {{"name", t.name()},
           {"dtype", dtype_safetensors_name(t.type)},
           {"shape", std::vector<std::uint64_t>(t.shape().begin(), t.shape().end())},
           {"bytes", t.bytes}});
      bin.write(reinterpret_cast<const char*>(arena.data() + t.offset),
                static_cast<std::streamsize>(t.bytes));
    }
    m["sharded"] = fs::exists(root / c.dir / "model.safetensors.index.json");
    std::ofstream(root / (c.dir + ".expected.json")) << m.dump(1);
    list.push_back(c.dir);
    // Our own reader agrees before Python looks.
    std::vector<std::byte> back(p.arena_bytes);
    (void)test::load_arena_at(l, p, back, (root / c.dir).string());
    CHECK(std::memcmp(back.data(), arena.data(), arena.size()) == 0);
  }
  std::ofstream(root / "cases.json") << list.dump();
}
