// The `blueprint` command: argument parsing with CLI11, the options every subcommand shares,
// and the registry of subcommands (each in its own cmd_*.cpp, registering itself).
//
// A subcommand file is arguments -> one library call -> print: the parsing of dtypes, meshes,
// strategies, init schemes, missing policies, roles and stage lists lives in the library next
// to the types it produces; what stays here is the text of byte sizes and the printing.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <blueprint/codegen/device_map.hpp>
#include <blueprint/codegen/dtype_policy.hpp>
#include <blueprint/codegen/layout.hpp>
#include <blueprint/codegen/mesh.hpp>
#include <blueprint/codegen/plan_options.hpp>
#include <blueprint/dsl/hf_model.hpp>
#include <blueprint/runtime/communicator.hpp>
#include <blueprint/runtime/model_entry.hpp>
#include <blueprint/runtime/save.hpp>
#include <blueprint/runtime/worker_pool.hpp>

#include "numbers.hpp"

namespace blueprint::cli {

/// An integer option's text checked by parse_count (decimal, or 0x hex; at most `max`) and
/// handed to CLI11 as plain decimal, so that its own conversion cannot read octal or wrap.
[[nodiscard]] inline CLI::Validator count_at_most(std::uint64_t max) {
  return CLI::Validator(
      [max](std::string& text) -> std::string {
        try {
          text = std::to_string(parse_count(text, max));
          return {};
        } catch (const std::invalid_argument& e) {
          return e.what();
        }
      },
      "", "count_at_most");
}

/// --threads N: at most max_worker_threads, and capped at this machine's hardware threads
/// (with a note on stderr: more workers than threads only contend).
[[nodiscard]] unsigned capped_threads(unsigned requested);

/// After a save: a note on stderr when it first removed what a dead save had left.
void note_stale_removed(const save_report& saved);

/// A subcommand: `setup` adds it to the application, with a callback that sets `exit_code`.
struct command {
  std::string_view name;
  void (*setup)(CLI::App& app, int& exit_code);
};
/// Registers a subcommand; call from a namespace-scope initializer in the command's file.
bool register_command(command c);
[[nodiscard]] const std::vector<command>& commands();

/// The built-in models (models.cpp: the one translation unit that holds the table).
[[nodiscard]] std::span<const model_entry> builtin_model_table();
/// MODEL: a built-in name, a config.json, or a directory holding one.
/// @throws std::invalid_argument listing the built-in names, or naming the config.json problem
[[nodiscard]] hf_model resolve_model(std::string_view model);
/// The directory of a MODEL given as a path (where its checkpoint is), "" for a built-in.
[[nodiscard]] std::string model_directory(std::string_view model);
/// config.json (with the saved dtype) and generation_config.json, for save_options.extra_files.
[[nodiscard]] std::map<std::string, std::string> files_for_transformers(const hf_model& m,
                                                                        dtype saved);
/// The dtype the model's config.json declares (`--dtype auto` on init), if any.
[[nodiscard]] std::optional<dtype> declared_dtype(const hf_model& m);

/// The MPI world for a mesh run with one process per rank (under mpirun), checked against it.
/// @throws std::invalid_argument when the process count is not the mesh's rank count, or when
///         this blueprint was built without MPI (`hint` is appended: what else the user can do)
[[nodiscard]] std::unique_ptr<communicator> mpi_world_for(const mesh& m, std::string_view hint);

/// --dtype, --norms-f32, --init, --alignment: what a layout is made with.
struct layout_args {
  std::string dtype;
  bool norms_f32 = false;
  std::string init = "declared";
  std::string init_stream = "v1";
  std::uint64_t alignment = 256;

  /// @param dtype_default the subcommand's default ("auto" allowed where `allow_auto`)
  void add_to(CLI::App& app, std::string dtype_default, bool allow_auto = false);
  /// True when --dtype is "auto": the checkpoint's dtypes.
  [[nodiscard]] bool automatic() const { return dtype == "auto"; }
  /// @throws std::invalid_argument for an unknown dtype
  [[nodiscard]] dtype_policy policy() const;
  /// @throws std::invalid_argument for a bad scheme or alignment
  [[nodiscard]] layout_options options() const;
};

/// --mesh, --strategy, --pad-vocab, --head-dim, --stages, --role: the same on every subcommand
/// that takes a mesh, with one default strategy (fsdp).
struct plan_args {
  std::string mesh = "dp=1";
  std::string strategy = "fsdp";
  bool pad_vocab = false;
  std::uint64_t head_dim = 0;
  std::string stages;
  std::vector<std::string> roles;

  void add_to(CLI::App& app);
  /// True when --mesh was given.
  [[nodiscard]] bool given(const CLI::App& app) const { return app.count("--mesh") != 0; }
  [[nodiscard]] blueprint::mesh parsed_mesh() const;
  [[nodiscard]] blueprint::strategy parsed_strategy() const;
  [[nodiscard]] plan_options options() const;
};

/// --device-map, --max-memory, --offload-dir, --reserve-kv, --gpu-reserve: one process over
/// GPUs, the host and disk (docs/DEVICE_MAPS.md).
struct device_map_args {
  std::string map;  // auto | balanced | sequential | a device | JSON
  std::string max_memory;
  std::string offload_dir;
  std::uint64_t reserve_kv = 0;
  std::string gpu_reserve = "0";
  bool no_in_place = false;

  void add_to(CLI::App& app, bool loading);
  /// True when --device-map was given.
  [[nodiscard]] bool given() const { return !map.empty(); }
  /// The options for `model` (its KV-cache shape comes from its config).
  /// @throws std::invalid_argument naming the option at fault
  [[nodiscard]] device_map_options options(const hf_model& model) const;
};

/// "0=40GiB,1=40GiB,cpu=64GiB" (a device, '=', a byte size; devices as parse_device reads them).
/// @throws std::invalid_argument naming the entry at fault
[[nodiscard]] std::vector<memory_budget> parse_max_memory(std::string_view text);

}  // namespace blueprint::cli
