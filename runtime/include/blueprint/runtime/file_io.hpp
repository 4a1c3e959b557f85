// Whole reads and writes at offsets, and an owning file descriptor: what the checkpoint reader,
// the loaders and the save protocol do with files. A short read or write, or an error, is a
// checkpoint_error naming the file and the offset; EINTR is retried.
#pragma once

#include <fcntl.h>
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
