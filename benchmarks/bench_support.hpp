// What the hand-written checkpoint benchmarks share: settings from the environment, and a
// seed checkpoint written once and read once, so that every timed load is from the page cache.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <blueprint/runtime/materialize.hpp>
#include <blueprint/runtime/save_model.hpp>

namespace bench {

/// The environment variable `name`, or `fallback` when it is unset or empty.
inline std::string env_or(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? v : fallback;
}

/// Writes a seed-1 checkpoint of `layout` to `dir` (split at 1 GB) unless one is there, then
/// reads every file of `dir` once (page cache warm). Returns the files' bytes.
inline std::uint64_t seed_checkpoint_once(const blueprint::dynamic_layout& layout,
                                          const std::string& dir) {
  namespace fs = std::filesystem;
  using namespace blueprint;
  if (!fs::exists(fs::path(dir) / "model.safetensors") &&
      !fs::exists(fs::path(dir) / "model.safetensors.index.json")) {
    const materialized_model model = materialize(layout, cpu{}, {.source = init{.seed = 1}});
    (void)save(model, dir, {.max_shard_size = 1_GB});
  }
  std::uint64_t bytes = 0;
  std::vector<char> sink(8 << 20);
  for (const auto& e : fs::directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    bytes += fs::file_size(e.path());
    const int fd = ::open(e.path().c_str(), O_RDONLY);
    while (::read(fd, sink.data(), sink.size()) > 0) {
    }
    ::close(fd);
  }
  return bytes;
}

}  // namespace bench
