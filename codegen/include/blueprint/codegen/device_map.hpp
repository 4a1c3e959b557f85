// Device maps: one process holds one model over several devices — GPUs in order, the host, and
// a disk tier — with every device's bytes known before anything is allocated.
//
// This is the plan behind Hugging Face's `device_map="auto"` / `max_memory` / `offload_folder`,
// with Blueprint's guarantees: `device_map(layout, options)` places whole placement units (a
// decoder block, or the module of a tensor outside the blocks: `model.embed_tokens`,
// `model.norm`, `lm_head`) on devices within byte budgets, keeps a tied tensor with its alias on
// the first device that holds either, reserves per GPU a fixed activation budget and, for
// `reserve_kv_tokens`, the KV cache of the layers that live there; a map that cannot fit is an
// error naming the first unit that does not fit and the bytes missing. The result says, per
// tensor, where it lives and gives each device its program (program.hpp): the tiers together
// hold exactly the bytes of the one-device model, so init and loads under a map are bit-identical
// to a plain materialize. Allocation and I/O are the runtime's (runtime/device_map.hpp); this
// header only plans, so plans with pretend GPU budgets are made and tested on any machine.
//
// Strategies (docs/DEVICE_MAPS.md): `automatic` fills the devices in order (GPUs, cpu, disk) as
// accelerate's infer_auto_device_map does, and when anything is offloaded it keeps room on the
// first GPU for the largest unit; `sequential` fills them in order with no such room;
// `balanced` gives the GPUs equal shares (each but the last stops at total / GPUs). Pinned prefixes
// (an explicit map) come first and may be finer than a block; what they leave is placed by the
// strategy.
#pragma once

#include <algorithm>
#include <compare>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "layout.hpp"
#include "program.hpp"

namespace blueprint {

/// The tiers a device map places tensors on, in fill order.
enum class device_tier : std::uint8_t { gpu, cpu, disk };

/// The disk tier as a target (the host's own target is runtime's `cpu{}`, a GPU's `cuda{}`).
struct disk {
  static constexpr device_tier map_tier = device_tier::disk;
};

/// One device of a map. Ordered as the map fills them: GPUs by index, then cpu, then disk.
struct device_ref {
  device_tier tier = device_tier::cpu;
  std::uint32_t index = 0;  // the GPU's ordinal; 0 for cpu and disk

  constexpr device_ref() = default;
  constexpr device_ref(device_tier t, std::uint32_t i) : tier(t), index(i) {}
  /// From a target: `blueprint::cpu{}`, `blueprint::disk{}`, `blueprint::cuda{.device = 1}`.
  template <class Target>
  requires requires { Target::map_tier; }
  constexpr device_ref(const Target& target)  // NOLINT(google-explicit-constructor)
      : tier(Target::map_tier) {
    if constexpr (requires { target.device; }) index = static_cast<std::uint32_t>(target.device);
  }

  [[nodiscard]] static constexpr device_ref gpu(std::uint32_t i) { return {device_tier::gpu, i}; }
  [[nodiscard]] static constexpr device_ref cpu() { return {device_tier::cpu, 0}; }
  [[nodiscard]] static constexpr device_ref disk() { return {device_tier::disk, 0}; }

  // Written out rather than defaulted: nvcc 13's host pass leaves a defaulted == undefined.
  friend constexpr bool operator==(const device_ref& a, const device_ref& b) {
    return a.tier == b.tier && a.index == b.index;
  }
  friend constexpr std::strong_ordering operator<=>(const device_ref& a, const device_ref& b) {
    if (a.tier != b.tier) return a.tier <=> b.tier;
    return a.index <=> b.index;
  }

  /// "cuda:0", "cpu", "disk".
  [[nodiscard]] std::string name() const {
    if (tier == device_tier::gpu) return "cuda:" + std::to_string(index);
    return tier == device_tier::cpu ? "cpu" : "disk";
  }
};

/// "0", "cuda:1", "gpu:1", "cpu", "disk" (what Hugging Face maps and --max-memory write).
/// @throws std::invalid_argument naming the text
[[nodiscard]] inline device_ref parse_device(std::string_view text) {
  if (text == "cpu") return device_ref::cpu();
  if (text == "disk") return device_ref::disk();
  std::string_view digits = text;
  if (digits.substr(0, 5) == "cuda:")
    digits.remove_prefix(5);
  else if (digits.substr(0, 4) == "gpu:")
    digits.remove_prefix(4);
  std::uint32_t index = 0;
  bool ok = !digits.empty() && digits.size() <= 4;
  for (const char c : digits) {
    if (c < '0' || c > '9') ok = false;
    index = index * 10 + static_cast<std::uint32_t>(c - '0');
  }
  if (!ok)
    throw std::invalid_argument("device '" + std::string(text) +
                                "': expected a GPU index (0, cuda:1), cpu or disk");
  return device_ref::gpu(index);
}

/// A device with no budget given holds any number of bytes.
inline constexpr std::uint64_t unlimited_bytes = ~std::uint64_t{0};

/// The most bytes a map may place on a device (Hugging Face's max_memory entry).
struct memory_budget {
  device_ref device;
  std::uint64_t bytes = 0;
};

/// "1.50 GiB", "12.0 MiB", "3.5 KiB", "unlimited": what the map's messages and table print.
[[nodiscard]] inline std::string format_size(std::uint64_t bytes) {
  if (bytes == unlimited_bytes) return "unlimited";
  char buf[40];
  const auto b = static_cast<double>(bytes);
  if (bytes >= (1ull << 30))
    std::snprintf(buf, sizeof buf, "%.2f GiB", b / (1ull << 30));
  else if (bytes >= (1ull << 20))
    std::snprintf(buf, sizeof buf, "%.1f MiB", b / (1ull << 20));
  else
    std::snprintf(buf, sizeof buf, "%.1f KiB", b / 1024);
  return buf;
}

enum class placement_strategy : std::uint8_t { automatic, balanced, sequential };

/// "auto", "balanced", "sequential".
[[nodiscard]] constexpr std::string_view placement_name(placement_strategy s) {
  switch (s) {
    case placement_strategy::automatic:
      return "auto";
    case placement_strategy::balanced:
      return "balanced";
    case placement_strategy::sequential:
      return "sequential";
  }
  return "?";
}

/// What one token of context costs per decoder layer in the KV cache
/// (kv_cache_elements_per_token_layer in dsl/hf_model.hpp computes it from a config: 2 ×
/// kv_heads × head_dim for K and V).
struct kv_cache_shape {
  std::uint64_t elements_per_token_layer = 0;
  std::optional<dtype> type{};  // unset: the layout's default dtype
};

/// Which tensors of a checkpoint load are views of the checkpoint's file (device_map_options).
enum class in_place_policy : std::uint8_t { automatic, disk_only, never };

struct device_map_options {
  placement_strategy strategy = placement_strategy::automatic;
  /// Budgets. GPUs are used only where listed (or pinned); the cpu without a budget holds
  /// anything; disk is unlimited unless listed.
  std::vector<memory_budget> max_memory{};
  /// Module prefixes pinned to a device (an explicit map: `{"model.layers.30", cpu}`, `{"",
  /// disk}` for everything); each must match a tensor; the longest match wins.
  std::vector<std::pair<std::string, device_ref>> pinned{};
  /// The disk tier's folder: tensors placed on disk that the checkpoint does not hold in their
  /// target dtype are written there once. Empty: no disk tier (unless pinned, in place).
  std::string offload_dir{};
  /// Which tensors are views of the checkpoint's own file (same dtype, no copy): those on disk
  /// (`disk_only`), and also a host tier with no GPU in the map when every one of its tensors
  /// can be (`automatic`), or none (`never`).
  in_place_policy in_place = in_place_policy::automatic;
  std::uint64_t gpu_reserve_bytes = 0;  // per GPU, for activations
  std::uint64_t reserve_kv_tokens = 0;  // KV cache reserved for this many tokens
  kv_cache_shape kv_cache{};
};

/// A map that cannot be made: a unit that does not fit, a prefix that matches nothing, ...
class device_map_error : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

/// One row of the hf_device_map: a module prefix and its device.
struct map_entry {
  std::string prefix;
  device_ref device;
  std::uint64_t bytes = 0;  // its tensors' bytes on that device
};

/// What a device of the map holds and keeps free.
struct device_usage {
  device_ref device;
  std::uint64_t budget = unlimited_bytes;
  std::uint64_t weight_bytes = 0;   // the tensors' bytes in that tier (alignment included)
  std::uint64_t reserve_bytes = 0;  // activations (gpu_reserve_bytes)
  std::uint64_t kv_bytes = 0;       // the KV cache of its layers
  std::uint32_t layers = 0;         // decoder blocks whose KV cache it holds
  std::uint32_t tensors = 0;

  [[nodiscard]] std::uint64_t used() const { return weight_bytes + reserve_bytes + kv_bytes; }
  /// Budget left; unlimited_bytes without a budget.
  [[nodiscard]] std::uint64_t headroom() const {
    return budget == unlimited_bytes ? unlimited_bytes : budget - used();
  }
};

/// A layout placed over devices. Made by device_map().
struct device_map_plan {
  dynamic_layout layout;
  device_map_options options;
  std::vector<device_ref> tensor_devices;  // indexed like layout.tensors()
  std::vector<map_entry> entries;          // model order: the hf_device_map
  std::vector<device_usage> devices;       // device order: every device of the map
  std::uint64_t kv_bytes_per_layer = 0;

  /// Where tensor (or tied alias) `name` lives. @throws device_map_error for an unknown name
  [[nodiscard]] device_ref where(std::string_view name) const {
    const std::optional<std::size_t> i = layout.find(name);
    if (!i)
      throw device_map_error("device map: no tensor '" + std::string(name) + "' in model '" +
                             std::string(layout.model_name) + "'");
    return tensor_devices[*i];
  }
  /// The usage row of `d`, or null when the map does not hold it.
  [[nodiscard]] const device_usage* usage(device_ref d) const {
    for (const device_usage& u : devices)
      if (u.device == d) return &u;
    return nullptr;
  }
  /// True when some tensor lives on a device of tier `t`.
  [[nodiscard]] bool uses(device_tier t) const {
    for (const device_usage& u : devices)
      if (u.device.tier == t && u.tensors > 0) return true;
    return false;
  }
  /// Rows of layout.tensors() on `d`, in model order.
  [[nodiscard]] std::vector<std::uint32_t> tensors_on(device_ref d) const {
    std::vector<std::uint32_t> out;
    for (std::size_t i = 0; i < tensor_devices.size(); ++i)
      if (tensor_devices[i] == d) out.push_back(static_cast<std::uint32_t>(i));
    return out;
  }
  /// The program of the arena of `d` holding `chosen` (default: every tensor on `d`). GPUs and
  /// cpu: model order, each tensor aligned as in the layout. Disk: packed without gaps (wider
  /// elements first, so each stays aligned to its element size), as a safetensors file holds
  /// its data.
  [[nodiscard]] program program_for(device_ref d) const { return program_for(d, tensors_on(d)); }
  [[nodiscard]] program program_for(device_ref d, std::vector<std::uint32_t> chosen) const {
    if (d.tier != device_tier::disk)
      return program_of_tensors(layout, chosen, layout.options.alignment);
    const auto t = layout.tensors();
    std::stable_sort(chosen.begin(), chosen.end(), [&](std::uint32_t a, std::uint32_t b) {
      return dtype_size(t[a].type) > dtype_size(t[b].type);
    });
    return program_of_tensors(layout, chosen, 1);
  }
};

namespace detail {

/// "model.layers.3" of "model.layers.3.mlp.up_proj.weight" (block 3); "model.norm" of
/// "model.norm.weight"; a name without a dot is its own unit.
[[nodiscard]] inline std::string_view placement_unit_of(std::string_view name, std::int32_t block) {
  if (block >= 0) {
    const std::string number = std::to_string(block);
    std::size_t start = 0;
    while (start < name.size()) {
      std::size_t end = name.find('.', start);
      if (end == std::string_view::npos) end = name.size();
      if (name.substr(start, end - start) == number) return name.substr(0, end);
      start = end + 1;
    }
  }
  const std::size_t dot = name.rfind('.');
  return dot == std::string_view::npos ? name : name.substr(0, dot);
}

/// True when `prefix` names `name` or a module above it ("" names everything).
[[nodiscard]] inline bool prefix_covers(std::string_view prefix, std::string_view name) {
  if (prefix.empty()) return true;
  return name.substr(0, prefix.size()) == prefix &&
         (name.size() == prefix.size() || name[prefix.size()] == '.');
}

/// A placement unit: the tensors (rows of the layout) and tied aliases (rows of the ties) whose
/// names fall under one prefix.
struct placement_unit {
  std::string prefix;
  std::vector<std::uint32_t> tensors;
  std::vector<std::uint32_t> aliases;
  std::int32_t block = -1;
};

/// The units of `layout` in model order (first appearance).
[[nodiscard]] inline std::vector<placement_unit> placement_units(const dynamic_layout& layout) {
  std::vector<placement_unit> units;
  const auto unit_for = [&](std::string_view prefix, std::int32_t block) -> placement_unit& {
    for (placement_unit& u : units)
      if (u.prefix == prefix) return u;
    units.push_back({std::string(prefix), {}, {}, block});
    return units.back();
  };
  const auto tensors = layout.tensors();
  for (std::size_t i = 0; i < tensors.size(); ++i)
    unit_for(placement_unit_of(tensors[i].name(), tensors[i].spec.block), tensors[i].spec.block)
        .tensors.push_back(static_cast<std::uint32_t>(i));
  const auto ties = layout.ties();
  for (std::size_t i = 0; i < ties.size(); ++i) {
    const std::int32_t block = tensors[ties[i].target].spec.block;
    unit_for(placement_unit_of(ties[i].name(), block), block)
        .aliases.push_back(static_cast<std::uint32_t>(i));
  }
  return units;
}

/// The arena bytes tensor `t` takes on a device of tier `tier`.
[[nodiscard]] inline std::uint64_t tier_bytes(const placed_tensor& t, device_tier tier,
                                              std::uint64_t alignment) {
  return tier == device_tier::disk ? t.bytes : align_up(t.bytes, alignment);
}

/// The placement state: devices, their capacities and charges, each tensor's device.
struct map_builder {
  const dynamic_layout* layout;
  const device_map_options* options;
  std::vector<device_usage> devices;
  std::vector<std::uint64_t> capacity;  // budget minus the GPU reserve
  std::vector<int> device_of;           // per tensor: index into devices, -1 unplaced
  std::vector<int> pinned_device;       // per tensor, -1 when not pinned
  std::vector<int> alias_device;        // per tie, -1 when placed with its target
  std::vector<std::int32_t> kv_anchor;  // per tensor: block whose KV it carries, else -1
  std::uint64_t kv_per_layer = 0;

  [[nodiscard]] int index_of(device_ref d) const {
    for (std::size_t i = 0; i < devices.size(); ++i)
      if (devices[i].device == d) return static_cast<int>(i);
    return -1;
  }
  /// Where a block's KV cache lives when the tensor that carries it is on device `d`: the GPU
  /// itself, else the host (layers on the cpu or disk run from host memory).
  [[nodiscard]] int kv_home(int d) const {
    return devices[d].device.tier == device_tier::gpu ? d : index_of(device_ref::cpu());
  }
  [[nodiscard]] std::uint64_t bytes_on(std::uint32_t t, int d) const {
    return tier_bytes(layout->tensors()[t], devices[d].device.tier, layout->options.alignment);
  }
  [[nodiscard]] std::uint64_t left(int d) const {
    if (capacity[d] == unlimited_bytes) return unlimited_bytes;
    const std::uint64_t used = devices[d].weight_bytes + devices[d].kv_bytes;
    return used >= capacity[d] ? 0 : capacity[d] - used;
  }
  /// Bytes `members` would need on `d` beyond what it has left (0: they fit).
  [[nodiscard]] std::uint64_t shortfall(std::span<const std::uint32_t> members, int d) const {
    std::uint64_t weights = 0, kv = 0;
    for (const std::uint32_t t : members) {
      weights += bytes_on(t, d);
      if (kv_anchor[t] >= 0) kv += kv_per_layer;
    }
    const int home = kv_home(d);
    if (home == d) weights += kv, kv = 0;
    std::uint64_t missing = 0;
    if (left(d) != unlimited_bytes && weights > left(d)) missing += weights - left(d);
    if (kv > 0 && home >= 0 && left(home) != unlimited_bytes && kv > left(home))
      missing += kv - left(home);
    return missing;
  }
  void charge(std::uint32_t t, int d) {
    device_of[t] = d;
    devices[d].weight_bytes += bytes_on(t, d);
    ++devices[d].tensors;
    if (kv_anchor[t] >= 0) {
      const int home = kv_home(d);
      devices[home].kv_bytes += kv_per_layer;
      ++devices[home].layers;
    }
  }
  void uncharge(std::uint32_t t) {
    const int d = device_of[t];
    devices[d].weight_bytes -= bytes_on(t, d);
    --devices[d].tensors;
    if (kv_anchor[t] >= 0) {
      const int home = kv_home(d);
      devices[home].kv_bytes -= kv_per_layer;
      --devices[home].layers;
    }
    device_of[t] = -1;
  }
};

[[nodiscard]] inline std::string describe_unit(const map_builder& b, std::string_view prefix,
                                               std::span<const std::uint32_t> members) {
  std::uint64_t bytes = 0;
  bool kv = false;
  for (const std::uint32_t t : members) {
    bytes += align_up(b.layout->tensors()[t].bytes, b.layout->options.alignment);
    kv = kv || b.kv_anchor[t] >= 0;
  }
  // Appended piece by piece: g++ 12 warns (-Wrestrict, falsely) on "'" + std::string.
  std::string s(1, '\'');
  s.append(prefix).append("' (").append(format_size(bytes));
  if (kv) s.append(" + ").append(format_size(b.kv_per_layer)).append(" KV cache");
  return s.append(")");
}

/// Places the unpinned members of `units` in order over `order` (device indices), never going
/// back; b.capacity bounds each device. @throws device_map_error naming the first unit that
/// fits none, with the bytes missing on the last device
inline void fill_in_order(map_builder& b, const std::vector<placement_unit>& units,
                          const std::vector<int>& order) {
  std::size_t cursor = 0;
  for (const placement_unit& u : units) {
    std::vector<std::uint32_t> free;
    for (const std::uint32_t t : u.tensors)
      if (b.pinned_device[t] < 0) free.push_back(t);
    if (free.empty()) continue;
    while (cursor < order.size() && b.shortfall(free, order[cursor]) > 0) ++cursor;
    if (cursor == order.size()) {
      const int last = order.back();
      std::string where;
      for (const int d : order)
        where += (where.empty() ? "" : ", ") + b.devices[d].device.name() + " has " +
                 format_size(b.left(d)) + " left";
      throw device_map_error(
          "device map of '" + std::string(b.layout->model_name) + "': unit " +
          describe_unit(b, u.prefix, free) + " does not fit (" + where + "); " +
          format_size(b.shortfall(free, last)) + " (" + std::to_string(b.shortfall(free, last)) +
          " bytes) missing on " + b.devices[last].device.name() +
          (!b.options->offload_dir.empty()
               ? ""
               : " — raise --max-memory, or give an offload dir for a disk tier"));
    }
    for (const std::uint32_t t : free) b.charge(t, order[cursor]);
  }
}

[[nodiscard]] inline std::uint64_t offloaded_bytes(const map_builder& b) {
  std::uint64_t n = 0;
  for (const device_usage& u : b.devices)
    if (u.device.tier != device_tier::gpu) n += u.weight_bytes;
  return n;
}

}  // namespace detail

/// The device map of `layout` under `options`.
/// @throws device_map_error naming the first unit that does not fit and the bytes missing, a
///         pinned prefix that matches no tensor (or is given twice), a pinned device over its
///         budget, a reserve larger than its GPU's budget, or a KV reserve without a KV shape
[[nodiscard]] inline device_map_plan device_map(const dynamic_layout& layout,
                                                const device_map_options& options = {}) {
  const std::string model(layout.model_name);
  device_map_plan plan;
  plan.layout = layout;
  plan.options = options;
  const auto tensors = layout.tensors();
  const auto ties = layout.ties();

  // The devices: listed GPUs, pinned GPUs, the cpu, and disk when allowed, listed or pinned.
  std::vector<device_ref> devs{device_ref::cpu()};
  for (const memory_budget& m : options.max_memory) devs.push_back(m.device);
  for (const auto& [prefix, d] : options.pinned) devs.push_back(d);
  if (!options.offload_dir.empty()) devs.push_back(device_ref::disk());
  std::sort(devs.begin(), devs.end());
  devs.erase(std::unique(devs.begin(), devs.end()), devs.end());

  detail::map_builder b{&layout, &options, {}, {}, {}, {}, {}, {}, 0};
  for (const device_ref d : devs) {
    device_usage u;
    u.device = d;
    for (const memory_budget& m : options.max_memory)
      if (m.device == d) u.budget = m.bytes;
    std::uint64_t cap = u.budget;
    if (d.tier == device_tier::gpu && options.gpu_reserve_bytes > 0) {
      if (cap != unlimited_bytes && options.gpu_reserve_bytes > cap)
        throw device_map_error("device map of '" + model + "': the activation reserve (" +
                               format_size(options.gpu_reserve_bytes) + ") is larger than " +
                               d.name() + "'s budget (" + format_size(cap) + ")");
      u.reserve_bytes = options.gpu_reserve_bytes;
      if (cap != unlimited_bytes) cap -= options.gpu_reserve_bytes;
    }
    b.devices.push_back(u);
    b.capacity.push_back(cap);
  }
  for (const memory_budget& m : options.max_memory)
    if (std::count_if(options.max_memory.begin(), options.max_memory.end(),
                      [&](const memory_budget& o) { return o.device == m.device; }) > 1)
      throw device_map_error("device map of '" + model + "': " + m.device.name() +
                             " has two budgets");

  // The KV cache: bytes per layer, carried by one tensor of each block (its key/value
  // projection, else its first tensor).
  if (options.reserve_kv_tokens > 0) {
    if (options.kv_cache.elements_per_token_layer == 0)
      throw device_map_error("device map of '" + model +
                             "': reserve_kv_tokens needs the model's KV-cache shape "
                             "(options.kv_cache.elements_per_token_layer = "
                             "kv_cache_elements_per_token_layer(config))");
    const dtype kv_type = options.kv_cache.type.value_or(layout.policy.default_type);
    b.kv_per_layer =
        options.kv_cache.elements_per_token_layer * options.reserve_kv_tokens * dtype_size(kv_type);
  }
  plan.kv_bytes_per_layer = b.kv_per_layer;
  b.kv_anchor.assign(tensors.size(), -1);
  if (b.kv_per_layer > 0) {
    std::vector<std::int64_t> anchor_of_block;
    for (std::size_t i = 0; i < tensors.size(); ++i) {
      const std::int32_t blk = tensors[i].spec.block;
      if (blk < 0) continue;
      if (anchor_of_block.size() <= static_cast<std::size_t>(blk))
        anchor_of_block.resize(static_cast<std::size_t>(blk) + 1, -1);
      std::int64_t& a = anchor_of_block[static_cast<std::size_t>(blk)];
      const bool kv_tensor = tensors[i].spec.heads == head_group::key_value;
      if (a < 0 ||
          (kv_tensor && tensors[static_cast<std::size_t>(a)].spec.heads != head_group::key_value))
        a = static_cast<std::int64_t>(i);
    }
    for (std::size_t blk = 0; blk < anchor_of_block.size(); ++blk)
      if (anchor_of_block[blk] >= 0)
        b.kv_anchor[static_cast<std::size_t>(anchor_of_block[blk])] =
            static_cast<std::int32_t>(blk);
  }

  // Pinned prefixes: the longest that covers each name.
  b.device_of.assign(tensors.size(), -1);
  b.pinned_device.assign(tensors.size(), -1);
  b.alias_device.assign(ties.size(), -1);
  std::vector<bool> prefix_used(options.pinned.size(), false);
  const auto pin_of = [&](std::string_view name) {
    int best = -1;
    for (std::size_t p = 0; p < options.pinned.size(); ++p)
      if (detail::prefix_covers(options.pinned[p].first, name) &&
          (best < 0 || options.pinned[p].first.size() >
                           options.pinned[static_cast<std::size_t>(best)].first.size()))
        best = static_cast<int>(p);
    if (best >= 0) prefix_used[static_cast<std::size_t>(best)] = true;
    return best < 0 ? -1 : b.index_of(options.pinned[static_cast<std::size_t>(best)].second);
  };
  for (std::size_t p = 0; p < options.pinned.size(); ++p)
    for (std::size_t q = 0; q < p; ++q)
      if (options.pinned[p].first == options.pinned[q].first)
        throw device_map_error("device map of '" + model + "': prefix '" + options.pinned[p].first +
                               "' is given twice");
  for (std::size_t i = 0; i < tensors.size(); ++i) b.pinned_device[i] = pin_of(tensors[i].name());
  for (std::size_t i = 0; i < ties.size(); ++i) b.alias_device[i] = pin_of(ties[i].name());
  for (std::size_t p = 0; p < options.pinned.size(); ++p)
    if (!prefix_used[p])
      throw device_map_error("device map of '" + model + "': prefix '" + options.pinned[p].first +
                             "' matches no tensor of the model (prefixes are module paths, "
                             "such as model.layers.3 or lm_head)");
  const std::vector<detail::placement_unit> units = detail::placement_units(layout);
  // Pinned tensors first; their devices must hold them.
  for (const detail::placement_unit& u : units) {
    for (const std::uint32_t t : u.tensors) {
      const int d = b.pinned_device[t];
      if (d < 0) continue;
      const std::uint32_t one[] = {t};
      if (const std::uint64_t missing = b.shortfall(one, d); missing > 0)
        throw device_map_error(
            "device map of '" + model + "': pinned tensor '" + std::string(tensors[t].name()) +
            "' does not fit on " + b.devices[static_cast<std::size_t>(d)].device.name() + ": " +
            format_size(missing) + " (" + std::to_string(missing) + " bytes) missing");
      b.charge(t, d);
    }
  }
  // The rest by the strategy, over GPUs, cpu, then disk.
  std::vector<int> order;
  for (std::size_t d = 0; d < b.devices.size(); ++d) order.push_back(static_cast<int>(d));
  std::uint64_t largest_unit = 0;
  for (const detail::placement_unit& u : units) {
    std::uint64_t bytes = 0;
    for (const std::uint32_t t : u.tensors)
      bytes += align_up(tensors[t].bytes, layout.options.alignment);
    largest_unit = std::max(largest_unit, bytes);
  }
  const detail::map_builder pinned_only = b;
  const auto run = [&](const std::vector<std::uint64_t>& caps) {
    detail::map_builder attempt = pinned_only;
    attempt.capacity = caps;
    detail::fill_in_order(attempt, units, order);
    return attempt;
  };
  const int first_gpu = b.devices.front().device.tier == device_tier::gpu ? 0 : -1;
  switch (options.strategy) {
    case placement_strategy::sequential:
      b = run(b.capacity);
      break;
    case placement_strategy::automatic: {
      b = run(b.capacity);
      if (first_gpu >= 0 && detail::offloaded_bytes(b) > 0) {
        // Offloaded units run on the first GPU: keep room there for the largest one.
        std::vector<std::uint64_t> caps = pinned_only.capacity;
        if (caps[0] != unlimited_bytes) caps[0] -= std::min(caps[0], largest_unit);
        try {
          b = run(caps);
          b.capacity = pinned_only.capacity;
        } catch (const device_map_error&) {  // no room for it: the plain fill stands
        }
      }
      break;
    }
    case placement_strategy::balanced: {
      const detail::map_builder in_order = run(b.capacity);
      std::uint64_t total = 0, gpus = 0;
      for (const device_usage& u : in_order.devices) {
        total += u.weight_bytes + u.kv_bytes;
        if (u.device.tier == device_tier::gpu) ++gpus;
      }
      b = in_order;
      if (gpus > 1) {
        // Each GPU but the last stops at an equal share; the last keeps its whole budget.
        std::vector<std::uint64_t> caps = pinned_only.capacity;
        const std::uint64_t share = (total + gpus - 1) / gpus;
        std::uint64_t seen = 0;
        for (std::size_t d = 0; d < caps.size(); ++d)
          if (b.devices[d].device.tier == device_tier::gpu && ++seen < gpus)
            caps[d] = std::min(caps[d], share);
        try {
          detail::map_builder even = run(caps);
          if (detail::offloaded_bytes(even) <= detail::offloaded_bytes(in_order)) {
            b = std::move(even);
            b.capacity = pinned_only.capacity;
          }
        } catch (const device_map_error&) {
        }
      }
      break;
    }
  }

  // A tied tensor lives with its alias on the first device that holds either.
  for (std::size_t i = 0; i < ties.size(); ++i) {
    const std::uint32_t t = ties[i].target;
    const int alias = b.alias_device[i];
    if (alias < 0 || alias >= b.device_of[t]) continue;
    b.uncharge(t);
    const std::uint32_t one[] = {t};
    if (const std::uint64_t missing = b.shortfall(one, alias); missing > 0)
      throw device_map_error(
          "device map of '" + model + "': '" + std::string(tensors[t].name()) + "', tied to '" +
          std::string(ties[i].name()) + "', must live with it on " +
          b.devices[static_cast<std::size_t>(alias)].device.name() + ": " + format_size(missing) +
          " (" + std::to_string(missing) + " bytes) missing there");
    b.charge(t, alias);
  }

  // Non-persistent buffers (computed, never in a checkpoint, small) do not go to disk: one
  // whose unit is there lives on the host.
  const int host = b.index_of(device_ref::cpu());
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    if (tensors[i].spec.persistent ||
        b.devices[static_cast<std::size_t>(b.device_of[i])].device.tier != device_tier::disk)
      continue;
    b.uncharge(static_cast<std::uint32_t>(i));
    b.charge(static_cast<std::uint32_t>(i), host);
  }

  // The result: per tensor, per entry, per device.
  plan.tensor_devices.resize(tensors.size());
  for (std::size_t i = 0; i < tensors.size(); ++i)
    plan.tensor_devices[i] = b.devices[static_cast<std::size_t>(b.device_of[i])].device;
  const auto device_of_name = [&](std::string_view name) { return plan.where(name); };
  for (const detail::placement_unit& u : units) {
    // One row per unit when it sits on one device; else one per module of its members.
    std::vector<std::pair<std::string, std::uint64_t>> members;
    for (const std::uint32_t t : u.tensors)
      members.emplace_back(std::string(tensors[t].name()), tensors[t].bytes);
    for (const std::uint32_t a : u.aliases) members.emplace_back(std::string(ties[a].name()), 0);
    bool one = true;
    for (const auto& [name, bytes] : members)
      one = one && device_of_name(name) == device_of_name(members.front().first);
    if (one) {
      std::uint64_t bytes = 0;
      for (const auto& m : members) bytes += m.second;
      plan.entries.push_back({u.prefix, device_of_name(members.front().first), bytes});
      continue;
    }
    for (const auto& [name, bytes] : members) {
      const std::string module(detail::placement_unit_of(name, -1));
      const device_ref d = device_of_name(name);
      if (!plan.entries.empty() && plan.entries.back().prefix == module &&
          plan.entries.back().device == d)
        plan.entries.back().bytes += bytes;
      else
        plan.entries.push_back({module, d, bytes});
    }
  }
  plan.devices = b.devices;
  return plan;
}

/// The same for any layout (a compile-time one is copied to its run-time form).
template <Layout L>
requires(!std::is_same_v<L, dynamic_layout>) [[nodiscard]] device_map_plan
    device_map(const L& layout, const device_map_options& options = {}) {
  return device_map(to_dynamic(layout), options);
}

}  // namespace blueprint
