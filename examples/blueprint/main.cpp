// `blueprint`: the command-line face of the library — list and inspect built-in models, plan a
// mesh, materialize (init), and load, convert and verify Hugging Face checkpoints.
// `blueprint --help` and `blueprint SUBCOMMAND --help` list every option.
#include <algorithm>
#include <cstdio>
#include <exception>
#include <string>
#include <thread>
#include <vector>

#if BLUEPRINT_HAVE_MPI
#include <blueprint/runtime/mpi_communicator.hpp>
#endif

#include <blueprint/runtime/device_map_report.hpp>

#include "cli.hpp"

namespace blueprint::cli {

namespace {
std::vector<command>& registry() {
  static std::vector<command> r;
  return r;
}
}  // namespace

bool register_command(command c) {
  registry().push_back(c);
  return true;
}
const std::vector<command>& commands() {
  return registry();
}

std::unique_ptr<communicator> mpi_world_for(const mesh& m, std::string_view hint) {
#if BLUEPRINT_HAVE_MPI
  auto comm = std::make_unique<mpi_communicator>();
  if (static_cast<std::uint32_t>(comm->size()) != m.world_size())
    throw std::invalid_argument("mesh " + to_string(m) + " has " + std::to_string(m.world_size()) +
                                " ranks but " + std::to_string(comm->size()) +
                                " processes were started (mpirun -np)" + std::string(hint));
  return comm;
#else
  (void)m;
  throw std::invalid_argument(
      "--mesh runs one process per rank under mpirun, and this blueprint was built without MPI" +
      std::string(hint));
#endif
}

void note_stale_removed(const save_report& saved) {
  const save_leftovers& l = saved.stale_removed;
  if (l.empty()) return;
  std::fprintf(stderr,
               "blueprint: note: removed %zu partial file(s) and %zu folder(s) (%llu bytes) that "
               "an interrupted save had left in %s\n",
               l.partial_files.size(), l.sibling_folders.size(),
               static_cast<unsigned long long>(l.bytes), saved.directory.c_str());
}

unsigned capped_threads(unsigned requested) {
  const unsigned hardware = std::max(1u, std::thread::hardware_concurrency());
  if (requested <= hardware) return requested;
  std::fprintf(stderr,
               "blueprint: note: --threads %u capped at this machine's %u hardware threads\n",
               requested, hardware);
  return hardware;
}

void layout_args::add_to(CLI::App& app, std::string dtype_default, bool allow_auto) {
  dtype = std::move(dtype_default);
  app.add_option("--dtype", dtype,
                 allow_auto ? "storage dtype: f32, bf16, f16, f8_e4m3fn, f8_e5m2, or auto (the "
                              "checkpoint's; for init, what config.json declares)"
                            : "storage dtype: f32, bf16, f16, f8_e4m3fn, f8_e5m2")
      ->capture_default_str();
  app.add_flag("--norms-f32", norms_f32, "keep norm weights and biases in f32");
  app.add_option("--init", init, "init scheme: declared (alias hf) or pytorch")
      ->capture_default_str();
  app.add_option("--init-stream", init_stream,
                 "how normal values are drawn: v1 (Box-Muller, the default), v2 (inverse CDF of 24 "
                 "bits) or v3 (inverse CDF of 16 bits, refined tails: the fastest); "
                 "docs/MATERIALIZE.md")
      ->capture_default_str();
  app.add_option("--alignment", alignment, "tensor alignment in the arena, bytes (power of two)")
      ->transform(count_at_most(UINT64_MAX))
      ->capture_default_str();
}

dtype_policy layout_args::policy() const {
  const std::optional<blueprint::dtype> t = parse_dtype(dtype);
  if (!t)
    throw std::invalid_argument("--dtype: unknown dtype '" + dtype +
                                "' (f32, bf16, f16, f8_e4m3fn, f8_e5m2)");
  dtype_policy p = dtype_policy::uniform(*t);
  return norms_f32 ? p.norms_in_f32() : p;
}

layout_options layout_args::options() const {
  return {.alignment = checked_alignment(alignment),
          .scheme = parse_init_scheme(init),
          .stream = parse_init_stream(init_stream)};
}

void plan_args::add_to(CLI::App& app) {
  app.add_option("--mesh", mesh, "device mesh, e.g. pp=2,dp=4,tp=8 (ep=N carves experts out of dp)")
      ->capture_default_str();
  app.add_option("--strategy", strategy, "data-parallel strategy: fsdp, zero3 or replicate")
      ->capture_default_str();
  app.add_flag("--pad-vocab", pad_vocab, "pad a vocabulary tp does not divide (Megatron style)");
  app.add_option("--head-dim", head_dim, "elements per attention head, for the head rules")
      ->transform(count_at_most(UINT32_MAX));
  app.add_option("--stages", stages, "first unit of pipeline stages 1..pp-1, e.g. 1,21,41");
  app.add_option("--role", roles, "role override GLOB=ROLE (replicated, split_rows, split_cols)");
}

void device_map_args::add_to(CLI::App& app, bool loading) {
  app.add_option("--device-map", map,
                 "one process over GPUs, cpu and disk: auto, balanced, sequential, a device "
                 "(cpu, disk, 0), or JSON {\"model.layers.30\": \"cpu\", \"lm_head\": \"disk\"}");
  app.add_option("--max-memory", max_memory, "device budgets, e.g. 0=40GiB,1=40GiB,cpu=64GiB");
  app.add_option("--offload-dir", offload_dir,
                 "the disk tier's folder (tensors placed on disk are written there once)");
  app.add_option("--reserve-kv", reserve_kv, "reserve the KV cache of this many tokens")
      ->transform(count_at_most(std::uint64_t{1} << 40));
  app.add_option("--gpu-reserve", gpu_reserve, "bytes kept free per GPU for activations (2GiB)");
  if (loading)
    app.add_flag("--no-in-place", no_in_place,
                 "copy host tensors even when the checkpoint holds them in their dtype "
                 "(disk tensors are still views of the file)");
}

std::vector<memory_budget> parse_max_memory(std::string_view text) {
  std::vector<memory_budget> out;
  while (!text.empty()) {
    const std::size_t comma = text.find(',');
    const std::string_view item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    const std::size_t eq = item.find('=');
    if (eq == std::string_view::npos)
      throw std::invalid_argument("--max-memory '" + std::string(item) +
                                  "': expected DEVICE=SIZE, e.g. 0=40GiB or cpu=64GiB");
    try {
      out.push_back({parse_device(item.substr(0, eq)), parse_byte_size(item.substr(eq + 1))});
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument("--max-memory '" + std::string(item) + "': " + e.what());
    }
  }
  return out;
}

device_map_options device_map_args::options(const hf_model& model) const {
  const device_map_request request = parse_device_map_request(map);
  device_map_options o;
  o.strategy = request.strategy;
  o.pinned = request.pinned;
  o.max_memory = parse_max_memory(max_memory);
  o.offload_dir = offload_dir;
  o.gpu_reserve_bytes = gpu_reserve == "0" ? 0 : parse_byte_size(gpu_reserve);
  o.reserve_kv_tokens = reserve_kv;
  o.kv_cache.elements_per_token_layer = kv_cache_elements_per_token_layer(model.config);
  if (no_in_place) o.in_place = in_place_policy::disk_only;
  return o;
}

mesh plan_args::parsed_mesh() const {
  return parse_mesh(mesh);
}

strategy plan_args::parsed_strategy() const {
  const std::optional<blueprint::strategy> s = parse_strategy(strategy);
  if (!s)
    throw std::invalid_argument("--strategy '" + strategy + "': expected fsdp, zero3 or replicate");
  return *s;
}

plan_options plan_args::options() const {
  plan_options o;
  o.pad_vocab = pad_vocab;
  o.head_dim = head_dim;
  if (!stages.empty()) {
    const std::vector<std::uint32_t> b = parse_stage_boundaries(stages);
    o = o.with_stage_boundaries(std::span<const std::uint32_t>(b));
  }
  for (const std::string& r : roles) o = with_role_overrides(o, r);
  return o;
}

}  // namespace blueprint::cli

int main(int argc, char** argv) {
  CLI::App app{"blueprint: compile-time model declarations, shard plans and fused materialization"};
  app.require_subcommand(1);
  int exit_code = 0;
  for (const blueprint::cli::command& c : blueprint::cli::commands()) c.setup(app, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const std::exception& e) {
    const std::string sub =
        app.get_subcommands().empty() ? "" : " " + app.get_subcommands().front()->get_name();
    const std::string prefix = "blueprint" + sub + ": error: ";
#if BLUEPRINT_HAVE_MPI
    // Under mpirun: an error every rank agreed on is printed once, by rank 0 (it names the rank
    // that failed); any other error aborts the whole job at once (communicator.hpp).
    if (blueprint::end_mpi_after_error(e, prefix)) return 1;
#endif
    std::fprintf(stderr, "%s%s\n", prefix.c_str(), e.what());
    return 1;
  }
  return exit_code;
}
