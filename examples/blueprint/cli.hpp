// The `blueprint` command: subcommands register themselves here, so each lives in its own file.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <blueprint/kernels/dtype.hpp>

namespace blueprint::cli {

/// Parsed command line: positionals and `--key value` / `--key=value` / `--flag` options.
class arguments {
 public:
  arguments(std::vector<std::string> args, std::vector<std::string> flags_without_value);

  [[nodiscard]] const std::vector<std::string>& positionals() const { return positionals_; }
  [[nodiscard]] std::string positional(std::size_t i, std::string_view what) const;
  [[nodiscard]] bool flag(std::string_view name) const {
    return options_.count(std::string(name)) != 0;
  }
  [[nodiscard]] std::optional<std::string> option(std::string_view name) const;
  [[nodiscard]] std::string option_or(std::string_view name, std::string fallback) const;
  [[nodiscard]] std::uint64_t uint_or(std::string_view name, std::uint64_t fallback) const;
  [[nodiscard]] dtype dtype_or(std::string_view name, dtype fallback) const;
  /// Throws if an option was given that the command does not know.
  void expect_only(std::initializer_list<std::string_view> known) const;

 private:
  std::vector<std::string> positionals_;
  std::map<std::string, std::string, std::less<>> options_;
};

struct command {
  std::string_view name;
  std::string_view usage;    // "inspect MODEL [--dtype bf16] [--json]"
  std::string_view summary;  // one line
  int (*run)(const std::vector<std::string>& args);
};

/// Registers a subcommand; call from a namespace-scope initializer in the command's file.
bool register_command(command c);
const std::map<std::string_view, command>& commands();

}  // namespace blueprint::cli
