// The GPU materializer under the NCCL communicator: world size 1 in one process here (every
// GPU machine can run it), and any world size when started by a launcher that sets RANK,
// WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT (torchrun-style, one process per GPU).
//
// Each rank materializes its shard of tiny-llama under a tp x dp mesh of the world size on its
// own device, sums the shard fingerprints over NCCL, and checks the sum against the CPU's
// unsharded model, and its own bytes against the CPU bytes of its program.
// Built only where nccl.h is found (tests/gpu/run.sh finds the pip wheel's headers).
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include <blueprint/codegen/plan.hpp>
#include <blueprint/dsl/models.hpp>
#include <blueprint/runtime/cuda.hpp>
#include <blueprint/runtime/materialize.hpp>
#include <blueprint/runtime/nccl_communicator.hpp>

#include "gpu_check.hpp"

using namespace blueprint;

namespace {

nccl_communicator make_communicator() {
  if (std::getenv("WORLD_SIZE") != nullptr) return nccl_communicator::from_environment();
  ncclUniqueId id{};
  if (ncclGetUniqueId(&id) != ncclSuccess) throw std::runtime_error("ncclGetUniqueId failed");
  return nccl_communicator(0, 1, id, 0);
}

}  // namespace

GPU_TEST("shards materialized on GPUs sum, over NCCL, to the CPU's whole-model fingerprint") {
  nccl_communicator comm = make_communicator();
  const auto l = dynamic_layout_of(models::tiny_llama, dtype_policy::bf16());
  const std::uint32_t world = static_cast<std::uint32_t>(comm.size());
  const std::uint32_t tp = world % 2 == 0 ? 2 : 1;
  for (const strategy s : {replicate, fsdp, zero3}) {
    const auto pl = plan(l, mesh{.dp = world / tp, .tp = tp}, s);
    const auto rank = static_cast<std::uint32_t>(comm.rank());
    device_model shard =
        materialize(pl, rank, cuda{.device = comm.device()}, {.source = init{.seed = 21}});
    const materialized_model cpu_shard = materialize(pl, rank, cpu{}, {.source = init{.seed = 21}});
    const auto a = cpu_shard.arena();
    GPU_CHECK(shard.copy_to_host() == std::vector<std::byte>(a.begin(), a.end()));
    const std::uint64_t sum = fingerprint(shard, comm);
    const std::uint64_t whole = materialize(l, cpu{}, {.source = init{.seed = 21}}).fingerprint();
    GPU_CHECK_MSG(sum == whole, std::string(strategy_name(s)) + ": NCCL sum " +
                                    std::to_string(sum) + ", CPU whole model " +
                                    std::to_string(whole));
  }
}

int main(int argc, char** argv) {
  return gpu_check::run_all(argc, argv);
}
