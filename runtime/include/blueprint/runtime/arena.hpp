// One page-aligned host allocation that holds every tensor of a layout (or of one rank's shard).
//
// Blueprint carves all tensors out of a single arena (llm.c style): one allocation, one free,
// offsets from the layout. The arena is anonymous `mmap` memory: page aligned, zero until
// written, and returned to the OS as a whole. First touch of fresh pages dominates the cost of
// materializing on a host (page faults are slower than the init math here, see
// docs/PERFORMANCE.md), so the arena can ask for transparent huge pages (fewer faults, one per
// 2 MiB) and can be pre-faulted by the kernel (MAP_POPULATE) or left for the init threads to
// fault in parallel (the default: they write every byte anyway).
#pragma once

#include <sys/mman.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <span>
#include <string>
#include <utility>

namespace blueprint {

/// Thrown when the OS refuses an arena; says how many bytes were asked for.
class arena_allocation_error : public std::bad_alloc {
 public:
  arena_allocation_error(std::uint64_t bytes, int err)
      : bytes_(bytes),
        message_("blueprint: cannot allocate an arena of " + std::to_string(bytes) + " bytes (" +
                 std::to_string(static_cast<double>(bytes) / 1e9) + " GB): " + std::strerror(err)) {
  }
  [[nodiscard]] const char* what() const noexcept override { return message_.c_str(); }
  [[nodiscard]] std::uint64_t bytes() const { return bytes_; }

 private:
  std::uint64_t bytes_;
  std::string message_;
};

struct arena_options {
  bool huge_pages = true;  // madvise(MADV_HUGEPAGE): one fault per 2 MiB where THP is available
  bool populate = false;   // MAP_POPULATE: the kernel faults every page in before returning
  /// >= 0: the arena is this file's bytes [file_offset, file_offset + bytes), mapped shared
  /// (a device map's disk tier: what is written goes to the file). The file must be that long
  /// already (ftruncate: it then reads zero); file_offset a multiple of the page size. The
  /// descriptor may be closed once the arena exists.
  int file = -1;
  std::uint64_t file_offset = 0;
};

/// A move-only, page-aligned, zero-initialized block of host memory.
/// @post data() is aligned to the page size (4096 at least); every byte reads 0 until written
class arena {
 public:
  arena() = default;
  explicit arena(std::uint64_t bytes, arena_options options = {}) : bytes_(bytes) {
    if (bytes == 0) return;
    if (bytes > static_cast<std::uint64_t>(PTRDIFF_MAX))
      throw arena_allocation_error(bytes, ENOMEM);
    if (options.file >= 0) {
      void* p = ::mmap(nullptr, static_cast<std::size_t>(bytes), PROT_READ | PROT_WRITE, MAP_SHARED,
                       options.file, static_cast<off_t>(options.file_offset));
      if (p == MAP_FAILED) throw arena_allocation_error(bytes, errno);
      data_ = static_cast<std::byte*>(p);
      return;
    }
    int flags = MAP_PRIVATE | MAP_ANONYMOUS;
#ifdef MAP_POPULATE
    // With huge pages the populate is done after madvise (below), so it faults 2 MiB pages.
    if (options.populate && !options.huge_pages) flags |= MAP_POPULATE;
#endif
    void* p =
        ::mmap(nullptr, static_cast<std::size_t>(bytes), PROT_READ | PROT_WRITE, flags, -1, 0);
    if (p == MAP_FAILED) throw arena_allocation_error(bytes, errno);
    data_ = static_cast<std::byte*>(p);
#ifdef MADV_HUGEPAGE
    if (options.huge_pages) ::madvise(p, static_cast<std::size_t>(bytes), MADV_HUGEPAGE);
#endif
#ifdef MADV_POPULATE_WRITE
    if (options.populate && options.huge_pages)
      ::madvise(p, static_cast<std::size_t>(bytes), MADV_POPULATE_WRITE);
#else
    if (options.populate && options.huge_pages) {
      // Touch one byte per 4 KiB page (zero stays zero).
      volatile std::byte* v = data_;
      for (std::uint64_t i = 0; i < bytes; i += 4096) v[i] = std::byte{0};
    }
#endif
  }
  arena(const arena&) = delete;
  arena& operator=(const arena&) = delete;
  arena(arena&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)), bytes_(std::exchange(other.bytes_, 0)) {}
  arena& operator=(arena&& other) noexcept {
    if (this != &other) {
      release();
      data_ = std::exchange(other.data_, nullptr);
      bytes_ = std::exchange(other.bytes_, 0);
    }
    return *this;
  }
  ~arena() {
    release();
  }

  [[nodiscard]] std::byte* data() {
    return data_;
  }
  [[nodiscard]] const std::byte* data() const {
    return data_;
  }
  [[nodiscard]] std::uint64_t size() const {
    return bytes_;
  }
  [[nodiscard]] std::span<std::byte> bytes() {
    return {data_, static_cast<std::size_t>(bytes_)};
  }
  [[nodiscard]] std::span<const std::byte> bytes() const {
    return {data_, static_cast<std::size_t>(bytes_)};
  }
  /// Makes the arena read-only (a write then faults): the disk tier once it is filled.
  void make_read_only() {
    if (data_ != nullptr && ::mprotect(data_, static_cast<std::size_t>(bytes_), PROT_READ) != 0)
      throw arena_allocation_error(bytes_, errno);
  }

 private:
  void release() {
    if (data_ != nullptr) ::munmap(data_, static_cast<std::size_t>(bytes_));
    data_ = nullptr;
    bytes_ = 0;
  }

  std::byte* data_ = nullptr;
  std::uint64_t bytes_ = 0;
};

}  // namespace blueprint
