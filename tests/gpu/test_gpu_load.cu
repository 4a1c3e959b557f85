// GPU tier, checkpoints: a load into device memory gives the CPU loader's bytes, bit for bit.
//
// The reference is the CPU loader (`load_arena` into a host arena, runtime/load.hpp), whose
// casts are proven against numpy + ml_dtypes elsewhere; the device side is the public API:
// `materialize(..., cuda{}, {.checkpoint = dir})` (pinned staging, overlapped copies, the
// scatter kernel; runtime/cuda_load.hpp) and `load(device_model&, dir)`. Checkpoints are
// written by the CPU saver into a scratch folder. Every case compares whole arenas (gaps are
// zero on both sides) and names the first differing byte.
//
// Run by tests/gpu/run.sh on a machine with a GPU; built (not run) by CI.
#include <atomic>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include <blueprint/codegen/layout.hpp>
#include <blueprint/codegen/plan.hpp>
#include <blueprint/dsl/models.hpp>
#include <blueprint/runtime/cuda.hpp>
#include <blueprint/runtime/materialize.hpp>
#include <blueprint/runtime/save_model.hpp>

#include "../support/load_at.hpp"
#include "../support/scratch.hpp"
#include "gpu_check.hpp"

using namespace blueprint;
namespace fs = std::filesystem;

namespace {

fs::path scratch(const std::string& name) {
  return test::scratch_dir("gpu_load", name);
}

/// "" when equal, else the count of differing bytes and the first one.
std::string first_difference(const std::vector<std::byte>& want,
                             const std::vector<std::byte>& got) {
  if (want.size() != got.size())
    return "sizes differ: " + std::to_string(want.size()) + " vs " + std::to_string(got.size());
  std::size_t differing = 0, first = want.size();
  for (std::size_t i = 0; i < want.size(); ++i)
    if (want[i] != got[i]) {
      if (first == want.size()) first = i;
      ++differing;
    }
  if (differing == 0) return "";
  return std::to_string(differing) + " bytes differ; the first at arena byte " +
         std::to_string(first) + ": cpu " + std::to_string(static_cast<int>(want[first])) +
         ", gpu " + std::to_string(static_cast<int>(got[first]));
}

/// The CPU loader's arena for `prog` (gaps zero, as the device arena's).
template <class Layout>
std::vector<std::byte> cpu_load(const Layout& l, const program& prog, const std::string& dir,
                                checkpoint o = {}) {
  std::vector<std::byte> arena(prog.arena_bytes);
  (void)test::load_arena_at(l, prog, arena, dir, o);
  return arena;
}

/// Loads `prog` on the device through materialize(..., {.source = checkpoint{...}}) with poison (so
/// every byte is proven written) and compares with the CPU loader.
template <class Layout>
void check_load(const Layout& l, const program& prog, const std::string& dir, std::uint64_t seed,
                missing_policy missing, const std::string& what) {
  const checkpoint source{.path = dir, .missing = missing, .seed = seed};
  const std::vector<std::byte> want = cpu_load(l, prog, dir, source);
  const device_model m = materialize(l, prog, cuda{}, {.source = source, .poison = true});
  GPU_CHECK_MSG(m.load_report() != nullptr, what + ": no load report");
  const std::string diff = first_difference(want, m.copy_to_host());
  GPU_CHECK_MSG(diff.empty(), what + ": " + diff);
}

}  // namespace

GPU_TEST("an f32 checkpoint loads into every dtype with the CPU loader's bytes") {
  const fs::path dir = scratch("whole");
  const dynamic_layout f32 = dynamic_layout_of(models::tiny_llama, dtype_policy::f32());
  (void)save(materialize(f32, cpu{}, {.source = init{.seed = 4}}), dir.string(),
             {.max_shard_size = 60_KB});
  for (dtype d : all_dtypes) {
    const dynamic_layout l = dynamic_layout_of(models::tiny_llama, dtype_policy::uniform(d));
    check_load(l, program_of(l), dir.string(), 4, missing_policy::error,
               "tiny-llama " + std::string(dtype_name(d)));
  }
}

GPU_TEST(
    "every rank of tp, pp x tp, fsdp, zero3 and ep plans loads its own bytes as the CPU does") {
  auto run = [](const auto& model, const char* name, bool moe) {
    const fs::path dir = scratch(std::string("plans_") + name);
    const dynamic_layout bf16 = dynamic_layout_of(model, dtype_policy::bf16());
    (void)save(materialize(bf16, cpu{}, {.source = init{.seed = 8}}), dir.string());
    const dynamic_layout f16 = dynamic_layout_of(model, dtype_policy::f16());
    const mesh meshes[] = {mesh{.tp = 2}, mesh{.tp = 4}, mesh{.pp = 2, .tp = 2},
                           moe ? mesh{.dp = 2, .ep = 2} : mesh{.dp = 3}};
    for (const mesh& m : meshes)
      for (strategy s : {replicate, fsdp, zero3})
        for (const dynamic_layout* l : {&bf16, &f16}) {
          const auto p = plan(*l, m, s);
          for (std::uint32_t rank = 0; rank < p.world_size(); ++rank)
            check_load(*l, p.program(rank), dir.string(), 8, missing_policy::error,
                       std::string(name) + " " + to_string(m) + " " +
                           std::string(dtype_name(l->policy.default_type)) + " rank " +
                           std::to_string(rank));
        }
  };
  run(models::tiny_gpt2, "tiny-gpt2", false);
  run(models::tiny_llama, "tiny-llama", false);
  run(models::tiny_mixtral, "tiny-mixtral", true);
}

GPU_TEST("missing tensors under init_missing get the fresh init on the device") {
  using one_layer_t = dsl::llama<
      "tiny-llama-1-layer",
      dsl::llama_config{
          .vocab = 128, .hidden = 64, .layers = 1, .heads = 4, .kv_heads = 2, .ffn = 96}>;
  const fs::path dir = scratch("missing");
  (void)save(materialize(dynamic_layout_of(one_layer_t{}, dtype_policy::bf16()), cpu{},
                         {.source = init{.seed = 3}}),
             dir.string());
  const dynamic_layout l = dynamic_layout_of(models::tiny_llama, dtype_policy::bf16());
  check_load(l, program_of(l), dir.string(), 3, missing_policy::init, "partial checkpoint");
  // and it equals a fresh device init of the whole model
  const device_model loaded = materialize(
      l, cuda{}, {.source = checkpoint{.path = dir.string(), .missing = init_missing, .seed = 3}});
  const device_model fresh = materialize(l, cuda{}, {.source = init{.seed = 3}});
  GPU_CHECK(first_difference(fresh.copy_to_host(), loaded.copy_to_host()).empty());
  GPU_CHECK(loaded.fingerprint() == fresh.fingerprint());
}

GPU_TEST(
    "tiny staging and few pieces per transfer (many overlapped transfers) give the same bytes") {
  const fs::path dir = scratch("tiny_staging");
  const dynamic_layout f32 = dynamic_layout_of(models::tiny_mixtral, dtype_policy::f32());
  (void)save(materialize(f32, cpu{}, {.source = init{.seed = 6}}), dir.string());
  const dynamic_layout bf16 = dynamic_layout_of(models::tiny_mixtral, dtype_policy::bf16());
  const auto p = plan(bf16, mesh{.tp = 4}, fsdp);
  for (std::uint32_t rank = 0; rank < p.world_size(); ++rank) {
    const std::vector<std::byte> want = cpu_load(bf16, p.program(rank), dir.string());
    for (unsigned threads : {1u, 3u}) {
      device_model m = materialize(p, rank, cuda{}, {.source = no_init{}});
      const load_report r =
          load(m, {.path = dir.string(), .staging_bytes = 64 << 10, .threads = threads},
               {.max_pieces = 2});
      GPU_CHECK(r.clean());
      GPU_CHECK(r.staging_bytes < (1u << 20));
      const std::string diff = first_difference(want, m.copy_to_host());
      GPU_CHECK_MSG(diff.empty(), "rank " + std::to_string(rank) + ", " + std::to_string(threads) +
                                      " threads: " + diff);
    }
  }
}

GPU_TEST("gpt2 (124M) from an f32 checkpoint loads into bf16 with the CPU loader's bytes") {
  const fs::path dir = scratch("gpt2");
  const dynamic_layout f32 = dynamic_layout_of(models::gpt2, dtype_policy::f32());
  (void)save(materialize(f32, cpu{}, {.source = init{.seed = 1}}), dir.string(),
             {.max_shard_size = 200_MB});
  const dynamic_layout bf16 = dynamic_layout_of(models::gpt2, dtype_policy::bf16());
  check_load(bf16, program_of(bf16), dir.string(), 1, missing_policy::error, "gpt2 bf16");
  check_load(f32, program_of(f32), dir.string(), 1, missing_policy::error, "gpt2 f32");
  fs::remove_all(dir);
}

GPU_TEST("a strict load of the wrong checkpoint fails with the key report before any device work") {
  const fs::path dir = scratch("wrong");
  (void)save(materialize(dynamic_layout_of(models::tiny_gpt2, dtype_policy::f32()), cpu{}),
             dir.string());
  const dynamic_layout l = dynamic_layout_of(models::tiny_llama, dtype_policy::f32());
  GPU_CHECK_THROWS_WITH(materialize(l, cuda{}, {.source = checkpoint{.path = dir.string()}}),
                        "model.layers.0.mlp.up_proj.weight");
  device_model m = materialize(l, cuda{}, {.source = init{.seed = 2}});
  const std::vector<std::byte> before = m.copy_to_host();
  GPU_CHECK_THROWS_WITH(load(m, {.path = dir.string()}), "does not match the model");
  GPU_CHECK(first_difference(before, m.copy_to_host()).empty());
}

GPU_TEST("a cancelled device load throws, and the device stays usable") {
  const fs::path dir = scratch("cancel");
  const dynamic_layout l = dynamic_layout_of(models::tiny_llama, dtype_policy::f32());
  (void)save(materialize(l, cpu{}, {.source = init{.seed = 2}}), dir.string());
  device_model m = materialize(l, cuda{}, {.source = no_init{}});
  checkpoint o{.path = dir.string(), .staging_bytes = 16 << 10};
  std::atomic<int> calls{0};
  o.progress = [&](float) { return ++calls < 3; };
  GPU_CHECK_THROWS_WITH(load(m, o), "cancelled");
  const bool report_ok = load(m, {.path = dir.string()}).clean();
  GPU_CHECK(report_ok);
  GPU_CHECK(first_difference(cpu_load(l, program_of(l), dir.string()), m.copy_to_host()).empty());
}

GPU_TEST("a device model saves a checkpoint that the CPU loads back bit for bit") {
  const fs::path dir = scratch("save");
  const dynamic_layout l = dynamic_layout_of(models::tiny_qwen2, dtype_policy::bf16());
  const device_model m = materialize(l, cuda{}, {.source = init{.seed = 12}});
  (void)save(m, dir.string(), {.max_shard_size = 30_KB});
  materialized_model back = materialize(l, cpu{}, {.source = no_init{}});
  (void)load(back, {.path = dir.string()});
  GPU_CHECK(back.fingerprint() == m.fingerprint());
  GPU_CHECK(first_difference(m.copy_to_host(),
                             std::vector<std::byte>(back.arena().begin(), back.arena().end()))
                .empty());
}

int main(int argc, char** argv) {
  return gpu_check::run_all(argc, argv);
}

GPU_TEST("an arena pointer that is not 16-byte aligned is refused before any device work") {
  const fs::path dir = scratch("aligned");
  const dynamic_layout l = dynamic_layout_of(models::tiny_llama, dtype_policy::bf16());
  (void)save(materialize(l, cpu{}, {.source = init{.seed = 3}}), dir.string());
  const program prog = program_of(l);
  detail::device_buffer buffer(0, prog.arena_bytes + 16);
  std::byte* misaligned = buffer.get() + 8;
  const checkpoint_files files = open_checkpoint(dir.string());
  const checkpoint source{.path = dir.string()};
  GPU_CHECK_THROWS_WITH(load_device_arena(l, prog, misaligned, 0, nullptr, files,
                                          match_checkpoint(l, files, source), source),
                        "not 16-byte aligned");
  // The kernel launchers refuse it too, and enqueue nothing.
  const detail::device_table table = [&] {
    detail::device_table t;
    t.plan(prog, 0);
    return t;
  }();
  GPU_CHECK(cuda_kernels::launch_materialize(table.tables, misaligned, 1, 0, nullptr) ==
            cudaErrorMisalignedAddress);
  GPU_CHECK(cudaGetLastError() == cudaSuccess);
}
