// Shared text and JSON renderings of layout records for the subcommands.
#pragma once

#include <sys/resource.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include <blueprint/codegen/layout.hpp>

namespace blueprint::cli {

inline std::string shape_string(std::span<const std::uint64_t> shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

/// Peak resident set size of this process in bytes (VmHWM; getrusage as a fallback).
inline std::uint64_t peak_rss_bytes() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("VmHWM:", 0) == 0) return std::stoull(line.substr(6)) * 1024;  // "kB"
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<std::uint64_t>(usage.ru_maxrss) * 1024;
}

inline std::string hex64(std::uint64_t x) {
  char buf[19];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(x));
  return buf;
}

inline nlohmann::json init_json(const init_spec& s) {
  nlohmann::json j{{"kind", init_kind_name(s.kind)}};
  const auto names = init_parameter_names(s.kind);
  for (std::size_t i = 0; i < names.size() && !names[i].empty(); ++i)
    j[std::string(names[i])] = s.parameter(i);
  return j;
}

inline std::string init_string(const init_spec& s) {
  std::string out(init_kind_name(s.kind));
  const auto names = init_parameter_names(s.kind);
  for (std::size_t i = 0; i < names.size() && !names[i].empty(); ++i) {
    char value[32];
    std::snprintf(value, sizeof value, "%g", s.parameter(i));
    out += (i == 0 ? "(" : ", ") + std::string(value);
    if (i + 1 == names.size() || names[i + 1].empty()) out += ")";
  }
  return out;
}

/// Bytes as "16.06 GB (14.96 GiB)".
inline std::string human_bytes(std::uint64_t b) {
  char buf[64];
  if (b >= 100'000'000)
    std::snprintf(buf, sizeof buf, "%.2f GB (%.2f GiB)", b / 1e9, b / 1073741824.0);
  else
    std::snprintf(buf, sizeof buf, "%llu bytes", static_cast<unsigned long long>(b));
  return buf;
}

}  // namespace blueprint::cli
