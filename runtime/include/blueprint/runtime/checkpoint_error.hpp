// The one error type of checkpoint reading and writing: what went wrong, in which file, at which
// tensor and byte offset ("model-00002-of-00004.safetensors: tensor 'x' at byte 1234: ...").
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>

namespace blueprint {

// ---- errors ------------------------------------------------------------------------------

/// A checkpoint that cannot be read (or written). `file`, `tensor` and `offset` locate the
/// fault; what() is a complete sentence that contains all three where they apply.
class checkpoint_error : public std::runtime_error {
 public:
  checkpoint_error(std::string file, std::string tensor, std::optional<std::uint64_t> offset,
                   const std::string& message)
      : std::runtime_error(compose(file, tensor, offset, message)),
        file_(std::move(file)),
        tensor_(std::move(tensor)),
        offset_(offset) {}

  [[nodiscard]] const std::string& file() const { return file_; }
  [[nodiscard]] const std::string& tensor() const { return tensor_; }
  [[nodiscard]] std::optional<std::uint64_t> offset() const { return offset_; }

 private:
  static std::string compose(const std::string& file, const std::string& tensor,
                             std::optional<std::uint64_t> offset, const std::string& message) {
    std::string s = file.empty() ? std::string("checkpoint") : "'" + file + "'";
    if (!tensor.empty()) s += ": tensor '" + tensor + "'";
    if (offset) s += " (byte offset " + std::to_string(*offset) + ")";
    return s + ": " + message;
  }
  std::string file_, tensor_;
  std::optional<std::uint64_t> offset_;
};

}  // namespace blueprint
