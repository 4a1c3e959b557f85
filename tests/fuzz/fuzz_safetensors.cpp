// libFuzzer harness for the safetensors header and index parsers (issue 6, "Bad input").
//
// The first input byte picks the parser; the rest is the header JSON (as if the file had that
// header and `declared data bytes` of data) or the index JSON. Every input must either parse
// into a header whose invariants hold or throw checkpoint_error; anything else (a crash, a
// sanitizer report, another exception, a broken invariant) is a finding.
//
//   clang++ -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -I... fuzz_safetensors.cpp
//   ./a.out -max_total_time=600 tests/fuzz/corpus        (the longer run; CI runs 30 s)
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include <blueprint/runtime/safetensors.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data + 2), size - 2);
  try {
    if (data[0] & 1) {
      (void)blueprint::parse_safetensors_index(text, "fuzz.index.json");
      return 0;
    }
    // Data region: the size of the input again, scaled by the second byte (0 .. 255 x).
    const std::uint64_t data_bytes = static_cast<std::uint64_t>(data[1]) * size;
    const blueprint::st_header h =
        blueprint::parse_safetensors_header(text, 8 + text.size() + data_bytes, "fuzz");
    std::uint64_t cursor = 0;
    for (const blueprint::st_tensor& t : h.tensors) {
      if (t.begin != cursor || t.end < t.begin || t.end > h.data_bytes) std::abort();
      if (t.numel * blueprint::st_dtype_size(t.type) != t.end - t.begin) std::abort();
      cursor = t.end;
    }
    if (cursor != h.data_bytes) std::abort();
  } catch (const blueprint::checkpoint_error&) {
  }
  return 0;
}
