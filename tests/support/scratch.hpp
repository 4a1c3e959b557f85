// Test support shared by the test programs: fresh scratch directories and arena comparison.
// (The unit tests build as a few unity translation units, so a helper lives here once rather
// than as a copy in each file.)
#pragma once

#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>

namespace blueprint::test {

/// An empty directory `suite/name` under the test data directory (the build's, or the system's
/// temporary directory for programs built without one), private to this process: ctest runs
/// the same test program several times at once (unit, unit.fill_isa_*).
inline std::filesystem::path scratch_dir(std::string_view suite, const std::string& name) {
#if defined(BLUEPRINT_TEST_DATA_DIR)
  const std::filesystem::path root = BLUEPRINT_TEST_DATA_DIR;
#else
  const std::filesystem::path root = std::filesystem::temp_directory_path() / "blueprint_tests";
#endif
  const std::filesystem::path dir =
      root / ("scratch-" + std::to_string(::getpid())) / std::string(suite) / name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

/// Two models (host or anything with arena()) hold the same bytes.
template <class A, class B>
bool same_arena(const A& a, const B& b) {
  return a.arena().size() == b.arena().size() &&
         std::memcmp(a.arena().data(), b.arena().data(), a.arena().size()) == 0;
}

}  // namespace blueprint::test
