// Load a sharded Hugging Face checkpoint into a tensor-parallel plan, each rank its own bytes.
//
// A user downloads `model-0000i-of-0000N.safetensors` + `model.safetensors.index.json` and runs
// one process per GPU. Each rank asks for its shard of the plan with `.checkpoint = dir`: it
// reads only the rows and columns the plan gives it (never the whole model), casts them to the
// layout's dtype on the way, and ends with exactly the arena the plan describes. Here one
// process plays both ranks of tp=2 in turn (under mpirun each process is one rank: see
// `blueprint load MODEL DIR --mesh tp=2`), on the CPU; compiled by nvcc (as
// example_load_tensor_parallel_cuda) the same code loads into GPU memory through pinned
// staging. It first writes a seed checkpoint to play the downloaded one. Usage:
//   example_load_tensor_parallel [checkpoint_dir]
#include <cstdio>
#include <filesystem>
#include <string>

#include <blueprint/codegen/plan.hpp>
#include <blueprint/dsl/models.hpp>
#include <blueprint/runtime/cuda.hpp>
#include <blueprint/runtime/materialize.hpp>
#include <blueprint/runtime/save_model.hpp>

int main(int argc, char** argv) {
  namespace bp = blueprint;
  using namespace bp::literals;
  const std::string dir =
      argc > 1 ? argv[1]
               : (std::filesystem::temp_directory_path() / "blueprint_example_checkpoint").string();

  // 0. The "downloaded" checkpoint: tiny-llama in f32, split into files of at most 40 KB.
  constexpr auto f32 = bp::layout(bp::models::tiny_llama, bp::dtype_policy::f32());
  const bp::materialized_model original =
      bp::materialize(f32, bp::cpu{}, {.source = bp::init{.seed = 7}});
  const bp::save_report saved = bp::save(original, dir, {.max_shard_size = 40_KB});
  std::printf("checkpoint: %zu files, %llu bytes of tensors\n", saved.files.size(),
              static_cast<unsigned long long>(saved.total_size));

  // 1. The plan: bf16, tensor parallel over 2 ranks (column / row splits as Megatron does).
  constexpr auto bf16 = bp::layout(bp::models::tiny_llama, bp::dtype_policy::bf16());
  const auto plan = bp::plan(bf16, bp::mesh{.tp = 2}, bp::replicate);

  // 2. Every rank: its shard, straight from the files (poison proves every byte was written).
  std::uint64_t fingerprint = 0;
  for (std::uint32_t rank = 0; rank < plan.world_size(); ++rank) {
#if defined(__CUDACC__)
    const bp::cuda target{.device = 0};
#else
    const bp::cpu target{};
#endif
    const auto shard = bp::materialize(plan, rank, target,
                                       {.source = bp::checkpoint{.path = dir}, .poison = true});
    const bp::load_report& r = *shard.load_report();
    std::printf("rank %u: read %llu of the checkpoint's bytes, wrote %llu (F32 -> bf16), %s\n",
                rank, static_cast<unsigned long long>(r.bytes_read),
                static_cast<unsigned long long>(r.bytes_written),
                r.clean() ? "clean" : "NOT clean");
    fingerprint += bp::fingerprint(shard);  // this rank's part of the whole model's
  }

  // 3. The ranks together hold exactly the model: their fingerprints sum to the whole one's.
  const std::uint64_t whole =
      bp::fingerprint(bp::materialize(bf16, bp::cpu{}, {.source = bp::init{.seed = 7}}));
  std::printf("sum of the shards' fingerprints %016llx, whole model %016llx: %s\n",
              static_cast<unsigned long long>(fingerprint), static_cast<unsigned long long>(whole),
              fingerprint == whole ? "equal" : "DIFFERENT");
  return fingerprint == whole ? 0 : 1;
}
