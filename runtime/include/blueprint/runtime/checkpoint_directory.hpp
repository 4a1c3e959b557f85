// The directory a checkpoint is saved into, as the save protocol sees it (docs/CHECKPOINTS.md
// "Save protocol"): who may write into it (a lock), which of its files belong to a checkpoint,
// which are the leftovers of a save that died (partial files, sibling folders), and how such
// leftovers are removed or an interrupted folder swap is finished.
//
// - The lock is `DIR/.blueprint-save.lock`, held with flock(2) by the saving process (rank 0)
//   for the whole save and removed at its end: the kernel drops the flock when the process
//   dies, so a dead save never leaves a lock that blocks (the file it leaves is reused). A
//   second save into DIR fails at once, naming the holder's pid.
// - Partial files are `.NAME.TOKEN.blueprint-partial`, TOKEN unique per save; a save holding the
//   lock knows that every other partial file is a dead save's and removes it.
// - A save that must replace files of the same names (or a single file by shards) builds the
//   new checkpoint in a sibling folder `.DIRNAME.blueprint-new-TOKEN` and exchanges the two
//   folders in one atomic renameat2(RENAME_EXCHANGE); the old one, then at the sibling's path,
//   is removed. Where the filesystem cannot exchange, DIR is renamed to
//   `.DIRNAME.blueprint-old-TOKEN` and the new folder into place: if the process dies between
//   the two renames, DIR is missing but both checkpoints are whole, and the next save (or
//   `blueprint clean DIR`) moves the new one into place.
#pragma once

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "checkpoint_error.hpp"
#include "file_io.hpp"
#include "safetensors_index.hpp"

namespace blueprint {

inline constexpr std::string_view save_lock_name = ".blueprint-save.lock";
inline constexpr std::string_view partial_suffix = ".blueprint-partial";

/// True for the names a checkpoint consists of: model.safetensors, the index, model-i-of-N.
[[nodiscard]] inline bool is_checkpoint_file_name(std::string_view n) {
  constexpr std::string_view shard_end = ".safetensors";
  return n == single_file_name || n == index_file_name ||
         (n.starts_with("model-") && n.find("-of-") != std::string_view::npos &&
          n.size() > shard_end.size() && n.ends_with(shard_end));
}

/// What a dead save left in and beside a directory.
struct save_leftovers {
  std::vector<std::string> partial_files;    // full paths
  std::vector<std::string> sibling_folders;  // .DIRNAME.blueprint-new-* / -old-*
  std::uint64_t bytes = 0;                   // of the partial files and sibling folders
  [[nodiscard]] bool empty() const { return partial_files.empty() && sibling_folders.empty(); }
};

namespace detail {

/// A token unique to one save: 16 hex digits of time, pid and randomness.
[[nodiscard]] inline std::string make_save_token() {
  std::random_device device;
  const auto now =
      static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  std::uint64_t x = now ^ (static_cast<std::uint64_t>(::getpid()) << 40) ^
                    (static_cast<std::uint64_t>(device()) << 20) ^ device();
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(x));
  return buf;
}

[[nodiscard]] inline std::string partial_name(std::string_view final_name, std::string_view token) {
  // Appended piece by piece: g++ 12 warns falsely (-Wrestrict) on "." + std::string.
  std::string name(1, '.');
  name.append(final_name).append(1, '.').append(token).append(partial_suffix);
  return name;
}

/// `.DIRNAME.blueprint-KIND-TOKEN` beside `dir` (KIND: new or old).
[[nodiscard]] inline std::filesystem::path sibling_folder(const std::filesystem::path& dir,
                                                          std::string_view kind,
                                                          std::string_view token) {
  const std::filesystem::path clean = dir.lexically_normal();
  const std::filesystem::path base = clean.has_filename() ? clean : clean.parent_path();
  std::string name(1, '.');  // appended piece by piece, as partial_name
  name.append(base.filename().string()).append(".blueprint-").append(kind).append(1, '-');
  name.append(token);
  return base.parent_path() / name;
}

[[nodiscard]] inline std::uint64_t tree_bytes(const std::filesystem::path& p) {
  std::error_code ec;
  if (!std::filesystem::is_directory(p, ec)) {
    const auto n = std::filesystem::file_size(p, ec);
    return ec ? 0 : n;
  }
  std::uint64_t sum = 0;
  for (auto it = std::filesystem::recursive_directory_iterator(p, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec))
    if (it->is_regular_file(ec)) sum += it->file_size(ec);
  return sum;
}

/// Exchanges two paths atomically; false where the filesystem or kernel cannot (then nothing
/// changed). @throws checkpoint_error on any other failure
[[nodiscard]] inline bool exchange_paths(const std::string& a, const std::string& b) {
#if defined(SYS_renameat2)
  constexpr unsigned rename_exchange = 1u << 1;  // RENAME_EXCHANGE, <linux/fs.h>
  if (::syscall(SYS_renameat2, AT_FDCWD, a.c_str(), AT_FDCWD, b.c_str(), rename_exchange) == 0)
    return true;
  if (errno == EINVAL || errno == ENOSYS || errno == ENOTSUP) return false;
  throw_errno(b, std::nullopt, "cannot exchange with '" + a + "'");
#else
  (void)a, (void)b;
  return false;
#endif
}

}  // namespace detail

/// The save lock of a directory, held while the object lives (see the file comment).
class save_lock {
 public:
  /// Takes the lock of `dir` (which must exist) without waiting.
  /// @throws checkpoint_error naming the directory and the holder's pid when another save holds it
  explicit save_lock(const std::string& dir) {
    const std::string path = (std::filesystem::path(dir) / save_lock_name).string();
    for (int attempt = 0; attempt < 8; ++attempt) {
      unique_fd fd(::open(path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC | O_NOFOLLOW, 0644));
      if (!fd) detail::throw_errno(path, std::nullopt, "cannot create the save lock");
      if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
        if (errno != EWOULDBLOCK) detail::throw_errno(path, std::nullopt, "cannot lock");
        char holder[32] = {};
        (void)::pread(fd.get(), holder, sizeof holder - 1, 0);
        throw checkpoint_error(dir, "", std::nullopt,
                               "another save is writing into this directory (pid " +
                                   std::string(holder[0] ? holder : "unknown") + " holds " +
                                   std::string(save_lock_name) +
                                   "); saves into one directory never interleave: wait for "
                                   "it to end, or save elsewhere");
      }
      // The file locked must still be the one at the path (a folder swap may have moved it).
      struct stat held {
      }, named{};
      if (::fstat(fd.get(), &held) == 0 && ::stat(path.c_str(), &named) == 0 &&
          held.st_ino == named.st_ino && held.st_dev == named.st_dev) {
        const std::string pid = std::to_string(::getpid());
        if (::ftruncate(fd.get(), 0) == 0) (void)::pwrite(fd.get(), pid.data(), pid.size(), 0);
        fd_ = std::move(fd);
        path_ = path;
        return;
      }
    }
    throw checkpoint_error(dir, "", std::nullopt, "cannot take the save lock (it keeps moving)");
  }

  save_lock(const save_lock&) = delete;
  save_lock& operator=(const save_lock&) = delete;
  /// Removes the lock file while still holding it, when it is still the one at its path (after
  /// a folder swap it is in the old folder, and the path may name the next save's lock).
  /// A waiter that opened it finds it gone after its flock, and takes the lock anew.
  ~save_lock() {
    struct stat held {
    }, named{};
    if (fd_ && ::fstat(fd_.get(), &held) == 0 && ::stat(path_.c_str(), &named) == 0 &&
        held.st_ino == named.st_ino && held.st_dev == named.st_dev)
      ::unlink(path_.c_str());
  }

 private:
  unique_fd fd_;  // closing it releases the flock
  std::string path_;
};

/// The leftovers of dead saves in and beside `dir`. @pre nobody is saving into `dir` (the
/// caller holds its save_lock), or the answer is only a report
[[nodiscard]] inline save_leftovers find_save_leftovers(const std::string& dir) {
  namespace fs = std::filesystem;
  save_leftovers found;
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(dir, ec)) {
    const std::string n = e.path().filename().string();
    if (n.size() > partial_suffix.size() + 1 && n.front() == '.' && n.ends_with(partial_suffix)) {
      found.partial_files.push_back(e.path().string());
      found.bytes += detail::tree_bytes(e.path());
    }
  }
  const fs::path probe = detail::sibling_folder(dir, "", "");  // ".DIRNAME.blueprint--"
  const std::string prefix = probe.filename().string();
  const std::string stem = prefix.substr(0, prefix.size() - 2);  // ".DIRNAME.blueprint"
  const fs::path parent = probe.parent_path().empty() ? fs::path(".") : probe.parent_path();
  for (const fs::directory_entry& e : fs::directory_iterator(parent, ec)) {
    const std::string n = e.path().filename().string();
    if (n.starts_with(stem + "-new-") || n.starts_with(stem + "-old-")) {
      found.sibling_folders.push_back(e.path().string());
      found.bytes += detail::tree_bytes(e.path());
    }
  }
  return found;
}

/// What clean_checkpoint_directory did.
struct clean_report {
  save_leftovers removed;
  std::string restored_from;  // a finished folder swap moved into place ("" if none)
};

namespace detail {
/// DIR missing while a complete new sibling exists: a swap died between its two renames (see
/// the file comment). Moves the new folder into place. Returns its old path, or "".
inline std::string finish_interrupted_swap(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::exists(fs::symlink_status(dir, ec))) return {};
  const fs::path probe = sibling_folder(dir, "new", "");
  const fs::path parent = probe.parent_path().empty() ? fs::path(".") : probe.parent_path();
  const std::string stem = probe.filename().string();
  for (const fs::directory_entry& e : fs::directory_iterator(parent, ec)) {
    const std::string n = e.path().filename().string();
    // A new folder is complete once its index or single file is in place (written last).
    if (n.starts_with(stem) && (fs::exists(e.path() / single_file_name, ec) ||
                                fs::exists(e.path() / index_file_name, ec))) {
      fs::rename(e.path(), dir, ec);
      if (ec)
        throw checkpoint_error(dir, "", std::nullopt,
                               "cannot move the finished save '" + e.path().string() +
                                   "' into place: " + ec.message());
      return e.path().string();
    }
  }
  return {};
}
}  // namespace detail

/// Removes what dead saves left in and beside `dir` (partial files, sibling folders) under the
/// save lock, after finishing an interrupted folder swap. `blueprint clean DIR`.
/// @throws checkpoint_error when a save is writing into `dir` now
[[nodiscard]] inline clean_report clean_checkpoint_directory(const std::string& dir) {
  clean_report r;
  r.restored_from = detail::finish_interrupted_swap(dir);
  const detail::path_status s = detail::examine_path(dir);
  if (s.kind != detail::path_kind::directory)
    throw checkpoint_error(dir, "", std::nullopt,
                           s.kind == detail::path_kind::not_found ? std::string("no such directory")
                           : s.kind == detail::path_kind::regular_file
                               ? std::string("is a file, not a directory")
                               : detail::unusable_file_reason(dir, s));
  const save_lock lock(dir);
  r.removed = find_save_leftovers(dir);
  std::error_code ec;
  for (const std::string& p : r.removed.partial_files) std::filesystem::remove_all(p, ec);
  for (const std::string& p : r.removed.sibling_folders) std::filesystem::remove_all(p, ec);
  return r;
}

}  // namespace blueprint
