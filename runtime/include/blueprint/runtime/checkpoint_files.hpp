// A checkpoint on disk: one safetensors file, or shards listed by `model.safetensors.index.json`,
// opened and validated as a whole before any tensor byte is read.
//
// `open_checkpoint` accepts a directory (holding `model.safetensors` or the index, not both), a
// `.safetensors` file, or an index file. For an index, every file it names must exist and hold
// every tensor the index assigns to it; every file's header passes the format checks of
// safetensors.hpp. The result is a flat table name -> (file, header record), which is all the
// load program needs.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "safetensors.hpp"

namespace blueprint {

/// Where a tensor lives in a checkpoint.
struct checkpoint_entry {
  std::uint32_t file = 0;           // index into checkpoint::files
  const st_tensor* info = nullptr;  // its header record (owned by the file)
};

class checkpoint_files {
 public:
  std::string root;                     // what was opened (directory, file or index)
  std::string index_path;               // empty for a single file
  st_index index;                       // empty weight_map for a single file
  std::vector<safetensors_file> files;  // in the order first named
  std::map<std::string, checkpoint_entry, std::less<>> tensors;
  std::vector<std::string> warnings;  // total_size disagreements, unlisted tensors

  [[nodiscard]] const checkpoint_entry* find(std::string_view name) const {
    const auto it = tensors.find(name);
    return it == tensors.end() ? nullptr : &it->second;
  }
  [[nodiscard]] const safetensors_file& file_of(const checkpoint_entry& e) const {
    return files[e.file];
  }
  [[nodiscard]] bool sharded() const { return !index_path.empty(); }
  /// Bytes of tensor data across the files.
  [[nodiscard]] std::uint64_t data_bytes() const {
    std::uint64_t sum = 0;
    for (const auto& [name, e] : tensors) sum += e.info->bytes();
    return sum;
  }
};

namespace detail {

[[nodiscard]] inline std::string read_text_file(const std::string& path, std::uint64_t limit) {
  const unique_fd fd = open_regular_file(path);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) throw_errno(path, std::nullopt, "cannot stat");
  const auto size = static_cast<std::uint64_t>(st.st_size);
  if (size > limit)
    throw checkpoint_error(path, "", 0,
                           "index of " + std::to_string(size) + " bytes exceeds the limit of " +
                               std::to_string(limit) + " bytes");
  std::string text(static_cast<std::size_t>(size), '\0');
  pread_all(fd.get(), text.data(), size, 0, path);
  return text;
}

inline void add_single_file(checkpoint_files& c, const std::string& path,
                            const st_read_limits& limits) {
  c.files.push_back(open_safetensors(path, limits));
  for (const st_tensor& t : c.files.back().header.tensors) c.tensors[t.name] = {0, &t};
}

inline void add_index(checkpoint_files& c, const std::string& path, const st_read_limits& limits) {
  c.index_path = path;
  c.index = parse_safetensors_index(read_text_file(path, limits.max_header_bytes), path);
  const std::filesystem::path dir = std::filesystem::path(path).parent_path();
  std::map<std::string, std::uint32_t> file_ids;
  for (const auto& [tensor, file] : c.index.weight_map) {
    if (file_ids.count(file)) continue;
    const std::string full = (dir / file).string();
    const detail::path_status shard = detail::examine_path(full);
    if (shard.kind != detail::path_kind::regular_file)
      throw checkpoint_error(path, tensor, std::nullopt,
                             "the index assigns it to '" + file + "', which " +
                                 (shard.kind == detail::path_kind::not_found
                                      ? std::string("does not exist")
                                      : detail::unusable_file_reason(full, shard)) +
                                 " (" + full + ")");
    file_ids[file] = static_cast<std::uint32_t>(c.files.size());
    c.files.push_back(open_safetensors(full, limits));
  }
  std::uint64_t total = 0;
  for (const auto& [tensor, file] : c.index.weight_map) {
    const std::uint32_t id = file_ids.at(file);
    const st_tensor* t = c.files[id].header.find(tensor);
    if (t == nullptr)
      throw checkpoint_error(
          c.files[id].path, tensor, std::nullopt,
          "the index '" + path + "' assigns the tensor to this file, which does not hold it");
    c.tensors[tensor] = {id, t};
    total += t->bytes();
  }
  for (const safetensors_file& f : c.files)
    for (const st_tensor& t : f.header.tensors)
      if (!c.index.weight_map.count(t.name))
        c.warnings.push_back("'" + f.path + "' holds tensor '" + t.name +
                             "', which the index does not list (ignored)");
  if (c.index.total_size != 0 && c.index.total_size != total)
    c.warnings.push_back("metadata.total_size is " + std::to_string(c.index.total_size) +
                         " but the listed tensors hold " + std::to_string(total) + " bytes");
}

}  // namespace detail

/// Opens and validates the checkpoint at `path` (directory, `.safetensors` file or index).
/// @post every entry's byte range lies inside its file and was validated; no data was read
[[nodiscard]] inline checkpoint_files open_checkpoint(const std::string& path,
                                                      const st_read_limits& limits = {}) {
  namespace fs = std::filesystem;
  checkpoint_files c;
  c.root = path;
  const detail::path_status root = detail::examine_path(path);
  if (root.kind == detail::path_kind::directory) {
    if (::access(path.c_str(), R_OK | X_OK) != 0)
      throw checkpoint_error(path, "", std::nullopt,
                             "permission denied: the directory cannot be read");
    const fs::path single = fs::path(path) / single_file_name;
    const fs::path index = fs::path(path) / index_file_name;
    // Absent is one thing; there but unusable (a dangling link, a loop, a FIFO) is reported
    // by the open below with its own cause.
    const detail::path_status single_status = detail::examine_path(single.string());
    const detail::path_status index_status = detail::examine_path(index.string());
    const bool has_single = single_status.kind != detail::path_kind::not_found;
    const bool has_index = index_status.kind != detail::path_kind::not_found;
    if (has_single && has_index)
      throw checkpoint_error(
          path, "", std::nullopt,
          "the directory holds both model.safetensors and model.safetensors.index.json; "
          "remove the one that is stale");
    if (has_index) {
      detail::add_index(c, index.string(), limits);
    } else if (has_single) {
      detail::add_single_file(c, single.string(), limits);
    } else {
      throw checkpoint_error(
          path, "", std::nullopt,
          "the directory holds neither model.safetensors nor model.safetensors.index.json");
    }
    return c;
  }
  if (root.kind == detail::path_kind::not_found)
    throw checkpoint_error(path, "", std::nullopt, "no such file or directory");
  if (root.kind != detail::path_kind::regular_file)
    throw checkpoint_error(path, "", std::nullopt, detail::unusable_file_reason(path, root));
  if (path.size() >= 5 && path.compare(path.size() - 5, 5, ".json") == 0) {
    detail::add_index(c, path, limits);
  } else {
    detail::add_single_file(c, path, limits);
  }
  return c;
}

}  // namespace blueprint
