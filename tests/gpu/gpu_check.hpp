// A tiny self-contained test harness for the GPU tests.
//
// The GPU machines have CUDA but not necessarily the Debian dev packages (Catch2), so the GPU
// tests carry their own few lines of harness: GPU_TEST registers a case, GPU_CHECK records a
// failure with file and line and carries on, GPU_REQUIRE stops the case. The program prints
// one line per case and a summary line `gpu tests: P passed, F failed` that tests/gpu/run.sh
// reads; the exit status is the number of failed cases (capped at 255). An argument filters
// the cases by substring.
#pragma once

#include <cuda_runtime_api.h>

#include <chrono>
#include <cstdio>
#include <exception>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace gpu_check {

struct test_case {
  const char* name;
  void (*run)();
};

inline std::vector<test_case>& registry() {
  static std::vector<test_case> cases;
  return cases;
}
inline int& failures_in_case() {
  static int n = 0;
  return n;
}

struct registrar {
  registrar(const char* name, void (*run)()) { registry().push_back({name, run}); }
};

struct require_failed {};

inline void fail(const char* file, int line, const std::string& what) {
  ++failures_in_case();
  if (failures_in_case() <= 10) std::printf("    %s:%d: %s\n", file, line, what.c_str());
}

/// `PROGRAM --devices`: the CUDA devices this program sees, without running a case — what
/// tests/gpu/run.sh --prebuilt asks first (the binary loads, its libraries are found, a device
/// is there). Exit 0 with at least one device, 3 with none.
inline int print_devices() {
  int count = 0;
  const cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess || count == 0) {
    std::printf("no CUDA device (%s)\n", e != cudaSuccess ? cudaGetErrorString(e) : "count 0");
    return 3;
  }
  for (int d = 0; d < count; ++d) {
    cudaDeviceProp p{};
    if (cudaGetDeviceProperties(&p, d) == cudaSuccess)
      std::printf("device %d: %s, sm_%d%d, %.1f GiB\n", d, p.name, p.major, p.minor,
                  static_cast<double>(p.totalGlobalMem) / (1ull << 30));
  }
  return 0;
}

inline int run_all(int argc, char** argv) {
  if (argc > 1 && std::string_view(argv[1]) == "--devices") return print_devices();
  const std::string_view filter = argc > 1 ? argv[1] : "";
  int passed = 0, failed = 0;
  for (const test_case& c : registry()) {
    if (!filter.empty() && std::string_view(c.name).find(filter) == std::string_view::npos)
      continue;
    failures_in_case() = 0;
    const auto t0 = std::chrono::steady_clock::now();
    try {
      c.run();
    } catch (const require_failed&) {
    } catch (const std::exception& e) {
      fail(__FILE__, __LINE__, std::string("unexpected exception: ") + e.what());
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const bool ok = failures_in_case() == 0;
    std::printf("[%s] %s (%.2f s)\n", ok ? " OK " : "FAIL", c.name, s);
    std::fflush(stdout);
    (ok ? passed : failed) += 1;
  }
  std::printf("gpu tests: %d passed, %d failed\n", passed, failed);
  return failed > 255 ? 255 : failed;
}

}  // namespace gpu_check

#define GPU_CHECK_CONCAT2(a, b) a##b
#define GPU_CHECK_CONCAT(a, b) GPU_CHECK_CONCAT2(a, b)
/// Registers a test case; the name is a sentence.
#define GPU_TEST(name)                                                      \
  static void GPU_CHECK_CONCAT(gpu_test_, __LINE__)();                      \
  static ::gpu_check::registrar GPU_CHECK_CONCAT(gpu_registrar_, __LINE__)( \
      name, &GPU_CHECK_CONCAT(gpu_test_, __LINE__));                        \
  static void GPU_CHECK_CONCAT(gpu_test_, __LINE__)()
#define GPU_CHECK(cond) \
  ((cond) ? (void)0 : ::gpu_check::fail(__FILE__, __LINE__, "check failed: " #cond))
#define GPU_CHECK_MSG(cond, msg) ((cond) ? (void)0 : ::gpu_check::fail(__FILE__, __LINE__, (msg)))
#define GPU_REQUIRE(cond)                                                  \
  do {                                                                     \
    if (!(cond)) {                                                         \
      ::gpu_check::fail(__FILE__, __LINE__, "requirement failed: " #cond); \
      throw ::gpu_check::require_failed{};                                 \
    }                                                                      \
  } while (0)
#define GPU_CHECK_THROWS_WITH(expr, text)                                               \
  do {                                                                                  \
    bool threw_ = false;                                                                \
    try {                                                                               \
      (void)(expr);                                                                     \
    } catch (const std::exception& e_) {                                                \
      threw_ = true;                                                                    \
      if (std::string(e_.what()).find(text) == std::string::npos)                       \
        ::gpu_check::fail(__FILE__, __LINE__,                                           \
                          std::string("message lacks '") + (text) + "': " + e_.what()); \
    }                                                                                   \
    if (!threw_) ::gpu_check::fail(__FILE__, __LINE__, "did not throw: " #expr);        \
  } while (0)
