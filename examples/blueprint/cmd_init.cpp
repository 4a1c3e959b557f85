// `blueprint init MODEL [--dtype bf16] [--seed S] [--threads N] [--init pytorch] [--norms-f32]
// [--poison] [--populate] [--no-huge-pages] [--mesh M --strategy S ...] [--save DIR] [--json]`:
// materialize a model — built-in, or read from a config.json — (or, under mpirun with --mesh, one
// shard per rank) on this host's CPU and report what it cost (allocation, init time and GB/s, peak
// memory) and the model's fingerprint, the number any other materializer (more threads, a shard
// plan, a GPU) must reproduce for the same seed.
#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <optional>
#include <string>

#include <blueprint/codegen/plan.hpp>
#include <blueprint/runtime/fault_points.hpp>
#include <blueprint/runtime/materialize.hpp>
#include <blueprint/runtime/save_model.hpp>

#include "cli.hpp"
#include "describe.hpp"
#include "numbers.hpp"

namespace blueprint::cli {
namespace {

struct init_args {
  std::string model;
  layout_args shape;
  plan_args mesh;
  std::uint64_t seed = 0;
  unsigned threads = 0;
  bool poison = false, populate = false, no_huge_pages = false, json = false;
  std::string save_dir;
  std::string max_shard_size = "5GB";
};

/// `--mesh`: one process per rank (under mpirun); each materializes only its shard; rank 0
/// prints one report whose fingerprint is the whole model's.
int run_sharded_init(const init_args& args, const hf_model& m, const dynamic_layout& layout,
                     const materialize_options& options, communicator& comm) {
  const mesh shape = args.mesh.parsed_mesh();
  const std::optional<strategy> how = args.mesh.parsed_strategy();
  const auto me = static_cast<std::uint32_t>(comm.rank());
  // Every step that can fail on one rank alone ends in an agreement step (communicator.hpp).
  const auto p = agreed_step(comm, [&] { return plan(layout, shape, *how, args.mesh.options()); });
  const materialized_model shard = agreed_step(comm, [&] {
    return materialize(p, me, cpu{.threads = capped_threads(args.threads)}, options);
  });
  const std::uint64_t fingerprint = blueprint::fingerprint(shard, comm);
  std::optional<save_report> saved;
  if (!args.save_dir.empty())
    saved = save(p, me, shard, comm, args.save_dir,
                 {.max_shard_size = parse_byte_size(args.max_shard_size),
                  .extra_files = files_for_transformers(m, layout.policy.default_type)});
  if (saved) note_stale_removed(*saved);
  struct rank_row {
    double alloc_seconds, init_seconds;
    std::uint64_t bytes, peak_rss;
  } row{shard.alloc_seconds(), shard.init_seconds(), shard.bytes(), peak_rss_bytes()};
  const auto rows = comm.gather_bytes(std::as_bytes(std::span(&row, 1)), 0);
  if (me != 0) return 0;
  rank_row worst{};
  std::uint64_t total = 0;
  nlohmann::json ranks = nlohmann::json::array();
  for (std::size_t r = 0; r < rows.size(); ++r) {
    rank_row x{};
    std::memcpy(&x, rows[r].data(), sizeof x);
    worst.alloc_seconds = std::max(worst.alloc_seconds, x.alloc_seconds);
    worst.init_seconds = std::max(worst.init_seconds, x.init_seconds);
    worst.peak_rss = std::max(worst.peak_rss, x.peak_rss);
    total += x.bytes;
    ranks.push_back({{"rank", r},
                     {"bytes", x.bytes},
                     {"init_seconds", x.init_seconds},
                     {"peak_rss_bytes", x.peak_rss}});
  }
  const double gbps =
      worst.init_seconds > 0 ? static_cast<double>(total) / worst.init_seconds / 1e9 : 0;
  if (args.json) {
    nlohmann::json j;
    j["model"] = m.name;
    j["parameters"] = layout.parameter_count();
    j["bytes"] = total;
    j["mesh"] = to_string(shape);
    j["strategy"] = strategy_name(*how);
    j["world_size"] = comm.size();
    j["dtype"] = dtype_name(layout.policy.default_type);
    j["seed"] = seed_of(options.source);
    j["alloc_seconds"] = worst.alloc_seconds;
    j["init_seconds"] = worst.init_seconds;
    j["init_gb_per_s"] = gbps;
    j["peak_rss_bytes"] = worst.peak_rss;
    j["max_rank_bytes"] = p.max_rank_bytes();
    j["fingerprint"] = hex64(fingerprint);
    j["ranks"] = ranks;
    if (saved) j["saved"] = {{"directory", saved->directory}, {"files", saved->files}};
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  std::printf("model        %.*s on mesh %s (%s), %d ranks\n", static_cast<int>(m.name.size()),
              m.name.data(), to_string(shape).c_str(), std::string(strategy_name(*how)).c_str(),
              comm.size());
  std::printf("bytes        %s over all ranks, largest rank %s\n", human_bytes(total).c_str(),
              human_bytes(p.max_rank_bytes()).c_str());
  std::printf("init         %.6f s slowest rank (%.2f GB/s together)\n", worst.init_seconds, gbps);
  std::printf("peak RSS     %s largest rank\n", human_bytes(worst.peak_rss).c_str());
  std::printf("fingerprint  %s  (whole model)\n", hex64(fingerprint).c_str());
  if (saved)
    std::printf("saved        %s (%zu files)\n", saved->directory.c_str(), saved->files.size());
  return 0;
}

/// The model (config.json read on every rank) and its layout.
struct init_job {
  hf_model model;
  dynamic_layout layout;
};

init_job prepare(const init_args& args) {
  detail::fault_point("validate");
  hf_model m = resolve_model(args.model);
  // --dtype auto: the dtype config.json declares (dtype, or torch_dtype in older files).
  dtype_policy policy = dtype_policy::f32();
  if (args.shape.automatic()) {
    const std::optional<dtype> declared = declared_dtype(m);
    if (!declared)
      throw std::invalid_argument(
          "--dtype auto: " + (m.source.empty() ? "the built-in model '" + m.name + "'" : m.source) +
          " declares no dtype (dtype or torch_dtype); give --dtype");
    policy = dtype_policy::uniform(*declared);
    if (args.shape.norms_f32) policy = policy.norms_in_f32();
  } else {
    policy = args.shape.policy();
  }
  dynamic_layout l = blueprint::layout(m, policy, args.shape.options());
  return {std::move(m), std::move(l)};
}

int run_init(const init_args& args, bool sharded) {
  // Under mpirun the communicator comes first, so that a rank failing to read its config.json
  // fails the job at the agreement step instead of leaving the others in MPI_Init.
  const std::unique_ptr<communicator> world =
      sharded ? mpi_world_for(args.mesh.parsed_mesh(), "") : nullptr;
  single_process_communicator alone;
  communicator& comm = world ? *world : alone;
  const init_job job = agreed_step(comm, [&] { return prepare(args); });
  const hf_model& m = job.model;
  const dynamic_layout& layout = job.layout;
  const dtype type = layout.policy.default_type;
  materialize_options options;
  options.source = init{.seed = args.seed};
  options.poison = args.poison;
  options.populate = args.populate;
  options.huge_pages = !args.no_huge_pages;
  if (sharded) return run_sharded_init(args, m, layout, options, comm);
  const materialized_model model =
      materialize(layout, cpu{.threads = capped_threads(args.threads)}, options);

  const auto t0 = std::chrono::steady_clock::now();
  const std::uint64_t fingerprint = blueprint::fingerprint(model);
  const double fingerprint_seconds = detail::seconds_since(t0);
  const std::uint64_t rss = peak_rss_bytes();
  std::optional<save_report> saved;
  if (!args.save_dir.empty())
    saved = save(model, args.save_dir,
                 {.max_shard_size = parse_byte_size(args.max_shard_size),
                  .extra_files = files_for_transformers(m, type)});
  if (saved) note_stale_removed(*saved);
  const double bytes = static_cast<double>(model.bytes());
  const double gbps = model.init_seconds() > 0 ? bytes / model.init_seconds() / 1e9 : 0.0;
  const double elements_per_s =
      model.init_seconds() > 0
          ? static_cast<double>(layout.parameter_count()) / model.init_seconds()
          : 0.0;

  if (args.json) {
    nlohmann::json j;
    j["model"] = m.name;
    j["parameters"] = layout.parameter_count();
    j["bytes"] = model.bytes();
    j["dtype"] = dtype_name(type);
    j["init_scheme"] = init_scheme_name(args.shape.options().scheme);
    j["init_stream"] = init_stream_name(args.shape.options().stream);
    j["seed"] = seed_of(options.source);
    j["threads"] = model.threads();
    j["alloc_seconds"] = model.alloc_seconds();
    j["init_seconds"] = model.init_seconds();
    j["init_gb_per_s"] = gbps;
    j["init_elements_per_s"] = elements_per_s;
    j["poison"] = options.poison;
    j["poison_seconds"] = model.poison_seconds();
    j["verify_seconds"] = model.verify_seconds();
    j["fingerprint_seconds"] = fingerprint_seconds;
    j["peak_rss_bytes"] = rss;
    j["peak_rss_over_bytes"] = bytes > 0 ? static_cast<double>(rss) / bytes : 0.0;
    j["fingerprint"] = hex64(fingerprint);
    if (saved) j["saved"] = {{"directory", saved->directory}, {"files", saved->files}};
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  std::printf("model        %.*s (%llu parameters, %s, seed %llu, %u threads%s)\n",
              static_cast<int>(m.name.size()), m.name.data(),
              static_cast<unsigned long long>(layout.parameter_count()),
              std::string(dtype_name(type)).c_str(),
              static_cast<unsigned long long>(seed_of(options.source)), model.threads(),
              options.poison ? ", poison check" : "");
  std::printf("arena        %s\n", human_bytes(model.bytes()).c_str());
  std::printf("allocation   %.6f s\n", model.alloc_seconds());
  std::printf("init         %.6f s  (%.2f GB/s, %.1f M elements/s)\n", model.init_seconds(), gbps,
              elements_per_s / 1e6);
  if (options.poison)
    std::printf("poison       %.6f s fill, %.6f s verify: every byte written\n",
                model.poison_seconds(), model.verify_seconds());
  std::printf("peak RSS     %s (%.3fx the arena)\n", human_bytes(rss).c_str(),
              bytes > 0 ? static_cast<double>(rss) / bytes : 0.0);
  std::printf("fingerprint  %s  (%.6f s)\n", hex64(fingerprint).c_str(), fingerprint_seconds);
  if (saved)
    std::printf("saved        %s (%zu files, %.3f s)\n", saved->directory.c_str(),
                saved->files.size(), saved->seconds);
  return 0;
}

void setup(CLI::App& app, int& exit_code) {
  CLI::App* sub = app.add_subcommand(
      "init", "materialize a model on the CPU; print time, GB/s, peak memory, fingerprint");
  auto a = std::make_shared<init_args>();
  sub->add_option("MODEL", a->model,
                  "a built-in model (blueprint models), a config.json, or a model directory")
      ->required();
  a->shape.add_to(*sub, "bf16", /*allow_auto=*/true);
  a->mesh.add_to(*sub);
  sub->add_option("--seed", a->seed, "the init seed")
      ->transform(count_at_most(UINT64_MAX))
      ->capture_default_str();
  sub->add_option("--threads", a->threads, "worker threads (0: one per hardware thread)")
      ->transform(count_at_most(max_worker_threads));
  sub->add_flag("--poison", a->poison, "fill with 0xFF first, then prove every byte was written");
  sub->add_flag("--populate", a->populate, "pre-fault the arena (MAP_POPULATE)");
  sub->add_flag("--no-huge-pages", a->no_huge_pages, "do not ask for transparent huge pages");
  sub->add_option("--save", a->save_dir, "save the model as a Hugging Face checkpoint in DIR");
  sub->add_option("--max-shard-size", a->max_shard_size, "largest checkpoint file (5GB, 512MiB)")
      ->capture_default_str();
  sub->add_flag("--json", a->json, "print JSON");
  // --mesh: one process per rank under mpirun; each materializes only its shard.
  sub->callback([&exit_code, a, sub] { exit_code = run_init(*a, a->mesh.given(*sub)); });
}

const bool registered = register_command({"init", setup});

}  // namespace
}  // namespace blueprint::cli
