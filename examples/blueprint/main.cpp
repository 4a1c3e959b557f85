// `blueprint`: the command-line face of the library — list built-in models, inspect a layout,
// (and, as the runtime grows: init, plan, load, convert, verify).
#include <algorithm>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "cli.hpp"

namespace blueprint::cli {

arguments::arguments(std::vector<std::string> args, std::vector<std::string> flags_without_value) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a.rfind("--", 0) != 0 || a.size() == 2) {
      positionals_.push_back(a);
      continue;
    }
    const auto eq = a.find('=');
    std::string key = a.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
    if (eq != std::string::npos) {
      options_[key] = a.substr(eq + 1);
    } else if (std::find(flags_without_value.begin(), flags_without_value.end(), key) !=
               flags_without_value.end()) {
      options_[key] = "";
    } else {
      if (i + 1 >= args.size()) throw std::invalid_argument("option --" + key + " needs a value");
      options_[key] = args[++i];
    }
  }
}

std::string arguments::positional(std::size_t i, std::string_view what) const {
  if (i >= positionals_.size())
    throw std::invalid_argument("missing argument " + std::string(what));
  return positionals_[i];
}

std::optional<std::string> arguments::option(std::string_view name) const {
  const auto it = options_.find(name);
  if (it == options_.end()) return std::nullopt;
  return it->second;
}

std::string arguments::option_or(std::string_view name, std::string fallback) const {
  return option(name).value_or(std::move(fallback));
}

std::uint64_t arguments::uint_or(std::string_view name, std::uint64_t fallback) const {
  const auto v = option(name);
  if (!v) return fallback;
  try {
    std::size_t used = 0;
    const unsigned long long x = std::stoull(*v, &used, 0);
    if (used != v->size() || (!v->empty() && (*v)[0] == '-')) throw std::invalid_argument("");
    return x;
  } catch (const std::exception&) {
    throw std::invalid_argument("option --" + std::string(name) +
                                " expects a non-negative integer, got '" + *v + "'");
  }
}

dtype arguments::dtype_or(std::string_view name, dtype fallback) const {
  const auto v = option(name);
  if (!v) return fallback;
  const auto t = parse_dtype(*v);
  if (!t)
    throw std::invalid_argument("option --" + std::string(name) + ": unknown dtype '" + *v +
                                "' (f32, bf16, f16, f8_e4m3fn, f8_e5m2)");
  return *t;
}

void arguments::expect_only(std::initializer_list<std::string_view> known) const {
  for (const auto& [key, value] : options_) {
    bool ok = false;
    for (std::string_view k : known) ok = ok || k == key;
    if (!ok) throw std::invalid_argument("unknown option --" + key);
  }
}

static std::map<std::string_view, command>& registry() {
  static std::map<std::string_view, command> r;
  return r;
}
bool register_command(command c) {
  registry()[c.name] = c;
  return true;
}
const std::map<std::string_view, command>& commands() {
  return registry();
}

}  // namespace blueprint::cli

static void print_usage() {
  std::printf("usage: blueprint COMMAND [ARGS]\n\ncommands:\n");
  for (const auto& [name, c] : blueprint::cli::commands())
    std::printf("  %-60.*s %.*s\n", static_cast<int>(c.usage.size()), c.usage.data(),
                static_cast<int>(c.summary.size()), c.summary.data());
}

int main(int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "help") {
    print_usage();
    return argc < 2 ? 2 : 0;
  }
  const auto& cmds = blueprint::cli::commands();
  const auto it = cmds.find(argv[1]);
  if (it == cmds.end()) {
    std::fprintf(stderr, "blueprint: unknown command '%s'\n", argv[1]);
    print_usage();
    return 2;
  }
  try {
    return it->second.run(std::vector<std::string>(argv + 2, argv + argc));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "blueprint %s: error: %s\n", argv[1], e.what());
    return 1;
  }
}
