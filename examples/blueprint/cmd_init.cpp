// `blueprint init MODEL [--dtype bf16] [--seed S] [--threads N] [--init pytorch] [--norms-f32]
// [--poison] [--populate] [--no-huge-pages] [--json]`: materialize a built-in model on this
// host's CPU and report what it cost (allocation, init time and GB/s, peak memory) and the
// model's fingerprint, the number any other materializer (more threads, a shard plan, a GPU)
// must reproduce for the same seed.
#include <sys/resource.h>

#include <cstdio>
#include <fstream>
#include <string>

#include <blueprint/runtime/materialize.hpp>
#include <blueprint/runtime/registry.hpp>

#include "cli.hpp"
#include "describe.hpp"

namespace blueprint::cli {
namespace {

/// Peak resident set size of this process in bytes (VmHWM; getrusage as a fallback).
std::uint64_t peak_rss_bytes() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("VmHWM:", 0) == 0) return std::stoull(line.substr(6)) * 1024;  // "kB"
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<std::uint64_t>(usage.ru_maxrss) * 1024;
}

int run_init(const std::vector<std::string>& raw) {
  const arguments args(raw, {"json", "poison", "norms-f32", "populate", "no-huge-pages"});
  args.expect_only({"json", "dtype", "seed", "threads", "init", "poison", "norms-f32", "alignment",
                    "populate", "no-huge-pages"});
  const model_entry& m = find_model(args.positional(0, "MODEL"));
  const dtype type = args.dtype_or("dtype", dtype::bf16);
  dtype_policy policy = dtype_policy::uniform(type);
  if (args.flag("norms-f32")) policy = policy.norms_in_f32();
  layout_options layout_opts;
  layout_opts.alignment = args.uint_or("alignment", 256);
  if (layout_opts.alignment == 0 || (layout_opts.alignment & (layout_opts.alignment - 1)) != 0)
    throw std::invalid_argument("--alignment must be a power of two");
  const std::string scheme = args.option_or("init", "declared");
  if (scheme == "pytorch")
    layout_opts.scheme = init_scheme::pytorch;
  else if (scheme != "declared" && scheme != "hf")
    throw std::invalid_argument("--init must be 'declared' (alias 'hf') or 'pytorch'");
  const std::uint64_t threads_arg = args.uint_or("threads", 0);
  if (threads_arg > 4096) throw std::invalid_argument("--threads must be at most 4096");

  const dynamic_layout layout = m.make_layout(policy, layout_opts);
  materialize_options options;
  options.seed = args.uint_or("seed", 0);
  options.poison = args.flag("poison");
  options.populate = args.flag("populate");
  options.huge_pages = !args.flag("no-huge-pages");
  const materialized_model model =
      materialize(layout, cpu{.threads = static_cast<unsigned>(threads_arg)}, options);

  const auto t0 = std::chrono::steady_clock::now();
  const std::uint64_t fingerprint = model.fingerprint();
  const double fingerprint_seconds = detail::seconds_since(t0);
  const std::uint64_t rss = peak_rss_bytes();
  const double bytes = static_cast<double>(model.bytes());
  const double gbps = model.init_seconds() > 0 ? bytes / model.init_seconds() / 1e9 : 0.0;
  const double elements_per_s =
      model.init_seconds() > 0
          ? static_cast<double>(layout.parameter_count()) / model.init_seconds()
          : 0.0;

  if (args.flag("json")) {
    nlohmann::json j;
    j["model"] = m.name;
    j["parameters"] = layout.parameter_count();
    j["bytes"] = model.bytes();
    j["dtype"] = dtype_name(type);
    j["init_scheme"] = scheme == "pytorch" ? "pytorch" : "declared";
    j["seed"] = options.seed;
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
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  std::printf("model        %.*s (%llu parameters, %s, seed %llu, %u threads%s)\n",
              static_cast<int>(m.name.size()), m.name.data(),
              static_cast<unsigned long long>(layout.parameter_count()),
              std::string(dtype_name(type)).c_str(), static_cast<unsigned long long>(options.seed),
              model.threads(), options.poison ? ", poison check" : "");
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
  return 0;
}

const bool registered = register_command(
    {"init",
     "init MODEL [--dtype bf16] [--seed S] [--threads N] [--init pytorch] [--poison] [--json]",
     "materialize a model on the CPU; print time, GB/s, peak memory, fingerprint", run_init});

}  // namespace
}  // namespace blueprint::cli
