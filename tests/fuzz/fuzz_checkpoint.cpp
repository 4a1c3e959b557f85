// libFuzzer harness over whole checkpoint files, through the real loader (issue 12): the input
// becomes the checkpoint of a tiny model — header, index and data — which is opened, verified
// against the model (the key report) and loaded into a host arena (missing tensors initialized),
// as `blueprint load` would. Every input must load or throw checkpoint_error /
// std::invalid_argument (the errors that name the file, tensor and offset); a crash, a sanitizer
// report or any other exception is a finding.
//
// Input: the first byte picks the layout on disk — even: the rest is `model.safetensors`; odd:
// the rest up to the first NUL byte is `model.safetensors.index.json` and what follows is the
// one shard `model-00001-of-00001.safetensors` it may name. The seeds
// (tests/fuzz/checkpoint_corpus, made by make_checkpoint_corpus.sh) are tiny-llama checkpoints
// written by `blueprint init --save`: whole, sharded, and cut down to a few tensors.
//
//   clang++-19 -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -I... fuzz_checkpoint.cpp
//   ./a.out -max_total_time=3600 corpus tests/fuzz/checkpoint_corpus     (CI runs 20 s)
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <string_view>

#include <blueprint/codegen/model_layout.hpp>
#include <blueprint/dsl/models.hpp>
#include <blueprint/runtime/materialize.hpp>

namespace {

const blueprint::dynamic_layout& tiny_model() {
  blueprint::hf_model m;
  m.name = "tiny-llama";
  m.model_type = "llama";
  m.config = blueprint::models::tiny_llama_config;
  static const blueprint::dynamic_layout l = blueprint::layout(m, blueprint::dtype_policy::bf16());
  return l;
}

const std::filesystem::path& scratch() {
  static const std::filesystem::path dir = [] {
    const std::filesystem::path base =
        std::filesystem::exists("/dev/shm") ? "/dev/shm" : std::filesystem::temp_directory_path();
    std::filesystem::path d = base / ("blueprint-fuzz-" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    return d;
  }();
  return dir;
}

void write_file(const std::filesystem::path& p, std::string_view bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  namespace fs = std::filesystem;
  const fs::path& dir = scratch();
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(dir, ec)) fs::remove(e.path(), ec);
  const std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  if ((data[0] & 1) == 0) {
    write_file(dir / "model.safetensors", rest);
  } else {
    const std::size_t nul = rest.find('\0');
    write_file(dir / "model.safetensors.index.json", rest.substr(0, nul));
    if (nul != std::string_view::npos)
      write_file(dir / "model-00001-of-00001.safetensors", rest.substr(nul + 1));
  }
  try {
    (void)blueprint::verify_checkpoint(tiny_model(), dir.string());
    const blueprint::materialized_model m = blueprint::materialize(
        tiny_model(), blueprint::cpu{.threads = 1},
        {.source = blueprint::checkpoint{.path = dir.string(),
                                         .missing = blueprint::missing_policy::init,
                                         .allow_unmatched = true}});
    if (m.bytes() == 0) std::abort();
  } catch (const blueprint::checkpoint_error&) {
  } catch (const std::invalid_argument&) {
  }
  return 0;
}
