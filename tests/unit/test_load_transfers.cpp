// The GPU loader's schedule, proven on the CPU. A CUDA load packs the rank's file reads into
// staged transfers (detail::transfer_packer) and casts each with the scatter kernel, whose tile
// body is kernels/scatter.hpp's scatter_tile; the init-sourced segments go through the
// materialize kernel. Here the same transfers run on the host (pread + scatter_on_host, tile by
// tile as the kernel runs them) and must give the CPU loader's bytes exactly, for every cast,
// shard shape and packing limit. tests/gpu/test_gpu_load.cu then checks the device's bytes.
#include <catch2/catch.hpp>

#include "../support/scratch.hpp"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <blueprint/blueprint.hpp>
#include <blueprint/runtime/gpu_transfers.hpp>
#include <blueprint/runtime/registry.hpp>

using namespace blueprint;
namespace fs = std::filesystem;

namespace {

struct packing {
  std::uint64_t capacity;
  std::size_t max_pieces;
};

/// The CUDA loader's steps with host memory in place of device memory.
void load_as_the_gpu_does(const dynamic_layout& l, const program& prog,
                          std::vector<std::byte>& arena, const checkpoint_files& ckpt,
                          const checkpoint& options, packing pk,
                          std::uint64_t* transfers = nullptr) {
  const load_match match = match_checkpoint(l, ckpt, options);
  detail::prepared_load work = detail::prepare_load(l, prog, ckpt, match);
  for (const auto& j : work.fills) {
    const segment seg = detail::fill_segment_of(l, prog.segments[j.segment_index]);
    fill_segment_range(seg, options.seed.value_or(0), 0, seg.count, arena.data());
  }
  detail::transfer_packer packer(prog, std::move(work.reads), pk.capacity, pk.max_pieces);
  detail::staged_transfer t;
  // Uninitialized, as pinned staging is: only what the reads fill is touched.
  const std::unique_ptr<unsigned char[]> staging(new unsigned char[pk.capacity + 16]);
  std::uint64_t n = 0;
  while (packer.next(t)) {
    ++n;
    REQUIRE(t.data_bytes <= pk.capacity + 16);
    REQUIRE(t.pieces.size() <= pk.max_pieces);
    REQUIRE(!t.pieces.empty());
    REQUIRE(t.pieces.front().first_tile == 0);
    REQUIRE(t.pieces.back().first_tile + t.pieces.back().tiles() == t.tiles);
    for (const detail::staged_read& r : t.reads) {
      REQUIRE(r.staging_offset + r.bytes <= t.data_bytes);
      const safetensors_file& f = ckpt.files[r.file];
      detail::pread_all(f.fd.get(), staging.get() + r.staging_offset, r.bytes, r.file_offset,
                        f.path);
    }
    scatter_on_host(t.pieces.data(), static_cast<std::uint32_t>(t.pieces.size()), staging.get(),
                    arena.data());
  }
  if (transfers != nullptr) *transfers = n;
}

/// CPU loader vs the GPU's schedule on the host, for one program; both start from 0xFF so that
/// an unwritten byte shows.
void check_program(const dynamic_layout& l, const program& prog, const checkpoint_files& ckpt,
                   const checkpoint& options, packing pk) {
  std::vector<std::byte> cpu_bytes(prog.arena_bytes, std::byte{0xFF});
  std::vector<std::byte> gpu_bytes(prog.arena_bytes, std::byte{0xFF});
  (void)load_arena(l, prog, cpu_bytes, ckpt, match_checkpoint(l, ckpt, options), options);
  load_as_the_gpu_does(l, prog, gpu_bytes, ckpt, options, pk);
  // The first differing arena byte (the arena size when none): small messages on failure.
  const auto diff = std::mismatch(cpu_bytes.begin(), cpu_bytes.end(), gpu_bytes.begin());
  REQUIRE(static_cast<std::uint64_t>(diff.first - cpu_bytes.begin()) == prog.arena_bytes);
}

constexpr packing packings[] = {
    {256ull << 20, 65536},  // the default slot: whole tensors per transfer
    {4096, 65536},          // many transfers; large tensors split across them
    {1 << 16, 3},           // few pieces per transfer: column shards split by piece count
    {48, 1},                // one short piece per transfer
};

}  // namespace

TEST_CASE("every source format casts to every dtype as the CPU loader casts",
          "[checkpoint][scatter]") {
  std::mt19937_64 rng(7);
  constexpr st_dtype sources[] = {st_dtype::f64, st_dtype::f32,     st_dtype::bf16,
                                  st_dtype::f16, st_dtype::f8_e4m3, st_dtype::f8_e5m2};
  for (st_dtype s : sources) {
    const std::size_t size = st_dtype_size(s);
    // 16- and 8-bit sources: every pattern; wider ones: random patterns plus specials.
    const std::size_t n = size <= 2 ? (std::size_t{1} << (8 * size)) : 1 << 18;
    std::vector<unsigned char> src(n * size + 1);
    for (std::size_t i = 0; i < n; ++i) {
      std::uint64_t bits = size <= 2 ? i : rng();
      if (size > 2 && i < 16) bits = i % 2 ? 0 : ~std::uint64_t{0} >> (i % 5);  // 0, NaN, ±max
      std::memcpy(src.data() + 1 + i * size, &bits, size);  // +1: unaligned, as files may be
    }
    for (dtype d : all_dtypes) {
      std::vector<std::byte> loop(n * dtype_size(d)), element(n * dtype_size(d));
      detail::convert_elements(src.data() + 1, s, loop.data(), d, n);
      for (std::size_t i = 0; i < n; ++i)
        convert_source_element(detail::source_format_of(s), src.data() + 1, d, element.data(), i);
      INFO(st_dtype_name(s) << " -> " << dtype_name(d));
      CHECK(std::mismatch(loop.begin(), loop.end(), element.begin()).first - loop.begin() ==
            static_cast<std::ptrdiff_t>(loop.size()));
    }
  }
}

TEST_CASE("a whole-model load run as GPU transfers writes the CPU loader's bytes",
          "[checkpoint][scatter]") {
  const fs::path dir = test::scratch_dir("load_transfers", "whole");
  // An f32 checkpoint of tiny-llama split over files; loaded into every dtype (casts) and
  // into f32 (plain copies).
  const dynamic_layout f32 = find_model("tiny-llama").make_layout(dtype_policy::f32(), {});
  (void)save(materialize(f32, cpu{}, {.source = init{.seed = 4}}), dir.string(),
             {.max_shard_size = 60_KB});
  const checkpoint_files ckpt = open_checkpoint(dir.string());
  for (dtype d : all_dtypes) {
    const dynamic_layout l = find_model("tiny-llama").make_layout(dtype_policy::uniform(d), {});
    for (const packing& pk : packings) {
      INFO(dtype_name(d) << ", capacity " << pk.capacity << ", max pieces " << pk.max_pieces);
      check_program(l, program_of(l), ckpt, {.path = {}, .seed = 4}, pk);
    }
  }
}

TEST_CASE("every rank of every shard shape loads through GPU transfers as on the CPU",
          "[checkpoint][scatter]") {
  for (const char* model : {"tiny-gpt2", "tiny-llama", "tiny-mixtral"}) {
    const fs::path dir = test::scratch_dir("load_transfers", std::string("plans_") + model);
    const dynamic_layout bf16 = find_model(model).make_layout(dtype_policy::bf16(), {});
    (void)save(materialize(bf16, cpu{}, {.source = init{.seed = 8}}), dir.string());
    const checkpoint_files ckpt = open_checkpoint(dir.string());
    const dynamic_layout f16 = find_model(model).make_layout(dtype_policy::f16(), {});
    const bool moe = std::string(model) == "tiny-mixtral";
    const mesh meshes[] = {mesh{.tp = 2}, mesh{.tp = 4}, mesh{.pp = 2, .tp = 2},
                           moe ? mesh{.dp = 2, .ep = 2} : mesh{.dp = 3}};
    for (const mesh& m : meshes) {
      for (strategy s : {replicate, fsdp, zero3}) {
        // bf16 -> bf16 (copies) and bf16 -> f16 (casts)
        for (const dynamic_layout* l : {&bf16, &f16}) {
          const auto p = plan(*l, m, s);
          for (std::uint32_t rank = 0; rank < p.world_size(); ++rank)
            for (const packing& pk : {packings[0], packings[2]}) {
              INFO(model << " " << to_string(m) << " rank " << rank << " capacity " << pk.capacity);
              check_program(*l, p.program(rank), ckpt, {.path = {}, .seed = 8}, pk);
            }
        }
      }
    }
  }
}

TEST_CASE("missing tensors on the GPU path get the same fresh init", "[checkpoint][scatter]") {
  // A one-layer member of the family shares every name and value with tiny-llama but layer 1:
  // its checkpoint is a partial checkpoint of tiny-llama.
  using one_layer_t = dsl::llama<
      "tiny-llama-1-layer",
      dsl::llama_config{
          .vocab = 128, .hidden = 64, .layers = 1, .heads = 4, .kv_heads = 2, .ffn = 96}>;
  const fs::path dir = test::scratch_dir("load_transfers", "missing");
  (void)save(materialize(dynamic_layout_of(one_layer_t{}, dtype_policy::bf16()), cpu{},
                         {.source = init{.seed = 2}}),
             dir.string());
  const checkpoint_files ckpt = open_checkpoint(dir.string());
  const dynamic_layout l = find_model("tiny-llama").make_layout(dtype_policy::bf16(), {});
  checkpoint o;
  o.missing = init_missing;
  o.seed = 2;
  const auto p = plan(l, mesh{.pp = 2, .tp = 2}, fsdp);
  for (std::uint32_t rank = 0; rank < p.world_size(); ++rank) {
    check_program(l, p.program(rank), ckpt, o, packings[1]);
    // and the CPU loader itself equals the fresh shard (so the GPU schedule does too)
    std::vector<std::byte> loaded(p.program(rank).arena_bytes, std::byte{0xFF});
    (void)load_arena(l, p.program(rank), loaded, ckpt, match_checkpoint(l, ckpt, o), o);
    const materialized_model fresh = materialize(p, rank, cpu{}, {.source = init{.seed = 2}});
    CHECK(std::memcmp(loaded.data(), fresh.arena().data(), loaded.size()) == 0);
  }
}

TEST_CASE("short rows share transfers: a column shard is not one transfer per row",
          "[checkpoint][scatter]") {
  const fs::path dir = test::scratch_dir("load_transfers", "rows");
  const dynamic_layout l = find_model("tiny-llama").make_layout(dtype_policy::bf16(), {});
  (void)save(materialize(l, cpu{}, {.source = init{.seed = 1}}), dir.string());
  const checkpoint_files ckpt = open_checkpoint(dir.string());
  const auto p = plan(l, mesh{.tp = 4}, replicate);
  const program prog = p.program(1);
  std::vector<std::byte> arena(prog.arena_bytes);
  std::uint64_t transfers = 0;
  load_as_the_gpu_does(l, prog, arena, ckpt, {}, packings[0], &transfers);
  // Every tensor of tiny-llama fits one default slot: everything is one transfer.
  CHECK(transfers == 1);
}
