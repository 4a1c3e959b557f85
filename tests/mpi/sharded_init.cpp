// Tier 2, multi-process: the promise of issue #4 under mpirun. For every (model, mesh,
// strategy) whose world size is this job's, each rank materializes only its shard; rank 0
// gathers all arenas, reassembles every tensor and compares it bit for bit with the
// one-process unsharded materialization; the fingerprint summed over ranks (replicas once)
// must equal the unsharded fingerprint; each rank's arena must be exactly its planned bytes
// and its padding zeros. Exit status 0 only when every case on every rank passes.
//
//   mpirun -np 4 ./blueprint_mpi_sharded_init            (all cases of world size 4)
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <blueprint/blueprint.hpp>
#include <blueprint/runtime/materialize.hpp>

#include <blueprint/runtime/materialize.hpp>
#include <blueprint/runtime/mpi_communicator.hpp>
#include <blueprint/runtime/registry.hpp>
#include "../support/assemble.hpp"

#include "../support/assemble.hpp"

namespace mpi_sharded_init {

using namespace blueprint;

struct case_spec {
  const char* model;
  mesh m;
};

// The meshes of the issue: tp=2; dp=4 (FSDP2 and ZeRO-3 both run on every mesh);
// pp=2 x tp=2; pp=2 x dp=2 x tp=2; ep=2 for the experts (carved out of dp=2), plus pp=4
// with zero3 over odd shards.
const mesh meshes[] = {
    {.tp = 2},          {.dp = 2, .ep = 2},          {.dp = 4},          {.pp = 2, .tp = 2},
    {.pp = 2, .dp = 2}, {.pp = 2, .dp = 2, .tp = 2}, {.dp = 4, .ep = 2}, {.dp = 3},
};
const char* const models_under_test[] = {"tiny-gpt2", "tiny-llama", "tiny-mixtral"};

int failures = 0;
void fail(int rank, const std::string& what) {
  std::fprintf(stderr, "rank %d: FAIL %s\n", rank, what.c_str());
  ++failures;
}

void run_case(mpi_communicator& comm, const model_entry& entry, const mesh& m, strategy s) {
  const int me = comm.rank();
  const std::string name =
      std::string(entry.name) + " " + to_string(m) + " " + std::string(strategy_name(s));
  // Mixed dtypes (bf16 weights, f32 norms) so ZeRO-3 flat units mix element sizes.
  const dynamic_layout layout = entry.make_layout(dtype_policy::bf16().norms_in_f32(), {});
  const auto p = plan(layout, m, s);
  constexpr std::uint64_t seed = 7;
  const materialized_model shard = materialize(p, static_cast<std::uint32_t>(me), cpu{.threads = 1},
                                               {.source = init{.seed = seed}, .poison = true});
  if (shard.arena().size() != p.rank_bytes(me))
    fail(me, name + ": arena " + std::to_string(shard.arena().size()) + " != planned " +
                 std::to_string(p.rank_bytes(me)));
  for (const segment& g : shard.program().segments)
    if (g.padding)
      for (std::uint64_t k = 0; k < g.count; ++k)
        if (shard.arena()[g.arena_offset + k] != std::byte{0}) {
          fail(me, name + ": padding byte not zero at " + std::to_string(g.arena_offset + k));
          break;
        }
  const std::uint64_t fingerprint = blueprint::fingerprint(shard, comm);
  const auto arenas = comm.gather_bytes(shard.arena(), 0);
  if (me == 0) {
    const materialized_model whole =
        materialize(layout, cpu{.threads = 1}, {.source = init{.seed = seed}});
    if (fingerprint != whole.fingerprint())
      fail(me, name + ": summed fingerprint " + std::to_string(fingerprint) + " != unsharded " +
                   std::to_string(whole.fingerprint()));
    const assembled_model full = assemble(p, arenas);
    for (std::size_t t = 0; t < layout.size(); ++t) {
      const placed_tensor& pt = layout.tensors()[t];
      for (std::uint8_t w : full.written[t])
        if (!w) {
          fail(me, name + ": " + std::string(pt.name()) + " has an element no rank holds");
          break;
        }
      if (std::memcmp(full.tensors[t].data(), whole.arena().data() + pt.offset, pt.bytes) != 0)
        fail(me, name + ": " + std::string(pt.name()) + " differs from the unsharded model");
    }
    std::printf("%-50s ok=%s  max rank bytes %llu  fingerprint %016llx\n", name.c_str(),
                failures ? "no" : "yes", static_cast<unsigned long long>(p.max_rank_bytes()),
                static_cast<unsigned long long>(fingerprint));
  }
}

}  // namespace mpi_sharded_init

int sharded_init_main(int argc, char** argv) {
  using namespace mpi_sharded_init;
  mpi_communicator comm(&argc, &argv);
  int cases = 0;
  try {
    for (const char* model : models_under_test)
      for (const mesh& m : meshes) {
        if (static_cast<int>(m.world_size()) != comm.size()) continue;
        for (strategy s : {replicate, fsdp, zero3}) {
          run_case(comm, find_model(model), m, s);
          ++cases;
        }
      }
  } catch (const std::exception& e) {
    fail(comm.rank(), e.what());
  }
  const std::uint64_t total_failures = comm.allreduce_sum_u64(static_cast<std::uint64_t>(failures));
  if (comm.rank() == 0)
    std::printf("%d cases on %d ranks: %llu failures\n", cases, comm.size(),
                static_cast<unsigned long long>(total_failures));
  return total_failures == 0 && cases > 0 ? 0 : 1;
}
