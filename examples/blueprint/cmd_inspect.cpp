// `blueprint models` and `blueprint inspect MODEL [--dtype f32] [--norms-f32] [--init pytorch]
// [--alignment N] [--json]`: the built-in models, and one model's tensor table and totals.
#include <cstdio>

#include "cli.hpp"
#include "describe.hpp"

namespace blueprint::cli {
namespace {

int run_models(bool json) {
  if (json) {
    nlohmann::json list = nlohmann::json::array();
    for (const model_entry& m : builtin_model_table())
      list.push_back({{"name", m.name}, {"family", m.family}, {"parameters", m.parameter_count()}});
    std::printf("%s\n", list.dump(2).c_str());
    return 0;
  }
  std::printf("%-18s %-12s %18s\n", "model", "model_type", "parameters");
  for (const model_entry& m : builtin_model_table())
    std::printf("%-18.*s %-12.*s %18llu\n", static_cast<int>(m.name.size()), m.name.data(),
                static_cast<int>(m.family.size()), m.family.data(),
                static_cast<unsigned long long>(m.parameter_count()));
  return 0;
}

int run_inspect(const std::string& model, const layout_args& shape, bool json) {
  const hf_model m = resolve_model(model);
  const dtype_policy policy = shape.policy();
  const layout_options options = shape.options();
  const dynamic_layout layout = blueprint::layout(m, policy, options);

  if (json) {
    nlohmann::json j;
    j["model"] = m.name;
    j["family"] = m.model_type;
    j["model_type"] = m.model_type;
    if (!m.source.empty()) j["config"] = m.source;
    j["parameters"] = layout.parameter_count();
    j["bytes"] = layout.total_bytes();
    j["tensor_bytes"] = layout.tensor_bytes();
    j["alignment"] = options.alignment;
    j["dtype"] = dtype_name(policy.default_type);
    j["init_scheme"] = init_scheme_name(options.scheme);
    j["init_stream"] = init_stream_name(options.stream);
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

void setup(CLI::App& app, int& exit_code) {
  CLI::App* models = app.add_subcommand("models", "list the built-in models");
  auto models_json = std::make_shared<bool>(false);
  models->add_flag("--json", *models_json, "print JSON");
  models->callback([&exit_code, models_json] { exit_code = run_models(*models_json); });

  CLI::App* inspect = app.add_subcommand("inspect", "print a model's tensor table and totals");
  struct args {
    std::string model;
    layout_args shape;
    bool json = false;
  };
  auto a = std::make_shared<args>();
  inspect
      ->add_option("MODEL", a->model,
                   "a built-in model (blueprint models), a config.json, or a model directory")
      ->required();
  a->shape.add_to(*inspect, "f32");
  inspect->add_flag("--json", a->json, "print JSON");
  inspect->callback([&exit_code, a] { exit_code = run_inspect(a->model, a->shape, a->json); });
}

const bool registered = register_command({"inspect", setup});

}  // namespace
}  // namespace blueprint::cli
