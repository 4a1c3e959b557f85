// Whole reads and writes at offsets, an owning file descriptor, and what a path is: what the
// checkpoint reader, the loaders and the save protocol do with files. A short read or write, or
// an error, is a checkpoint_error naming the file and the offset; EINTR is retried. A path that
// cannot be used says why in its own words (not found, dangling link, link loop, permission
// denied, a directory, a FIFO or device) — and a FIFO or device is refused before an open could
// block on it.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>

#include "checkpoint_error.hpp"

namespace blueprint {

/// An open file descriptor, closed on destruction.
class unique_fd {
 public:
  unique_fd() = default;
  explicit unique_fd(int fd) : fd_(fd) {}
  unique_fd(unique_fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  unique_fd& operator=(unique_fd&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  ~unique_fd() { reset(); }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  [[nodiscard]] int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

namespace detail {
[[noreturn]] inline void throw_errno(const std::string& file, std::optional<std::uint64_t> offset,
                                     const std::string& what) {
  throw checkpoint_error(file, "", offset, what + ": " + std::strerror(errno));
}

/// What stat says a path is, and when it cannot be used, why (for the messages).
enum class path_kind : std::uint8_t {
  regular_file,
  directory,
  not_found,        // no entry (a component of the path may be missing)
  dangling_link,    // a symbolic link whose target does not exist
  link_loop,        // symbolic links that point round in a circle (ELOOP)
  access_denied,    // a directory on the way cannot be searched (EACCES)
  not_a_directory,  // a component of the path is a file (ENOTDIR)
  special_file,     // FIFO, socket, character or block device
  other_error,      // any other stat error (errno kept in `error`)
};

struct path_status {
  path_kind kind = path_kind::not_found;
  int error = 0;  // errno of a failed stat
  [[nodiscard]] bool exists() const {
    return kind == path_kind::regular_file || kind == path_kind::directory ||
           kind == path_kind::special_file;
  }
};

/// stat, with a failed one told apart by lstat (a dangling link exists as a link).
[[nodiscard]] inline path_status examine_path(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    if (S_ISREG(st.st_mode)) return {path_kind::regular_file};
    if (S_ISDIR(st.st_mode)) return {path_kind::directory};
    return {path_kind::special_file};
  }
  const int e = errno;
  switch (e) {
    case ENOENT: {
      struct stat link {};
      if (::lstat(path.c_str(), &link) == 0 && S_ISLNK(link.st_mode))
        return {path_kind::dangling_link, e};
      return {path_kind::not_found, e};
    }
    case ELOOP:
      return {path_kind::link_loop, e};
    case EACCES:
      return {path_kind::access_denied, e};
    case ENOTDIR:
      return {path_kind::not_a_directory, e};
    default:
      return {path_kind::other_error, e};
  }
}

/// Why `path` (examined as `s`) cannot be opened as a file; "" for a regular file.
[[nodiscard]] inline std::string unusable_file_reason(const std::string& path,
                                                      const path_status& s) {
  switch (s.kind) {
    case path_kind::regular_file:
      return {};
    case path_kind::directory:
      return "is a directory, not a file";
    case path_kind::not_found:
      return "no such file";
    case path_kind::dangling_link: {
      std::string target(4096, '\0');
      const ssize_t n = ::readlink(path.c_str(), target.data(), target.size());
      target.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
      return "is a dangling symbolic link (its target '" + target + "' does not exist)";
    }
    case path_kind::link_loop:
      return "is a symbolic link loop (too many levels of links)";
    case path_kind::access_denied:
      return "permission denied (a directory on the path cannot be searched)";
    case path_kind::not_a_directory:
      return "a component of the path is not a directory";
    case path_kind::special_file:
      return "is not a regular file (a FIFO, socket or device)";
    case path_kind::other_error:
      return std::string("cannot stat: ") + std::strerror(s.error);
  }
  return "cannot be used";
}

/// Opens a regular file for reading (flags added to O_RDONLY | O_CLOEXEC). A FIFO or device is
/// refused before open (and opened non-blocking, then refused, should one appear in between).
/// @throws checkpoint_error naming the path and the cause
[[nodiscard]] inline unique_fd open_regular_file(const std::string& path, int extra_flags = 0) {
  const path_status s = examine_path(path);
  if (s.kind != path_kind::regular_file)
    throw checkpoint_error(path, "", std::nullopt, unusable_file_reason(path, s));
  unique_fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | extra_flags));
  if (!fd) {
    if (errno == EACCES) throw checkpoint_error(path, "", std::nullopt, "permission denied");
    throw_errno(path, std::nullopt, "cannot open");
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) throw_errno(path, std::nullopt, "cannot stat");
  if (!S_ISREG(st.st_mode)) throw checkpoint_error(path, "", std::nullopt, "is not a regular file");
  // O_NONBLOCK means nothing for a regular file's reads; cleared so that it stays so.
  ::fcntl(fd.get(), F_SETFL, ::fcntl(fd.get(), F_GETFL) & ~O_NONBLOCK);
  return fd;
}

/// pread until `bytes` are read; throws on error or end of file.
inline void pread_all(int fd, void* dst, std::uint64_t bytes, std::uint64_t offset,
                      const std::string& file) {
  auto* p = static_cast<unsigned char*>(dst);
  while (bytes > 0) {
    const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(bytes, 1ull << 30));
    const ssize_t got = ::pread(fd, p, want, static_cast<off_t>(offset));
    if (got < 0) {
      if (errno == EINTR) continue;
      throw_errno(file, offset, "read failed");
    }
    if (got == 0)
      throw checkpoint_error(file, "", offset, "unexpected end of file (was it truncated?)");
    p += got;
    bytes -= static_cast<std::uint64_t>(got);
    offset += static_cast<std::uint64_t>(got);
  }
}

/// pwrite until `bytes` are written; throws on error.
inline void pwrite_all(int fd, const void* src, std::uint64_t bytes, std::uint64_t offset,
                       const std::string& file) {
  const auto* p = static_cast<const unsigned char*>(src);
  while (bytes > 0) {
    const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(bytes, 1ull << 30));
    const ssize_t put = ::pwrite(fd, p, want, static_cast<off_t>(offset));
    if (put < 0) {
      if (errno == EINTR) continue;
      throw_errno(file, offset, "write failed");
    }
    p += put;
    bytes -= static_cast<std::uint64_t>(put);
    offset += static_cast<std::uint64_t>(put);
  }
}
}  // namespace detail

}  // namespace blueprint
