// Numbers as the command line spells them: counts ("8", "0x1f") and byte sizes ("5GB",
// "512MiB", "0.5GB", "1234"). The library takes numbers (`5_GB` literals, plan_options.hpp);
// reading text is the command's business, and it is strict: decimal unless written 0x (CLI11
// alone reads "010" as octal 8 and "-1" as 2^64 - 1), every value within a stated maximum, never
// a wrapped or truncated number.
#pragma once

#include <cctype>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace blueprint::cli {

/// The most bytes a size option takes (2^50, 1 PiB): beyond it a size is a typo.
inline constexpr std::uint64_t max_byte_size = std::uint64_t{1} << 50;

/// Parses an unsigned count: decimal digits (a leading zero is decimal, not octal) or 0x and hex
/// digits; no sign, no spaces. @throws std::invalid_argument naming `what`, the text and `max`
[[nodiscard]] inline std::uint64_t parse_count(std::string_view text, std::uint64_t max,
                                               std::string_view what = "number") {
  const bool hex = text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X');
  const std::string_view digits = hex ? text.substr(2) : text;
  const std::uint64_t base = hex ? 16 : 10;
  const auto fail = [&](const std::string& why) {
    throw std::invalid_argument(std::string(what) + " '" + std::string(text) + "': " + why);
  };
  if (digits.empty()) fail("expected a decimal number (or 0x and hex digits)");
  std::uint64_t value = 0;
  for (char c : digits) {
    const int d = c >= '0' && c <= '9'          ? c - '0'
                  : hex && c >= 'a' && c <= 'f' ? c - 'a' + 10
                  : hex && c >= 'A' && c <= 'F' ? c - 'A' + 10
                                                : -1;
    if (d < 0) fail("expected a decimal number (or 0x and hex digits)");
    if (static_cast<std::uint64_t>(d) > max) fail("exceeds the maximum " + std::to_string(max));
    if (value > (max - static_cast<std::uint64_t>(d)) / base)
      fail("exceeds the maximum " + std::to_string(max));
    value = value * base + static_cast<std::uint64_t>(d);
  }
  return value;
}

/// Parses a shard size: bytes ("1000"), decimal units ("5GB", "500MB", "10KB", "1TB"), binary
/// units ("2GiB", "512MiB", "64KiB"); fractions allowed ("0.5GB"); case-insensitive.
/// Throws std::invalid_argument for anything else, for zero and beyond max_byte_size.
[[nodiscard]] inline std::uint64_t parse_byte_size(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.'))
    ++i;
  std::string number(text.substr(0, i)), unit;
  for (char c : text.substr(i))
    if (c != ' ') unit += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  struct unit_scale {
    std::string_view unit;
    double scale;
  };
  static constexpr unit_scale units[] = {{"", 1},
                                         {"B", 1},
                                         {"KB", 1e3},
                                         {"MB", 1e6},
                                         {"GB", 1e9},
                                         {"TB", 1e12},
                                         {"KIB", 1024.0},
                                         {"MIB", 1048576.0},
                                         {"GIB", 1073741824.0},
                                         {"TIB", 1099511627776.0}};
  double scale = 0;
  for (const unit_scale& u : units)
    if (unit == u.unit) scale = u.scale;
  double value = 0;
  std::size_t used = 0;
  try {
    value = number.empty() ? 0 : std::stod(number, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (scale == 0 || number.empty() || used != number.size() || value * scale < 1)
    throw std::invalid_argument("size '" + std::string(text) +
                                "': expected a positive number with an optional unit (B, KB, MB, "
                                "GB, TB, KiB, MiB, GiB, TiB)");
  if (!(value * scale <= static_cast<double>(max_byte_size)))
    throw std::invalid_argument("size '" + std::string(text) +
                                "': exceeds the maximum of 2^50 bytes (1 PiB)");
  return static_cast<std::uint64_t>(value * scale + 0.5);
}

}  // namespace blueprint::cli
