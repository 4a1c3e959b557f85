// `blueprint load | convert | verify`: Hugging Face safetensors checkpoints from the command line.
//
// MODEL is a built-in name, a config.json or a model directory; with a directory, CKPT may be
// left out (the checkpoint beside config.json), and convert takes MODEL OUT.
//
//   blueprint load MODEL [CKPT] [--dtype auto|bf16|...] [--mesh pp=..,dp=..,tp=.. --strategy S
//                  --rank R] [--missing error|init] [--staging 256MiB] [--threads N] [--json]
//       loads (one rank's shard of) the model straight from the checkpoint, with a progress bar
//       on stderr; prints time, GB/s, peak memory and the fingerprint.
//   blueprint load MODEL [CKPT] --device-map auto|balanced|sequential|DEVICE|JSON
//                  [--max-memory 0=40GiB,cpu=64GiB] [--offload-dir D] [--reserve-kv N]
//       one process over the host and disk tiers (GPU tiers need the CUDA build): the map,
//       then the load, each tensor read once and routed to its tier.
//   blueprint convert MODEL IN OUT [--dtype ...] [--max-shard-size 5GB] [--missing ...]
//       load and save in one go: recast, reshard into files of another size.
//   blueprint verify MODEL [CKPT] [--json]
//       the key report only (headers are read and validated, no tensor data); exit status 0
//       when the checkpoint matches the model exactly, 3 otherwise.
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include <blueprint/codegen/plan.hpp>
#include <blueprint/runtime/checkpoint_directory.hpp>
#include <blueprint/runtime/device_map.hpp>
#include <blueprint/runtime/device_map_report.hpp>
#include <blueprint/runtime/fault_points.hpp>
#include <blueprint/runtime/materialize.hpp>
#include <blueprint/runtime/save_model.hpp>

#include "cli.hpp"
#include "describe.hpp"
#include "numbers.hpp"

namespace blueprint::cli {
namespace {

constexpr const char* kModelHelp =
    "a built-in model (blueprint models), a config.json, or a model directory holding one";

struct checkpoint_args {
  std::string model, in, out;  // CKPT is `in`
  layout_args shape;
  plan_args mesh;
  device_map_args maps;
  bool mesh_given = false;
  std::optional<std::uint32_t> rank;
  std::string missing = "error";
  bool allow_unmatched = false;
  std::uint64_t seed = 0;
  std::string staging = "256MiB";
  unsigned threads = 0;
  std::string max_shard_size = "5GB";
  bool json = false;
};

/// The layout for `--dtype`, or for `auto` the checkpoint's dtypes; `opened` receives the
/// files it had to open for that, which the load then uses instead of opening them again.
dynamic_layout layout_for(const hf_model& m, const layout_args& shape, const std::string& ckpt,
                          std::shared_ptr<const checkpoint_files>* opened = nullptr) {
  if (shape.automatic()) {
    auto files = std::make_shared<const checkpoint_files>(open_checkpoint(ckpt));
    dynamic_layout l = layout(
        m, checkpoint_dtype_policy(layout(m, dtype_policy::f32(), {}), *files), shape.options());
    if (opened != nullptr) *opened = std::move(files);
    return l;
  }
  return layout(m, shape.policy(), shape.options());
}

/// CKPT when the command line leaves it out: the directory MODEL was read from.
std::string checkpoint_of(const checkpoint_args& a) {
  if (!a.in.empty()) return a.in;
  const std::string dir = model_directory(a.model);
  if (dir.empty())
    throw std::invalid_argument("CKPT: required when MODEL ('" + a.model +
                                "') is a built-in name rather than a model directory");
  return dir;
}

/// The checkpoint source of the options, with a progress bar on stderr when asked.
checkpoint source_from(const checkpoint_args& a, const std::string& path, bool show_progress,
                       std::shared_ptr<const checkpoint_files> opened) {
  checkpoint o;
  o.path = path;
  o.opened = std::move(opened);
  o.missing = parse_missing_policy(a.missing);
  o.allow_unmatched = a.allow_unmatched;
  o.seed = a.seed;
  o.staging_bytes = parse_byte_size(a.staging);
  o.threads = capped_threads(a.threads);
  if (show_progress) {
    o.progress = [last = -1](float f) mutable {
      const int pct = static_cast<int>(f * 100.0f);
      if (pct != last) {
        last = pct;
        const int bar = pct * 40 / 100;
        std::fprintf(stderr, "\r[%.*s%*s] %3d%%%s", bar, "########################################",
                     40 - bar, "", pct, pct == 100 ? "\n" : "");
        std::fflush(stderr);
      }
      return true;
    };
  }
  return o;
}

/// Under mpirun with a mesh (and no --rank), one process per rank: the MPI communicator.
/// Returns null when this process loads a single rank by itself.
std::unique_ptr<communicator> mesh_communicator(const checkpoint_args& a, const mesh& msh) {
  if (a.rank || msh.world_size() == 1) return nullptr;
  return mpi_world_for(msh, "; or give --rank R");
}

/// What every rank validates before it reads a byte: the model, its layout and plan, the
/// checkpoint's headers. One agreement step (a bad local copy on one rank fails them all).
struct validated_job {
  hf_model model;
  std::string checkpoint;
  shard_plan<dynamic_layout> plan;
  std::shared_ptr<const checkpoint_files> opened;
};

validated_job validate(const checkpoint_args& a, const mesh& msh) {
  detail::fault_point("validate");
  hf_model m = resolve_model(a.model);
  std::string ckpt = checkpoint_of(a);
  std::shared_ptr<const checkpoint_files> opened;
  const dynamic_layout layout = layout_for(m, a.shape, ckpt, &opened);
  auto p = plan(layout, msh, a.mesh.parsed_strategy(), a.mesh.options());
  return {std::move(m), std::move(ckpt), std::move(p), std::move(opened)};
}

/// `load --device-map`: one process, the tiers of the map.
int run_mapped_load(const checkpoint_args& a) {
  if (a.mesh_given || a.rank)
    throw std::invalid_argument(
        "--device-map loads one process over several devices, --mesh/--rank a job of ranks: "
        "give one");
  const hf_model m = resolve_model(a.model);
  const std::string ckpt = checkpoint_of(a);
  std::shared_ptr<const checkpoint_files> opened;
  const dynamic_layout layout = layout_for(m, a.shape, ckpt, &opened);
  const device_map_plan map = device_map(layout, a.maps.options(m));
  const auto t0 = std::chrono::steady_clock::now();
  const mapped_model model =
      materialize(map, {.source = source_from(a, ckpt, !a.json, std::move(opened))},
                  cpu{capped_threads(a.threads)});
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  // Peak memory at "model ready", before the fingerprint reads every in-place page.
  const std::uint64_t ready_rss = peak_rss_bytes();
  const load_report& report = *model.load_report();
  const std::uint64_t fingerprint = blueprint::fingerprint(model);
  const std::uint64_t rss = peak_rss_bytes();
  const std::uint64_t host = model.host() ? model.host()->bytes() : 0;
  const std::uint64_t offload = model.offload() ? model.offload()->bytes() : 0;
  if (a.json) {
    nlohmann::ordered_json j;
    j["model"] = m.name;
    j["checkpoint"] = ckpt;
    j["device_map"] = to_json(map);
    j["host_arena_bytes"] = host;
    j["offload_bytes"] = offload;
    j["offload_file"] = model.offload_file();
    j["in_place_bytes"] = model.in_place_bytes();
    j["seconds"] = seconds;
    j["gb_per_second"] = report.gb_per_second();
    j["ready_peak_rss_bytes"] = ready_rss;
    j["peak_rss_bytes"] = rss;
    j["fingerprint"] = hex64(fingerprint);
    j["report"] = nlohmann::ordered_json::parse(to_json(report).dump());
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  std::printf("%s%s\n", to_string(map).c_str(), to_string(report).c_str());
  std::printf(
      "%s over its device map: %.3f GB host arena, %.3f GB written to the offload file, %.3f GB "
      "in place (views of the checkpoint) in %.3f s (%.2f GB/s read), peak RSS %.1f MiB when "
      "ready, %.1f MiB after the fingerprint read every byte\n",
      m.name.c_str(), host / 1e9, offload / 1e9, model.in_place_bytes() / 1e9, seconds,
      report.gb_per_second(), ready_rss / 1048576.0, rss / 1048576.0);
  std::printf("fingerprint %s\n", hex64(fingerprint).c_str());
  return 0;
}

int run_load(const checkpoint_args& a) {
  if (a.maps.given()) return run_mapped_load(a);
  const bool json = a.json;
  const mesh msh = a.mesh.parsed_mesh();
  const auto strat = std::optional<strategy>(a.mesh.parsed_strategy());
  // The communicator first: every later step can fail on one rank alone, and ends in an
  // agreement step (or the abort path) rather than leaving the other ranks waiting.
  const std::unique_ptr<communicator> comm = mesh_communicator(a, msh);
  single_process_communicator alone;
  communicator& world = comm ? *comm : alone;
  const auto rank = comm ? static_cast<std::uint32_t>(comm->rank()) : a.rank.value_or(0);
  if (rank >= msh.world_size())
    throw std::invalid_argument("--rank " + std::to_string(rank) + " is outside the mesh of " +
                                std::to_string(msh.world_size()) + " ranks");
  const validated_job job = agreed_step(world, [&] { return validate(a, msh); });
  const hf_model& m = job.model;
  const std::string& ckpt = job.checkpoint;
  const auto& p = job.plan;

  const auto t0 = std::chrono::steady_clock::now();
  const materialized_model model = agreed_step(world, [&] {
    return materialize(p, rank, cpu{},
                       {.source = source_from(a, ckpt, !json && rank == 0, job.opened)});
  });
  const load_report& report = *model.load_report();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  // Between agreement steps: an error here takes the abort path (tests inject one).
  detail::fault_point("fingerprint");
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

int run_convert(const checkpoint_args& a_in) {
  // Two operands: MODEL (a model directory, its checkpoint beside config.json) and OUT.
  checkpoint_args a = a_in;
  if (a.out.empty()) {
    a.out = a.in;
    a.in.clear();
  }
  const std::string& out = a.out;
  // With --mesh under mpirun every rank reads its own bytes of IN and writes its own slices of
  // OUT (no gather); without, one process converts the whole model. Each step agreed (run_load).
  const mesh msh = a.mesh.parsed_mesh();
  const std::unique_ptr<communicator> comm = mesh_communicator(a, msh);
  single_process_communicator alone;
  communicator& world = comm ? *comm : alone;
  const auto rank = comm ? static_cast<std::uint32_t>(comm->rank()) : 0u;
  const validated_job job = agreed_step(world, [&] { return validate(a, msh); });
  const hf_model& m = job.model;
  const std::string& in = job.checkpoint;
  const auto& p = job.plan;
  const dynamic_layout& layout = p.layout();
  const materialized_model model = agreed_step(world, [&] {
    return materialize(p, rank, cpu{}, {.source = source_from(a, in, false, job.opened)});
  });
  const load_report& report = *model.load_report();
  save_options save_opts{.max_shard_size = parse_byte_size(a.max_shard_size)};
  save_opts.extra_files = files_for_transformers(m, layout.policy.default_type);
  const save_report saved = save(p, rank, model, world, out, save_opts);
  note_stale_removed(saved);
  const std::uint64_t fingerprint =
      comm ? blueprint::fingerprint(model, *comm) : blueprint::fingerprint(model);
  if (rank != 0) return 0;
  if (a.json) {
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

/// "3 partial files and 1 folder of interrupted saves (12.3 MB): `blueprint clean DIR`".
std::string describe_leftovers(const save_leftovers& l, const std::string& dir) {
  return std::to_string(l.partial_files.size()) + " partial file(s) and " +
         std::to_string(l.sibling_folders.size()) + " sibling folder(s) of interrupted saves (" +
         std::to_string(l.bytes) + " bytes); `blueprint clean " + dir + "` removes them";
}

int run_verify(const checkpoint_args& a) {
  const hf_model m = resolve_model(a.model);
  const std::string ckpt = checkpoint_of(a);
  const load_report r = verify_checkpoint(layout_for(m, a.shape, ckpt), ckpt);
  // What dead saves left beside the checkpoint: reported, not an error (clean removes it).
  std::error_code ec;
  const save_leftovers left =
      std::filesystem::is_directory(ckpt, ec) ? find_save_leftovers(ckpt) : save_leftovers{};
  if (a.json) {
    nlohmann::json j = to_json(r);
    j["leftovers"] = {{"partial_files", left.partial_files},
                      {"sibling_folders", left.sibling_folders},
                      {"bytes", left.bytes}};
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    std::printf("%s", to_string(r).c_str());
    if (!left.empty()) std::printf("  leftovers: %s\n", describe_leftovers(left, ckpt).c_str());
  }
  return r.clean() ? 0 : 3;
}

int run_clean(const std::string& dir, bool json) {
  const clean_report r = clean_checkpoint_directory(dir);
  if (json) {
    nlohmann::json j;
    j["directory"] = dir;
    j["removed_partial_files"] = r.removed.partial_files;
    j["removed_sibling_folders"] = r.removed.sibling_folders;
    j["removed_bytes"] = r.removed.bytes;
    j["restored_from"] = r.restored_from;
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  if (!r.restored_from.empty())
    std::printf("restored %s from the interrupted folder swap %s\n", dir.c_str(),
                r.restored_from.c_str());
  for (const std::string& p : r.removed.partial_files) std::printf("removed %s\n", p.c_str());
  for (const std::string& p : r.removed.sibling_folders) std::printf("removed %s/\n", p.c_str());
  std::printf("%s: %zu partial file(s), %zu folder(s), %llu bytes removed\n", dir.c_str(),
              r.removed.partial_files.size(), r.removed.sibling_folders.size(),
              static_cast<unsigned long long>(r.removed.bytes));
  return 0;
}

/// The options of load and convert.
void add_load_options(CLI::App& sub, checkpoint_args& a) {
  a.shape.add_to(sub, "auto", /*allow_auto=*/true);
  a.mesh.add_to(sub);
  sub.add_option("--missing", a.missing, "tensors the checkpoint lacks: error or init")
      ->capture_default_str();
  sub.add_flag("--allow-unmatched", a.allow_unmatched,
               "with --missing init: initialize even when no checkpoint tensor matched");
  sub.add_option("--seed", a.seed, "init seed of missing tensors and buffers")
      ->transform(count_at_most(UINT64_MAX))
      ->capture_default_str();
  sub.add_option("--staging", a.staging, "host staging budget (256MiB, 1GB)")
      ->capture_default_str();
  sub.add_option("--threads", a.threads, "loader threads (0: the default)")
      ->transform(count_at_most(max_worker_threads));
  sub.add_flag("--json", a.json, "print JSON");
}

void setup(CLI::App& app, int& exit_code) {
  {
    CLI::App* sub = app.add_subcommand(
        "load", "load a safetensors checkpoint (progress, GB/s, peak memory, fingerprint)");
    auto a = std::make_shared<checkpoint_args>();
    sub->add_option("MODEL", a->model, kModelHelp)->required();
    sub->add_option("CKPT", a->in,
                    "a checkpoint directory, .safetensors file or index (default: MODEL's "
                    "directory)");
    add_load_options(*sub, *a);
    sub->add_option("--rank", a->rank, "load this rank of the mesh alone (no mpirun)")
        ->transform(count_at_most(mesh::max_world_size - 1));
    a->maps.add_to(*sub, /*loading=*/true);
    sub->callback([&exit_code, a, sub] {
      a->mesh_given = a->mesh.given(*sub);
      exit_code = run_load(*a);
    });
  }
  {
    CLI::App* sub =
        app.add_subcommand("convert", "load a checkpoint and save it again (recast, reshard)");
    auto a = std::make_shared<checkpoint_args>();
    sub->add_option("MODEL", a->model, kModelHelp)->required();
    sub->add_option("IN", a->in, "the checkpoint to read (leave out: MODEL's directory)")
        ->required();
    sub->add_option("OUT", a->out, "the directory to write");
    add_load_options(*sub, *a);
    sub->add_option("--max-shard-size", a->max_shard_size, "largest file written (5GB, 512MiB)")
        ->capture_default_str();
    sub->callback([&exit_code, a] { exit_code = run_convert(*a); });
  }
  {
    CLI::App* sub = app.add_subcommand(
        "verify",
        "the key report of a checkpoint against a model, nothing loaded (exit 3: "
        "differences)");
    auto a = std::make_shared<checkpoint_args>();
    sub->add_option("MODEL", a->model, kModelHelp)->required();
    sub->add_option("CKPT", a->in,
                    "a checkpoint directory, .safetensors file or index (default: MODEL's "
                    "directory)");
    a->shape.add_to(*sub, "auto", /*allow_auto=*/true);
    sub->add_flag("--json", a->json, "print JSON");
    sub->callback([&exit_code, a] { exit_code = run_verify(*a); });
  }
  {
    CLI::App* sub = app.add_subcommand(
        "clean",
        "remove what interrupted saves left in and beside DIR (partial files, sibling folders); "
        "finish an interrupted folder swap");
    auto dir = std::make_shared<std::string>();
    auto json = std::make_shared<bool>(false);
    sub->add_option("DIR", *dir, "a checkpoint directory")->required();
    sub->add_flag("--json", *json, "print JSON");
    sub->callback([&exit_code, dir, json] { exit_code = run_clean(*dir, *json); });
  }
}

const bool registered = register_command({"checkpoint", setup});

}  // namespace
}  // namespace blueprint::cli
