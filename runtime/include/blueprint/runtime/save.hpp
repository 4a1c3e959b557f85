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
// Protocol (docs/CHECKPOINTS.md "Save protocol"; the directory's rules in
// checkpoint_directory.hpp): rank 0 takes the directory's save lock (a second save into it
// fails at once), removes what dead saves left, draws a token unique to this save and creates
// the files exclusively (O_EXCL) under partial names holding the token, sized, headers written.
// Every rank then pwrites the rows of its segments at their offsets and fsyncs. Each phase ends
// in an agreement step (communicator.hpp): a failure on any rank removes this save's files and
// throws on every rank. Rank 0 commits: in place, data files are renamed to their final (new)
// names, then the index over the old one — the one atomic step of a sharded save; for one file
// its rename is that step — then config.json and friends, then the old checkpoint's stale
// shards are removed. When the new files would replace old files of the same names (or shards
// a single file, or the reverse), the new checkpoint is built in a sibling folder and the two
// folders are exchanged in one atomic rename. A crash at any point leaves the old checkpoint
// or the new one loadable, never neither, and never a mix.
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
#include <optional>
#include <set>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <blueprint/codegen/layout.hpp>
#include <blueprint/codegen/plan_options.hpp>
#include <blueprint/codegen/program.hpp>

#include "checkpoint_directory.hpp"
#include "communicator.hpp"
#include "fault_points.hpp"
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
    std::sort(file.tensors.begin(), file.tensors.end(), [&](std::uint32_t a, std::uint32_t b) {
      const std::size_t sa = dtype_size(tensors[a].type), sb = dtype_size(tensors[b].type);
      return sa != sb ? sa > sb : a < b;  // then layout order (a total order: no stable_sort)
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
  save_leftovers stale_removed;     // rank 0: what dead saves had left, removed first
  bool swapped_folder = false;      // built beside the directory and exchanged with it
  double seconds = 0;
};

namespace detail {

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

namespace detail {

/// What rank 0 decides before any rank writes, and broadcasts: where the files go.
struct save_session {
  char token[17] = {};
  std::uint8_t swap = 0;  // 1: the new checkpoint is built in a sibling folder and swapped in
};

/// Whether the new files can be committed inside `dir` with the index (or the single file) as
/// the one atomic step: no old checkpoint, or a single file replaced by a single file, or old
/// shards replaced by new shards of other names. Otherwise a folder swap.
[[nodiscard]] inline bool needs_folder_swap(const std::string& dir, const save_plan& plan) {
  namespace fs = std::filesystem;
  std::set<std::string> old_files;
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(dir, ec)) {
    const std::string n = e.path().filename().string();
    if (is_checkpoint_file_name(n)) old_files.insert(n);
  }
  if (old_files.empty()) return false;
  const bool old_single = old_files.count(std::string(single_file_name)) != 0;
  const bool old_index = old_files.count(std::string(index_file_name)) != 0;
  if (!plan.sharded()) return old_index || old_files.size() > 1 || !old_single;
  if (old_single) return true;
  for (const save_file& f : plan.files)
    if (old_files.count(f.name)) return true;
  return false;
}

/// Hard links (or, across filesystems, copies) every file of `from` that is not part of a
/// checkpoint, a leftover or one of `ours` into `to`, keeping subfolders: the new folder of a
/// swap keeps the tokenizer, README and whatever else the user keeps beside the weights.
inline void carry_other_files(const std::filesystem::path& from, const std::filesystem::path& to,
                              const std::set<std::string>& ours) {
  namespace fs = std::filesystem;
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(from, ec)) {
    const std::string n = e.path().filename().string();
    if (is_checkpoint_file_name(n) || ours.count(n) || n == save_lock_name ||
        n.ends_with(partial_suffix))
      continue;
    const fs::path target = to / n;
    std::error_code step;
    if (e.is_symlink(step)) {
      fs::copy_symlink(e.path(), target, step);
    } else if (e.is_directory(step)) {
      fs::create_directory(target, step);
      if (!step) carry_other_files(e.path(), target, {});
    } else {
      fs::create_hard_link(e.path(), target, step);
      if (step) fs::copy_file(e.path(), target, step);
    }
    if (step)
      throw checkpoint_error(e.path().string(), "", std::nullopt,
                             "cannot carry into the new checkpoint folder: " + step.message());
  }
}

inline void create_exclusive(const std::string& path, std::string_view text, std::uint64_t size) {
  unique_fd fd(::open(path.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644));
  if (!fd) throw_errno(path, std::nullopt, "cannot create");
  if (size > text.size() && ::ftruncate(fd.get(), static_cast<off_t>(size)) != 0)
    throw_errno(path, size, "cannot size the file");
  pwrite_all(fd.get(), text.data(), text.size(), 0, path);
  if (::fsync(fd.get()) != 0) throw_errno(path, std::nullopt, "fsync failed");
}

inline void rename_into_place(const std::string& from, const std::string& to) {
  std::error_code ec;
  std::filesystem::rename(from, to, ec);
  if (ec) throw checkpoint_error(to, "", std::nullopt, "cannot rename into place: " + ec.message());
}

}  // namespace detail

/// Saves the arena of this rank (its program `prog` of `layout`) into directory `dir`; every
/// rank of `comm` calls it with its own program and arena. See the file comment for the
/// protocol. Returns this rank's report; throws on every rank if any rank failed (a job_error
/// naming the failed rank when there are several ranks).
template <class Layout>
save_report save_arena(const Layout& layout, const program& prog, std::span<const std::byte> arena,
                       communicator& comm, const std::string& dir,
                       const save_options& options = {}) {
  namespace fs = std::filesystem;
  const auto t0 = std::chrono::steady_clock::now();
  const save_plan plan = plan_save(layout, options);
  for (const auto& [name, text] : options.extra_files)
    if (name.empty() || name.find('/') != std::string::npos || name.rfind("model", 0) == 0 ||
        name.front() == '.')
      throw std::invalid_argument("save: extra file name '" + name +
                                  "' must be a plain file name not starting with 'model' or '.'");
  const bool root = comm.rank() == 0;
  std::optional<save_lock> lock;  // rank 0, for the whole save
  detail::save_session session;
  save_leftovers stale;
  fs::path folder;                  // where the files are written: dir, or the new sibling
  std::vector<std::string> writes;  // the data files as written (partial names, or in folder)
  bool created_folder = false;
  auto cleanup = [&] {
    if (!root) return;
    std::error_code ec;
    if (session.swap != 0 && created_folder) {
      fs::remove_all(folder, ec);
    } else {
      for (const std::string& w : writes) fs::remove(w, ec);
      if (!folder.empty())
        for (const fs::directory_entry& e : fs::directory_iterator(folder, ec))
          if (e.path().filename().string().find(session.token) != std::string::npos)
            fs::remove(e.path(), ec);
    }
  };
  auto phase = [&](auto&& step) {
    try {
      agreed_step(comm, step);
    } catch (...) {
      cleanup();
      throw;
    }
  };
  auto paths_in = [&](const fs::path& where, bool partial) {
    std::vector<std::string> out;
    for (const save_file& f : plan.files)
      out.push_back(
          (where / (partial ? detail::partial_name(f.name, session.token) : f.name)).string());
    return out;
  };
  // 1. Rank 0: the directory, its lock, a dead save's leftovers; the mode; the empty files.
  phase([&] {
    if (!root) return;
    detail::finish_interrupted_swap(dir);
    std::error_code ec;
    fs::create_directories(dir, ec);
    const detail::path_status d = detail::examine_path(dir);
    if (d.kind != detail::path_kind::directory)
      throw checkpoint_error(
          dir, "", std::nullopt,
          ec ? "cannot create the directory: " + ec.message() : "is not a directory");
    lock.emplace(dir);
    stale = find_save_leftovers(dir);
    for (const std::string& p : stale.partial_files) fs::remove_all(p, ec);
    for (const std::string& p : stale.sibling_folders) fs::remove_all(p, ec);
    const std::string token = detail::make_save_token();
    std::copy(token.begin(), token.end(), session.token);
    session.swap = detail::needs_folder_swap(dir, plan) ? 1 : 0;
    folder = session.swap ? detail::sibling_folder(dir, "new", token) : fs::path(dir);
    if (session.swap) {
      if (!fs::create_directory(folder, ec) || ec)
        throw checkpoint_error(folder.string(), "", std::nullopt,
                               "cannot create the new checkpoint folder beside the old one" +
                                   (ec ? ": " + ec.message() : std::string()));
      created_folder = true;
    }
    writes = paths_in(folder, !session.swap);
    for (std::size_t f = 0; f < plan.files.size(); ++f)
      detail::create_exclusive(writes[f], plan.files[f].header, plan.files[f].size);
  });
  comm.broadcast(std::as_writable_bytes(std::span<detail::save_session>(&session, 1)), 0);
  if (!root) {
    folder = session.swap ? detail::sibling_folder(dir, "new", session.token) : fs::path(dir);
    writes = paths_in(folder, !session.swap);
  }
  // 2. Every rank: its slices, then fsync.
  std::uint64_t written = 0;
  phase([&] {
    detail::fault_point("write");
    std::vector<unique_fd> fds;
    for (const std::string& t : writes) {
      fds.emplace_back(::open(t.c_str(), O_WRONLY | O_CLOEXEC));
      if (!fds.back()) detail::throw_errno(t, std::nullopt, "cannot open for writing");
    }
    written = detail::write_segments(layout, plan, prog, arena, fds, writes);
    for (std::size_t f = 0; f < fds.size(); ++f)
      if (::fsync(fds[f].get()) != 0) detail::throw_errno(writes[f], std::nullopt, "fsync failed");
  });
  // 3. Rank 0: commit. In place, the index (or the single file) is the atomic step: data files
  // first under their new names, then the index over the old one, then the extra files; stale
  // files of the old checkpoint go after it. In a sibling folder: everything final-named there,
  // the user's other files carried, then one exchange of the two folders.
  phase([&] {
    if (!root) return;
    detail::fault_point("commit");
    std::set<std::string> extra_names;
    for (const auto& [name, text] : options.extra_files) extra_names.insert(name);
    if (session.swap) {
      if (plan.sharded())
        detail::create_exclusive((folder / index_file_name).string(), plan.index_json, 0);
      for (const auto& [name, text] : options.extra_files)
        detail::create_exclusive((folder / name).string(), text, 0);
      detail::carry_other_files(dir, folder, extra_names);
      detail::fsync_path(folder.string(), O_RDONLY | O_DIRECTORY);
      detail::fault_point("rename");
      const fs::path old = detail::sibling_folder(dir, "old", session.token);
      if (detail::exchange_paths(folder.string(), dir)) {
        detail::fault_point("swap");
        created_folder = false;  // the folder at that path is now the old checkpoint
        std::error_code ec;
        fs::remove_all(folder, ec);
      } else {
        detail::rename_into_place(dir, old.string());
        detail::fault_point("swap");
        detail::rename_into_place(folder.string(), dir);
        created_folder = false;
        std::error_code ec;
        fs::remove_all(old, ec);
      }
      detail::fsync_path(fs::path(dir).lexically_normal().parent_path().string(),
                         O_RDONLY | O_DIRECTORY);
      return;
    }
    const std::string index_partial =
        (folder / detail::partial_name(index_file_name, session.token)).string();
    if (plan.sharded()) detail::create_exclusive(index_partial, plan.index_json, 0);
    std::vector<std::pair<std::string, std::string>> extras;  // partial, final
    for (const auto& [name, text] : options.extra_files) {
      extras.emplace_back((folder / detail::partial_name(name, session.token)).string(),
                          (folder / name).string());
      detail::create_exclusive(extras.back().first, text, 0);
    }
    const std::vector<std::string> finals = paths_in(folder, false);
    for (std::size_t f = 0; f < plan.files.size(); ++f) {
      detail::rename_into_place(writes[f], finals[f]);
      if (f == 0) detail::fault_point("rename");
    }
    writes.clear();
    if (plan.sharded())
      detail::rename_into_place(index_partial, (folder / index_file_name).string());
    for (const auto& [partial, final_name] : extras) detail::rename_into_place(partial, final_name);
    detail::fault_point("cleanup");
    std::set<std::string> keep;
    for (const save_file& f : plan.files) keep.insert(f.name);
    if (plan.sharded()) keep.insert(std::string(index_file_name));
    std::error_code ec;
    for (const fs::directory_entry& e : fs::directory_iterator(folder, ec)) {
      const std::string n = e.path().filename().string();
      if (is_checkpoint_file_name(n) && !keep.count(n)) fs::remove(e.path(), ec);
    }
    detail::fsync_path(folder.string(), O_RDONLY | O_DIRECTORY);
  });
  save_report r;
  r.directory = dir;
  for (const save_file& f : plan.files) r.files.push_back(f.name);
  if (plan.sharded()) r.files.emplace_back(index_file_name);
  for (const auto& [name, text] : options.extra_files) r.files.push_back(name);
  r.total_size = plan.total_size;
  r.bytes_written = written;
  r.stale_removed = std::move(stale);
  r.swapped_folder = session.swap != 0;
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
