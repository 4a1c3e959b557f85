// MODEL on the command line: a built-in name, a config.json, or a model directory holding one.
// The built-in table and the config.json reader are compiled here once; the subcommands see
// hf_model records (cli.hpp).
#include <cstdio>
#include <filesystem>

#include <blueprint/runtime/hf_config.hpp>
#include <blueprint/runtime/registry.hpp>

#include "cli.hpp"

namespace blueprint::cli {

std::span<const model_entry> builtin_model_table() {
  return builtin_models;
}

hf_model resolve_model(std::string_view model) {
  for (const model_entry& m : builtin_models)
    if (m.name == model) return m.model();
  std::error_code ec;
  // symlink_status: a dangling link or a loop is a path too, and read_config says which.
  if (std::filesystem::exists(std::filesystem::symlink_status(std::filesystem::path(model), ec))) {
    hf_model m = hf::read_config(model);
    for (const std::string& note : m.notes)
      std::fprintf(stderr, "blueprint: note: %s\n", note.c_str());
    return m;
  }
  std::string known;
  for (const model_entry& m : builtin_models)
    known += (known.empty() ? "" : ", ") + std::string(m.name);
  throw std::invalid_argument("model '" + std::string(model) +
                              "': not a built-in model and no such config.json or model "
                              "directory; built-in models: " +
                              known);
}

std::string model_directory(std::string_view model) {
  for (const model_entry& m : builtin_models)
    if (m.name == model) return "";
  std::error_code ec;
  const std::filesystem::path p(model);
  if (std::filesystem::is_directory(p, ec)) return p.string();
  if (std::filesystem::is_regular_file(p, ec)) {
    const std::filesystem::path parent = p.parent_path();
    return parent.empty() ? "." : parent.string();
  }
  return "";
}

std::map<std::string, std::string> files_for_transformers(const hf_model& m, dtype saved) {
  std::map<std::string, std::string> files{{"config.json", hf::config_json_for(m, saved)}};
  if (!m.generation_config_json.empty())
    files.emplace("generation_config.json", m.generation_config_json);
  return files;
}

std::optional<dtype> declared_dtype(const hf_model& m) {
  return hf::declared_dtype(m);
}

}  // namespace blueprint::cli
