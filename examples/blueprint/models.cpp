// The table of built-in models, compiled once for the whole command (it instantiates every
// built-in model); the subcommands see only model_entry records (cli.hpp).
#include <blueprint/runtime/registry.hpp>

#include "cli.hpp"

namespace blueprint::cli {

std::span<const model_entry> builtin_model_table() {
  return builtin_models;
}

const model_entry& find_builtin(std::string_view name) {
  return find_model(name);
}

}  // namespace blueprint::cli
