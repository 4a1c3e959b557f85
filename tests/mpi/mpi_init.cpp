// `blueprint-mpi-init MODEL --mesh pp=2,dp=2,tp=2 [--strategy fsdp] [--dtype bf16] [--seed N]
// [--threads N] [--json] [--expect-whole]`, run under mpirun with one process per rank:
// every rank materializes only its shard of the plan; rank 0 prints one report (one JSON
// document with --json) whose fingerprint is the whole model's (summed over ranks, replicas
// once). --expect-whole makes rank 0 also build the unsharded model and fail unless the
// fingerprints agree. The world size must equal the mesh's.
#include <algorithm>
#include <cstdio>
#include <ctime>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <blueprint/blueprint.hpp>
#include <blueprint/runtime/materialize.hpp>
#include <blueprint/runtime/mpi_communicator.hpp>
#include <blueprint/runtime/registry.hpp>

namespace mpi_init_json {

using namespace blueprint;

std::string hex(std::uint64_t v) {
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(v));
  return text;
}

int run(mpi_communicator& comm, const std::vector<std::string>& args) {
  std::string model, mesh_text = "dp=1", strategy_text = "fsdp", dtype_text = "f32";
  std::uint64_t seed = 0;
  unsigned threads = 0;
  bool json = false, expect_whole = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    const auto value = [&]() -> std::string {
      if (i + 1 >= args.size()) throw std::invalid_argument(a + " needs a value");
      return args[++i];
    };
    if (a == "--mesh")
      mesh_text = value();
    else if (a == "--strategy")
      strategy_text = value();
    else if (a == "--dtype")
      dtype_text = value();
    else if (a == "--seed")
      seed = std::stoull(value());
    else if (a == "--threads")
      threads = static_cast<unsigned>(std::stoul(value()));
    else if (a == "--json")
      json = true;
    else if (a == "--expect-whole")
      expect_whole = true;
    else if (!a.empty() && a[0] == '-')
      throw std::invalid_argument("unknown option " + a);
    else
      model = a;
  }
  if (model.empty())
    throw std::invalid_argument("usage: blueprint-mpi-init MODEL --mesh ... [--json]");
  const mesh m = parse_mesh(mesh_text);
  const std::optional<strategy> s = parse_strategy(strategy_text);
  if (!s) throw std::invalid_argument("--strategy must be replicate, fsdp or zero3");
  const std::optional<dtype> type = parse_dtype(dtype_text);
  if (!type) throw std::invalid_argument("unknown --dtype " + dtype_text);
  if (static_cast<int>(m.world_size()) != comm.size())
    throw std::invalid_argument("mesh " + to_string(m) + " has " + std::to_string(m.world_size()) +
                                " ranks but mpirun started " + std::to_string(comm.size()));

  const model_entry& entry = find_model(model);
  const dynamic_layout layout = entry.make_layout(dtype_policy::uniform(*type), {});
  const auto p = plan(layout, m, *s);
  const std::uint32_t me = static_cast<std::uint32_t>(comm.rank());
  comm.barrier();
  // CPU time too: on a shared, oversubscribed host the wall time measures the neighbours.
  const std::clock_t cpu0 = std::clock();
  const materialized_model shard =
      materialize(p, me, cpu{.threads = threads}, {.source = init{.seed = seed}});
  const double cpu_seconds = static_cast<double>(std::clock() - cpu0) / CLOCKS_PER_SEC;
  const double init_seconds = shard.alloc_seconds() + shard.init_seconds();
  const std::uint64_t fingerprint = blueprint::fingerprint(shard, comm);
  struct rank_row {
    double seconds;
    double cpu_seconds;
    std::uint64_t bytes;
  } row{init_seconds, cpu_seconds, shard.bytes()};
  const auto rows = comm.gather_bytes(std::as_bytes(std::span(&row, 1)), 0);
  if (me != 0) return 0;

  bool whole_ok = true;
  std::uint64_t whole_fp = 0;
  if (expect_whole) {
    whole_fp =
        materialize(layout, cpu{.threads = threads}, {.source = init{.seed = seed}}).fingerprint();
    whole_ok = whole_fp == fingerprint;
  }
  const std::vector<rank_summary> summaries = p.summaries();
  double slowest = 0, slowest_cpu = 0;
  for (const auto& r : rows) {
    slowest = std::max(slowest, reinterpret_cast<const rank_row*>(r.data())->seconds);
    slowest_cpu = std::max(slowest_cpu, reinterpret_cast<const rank_row*>(r.data())->cpu_seconds);
  }
  if (json) {
    nlohmann::json j;
    j["model"] = entry.name;
    j["mesh"] = to_string(m);
    j["strategy"] = strategy_name(*s);
    j["dtype"] = dtype_name(*type);
    j["seed"] = seed;
    j["world_size"] = comm.size();
    j["communicator"] = comm.backend();
    j["fingerprint"] = hex(fingerprint);
    j["parameters"] = layout.parameter_count();
    j["max_rank_bytes"] = p.max_rank_bytes();
    j["total_bytes"] = p.total_bytes();
    j["init_seconds_max"] = slowest;
    j["init_cpu_seconds_max"] = slowest_cpu;
    j["ranks"] = nlohmann::json::array();
    for (std::size_t r = 0; r < rows.size(); ++r) {
      const auto* x = reinterpret_cast<const rank_row*>(rows[r].data());
      const mesh_coords c = summaries[r].coords;
      j["ranks"].push_back({{"rank", r},
                            {"coords", {{"pp", c.pp}, {"dp", c.dp}, {"tp", c.tp}, {"ep", c.ep}}},
                            {"bytes", x->bytes},
                            {"planned_bytes", summaries[r].arena_bytes},
                            {"init_seconds", x->seconds},
                            {"init_cpu_seconds", x->cpu_seconds}});
    }
    if (expect_whole) j["unsharded_fingerprint"] = hex(whole_fp);
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    std::printf("%s on %s (%s, %s): %d ranks, fingerprint %s, slowest rank %.3f s\n",
                std::string(entry.name).c_str(), to_string(m).c_str(),
                std::string(strategy_name(*s)).c_str(), std::string(dtype_name(*type)).c_str(),
                comm.size(), hex(fingerprint).c_str(), slowest);
  }
  for (std::size_t r = 0; r < rows.size(); ++r)
    if (reinterpret_cast<const rank_row*>(rows[r].data())->bytes != summaries[r].arena_bytes) {
      std::fprintf(stderr, "rank %zu allocated other than its planned bytes\n", r);
      return 1;
    }
  if (!whole_ok) {
    std::fprintf(stderr, "fingerprint %s differs from the unsharded model's %s\n",
                 hex(fingerprint).c_str(), hex(whole_fp).c_str());
    return 1;
  }
  return 0;
}

}  // namespace mpi_init_json

int init_json_main(int argc, char** argv) {
  using namespace mpi_init_json;
  mpi_communicator comm(&argc, &argv);
  try {
    return run(comm, std::vector<std::string>(argv + 1, argv + argc));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "blueprint-mpi-init (rank %d): %s\n", comm.rank(), e.what());
    MPI_Abort(comm.native(), 2);
    return 2;
  }
}
