// The Hugging Face safetensors format: parse and validate a header, open a file, write a header
// (the sharded index: safetensors_index.hpp).
//
// Checkpoints come from strangers, so nothing is trusted: the header is parsed and checked in
// full (size cap, UTF-8/JSON, known dtypes, numel x size == byte range with overflow checks,
// ranges in bounds, sorted ranges that tile the data region exactly — the rules of the reference
// Rust reader, `Metadata::validate` and `MetadataIncompleteBuffer`) before any tensor byte is
// read. Every error names the file, the tensor and the offending value or byte offset, as the
// ggml loader does ("tensor 'x' data is not within the file bounds").
//
// File layout: 8-byte little-endian header length N; N bytes of JSON
//   {"__metadata__": {str: str}, name: {"dtype": "BF16", "shape": [..], "data_offsets": [b, e]}}
// padded with spaces to a multiple of 8 (what the Python library writes); then the data, with
// offsets relative to its start.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include <blueprint/kernels/dtype.hpp>

#include "checkpoint_error.hpp"
#include "file_io.hpp"
#include "safetensors_index.hpp"

namespace blueprint {

// ---- dtypes ------------------------------------------------------------------------------

/// The element types a safetensors file may declare (a superset of the storage dtypes).
enum class st_dtype : std::uint8_t {
  f64,
  f32,
  f16,
  bf16,
  f8_e4m3,
  f8_e5m2,
  i64,
  i32,
  i16,
  i8,
  u8,
  boolean
};

inline constexpr std::pair<std::string_view, st_dtype> st_dtype_names[] = {
    {"F64", st_dtype::f64},   {"F32", st_dtype::f32},         {"F16", st_dtype::f16},
    {"BF16", st_dtype::bf16}, {"F8_E4M3", st_dtype::f8_e4m3}, {"F8_E5M2", st_dtype::f8_e5m2},
    {"I64", st_dtype::i64},   {"I32", st_dtype::i32},         {"I16", st_dtype::i16},
    {"I8", st_dtype::i8},     {"U8", st_dtype::u8},           {"BOOL", st_dtype::boolean},
};

[[nodiscard]] constexpr std::string_view st_dtype_name(st_dtype t) {
  for (const auto& [name, value] : st_dtype_names)
    if (value == t) return name;
  return "?";
}

[[nodiscard]] constexpr std::optional<st_dtype> parse_st_dtype(std::string_view s) {
  for (const auto& [name, value] : st_dtype_names)
    if (name == s) return value;
  return std::nullopt;
}

[[nodiscard]] constexpr std::uint64_t st_dtype_size(st_dtype t) {
  switch (t) {
    case st_dtype::f64:
    case st_dtype::i64:
      return 8;
    case st_dtype::f32:
    case st_dtype::i32:
      return 4;
    case st_dtype::f16:
    case st_dtype::bf16:
    case st_dtype::i16:
      return 2;
    default:
      return 1;
  }
}

[[nodiscard]] constexpr bool st_dtype_is_float(st_dtype t) {
  return t == st_dtype::f64 || t == st_dtype::f32 || t == st_dtype::f16 || t == st_dtype::bf16 ||
         t == st_dtype::f8_e4m3 || t == st_dtype::f8_e5m2;
}

/// The storage dtype with the same encoding, if there is one (F64 and the integers have none).
[[nodiscard]] constexpr std::optional<dtype> to_storage_dtype(st_dtype t) {
  switch (t) {
    case st_dtype::f32:
      return dtype::f32;
    case st_dtype::bf16:
      return dtype::bf16;
    case st_dtype::f16:
      return dtype::f16;
    case st_dtype::f8_e4m3:
      return dtype::f8_e4m3fn;
    case st_dtype::f8_e5m2:
      return dtype::f8_e5m2;
    default:
      return std::nullopt;
  }
}

[[nodiscard]] constexpr st_dtype to_st_dtype(dtype t) {
  switch (t) {
    case dtype::f32:
      return st_dtype::f32;
    case dtype::bf16:
      return st_dtype::bf16;
    case dtype::f16:
      return st_dtype::f16;
    case dtype::f8_e4m3fn:
      return st_dtype::f8_e4m3;
    case dtype::f8_e5m2:
      return st_dtype::f8_e5m2;
  }
  return st_dtype::f32;
}

// ---- the header --------------------------------------------------------------------------

/// One tensor of a file, as its header declares it (validated).
struct st_tensor {
  std::string name;
  st_dtype type = st_dtype::f32;
  std::vector<std::uint64_t> shape;
  std::uint64_t numel = 1;
  std::uint64_t begin = 0, end = 0;  // bytes, relative to the data region

  [[nodiscard]] std::uint64_t bytes() const { return end - begin; }
};

/// A parsed, validated header.
struct st_header {
  std::uint64_t header_bytes = 0;  // N
  std::uint64_t data_start = 0;    // 8 + N: file offset of the data region
  std::uint64_t data_bytes = 0;    // size of the data region
  std::vector<st_tensor> tensors;  // sorted by data offset
  std::map<std::string, std::string> metadata;

  [[nodiscard]] const st_tensor* find(std::string_view name) const {
    for (const st_tensor& t : tensors)
      if (t.name == name) return &t;
    return nullptr;
  }
};

struct st_read_limits {
  std::uint64_t max_header_bytes = 100'000'000;  // the reference reader's cap
};

[[nodiscard]] inline std::string shape_string(const std::vector<std::uint64_t>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

namespace detail {

[[nodiscard]] inline bool checked_mul(std::uint64_t a, std::uint64_t b, std::uint64_t& out) {
  return !__builtin_mul_overflow(a, b, &out);
}

[[nodiscard]] inline std::uint64_t read_le64(const unsigned char* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

inline void write_le64(unsigned char* p, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<unsigned char>(v >> (8 * i));
}

[[nodiscard]] inline bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    const std::size_t n = c < 0x80           ? 0
                          : (c >> 5) == 0x6  ? 1
                          : (c >> 4) == 0xE  ? 2
                          : (c >> 3) == 0x1E ? 3
                                             : 4;
    if (n == 4) return false;  // a continuation byte or an invalid lead byte
    for (std::size_t k = 1; k <= n; ++k)
      if (i + k >= s.size() || (static_cast<unsigned char>(s[i + k]) >> 6) != 0x2) return false;
    i += n + 1;
  }
  return true;
}

}  // namespace detail

/// Parses and validates the JSON header of `file` (for messages) whose total size is
/// `file_size`. `json_text` is the N header bytes.
/// @post tensors sorted by begin; they tile [0, data_bytes) exactly; each numel x size == bytes
[[nodiscard]] inline st_header parse_safetensors_header(std::string_view json_text,
                                                        std::uint64_t file_size,
                                                        const std::string& file) {
  st_header h;
  h.header_bytes = json_text.size();
  h.data_start = 8 + h.header_bytes;
  if (h.data_start > file_size)
    throw checkpoint_error(file, "", 0,
                           "header length " + std::to_string(h.header_bytes) +
                               " reaches beyond the end of the file (" + std::to_string(file_size) +
                               " bytes)");
  h.data_bytes = file_size - h.data_start;
  if (!detail::valid_utf8(json_text))
    throw checkpoint_error(file, "", 8, "the header is not valid UTF-8");
  // nlohmann's lexer ends the input at a NUL byte, so "{...}\0garbage" would parse; the
  // reference reader (serde_json) allows only whitespace after the JSON, and JSON text never
  // holds a raw NUL.
  if (const std::size_t nul = json_text.find('\0'); nul != std::string_view::npos)
    throw checkpoint_error(file, "", 8 + nul,
                           "the header holds a NUL byte (the JSON must be followed only by "
                           "spaces up to the stated header length)");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(json_text);
  } catch (const nlohmann::json::parse_error& e) {
    throw checkpoint_error(file, "", 8 + e.byte - (e.byte > 0 ? 1 : 0),
                           std::string("the header is not valid JSON: ") + e.what());
  } catch (const nlohmann::json::exception& e) {  // e.g. a number beyond 64 bits (found by fuzzing)
    throw checkpoint_error(file, "", 8, std::string("the header is not valid JSON: ") + e.what());
  }
  if (!j.is_object()) throw checkpoint_error(file, "", 8, "the header is not a JSON object");
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& name = it.key();
    const nlohmann::json& v = it.value();
    if (name == "__metadata__") {
      if (!v.is_object())
        throw checkpoint_error(file, name, 8, "__metadata__ must be an object of strings");
      for (auto m = v.begin(); m != v.end(); ++m) {
        if (!m.value().is_string())
          throw checkpoint_error(file, name, 8,
                                 "__metadata__ value of '" + m.key() + "' is not a string");
        h.metadata[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    if (!v.is_object() || !v.contains("dtype") || !v.contains("shape") ||
        !v.contains("data_offsets"))
      throw checkpoint_error(file, name, 8,
                             "entry must be an object with dtype, shape and data_offsets");
    st_tensor t;
    t.name = name;
    const nlohmann::json& d = v["dtype"];
    if (!d.is_string()) throw checkpoint_error(file, name, 8, "dtype is not a string");
    const auto type = parse_st_dtype(d.get<std::string>());
    if (!type)
      throw checkpoint_error(file, name, 8,
                             "unknown dtype '" + d.get<std::string>() +
                                 "' (known: F64, F32, F16, BF16, F8_E4M3, F8_E5M2, I64, I32, I16, "
                                 "I8, U8, BOOL)");
    t.type = *type;
    const nlohmann::json& s = v["shape"];
    if (!s.is_array()) throw checkpoint_error(file, name, 8, "shape is not an array");
    for (const nlohmann::json& dim : s) {
      if (!dim.is_number_unsigned())
        throw checkpoint_error(
            file, name, 8,
            "shape " + s.dump() + " holds a value that is not a non-negative integer");
      t.shape.push_back(dim.get<std::uint64_t>());
    }
    const nlohmann::json& o = v["data_offsets"];
    if (!o.is_array() || o.size() != 2 || !o[0].is_number_unsigned() || !o[1].is_number_unsigned())
      throw checkpoint_error(file, name, 8,
                             "data_offsets must be two non-negative integers, got " + o.dump());
    t.begin = o[0].get<std::uint64_t>();
    t.end = o[1].get<std::uint64_t>();
    std::uint64_t bytes = 1;
    for (std::uint64_t dim : t.shape)
      if (!detail::checked_mul(t.numel, dim, t.numel))
        throw checkpoint_error(
            file, name, 8, "shape " + shape_string(t.shape) + " overflows 64 bits (element count)");
    if (!detail::checked_mul(t.numel, st_dtype_size(t.type), bytes))
      throw checkpoint_error(file, name, 8,
                             "shape " + shape_string(t.shape) + " of " +
                                 std::string(st_dtype_name(t.type)) +
                                 " overflows 64 bits (byte count)");
    if (t.end < t.begin)
      throw checkpoint_error(file, name, h.data_start + t.begin,
                             "data_offsets [" + std::to_string(t.begin) + ", " +
                                 std::to_string(t.end) + "] end before they begin");
    if (t.end - t.begin != bytes)
      throw checkpoint_error(file, name, h.data_start + t.begin,
                             "shape " + shape_string(t.shape) + " of " +
                                 std::string(st_dtype_name(t.type)) + " needs " +
                                 std::to_string(bytes) + " bytes but data_offsets [" +
                                 std::to_string(t.begin) + ", " + std::to_string(t.end) +
                                 "] hold " + std::to_string(t.end - t.begin));
    if (t.end > h.data_bytes)
      throw checkpoint_error(file, name, h.data_start + t.end,
                             "data_offsets [" + std::to_string(t.begin) + ", " +
                                 std::to_string(t.end) +
                                 "] are not within the file bounds (data region holds " +
                                 std::to_string(h.data_bytes) + " bytes)");
    h.tensors.push_back(std::move(t));
  }
  // Ties (empty tensors at one offset) by name, the order the JSON object gave them.
  std::sort(h.tensors.begin(), h.tensors.end(), [](const st_tensor& a, const st_tensor& b) {
    if (a.begin != b.begin) return a.begin < b.begin;
    return a.end != b.end ? a.end < b.end : a.name < b.name;
  });
  std::uint64_t cursor = 0;
  const st_tensor* previous = nullptr;
  for (const st_tensor& t : h.tensors) {
    if (t.begin < cursor)
      throw checkpoint_error(file, t.name, h.data_start + t.begin,
                             "data_offsets [" + std::to_string(t.begin) + ", " +
                                 std::to_string(t.end) + "] overlap tensor '" + previous->name +
                                 "' (which ends at " + std::to_string(cursor) + ")");
    if (t.begin > cursor)
      throw checkpoint_error(file, t.name, h.data_start + cursor,
                             "data_offsets [" + std::to_string(t.begin) + ", " +
                                 std::to_string(t.end) + "] leave the bytes [" +
                                 std::to_string(cursor) + ", " + std::to_string(t.begin) +
                                 ") of the data region uncovered");
    cursor = t.end;
    previous = &t;
  }
  if (cursor != h.data_bytes)
    throw checkpoint_error(file, previous ? previous->name : "", h.data_start + cursor,
                           "the tensors end at data byte " + std::to_string(cursor) +
                               " but the data region holds " + std::to_string(h.data_bytes) +
                               " bytes (trailing bytes are not allowed)");
  return h;
}

/// A safetensors file, opened for reading, its header validated.
struct safetensors_file {
  std::string path;
  std::uint64_t file_size = 0;
  st_header header;
  unique_fd fd;
};

/// Opens `path`, reads and validates its header; no tensor data is read.
[[nodiscard]] inline safetensors_file open_safetensors(const std::string& path,
                                                       const st_read_limits& limits = {}) {
  safetensors_file f;
  f.path = path;
  f.fd = detail::open_regular_file(path);
  struct stat st {};
  if (::fstat(f.fd.get(), &st) != 0) detail::throw_errno(path, std::nullopt, "cannot stat");
  f.file_size = static_cast<std::uint64_t>(st.st_size);
  if (f.file_size < 8)
    throw checkpoint_error(path, "", 0,
                           "file of " + std::to_string(f.file_size) +
                               " bytes is too small to hold the 8-byte header length");
  unsigned char n8[8];
  detail::pread_all(f.fd.get(), n8, 8, 0, path);
  const std::uint64_t n = detail::read_le64(n8);
  if (n > limits.max_header_bytes)
    throw checkpoint_error(path, "", 0,
                           "header length " + std::to_string(n) + " exceeds the limit of " +
                               std::to_string(limits.max_header_bytes) + " bytes");
  if (n > f.file_size - 8)
    throw checkpoint_error(path, "", 0,
                           "header length " + std::to_string(n) +
                               " reaches beyond the end of the file (" +
                               std::to_string(f.file_size) + " bytes)");
  std::string text(static_cast<std::size_t>(n), '\0');
  detail::pread_all(f.fd.get(), text.data(), n, 8, path);
  f.header = parse_safetensors_header(text, f.file_size, path);
  return f;
}

// ---- writing a header --------------------------------------------------------------------

/// What a writer declares for one tensor (data offsets are assigned in order).
struct st_entry {
  std::string name;
  st_dtype type = st_dtype::f32;
  std::vector<std::uint64_t> shape;
  std::uint64_t bytes = 0;
};

/// The 8-byte length and the JSON header of a file holding `entries` in this order, padded with
/// spaces so that the data region starts at a multiple of `data_alignment` bytes (8: as the
/// Python library pads it; 4096: a page, for a file mapped in place). `data_offsets` are
/// assigned consecutively, so the data region is `sum(bytes)` long.
/// @pre data_alignment is a multiple of 8
[[nodiscard]] inline std::string serialize_safetensors_header(
    const std::vector<st_entry>& entries,
    const std::map<std::string, std::string>& metadata = {{"format", "pt"}},
    std::uint64_t data_alignment = 8) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  if (!metadata.empty()) {
    nlohmann::ordered_json m = nlohmann::ordered_json::object();
    for (const auto& [k, v] : metadata) m[k] = v;
    j["__metadata__"] = std::move(m);
  }
  std::uint64_t offset = 0;
  for (const st_entry& e : entries) {
    nlohmann::ordered_json t = nlohmann::ordered_json::object();
    t["dtype"] = std::string(st_dtype_name(e.type));
    t["shape"] = e.shape;
    t["data_offsets"] = {offset, offset + e.bytes};
    offset += e.bytes;
    j[e.name] = std::move(t);
  }
  std::string text = j.dump();
  text.append((data_alignment - (8 + text.size()) % data_alignment) % data_alignment, ' ');
  std::string out(8, '\0');
  detail::write_le64(reinterpret_cast<unsigned char*>(out.data()), text.size());
  return out + text;
}

}  // namespace blueprint
