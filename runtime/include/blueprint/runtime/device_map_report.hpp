// A device map in and out as text: the `--device-map` argument (a strategy, one device, or an
// hf_device_map-style JSON object) and the plan's report (hf_device_map-compatible JSON with
// per-device bytes, reserves and headroom; a table for people).
#pragma once

#include <cstdio>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include <blueprint/codegen/device_map.hpp>

namespace blueprint {

/// What a `--device-map` argument asks for: a strategy and the prefixes it pins.
struct device_map_request {
  placement_strategy strategy = placement_strategy::automatic;
  std::vector<std::pair<std::string, device_ref>> pinned{};
};

/// "auto" | "balanced" | "sequential" | a device ("cpu", "disk", "0", "cuda:1": everything there)
/// | a JSON object of module prefixes to devices (`{"model.layers.30": "cpu", "lm_head": "disk",
/// "model.embed_tokens": 0}`, as transformers' hf_device_map prints it).
/// @throws std::invalid_argument naming what is wrong
[[nodiscard]] inline device_map_request parse_device_map_request(std::string_view text) {
  device_map_request r;
  if (text == "auto") return r;
  if (text == "balanced") {
    r.strategy = placement_strategy::balanced;
    return r;
  }
  if (text == "sequential") {
    r.strategy = placement_strategy::sequential;
    return r;
  }
  if (text.empty() || text.front() != '{') {
    try {
      r.pinned.emplace_back("", parse_device(text));
    } catch (const std::invalid_argument&) {
      throw std::invalid_argument("device map '" + std::string(text) +
                                  "': expected auto, balanced, sequential, a device (0, cuda:1, "
                                  "cpu, disk) or a JSON object of module prefixes to devices");
    }
    return r;
  }
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw std::invalid_argument("device map: not valid JSON (" + std::string(e.what()) + ")");
  }
  if (!j.is_object()) throw std::invalid_argument("device map: expected a JSON object");
  for (const auto& [prefix, value] : j.items()) {
    if (value.is_number_unsigned())
      r.pinned.emplace_back(prefix, device_ref::gpu(value.get<std::uint32_t>()));
    else if (value.is_string())
      r.pinned.emplace_back(prefix, parse_device(value.get<std::string>()));
    else
      throw std::invalid_argument("device map: '" + prefix + "' maps to " + value.dump() +
                                  ": expected a GPU index, \"cuda:N\", \"cpu\" or \"disk\"");
  }
  return r;
}

/// The hf_device_map value of a device: 0, 1, ... for GPUs, "cpu", "disk".
[[nodiscard]] inline nlohmann::json hf_device_value(device_ref d) {
  if (d.tier == device_tier::gpu) return d.index;
  return d.name();
}

/// The plan as JSON: `hf_device_map` (module prefix → device, model order, loadable by
/// transformers' `from_pretrained(device_map=...)`) and every device's bytes.
[[nodiscard]] inline nlohmann::ordered_json to_json(const device_map_plan& p) {
  nlohmann::ordered_json j;
  j["model"] = std::string(p.layout.model_name);
  j["strategy"] = std::string(placement_name(p.options.strategy));
  j["dtype"] = std::string(dtype_name(p.layout.policy.default_type));
  j["reserve_kv_tokens"] = p.options.reserve_kv_tokens;
  j["kv_bytes_per_layer"] = p.kv_bytes_per_layer;
  j["offload_dir"] = p.options.offload_dir;
  nlohmann::ordered_json map = nlohmann::ordered_json::object();
  for (const map_entry& e : p.entries) map[e.prefix] = hf_device_value(e.device);
  j["hf_device_map"] = std::move(map);
  j["devices"] = nlohmann::ordered_json::array();
  for (const device_usage& u : p.devices) {
    nlohmann::ordered_json d;
    d["device"] = hf_device_value(u.device);
    d["name"] = u.device.name();
    d["budget_bytes"] =
        u.budget == unlimited_bytes ? nlohmann::ordered_json() : nlohmann::ordered_json(u.budget);
    d["weight_bytes"] = u.weight_bytes;
    d["reserve_bytes"] = u.reserve_bytes;
    d["kv_cache_bytes"] = u.kv_bytes;
    d["kv_layers"] = u.layers;
    d["tensors"] = u.tensors;
    d["used_bytes"] = u.used();
    d["headroom_bytes"] = u.budget == unlimited_bytes ? nlohmann::ordered_json()
                                                      : nlohmann::ordered_json(u.headroom());
    j["devices"].push_back(std::move(d));
  }
  return j;
}

/// The plan as a table: one row per device, then the map (runs of blocks on one device folded).
[[nodiscard]] inline std::string to_string(const device_map_plan& p) {
  std::ostringstream s;
  s << p.layout.model_name << ", " << dtype_name(p.layout.policy.default_type) << ", device map "
    << placement_name(p.options.strategy);
  if (p.options.reserve_kv_tokens > 0)
    s << ", KV cache for " << p.options.reserve_kv_tokens << " tokens ("
      << format_size(p.kv_bytes_per_layer) << " per layer)";
  s << "\n\n";
  char row[200];
  std::snprintf(row, sizeof row, "  %-8s %12s %12s %12s %12s %12s %7s %7s\n", "device", "budget",
                "weights", "reserve", "kv cache", "headroom", "layers", "tensors");
  s << row;
  for (const device_usage& u : p.devices) {
    std::snprintf(row, sizeof row, "  %-8s %12s %12s %12s %12s %12s %7u %7u\n",
                  u.device.name().c_str(), format_size(u.budget).c_str(),
                  format_size(u.weight_bytes).c_str(), format_size(u.reserve_bytes).c_str(),
                  format_size(u.kv_bytes).c_str(), format_size(u.headroom()).c_str(), u.layers,
                  u.tensors);
    s << row;
  }
  s << "\n";
  for (std::size_t i = 0; i < p.entries.size();) {
    std::size_t j = i + 1;
    while (j < p.entries.size() && p.entries[j].device == p.entries[i].device) ++j;
    std::uint64_t bytes = 0;
    for (std::size_t k = i; k < j; ++k) bytes += p.entries[k].bytes;
    s << "  " << p.entries[i].device.name() << "\t" << p.entries[i].prefix;
    if (j - i > 1) s << " .. " << p.entries[j - 1].prefix << " (" << j - i << " modules)";
    s << "  " << format_size(bytes) << "\n";
    i = j;
  }
  return s.str();
}

}  // namespace blueprint
