// Tier 2, multi-process: a checkpoint round trip through a different mesh (issue 6). Four ranks
// materialize tiny models as tp=2 x dp=2 and save them without a gather (each rank its own
// slices; once with the plan, so only the first replica writes, once from the model alone, so
// replicas write identical bytes); then the same four ranks load the checkpoint as
// pp=2 x dp=2 (FSDP) and pp=4 and compare each rank's arena bit for bit with a fresh
// materialization of that rank's shard, and the summed fingerprint with the unsharded model's.
//
//   mpirun -np 4 ./blueprint_mpi_checkpoint DIR
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>

#include <blueprint/blueprint.hpp>
#include <blueprint/runtime/materialize.hpp>
#include <blueprint/runtime/mpi_communicator.hpp>
#include <blueprint/runtime/registry.hpp>
#include <blueprint/runtime/save_model.hpp>

namespace mpi_checkpoint_roundtrip {

using namespace blueprint;

int failures = 0;
void fail(int rank, const std::string& what) {
  std::fprintf(stderr, "rank %d: FAIL %s\n", rank, what.c_str());
  ++failures;
}

void run_case(mpi_communicator& comm, const std::string& model, bool through_plan,
              const std::string& root) {
  const int me = comm.rank();
  const auto rank = static_cast<std::uint32_t>(me);
  constexpr std::uint64_t seed = 7;
  const dynamic_layout layout =
      find_model(model).make_layout(dtype_policy::bf16().norms_in_f32(), {});
  const std::string dir = root + "/" + model + (through_plan ? "_plan" : "_model");
  const std::string name = model + (through_plan ? " (plan save)" : " (model save)");

  // Save from tp=2 x dp=2.
  const auto saver = plan(layout, mesh{.dp = 2, .tp = 2}, replicate);
  const materialized_model shard =
      materialize(saver, rank, cpu{.threads = 1}, {.source = init{.seed = seed}});
  const save_report s = through_plan
                            ? save(saver, rank, shard, comm, dir, {.max_shard_size = 30_KB})
                            : save(shard, comm, dir, {.max_shard_size = 30_KB});
  if (s.files.size() < 3)
    fail(me, name + ": expected a sharded checkpoint, got " + std::to_string(s.files.size()) +
                 " files");

  const materialized_model whole =
      materialize(layout, cpu{.threads = 1}, {.source = init{.seed = seed}});
  for (const auto& [m, strat] :
       {std::pair{mesh{.pp = 2, .dp = 2}, fsdp}, std::pair{mesh{.pp = 4}, replicate}}) {
    const std::string what = name + " -> " + to_string(m) + " " + std::string(strategy_name(strat));
    const auto loader = plan(layout, m, strat);
    const materialized_model loaded =
        materialize(loader, rank, cpu{.threads = 1},
                    {.source = checkpoint{.path = dir, .seed = seed}, .poison = true});
    const load_report& r = *loaded.load_report();
    const materialized_model fresh =
        materialize(loader, rank, cpu{.threads = 1}, {.source = init{.seed = seed}});
    if (loaded.arena().size() != fresh.arena().size() ||
        std::memcmp(loaded.arena().data(), fresh.arena().data(), fresh.arena().size()) != 0)
      fail(me, what + ": the loaded arena differs from a fresh materialization of the shard");
    if (r.bytes_read > layout.tensor_bytes())
      fail(me, what + ": read more than the checkpoint holds");
    const std::uint64_t fp = fingerprint(loaded, comm);
    if (fp != whole.fingerprint())
      fail(me, what + ": summed fingerprint differs from the unsharded model's");
    if (me == 0)
      std::printf("ok %s: %s\n", what.c_str(), r.clean() ? "clean" : "with key differences");
  }
}

}  // namespace mpi_checkpoint_roundtrip

int checkpoint_roundtrip_main(int argc, char** argv) {
  using namespace mpi_checkpoint_roundtrip;
  mpi_communicator comm(&argc, &argv);
  const std::string root = argc > 1 ? argv[1] : "/tmp/blueprint_mpi_checkpoint";
  if (comm.size() != 4) {
    if (comm.rank() == 0)
      std::fprintf(stderr, "run with 4 ranks (tp=2 x dp=2 -> pp=2 x dp=2, pp=4)\n");
    return 2;
  }
  if (comm.rank() == 0) std::filesystem::remove_all(root);
  comm.barrier();
  for (const char* model : {"tiny-llama", "tiny-gpt2", "tiny-mixtral"}) {
    for (bool through_plan : {true, false}) {
      try {
        run_case(comm, model, through_plan, root);
      } catch (const std::exception& e) {
        fail(comm.rank(), std::string(model) + ": " + e.what());
      }
    }
  }
  const std::uint64_t total = comm.allreduce_sum_u64(static_cast<std::uint64_t>(failures));
  if (comm.rank() == 0)
    std::printf("%s\n", total == 0 ? "all checkpoint round trips passed" : "FAILED");
  return total == 0 ? 0 : 1;
}
