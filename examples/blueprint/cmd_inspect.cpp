// `blueprint models` and `blueprint inspect MODEL [--dtype bf16] [--norms-f32] [--init pytorch]
// [--alignment N] [--json]`: the built-in models, and one model's tensor table and totals.
#include <cstdio>

#include <blueprint/runtime/registry.hpp>

#include "cli.hpp"
#include "describe.hpp"

namespace blueprint::cli {
namespace {

int run_models(const std::vector<std::string>& raw) {
  const arguments args(raw, {"json"});
  args.expect_only({"json"});
  if (args.flag("json")) {
    nlohmann::json list = nlohmann::json::array();
    for (const model_entry& m : builtin_models)
      list.push_back({{"name", m.name}, {"family", m.family}, {"parameters", m.parameters}});
    std::printf("%s\n", list.dump(2).c_str());
    return 0;
  }
  std::printf("%-18s %-8s %18s\n", "model", "family", "parameters");
  for (const model_entry& m : builtin_models)
    std::printf("%-18.*s %-8.*s %18llu\n", static_cast<int>(m.name.size()), m.name.data(),
                static_cast<int>(m.family.size()), m.family.data(),
                static_cast<unsigned long long>(m.parameters));
  return 0;
}

int run_inspect(const std::vector<std::string>& raw) {
  const arguments args(raw, {"json", "norms-f32"});
  args.expect_only({"json", "dtype", "norms-f32", "init", "alignment"});
  const model_entry& m = find_model(args.positional(0, "MODEL"));
  dtype_policy policy = dtype_policy::uniform(args.dtype_or("dtype", dtype::f32));
  if (args.flag("norms-f32")) policy = policy.norms_in_f32();
  layout_options options;
  options.alignment = args.uint_or("alignment", 256);
  if (options.alignment == 0 || (options.alignment & (options.alignment - 1)) != 0)
    throw std::invalid_argument("--alignment must be a power of two");
  const std::string scheme = args.option_or("init", "declared");
  if (scheme == "pytorch")
    options.scheme = init_scheme::pytorch;
  else if (scheme != "declared" && scheme != "hf")
    throw std::invalid_argument("--init must be 'declared' (alias 'hf') or 'pytorch'");
  const dynamic_layout layout = m.make_layout(policy, options);

  if (args.flag("json")) {
    nlohmann::json j;
    j["model"] = m.name;
    j["family"] = m.family;
    j["parameters"] = layout.parameter_count();
    j["bytes"] = layout.total_bytes();
    j["tensor_bytes"] = layout.tensor_bytes();
    j["alignment"] = options.alignment;
    j["dtype"] = dtype_name(policy.default_type);
    j["init_scheme"] = scheme == "pytorch" ? "pytorch" : "declared";
    j["tensors"] = nlohmann::json::array();
    for (const placed_tensor& t : layout.tensors())
      j["tensors"].push_back(
          {{"name", t.name()},
           {"shape", std::vector<std::uint64_t>(t.shape().begin(), t.shape().end())},
           {"dtype", dtype_name(t.type)},
           {"offset", t.offset},
           {"bytes", t.bytes},
           {"numel", t.numel()},
           {"role", role_name(t.role())},
           {"kind", kind_name(t.spec.kind)},
           {"init", init_json(t.init)},
           {"id", hex64(t.id())},
           {"persistent", t.spec.persistent},
           {"unit", t.spec.unit},
           {"expert", t.spec.expert}});
    j["ties"] = nlohmann::json::array();
    for (const tie_spec& t : layout.ties())
      j["ties"].push_back({{"name", t.name()}, {"target", t.target_name()}});
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  std::printf("%-58s %-16s %-9s %14s %14s %-10s %s\n", "tensor", "shape", "dtype", "offset",
              "bytes", "role", "init");
  for (const placed_tensor& t : layout.tensors())
    std::printf("%-58.*s %-16s %-9.*s %14llu %14llu %-10.*s %s\n",
                static_cast<int>(t.name().size()), t.name().data(), shape_string(t.shape()).c_str(),
                static_cast<int>(dtype_name(t.type).size()), dtype_name(t.type).data(),
                static_cast<unsigned long long>(t.offset), static_cast<unsigned long long>(t.bytes),
                static_cast<int>(role_name(t.role()).size()), role_name(t.role()).data(),
                init_string(t.init).c_str());
  for (const tie_spec& t : layout.ties())
    std::printf("%-58.*s tied to %.*s\n", static_cast<int>(t.name().size()), t.name().data(),
                static_cast<int>(t.target_name().size()), t.target_name().data());
  std::printf("\nmodel %.*s: %zu tensors, %zu ties, %llu parameters, arena %s\n",
              static_cast<int>(m.name.size()), m.name.data(), layout.size(), layout.ties().size(),
              static_cast<unsigned long long>(layout.parameter_count()),
              human_bytes(layout.total_bytes()).c_str());
  return 0;
}

const bool registered =
    register_command({"models", "models [--json]", "list the built-in models", run_models}) &&
    register_command({"inspect",
                      "inspect MODEL [--dtype bf16] [--norms-f32] [--init pytorch] [--json]",
                      "print a model's tensor table and totals", run_inspect});

}  // namespace
}  // namespace blueprint::cli
