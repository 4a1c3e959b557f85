// Byte sizes as the command line spells them ("5GB", "512MiB", "0.5GB", "1234"). The library
// takes byte counts as numbers (`5_GB` literals, plan_options.hpp); reading text is the
// command's business.
#pragma once

#include <cctype>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace blueprint::cli {

/// Parses a shard size: bytes ("1000"), decimal units ("5GB", "500MB", "10KB", "1TB"), binary
/// units ("2GiB", "512MiB", "64KiB"); fractions allowed ("0.5GB"); case-insensitive.
/// Throws std::invalid_argument for anything else or for zero.
[[nodiscard]] inline std::uint64_t parse_byte_size(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.'))
    ++i;
  std::string number(text.substr(0, i)), unit;
  for (char c : text.substr(i))
    if (c != ' ') unit += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  double scale = 0;
  if (unit.empty() || unit == "B")
    scale = 1;
  else if (unit == "KB")
    scale = 1e3;
  else if (unit == "MB")
    scale = 1e6;
  else if (unit == "GB")
    scale = 1e9;
  else if (unit == "TB")
    scale = 1e12;
  else if (unit == "KIB")
    scale = 1024.0;
  else if (unit == "MIB")
    scale = 1048576.0;
  else if (unit == "GIB")
    scale = 1073741824.0;
  else if (unit == "TIB")
    scale = 1099511627776.0;
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
  return static_cast<std::uint64_t>(value * scale + 0.5);
}

}  // namespace blueprint::cli
