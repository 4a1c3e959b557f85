// `blueprint load | convert | verify`: Hugging Face safetensors checkpoints from the command line.
//
//   blueprint load MODEL CKPT [--dtype auto|bf16|...] [--mesh pp=..,dp=..,tp=.. --strategy S
//                  --rank R] [--missing error|init] [--staging 256MiB] [--threads N] [--json]
//       loads (one rank's shard of) the model straight from the checkpoint, with a progress bar
//       on stderr; prints time, GB/s, peak memory and the fingerprint.
//   blueprint convert MODEL IN OUT [--dtype ...] [--max-shard-size 5GB] [--missing ...]
//       load and save in one go: recast, reshard into files of another size.
//   blueprint verify MODEL CKPT [--json]
//       the key report only (headers are read and validated, no tensor data); exit status 0
//       when the checkpoint matches the model exactly, 3 otherwise.
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>

#include <blueprint/codegen/plan.hpp>
#include <blueprint/runtime/materialize.hpp>
#include <blueprint/runtime/registry.hpp>
#include <blueprint/runtime/save_model.hpp>

#if BLUEPRINT_HAVE_MPI
#include <blueprint/runtime/mpi_communicator.hpp>
#endif

#include "byte_size.hpp"
#include "cli.hpp"
#include "describe.hpp"

namespace blueprint::cli {
namespace {

/// The layout for `--dtype` (or the checkpoint's dtypes for `auto`).
dynamic_layout layout_for(const model_entry& m, const arguments& args, const std::string& ckpt) {
  const std::string d = args.option_or("dtype", "auto");
  if (d == "auto") {
    const checkpoint_files c = open_checkpoint(ckpt);
    return m.make_layout(checkpoint_dtype_policy(m.make_layout(dtype_policy::f32(), {}), c), {});
  }
  dtype_policy policy = dtype_policy::uniform(args.dtype_or("dtype", dtype::bf16));
  if (args.flag("norms-f32")) policy = policy.norms_in_f32();
  return m.make_layout(policy, {});
}

checkpoint load_options_from(const arguments& args, bool show_progress) {
  checkpoint o;
  const std::string missing = args.option_or("missing", "error");
  if (missing == "init")
    o.missing = init_missing;
  else if (missing != "error")
    throw std::invalid_argument("--missing must be 'error' or 'init'");
  if (const auto s = args.option("staging")) o.staging_bytes = parse_byte_size(*s);
  o.threads = static_cast<unsigned>(args.uint_or("threads", 0));
  if (show_progress) {
    o.progress = [last = -1](float f) mutable {
      const int pct = static_cast<int>(f * 100.0f);
      if (pct != last) {
        last = pct;
        const int bar = pct * 40 / 100;
        std::fprintf(stderr, "\r[%.*s%*s] %3d%%", bar, "########################################",
                     40 - bar, "", pct);
        std::fflush(stderr);
      }
      return true;
    };
  }
  return o;
}

/// Under mpirun with a mesh (and no --rank), one process per rank: the MPI communicator.
/// Returns null when this process loads a single rank by itself.
std::unique_ptr<communicator> mesh_communicator(const arguments& args, const mesh& msh) {
  if (!args.option("mesh") || args.option("rank") || msh.world_size() == 1) return nullptr;
#if BLUEPRINT_HAVE_MPI
  auto comm = std::make_unique<mpi_communicator>();
  if (static_cast<std::uint32_t>(comm->size()) != msh.world_size())
    throw std::invalid_argument(
        "mesh " + to_string(msh) + " has " + std::to_string(msh.world_size()) + " ranks but " +
        std::to_string(comm->size()) + " processes were started (mpirun -np), or give --rank R");
  return comm;
#else
  throw std::invalid_argument(
      "--mesh without --rank runs one process per rank under mpirun, "
      "and this blueprint was built without MPI; give --rank R");
#endif
}

int run_load(const std::vector<std::string>& raw) {
  const arguments args(raw, {"json", "norms-f32"});
  args.expect_only({"json", "dtype", "norms-f32", "mesh", "strategy", "rank", "missing", "seed",
                    "staging", "threads"});
  const model_entry& m = find_model(args.positional(0, "MODEL"));
  const std::string ckpt = args.positional(1, "CKPT");
  const bool json = args.flag("json");
  const dynamic_layout layout = layout_for(m, args, ckpt);
  const mesh msh = parse_mesh(args.option_or("mesh", "pp=1"));
  const auto strat = parse_strategy(args.option_or("strategy", "replicate"));
  if (!strat) throw std::invalid_argument("--strategy must be replicate, fsdp or zero3");
  const auto p = plan(layout, msh, *strat);
  const std::unique_ptr<communicator> comm = mesh_communicator(args, msh);
  const auto rank = comm ? static_cast<std::uint32_t>(comm->rank())
                         : static_cast<std::uint32_t>(args.uint_or("rank", 0));
  if (rank >= p.world_size()) throw std::invalid_argument("--rank is outside the mesh");

  const auto t0 = std::chrono::steady_clock::now();
  checkpoint source = load_options_from(args, !json && rank == 0);
  source.path = ckpt;
  source.seed = args.uint_or("seed", 0);
  const materialized_model model = materialize(p, rank, cpu{}, {.source = source});
  const load_report& report = *model.load_report();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!json && rank == 0) std::fprintf(stderr, "\n");
  // Under mpirun: the whole model's fingerprint (ranks summed, replicas once), printed by rank 0.
  const std::uint64_t fingerprint =
      comm ? blueprint::fingerprint(model, *comm) : blueprint::fingerprint(model);
  if (comm && rank != 0) return 0;
  const std::uint64_t rss = peak_rss_bytes();
  if (json) {
    nlohmann::json j;
    j["model"] = m.name;
    j["checkpoint"] = ckpt;
    j["mesh"] = to_string(msh);
    j["strategy"] = strategy_name(*strat);
    if (comm)
      j["world_size"] = comm->size();
    else
      j["rank"] = rank;
    j["arena_bytes"] = model.bytes();
    j["seconds"] = seconds;
    j["load_seconds"] = report.seconds;
    j["gb_per_second"] = report.gb_per_second();
    j["peak_rss_bytes"] = rss;
    j["fingerprint"] = hex64(fingerprint);
    j["report"] = to_json(report);
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  std::printf("%s", to_string(report).c_str());
  std::printf(
      "%s rank %u of %s (%s): %.3f GB arena in %.3f s (load %.3f s, %.2f GB/s read), peak RSS %.1f "
      "MiB\n",
      std::string(m.name).c_str(), rank, to_string(msh).c_str(),
      std::string(strategy_name(*strat)).c_str(), model.bytes() / 1e9, seconds, report.seconds,
      report.gb_per_second(), rss / 1048576.0);
  std::printf("fingerprint %s%s\n", hex64(fingerprint).c_str(),
              comm || msh.world_size() == 1
                  ? (comm ? " (whole model, all ranks)" : "")
                  : " (this rank's share; the ranks' shares sum to the model's)");
  return 0;
}

int run_convert(const std::vector<std::string>& raw) {
  const arguments args(raw, {"json", "norms-f32"});
  args.expect_only({"json", "dtype", "norms-f32", "max-shard-size", "missing", "seed", "staging",
                    "threads", "mesh", "strategy"});
  const model_entry& m = find_model(args.positional(0, "MODEL"));
  const std::string in = args.positional(1, "IN");
  const std::string out = args.positional(2, "OUT");
  const dynamic_layout layout = layout_for(m, args, in);
  // With --mesh under mpirun every rank reads its own bytes of IN and writes its own slices of
  // OUT (no gather); without, one process converts the whole model.
  const mesh msh = parse_mesh(args.option_or("mesh", "pp=1"));
  const auto strat = parse_strategy(args.option_or("strategy", "fsdp"));
  if (!strat) throw std::invalid_argument("--strategy must be replicate, fsdp or zero3");
  const auto p = plan(layout, msh, *strat);
  const std::unique_ptr<communicator> comm = mesh_communicator(args, msh);
  const auto rank = comm ? static_cast<std::uint32_t>(comm->rank()) : 0u;
  checkpoint source = load_options_from(args, false);
  source.path = in;
  source.seed = args.uint_or("seed", 0);
  const materialized_model model = materialize(p, rank, cpu{}, {.source = source});
  const load_report& report = *model.load_report();
  const save_options save_opts{.max_shard_size =
                                   parse_byte_size(args.option_or("max-shard-size", "5GB"))};
  single_process_communicator alone;
  const save_report saved = save(p, rank, model, comm ? *comm : alone, out, save_opts);
  const std::uint64_t fingerprint =
      comm ? blueprint::fingerprint(model, *comm) : blueprint::fingerprint(model);
  if (rank != 0) return 0;
  if (args.flag("json")) {
    nlohmann::json j;
    j["model"] = m.name;
    j["load"] = to_json(report);
    j["files"] = saved.files;
    j["total_size"] = saved.total_size;
    j["save_seconds"] = saved.seconds;
    j["fingerprint"] = hex64(fingerprint);
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  std::printf("%s", to_string(report).c_str());
  std::printf("saved %zu file(s) to %s (%.3f GB, %.3f s); fingerprint %s\n", saved.files.size(),
              out.c_str(), saved.total_size / 1e9, saved.seconds, hex64(fingerprint).c_str());
  return 0;
}

int run_verify(const std::vector<std::string>& raw) {
  const arguments args(raw, {"json", "norms-f32"});
  args.expect_only({"json", "dtype", "norms-f32"});
  const model_entry& m = find_model(args.positional(0, "MODEL"));
  const std::string ckpt = args.positional(1, "CKPT");
  const load_report r = verify_checkpoint(layout_for(m, args, ckpt), ckpt);
  if (args.flag("json"))
    std::printf("%s\n", to_json(r).dump(2).c_str());
  else
    std::printf("%s", to_string(r).c_str());
  return r.clean() ? 0 : 3;
}

[[maybe_unused]] const bool registered =
    register_command(
        {"load", "load MODEL CKPT [--dtype auto|bf16|..] [--mesh M --strategy S --rank R] [--json]",
         "load a safetensors checkpoint (progress, GB/s, peak memory, fingerprint)", run_load}) &&
    register_command({"convert", "convert MODEL IN OUT [--dtype ..] [--max-shard-size 5GB]",
                      "load a checkpoint and save it again (recast, reshard)", run_convert}) &&
    register_command({"verify", "verify MODEL CKPT [--json]",
                      "the key report of a checkpoint against a model, nothing loaded",
                      run_verify});

}  // namespace
}  // namespace blueprint::cli
