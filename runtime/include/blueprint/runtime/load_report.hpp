// What a checkpoint load found and did: the key report (missing, unexpected, mismatched, tied,
// initialized tensors) completed with the bytes and seconds of the load. Printable and JSON;
// the key error of a strict load carries one.
//
// The JSON keys are stable (the command's `--json` prints them; scripts read them).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <ostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "safetensors.hpp"

namespace blueprint {

struct report_tensor {
  std::string name;
  std::vector<std::uint64_t> shape;
  std::string dtype;  // the checkpoint's (unexpected) or the model's (missing)
};

struct report_mismatch {
  std::string name;
  std::vector<std::uint64_t> expected;  // the model's shape
  std::vector<std::uint64_t> found;     // the checkpoint's
};

/// What a load found and did. Printable (`to_string`, `operator<<`) and JSON (`to_json`).
struct load_report {
  std::string checkpoint;
  std::size_t files = 0;
  std::size_t loaded = 0;                   // model tensors whose bytes come from the file
  std::vector<report_tensor> missing;       // persistent model tensors absent from the file
  std::vector<report_tensor> unexpected;    // checkpoint tensors the model does not have
  std::vector<report_mismatch> mismatched;  // same name, different shape
  std::vector<std::string> initialized;     // given their init: missing, mismatched, buffers
  std::vector<std::string> tied;            // "alias -> target: how it was handled"
  std::vector<std::string> ignored;         // present but not loaded (buffers in the file)
  std::vector<std::string> casts;           // "BF16 -> f32: 12 tensors"
  std::string prefix;                       // how names were matched when the checkpoint's
                                            // lack or add a model prefix ("" when they agree)
  std::vector<std::string> warnings;
  // Filled by the load itself (zero for a key report alone):
  std::uint64_t bytes_read = 0;     // from the files
  std::uint64_t bytes_written = 0;  // into the arena
  double seconds = 0;
  std::uint64_t staging_bytes = 0;
  unsigned threads = 0;

  /// No missing, unexpected or mismatched tensors.
  [[nodiscard]] bool clean() const {
    return missing.empty() && unexpected.empty() && mismatched.empty();
  }
  [[nodiscard]] double gb_per_second() const {
    return seconds > 0 ? bytes_read / seconds / 1e9 : 0;
  }
};

[[nodiscard]] inline std::string to_string(const load_report& r) {
  std::ostringstream s;
  s << "checkpoint " << r.checkpoint << " (" << r.files << (r.files == 1 ? " file" : " files")
    << "): " << r.loaded << " tensors loaded, " << r.missing.size() << " missing, "
    << r.unexpected.size() << " unexpected, " << r.mismatched.size() << " shape mismatches\n";
  for (const auto& t : r.missing)
    s << "  missing     " << t.name << "  model shape " << shape_string(t.shape) << " " << t.dtype
      << ", checkpoint: absent\n";
  for (const auto& t : r.unexpected)
    s << "  unexpected  " << t.name << "  checkpoint shape " << shape_string(t.shape) << " "
      << t.dtype << ", model: absent\n";
  for (const auto& t : r.mismatched)
    s << "  mismatched  " << t.name << "  model shape " << shape_string(t.expected)
      << ", checkpoint shape " << shape_string(t.found) << "\n";
  if (!r.prefix.empty()) s << "  prefix      " << r.prefix << "\n";
  for (const auto& t : r.tied) s << "  tied        " << t << "\n";
  for (const auto& t : r.initialized) s << "  initialized " << t << "\n";
  for (const auto& t : r.ignored) s << "  ignored     " << t << "\n";
  for (const auto& t : r.casts) s << "  cast        " << t << "\n";
  for (const auto& t : r.warnings) s << "  warning     " << t << "\n";
  if (r.seconds > 0) {
    char line[160];
    std::snprintf(
        line, sizeof line, "  read %.3f GB in %.3f s (%.2f GB/s), %u threads, %.1f MiB staging\n",
        r.bytes_read / 1e9, r.seconds, r.gb_per_second(), r.threads, r.staging_bytes / 1048576.0);
    s << line;
  }
  return s.str();
}

inline std::ostream& operator<<(std::ostream& os, const load_report& r) {
  return os << to_string(r);
}

[[nodiscard]] inline nlohmann::json to_json(const load_report& r) {
  nlohmann::json j;
  j["checkpoint"] = r.checkpoint;
  j["files"] = r.files;
  j["loaded"] = r.loaded;
  auto list = [](const std::vector<report_tensor>& v) {
    nlohmann::json a = nlohmann::json::array();
    for (const auto& t : v) a.push_back({{"name", t.name}, {"shape", t.shape}, {"dtype", t.dtype}});
    return a;
  };
  j["missing"] = list(r.missing);
  j["unexpected"] = list(r.unexpected);
  j["mismatched"] = nlohmann::json::array();
  for (const auto& t : r.mismatched)
    j["mismatched"].push_back({{"name", t.name}, {"expected", t.expected}, {"found", t.found}});
  j["initialized"] = r.initialized;
  j["tied"] = r.tied;
  j["ignored"] = r.ignored;
  j["casts"] = r.casts;
  j["prefix"] = r.prefix;
  j["warnings"] = r.warnings;
  j["bytes_read"] = r.bytes_read;
  j["bytes_written"] = r.bytes_written;
  j["seconds"] = r.seconds;
  j["gb_per_second"] = r.gb_per_second();
  j["staging_bytes"] = r.staging_bytes;
  j["threads"] = r.threads;
  return j;
}

/// The key error of a strict load: what() is the printed report.
class checkpoint_key_error : public std::runtime_error {
 public:
  explicit checkpoint_key_error(load_report r)
      : std::runtime_error("the checkpoint does not match the model:\n" + to_string(r)),
        report_(std::move(r)) {}
  /// `headline` in place of the default first line.
  checkpoint_key_error(load_report r, const std::string& headline)
      : std::runtime_error(headline + "\n" + to_string(r)), report_(std::move(r)) {}
  [[nodiscard]] const load_report& report() const { return report_; }

 private:
  load_report report_;
};

}  // namespace blueprint
