// Saving an arena as a Hugging Face checkpoint: every rank writes its own slices into the final
// files, no gather, and the files appear atomically.
//
// The file plan is a pure function of the layout and the options, so every rank computes the
// same one without talking: persistent tensors in layout order (ties omitted, as
// `save_pretrained` omits a tied lm_head), split greedily by `max_shard_size` (bytes;
// 5_GB = 5 * 10^9, the default of save_pretrained; a tensor larger than the cap alone in its
// shard), files `model-0000i-of-0000N.safetensors` with `model.safetensors.index.json`, or one
// `model.safetensors` when everything fits. Inside a file, tensors are ordered by dtype size
// (largest first, then layout order) so that every tensor's data is aligned to its element size
// after the 8-byte-aligned header, the property the Python library's ordering gives.
//
// Protocol: rank 0 creates the files under temporary names in the target directory, sizes them
// and writes the headers; after a barrier every rank pwrites the rows of its segments at their
// offsets and fsyncs; after a barrier that also agrees on success, rank 0 removes a stale index,
// renames the data files, then renames the index last (the commit point of a sharded save), and
// finally removes stale files of an older checkpoint. A failure on any rank removes the
// temporary files on rank 0 and throws on every rank; nothing that looks like a complete
// checkpoint is left behind.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <concepts>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <map>
#include <set>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <blueprint/codegen/layout.hpp>
#include <blueprint/codegen/plan_options.hpp>
#include <blueprint/codegen/program.hpp>

#include "communicator.hpp"
#include "safetensors.hpp"

namespace blueprint {

struct save_options {
  std::uint64_t max_shard_size = 5_GB;  // bytes (decimal units, as save_pretrained's "5GB")
  std::map<std::string, std::string> metadata = {{"format", "pt"}};  // __metadata__ of every file
  /// Files written beside the tensors by rank 0, by name ("config.json" -> its text): to a
  /// temporary name first and renamed into place with the tensor files, so that a failed save
  /// leaves none of them behind.
  std::map<std::string, std::string> extra_files{};
};

/// One file of a save.
struct save_file {
  std::string name;                    // "model-00001-of-00002.safetensors"
  std::string header;                  // 8-byte length + padded JSON
  std::uint64_t size = 0;              // header + data
  std::vector<std::uint32_t> tensors;  // layout rows, in data order
};

/// The files of a save and where every tensor goes: the same on every rank.
struct save_plan {
  std::vector<save_file> files;
  std::vector<std::uint32_t> file_of;    // per layout row; no_tensor: not saved
  std::vector<std::uint64_t> offset_of;  // per layout row: file offset of element 0
  std::uint64_t total_size = 0;          // tensor bytes (the index's metadata.total_size)
  std::string index_json;                // empty for a single file

  [[nodiscard]] bool sharded() const { return !index_json.empty(); }
};

/// "model-00001-of-00003.safetensors"
[[nodiscard]] inline std::string shard_file_name(std::size_t i, std::size_t n) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "model-%05zu-of-%05zu.safetensors", i + 1, n);
  return buf;
}

/// The file plan of `layout` (see the file comment).
template <class Layout>
[[nodiscard]] save_plan plan_save(const Layout& layout, const save_options& options = {}) {
  const std::uint64_t cap = options.max_shard_size;
  if (cap == 0) throw std::invalid_argument("save: max_shard_size must be at least one byte");
  const auto tensors = layout.tensors();
  // huggingface_hub's split_state_dict_into_shards: an oversized tensor becomes a shard of its
  // own at once (before the shard being filled); the open shard closes when the next tensor
  // would tip it over the cap. Same files, in the same order, as save_pretrained.
  std::vector<std::vector<std::uint32_t>> groups;
  std::vector<std::uint32_t> open;
  std::uint64_t current = 0;
  save_plan plan;
  for (std::uint32_t i = 0; i < tensors.size(); ++i) {
    if (!tensors[i].spec.persistent) continue;
    const std::uint64_t b = tensors[i].bytes;
    plan.total_size += b;
    if (b > cap) {
      groups.push_back({i});
      continue;
    }
    if (current + b > cap) {  // open is not empty here: b alone fits
      groups.push_back(std::move(open));
      open.clear();
      current = 0;
    }
    open.push_back(i);
    current += b;
  }
  if (!open.empty() || groups.empty()) groups.push_back(std::move(open));
  plan.file_of.assign(tensors.size(), no_tensor);
  plan.offset_of.assign(tensors.size(), 0);
  std::vector<std::pair<std::string, std::string>> weight_map;
  for (std::size_t f = 0; f < groups.size(); ++f) {
    save_file file;
    file.name =
        groups.size() == 1 ? std::string(single_file_name) : shard_file_name(f, groups.size());
    file.tensors = groups[f];
    std::stable_sort(file.tensors.begin(), file.tensors.end(),
                     [&](std::uint32_t a, std::uint32_t b) {
                       return dtype_size(tensors[a].type) > dtype_size(tensors[b].type);
                     });
    std::vector<st_entry> entries;
    for (std::uint32_t i : file.tensors) {
      const placed_tensor& t = tensors[i];
      entries.push_back({std::string(t.name()),
                         to_st_dtype(t.type),
                         {t.spec.shape, t.spec.shape + t.spec.rank},
                         t.bytes});
      weight_map.emplace_back(std::string(t.name()), file.name);
    }
    file.header = serialize_safetensors_header(entries, options.metadata);
    std::uint64_t offset = file.header.size();
    for (std::uint32_t i : file.tensors) {
      plan.file_of[i] = static_cast<std::uint32_t>(f);
      plan.offset_of[i] = offset;
      offset += tensors[i].bytes;
    }
    file.size = offset;
    plan.files.push_back(std::move(file));
  }
  if (plan.files.size() > 1)
    plan.index_json =
        serialize_safetensors_index(plan.total_size, weight_map, layout.parameter_count());
  return plan;
}

// ---- communicators -----------------------------------------------------------------------

/// What a save did on this rank.
struct save_report {
  std::string directory;
  std::vector<std::string> files;  // final names, in order
  std::uint64_t total_size = 0;
  std::uint64_t bytes_written = 0;  // by this rank
  double seconds = 0;
};

namespace detail {

[[nodiscard]] inline std::string temp_name(const std::string& name) {
  return "." + name + ".blueprint-partial";
}

inline void fsync_path(const std::string& path, int flags) {
  unique_fd fd(::open(path.c_str(), flags | O_CLOEXEC));
  if (fd) ::fsync(fd.get());
}

/// Writes this rank's segments into the (temporary) files.
template <class Layout>
std::uint64_t write_segments(const Layout& layout, const save_plan& plan, const program& prog,
                             std::span<const std::byte> arena, const std::vector<unique_fd>& fds,
                             const std::vector<std::string>& paths) {
  const auto tensors = layout.tensors();
  std::uint64_t written = 0;
  for (const segment& seg : prog.segments) {
    if (seg.padding != 0 || seg.tensor_index >= tensors.size()) continue;
    const std::uint32_t f = plan.file_of[seg.tensor_index];
    if (f == no_tensor) continue;
    const std::uint64_t size = dtype_size(seg.type);
    if (seg.type != tensors[seg.tensor_index].type)
      throw checkpoint_error(paths[f], std::string(tensors[seg.tensor_index].name()), std::nullopt,
                             "the program's dtype differs from the layout's");
    if (seg.arena_offset + seg.bytes() > arena.size())
      throw std::invalid_argument("save: a segment of the program lies outside the arena");
    const std::byte* src = arena.data() + seg.arena_offset;
    const std::uint64_t at = plan.offset_of[seg.tensor_index];
    if (seg.stride == seg.run) {
      pwrite_all(fds[f].get(), src, seg.count * size, at + seg.base * size, paths[f]);
    } else {
      for (std::uint64_t k = 0; k < seg.count; k += seg.run) {
        const std::uint64_t n = std::min(seg.run, seg.count - k);
        pwrite_all(fds[f].get(), src + k * size, n * size,
                   at + (seg.base + (k / seg.run) * seg.stride) * size, paths[f]);
      }
    }
    written += seg.count * size;
  }
  return written;
}

}  // namespace detail

/// Saves the arena of this rank (its program `prog` of `layout`) into directory `dir`; every
/// rank of `comm` calls it with its own program and arena. See the file comment for the
/// protocol. Returns this rank's report; throws on every rank if any rank failed.
template <class Layout>
save_report save_arena(const Layout& layout, const program& prog, std::span<const std::byte> arena,
                       communicator& comm, const std::string& dir,
                       const save_options& options = {}) {
  namespace fs = std::filesystem;
  const auto t0 = std::chrono::steady_clock::now();
  const save_plan plan = plan_save(layout, options);
  std::vector<std::string> temps, finals;
  for (const save_file& f : plan.files) {
    temps.push_back((fs::path(dir) / detail::temp_name(f.name)).string());
    finals.push_back((fs::path(dir) / f.name).string());
  }
  const std::string index_final = (fs::path(dir) / index_file_name).string();
  const std::string index_temp =
      (fs::path(dir) / detail::temp_name(std::string(index_file_name))).string();
  std::vector<std::pair<std::string, std::string>> extras;  // temp, final
  for (const auto& [name, text] : options.extra_files) {
    if (name.empty() || name.find('/') != std::string::npos || name.rfind("model", 0) == 0)
      throw std::invalid_argument("save: extra file name '" + name +
                                  "' must be a plain file name not starting with 'model'");
    extras.emplace_back((fs::path(dir) / detail::temp_name(name)).string(),
                        (fs::path(dir) / name).string());
  }
  const bool root = comm.rank() == 0;
  std::exception_ptr error;
  auto cleanup = [&] {
    if (!root) return;
    std::error_code ec;
    for (const std::string& t : temps) fs::remove(t, ec);
    fs::remove(index_temp, ec);
    for (const auto& [temp, final_name] : extras) fs::remove(temp, ec);
  };
  auto agree = [&](bool ok) {
    if (!comm.all_true(ok)) {
      cleanup();
      if (error) std::rethrow_exception(error);
      throw checkpoint_error(dir, "", std::nullopt,
                             "save failed on another rank; no checkpoint was written");
    }
  };
  // 1. Rank 0: create and size the files, write the headers.
  bool ok = true;
  if (root) {
    try {
      std::error_code ec;
      fs::create_directories(dir, ec);
      if (ec)
        throw checkpoint_error(dir, "", std::nullopt,
                               "cannot create the directory: " + ec.message());
      for (std::size_t f = 0; f < plan.files.size(); ++f) {
        unique_fd fd(::open(temps[f].c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644));
        if (!fd) detail::throw_errno(temps[f], std::nullopt, "cannot create");
        if (::ftruncate(fd.get(), static_cast<off_t>(plan.files[f].size)) != 0)
          detail::throw_errno(temps[f], plan.files[f].size, "cannot size the file");
        detail::pwrite_all(fd.get(), plan.files[f].header.data(), plan.files[f].header.size(), 0,
                           temps[f]);
      }
    } catch (...) {
      error = std::current_exception();
      ok = false;
    }
  }
  agree(ok);
  // 2. Every rank: its slices, then fsync.
  std::uint64_t written = 0;
  try {
    std::vector<unique_fd> fds;
    for (const std::string& t : temps) {
      fds.emplace_back(::open(t.c_str(), O_WRONLY | O_CLOEXEC));
      if (!fds.back()) detail::throw_errno(t, std::nullopt, "cannot open for writing");
    }
    written = detail::write_segments(layout, plan, prog, arena, fds, temps);
    for (std::size_t f = 0; f < fds.size(); ++f)
      if (::fsync(fds[f].get()) != 0) detail::throw_errno(temps[f], std::nullopt, "fsync failed");
  } catch (...) {
    error = std::current_exception();
    ok = false;
  }
  agree(ok);
  // 3. Rank 0: commit.
  if (root) {
    try {
      std::error_code ec;
      if (plan.sharded()) {
        unique_fd fd(::open(index_temp.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644));
        if (!fd) detail::throw_errno(index_temp, std::nullopt, "cannot create");
        detail::pwrite_all(fd.get(), plan.index_json.data(), plan.index_json.size(), 0, index_temp);
        if (::fsync(fd.get()) != 0) detail::throw_errno(index_temp, std::nullopt, "fsync failed");
      }
      for (const auto& [temp, final_name] : extras) {
        const std::string& text = options.extra_files.at(fs::path(final_name).filename().string());
        unique_fd fd(::open(temp.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644));
        if (!fd) detail::throw_errno(temp, std::nullopt, "cannot create");
        detail::pwrite_all(fd.get(), text.data(), text.size(), 0, temp);
        if (::fsync(fd.get()) != 0) detail::throw_errno(temp, std::nullopt, "fsync failed");
      }
      // An older index must stop describing the directory before its files are replaced.
      fs::remove(index_final, ec);
      for (std::size_t f = 0; f < plan.files.size(); ++f) {
        fs::rename(temps[f], finals[f], ec);
        if (ec)
          throw checkpoint_error(finals[f], "", std::nullopt,
                                 "cannot rename into place: " + ec.message());
      }
      if (plan.sharded()) {
        fs::rename(index_temp, index_final, ec);
        if (ec)
          throw checkpoint_error(index_final, "", std::nullopt,
                                 "cannot rename into place: " + ec.message());
      }
      for (const auto& [temp, final_name] : extras) {
        fs::rename(temp, final_name, ec);
        if (ec)
          throw checkpoint_error(final_name, "", std::nullopt,
                                 "cannot rename into place: " + ec.message());
      }
      // Stale files of an older checkpoint in the same directory.
      std::set<std::string> keep;
      for (const save_file& f : plan.files) keep.insert(f.name);
      for (const fs::directory_entry& e : fs::directory_iterator(dir, ec)) {
        const std::string n = e.path().filename().string();
        const bool ours = n == single_file_name ||
                          (n.rfind("model-", 0) == 0 && n.find("-of-") != std::string::npos &&
                           n.size() > 12 && n.compare(n.size() - 12, 12, ".safetensors") == 0);
        if (ours && !keep.count(n)) fs::remove(e.path(), ec);
      }
      detail::fsync_path(dir, O_RDONLY | O_DIRECTORY);
    } catch (...) {
      error = std::current_exception();
      ok = false;
    }
  }
  agree(ok);
  save_report r;
  r.directory = dir;
  for (const save_file& f : plan.files) r.files.push_back(f.name);
  if (plan.sharded()) r.files.emplace_back(index_file_name);
  for (const auto& [name, text] : options.extra_files) r.files.push_back(name);
  r.total_size = plan.total_size;
  r.bytes_written = written;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

/// One process: `save_arena` with a single_process_communicator.
template <class Layout>
save_report save_arena(const Layout& layout, const program& prog, std::span<const std::byte> arena,
                       const std::string& dir, const save_options& options = {}) {
  single_process_communicator comm;
  return save_arena(layout, prog, arena, comm, dir, options);
}

}  // namespace blueprint
