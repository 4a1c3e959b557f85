// The sharded checkpoint's index, `model.safetensors.index.json`:
//   {"metadata": {"total_size": N}, "weight_map": {tensor name: file name}}
// parsed with every rule the Hugging Face loaders rely on checked (file names stay inside the
// directory, every entry a string), and written back as save_pretrained writes it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "checkpoint_error.hpp"

namespace blueprint {

inline constexpr std::string_view single_file_name = "model.safetensors";
inline constexpr std::string_view index_file_name = "model.safetensors.index.json";

/// `model.safetensors.index.json`.
struct st_index {
  std::uint64_t total_size = 0;
  std::map<std::string, std::string> weight_map;  // tensor name -> file name (same directory)
  nlohmann::json metadata = nlohmann::json::object();
};

/// Parses an index; `file` is for messages. File names must be plain names in the directory.
[[nodiscard]] inline st_index parse_safetensors_index(std::string_view text,
                                                      const std::string& file) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw checkpoint_error(file, "", e.byte > 0 ? e.byte - 1 : 0,
                           std::string("the index is not valid JSON: ") + e.what());
  } catch (const nlohmann::json::exception& e) {
    throw checkpoint_error(file, "", 0, std::string("the index is not valid JSON: ") + e.what());
  }
  if (!j.is_object() || !j.contains("weight_map") || !j["weight_map"].is_object())
    throw checkpoint_error(file, "", std::nullopt, "the index has no \"weight_map\" object");
  st_index idx;
  if (j.contains("metadata")) {
    if (!j["metadata"].is_object())
      throw checkpoint_error(file, "", std::nullopt, "\"metadata\" is not an object");
    idx.metadata = j["metadata"];
    if (idx.metadata.contains("total_size")) {
      const auto& ts = idx.metadata["total_size"];
      if (!ts.is_number_unsigned())
        throw checkpoint_error(file, "", std::nullopt,
                               "metadata.total_size is not a non-negative integer: " + ts.dump());
      idx.total_size = ts.get<std::uint64_t>();
    }
  }
  for (auto it = j["weight_map"].begin(); it != j["weight_map"].end(); ++it) {
    if (!it.value().is_string())
      throw checkpoint_error(file, it.key(), std::nullopt,
                             "weight_map value is not a file name: " + it.value().dump());
    const std::string name = it.value().get<std::string>();
    if (name.empty() || name.find('/') != std::string::npos || name == "." || name == "..")
      throw checkpoint_error(
          file, it.key(), std::nullopt,
          "weight_map names '" + name + "', which is not a file name in the index's directory");
    idx.weight_map[it.key()] = name;
  }
  return idx;
}

/// The index JSON for `weight_map` (in the order given) and `total_size`, indented as
/// `save_pretrained` writes it.
[[nodiscard]] inline std::string serialize_safetensors_index(
    std::uint64_t total_size, const std::vector<std::pair<std::string, std::string>>& weight_map,
    std::optional<std::uint64_t> total_parameters = std::nullopt) {
  nlohmann::ordered_json j;
  j["metadata"] = {{"total_size", total_size}};
  if (total_parameters) j["metadata"]["total_parameters"] = *total_parameters;
  nlohmann::ordered_json w = nlohmann::ordered_json::object();
  auto sorted = weight_map;
  std::sort(sorted.begin(), sorted.end());
  for (const auto& [k, v] : sorted) w[k] = v;
  j["weight_map"] = std::move(w);
  return j.dump(2) + "\n";
}

}  // namespace blueprint
