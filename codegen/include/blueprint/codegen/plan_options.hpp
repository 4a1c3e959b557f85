// What a shard plan is asked to do: the data-parallel strategy, per-tensor role overrides,
// pipeline stage boundaries, vocab padding, and the byte literals used for budgets.
//
// Everything here is a small structural value, so that it can be a template argument of
// `static_plan` and a constexpr function argument alike.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <blueprint/dsl/tensor_spec.hpp>

namespace blueprint {

inline namespace literals {
// Binary (KiB, MiB, GiB, TiB) and decimal (KB, MB, GB, TB) byte counts: 80_GiB, 5_GB.
constexpr std::uint64_t operator""_KiB(unsigned long long v) {
  return v << 10;
}
constexpr std::uint64_t operator""_MiB(unsigned long long v) {
  return v << 20;
}
constexpr std::uint64_t operator""_GiB(unsigned long long v) {
  return v << 30;
}
constexpr std::uint64_t operator""_TiB(unsigned long long v) {
  return v << 40;
}
constexpr std::uint64_t operator""_KB(unsigned long long v) {
  return v * 1000ull;
}
constexpr std::uint64_t operator""_MB(unsigned long long v) {
  return v * 1000'000ull;
}
constexpr std::uint64_t operator""_GB(unsigned long long v) {
  return v * 1000'000'000ull;
}
constexpr std::uint64_t operator""_TB(unsigned long long v) {
  return v * 1000'000'000'000ull;
}
}  // namespace literals

/// What the data-parallel axis does with a (tensor-parallel-local) tensor.
enum class dp_mode : std::uint8_t {
  replicate,  // DDP: every dp rank holds the whole TP-local tensor
  fsdp,       // FSDP2: dim 0 in ceil(rows / DP) chunks, the last ones padded with zero rows
  zero3,      // ZeRO-3 / FSDP1: a unit's tensors concatenated, padded to a multiple of DP, split
};

/// A sharding strategy. Tensor and pipeline parallelism come from the mesh (tp, pp, ep) and
/// compose with any of the three data-parallel modes.
struct strategy {
  dp_mode dp = dp_mode::replicate;
  friend constexpr bool operator==(const strategy&, const strategy&) = default;
};
inline constexpr strategy replicate{dp_mode::replicate};
inline constexpr strategy fsdp{dp_mode::fsdp};
inline constexpr strategy zero3{dp_mode::zero3};

[[nodiscard]] constexpr std::string_view strategy_name(strategy s) {
  switch (s.dp) {
    case dp_mode::replicate:
      return "replicate";
    case dp_mode::fsdp:
      return "fsdp";
    case dp_mode::zero3:
      return "zero3";
  }
  return "?";
}
/// "replicate" (alias "ddp"), "fsdp" (alias "fsdp2"), "zero3" (aliases "fsdp1", "zero").
[[nodiscard]] constexpr std::optional<strategy> parse_strategy(std::string_view s) {
  if (s == "replicate" || s == "ddp") return replicate;
  if (s == "fsdp" || s == "fsdp2") return fsdp;
  if (s == "zero3" || s == "fsdp1" || s == "zero") return zero3;
  return std::nullopt;
}

/// Tensors whose fully-qualified name matches the glob get `role` instead of the family's.
struct role_override {
  char pattern[64]{};
  std::uint8_t pattern_size = 0;
  parallel_role role = parallel_role::replicated;
  [[nodiscard]] constexpr std::string_view glob() const { return {pattern, pattern_size}; }
};

/// Options of a shard plan. Later role overrides win over earlier ones.
struct plan_options {
  static constexpr std::size_t max_role_overrides = 16;
  static constexpr std::size_t max_stage_boundaries = 63;

  std::array<role_override, max_role_overrides> role_overrides{};
  std::uint8_t role_override_count = 0;
  /// First unit of pipeline stages 1..pp-1; none given: stages balanced by bytes.
  std::array<std::uint32_t, max_stage_boundaries> stage_boundaries{};
  std::uint8_t stage_boundary_count = 0;
  /// Megatron-style vocab padding: an embedding or lm_head whose vocab the tp degree does not
  /// divide is split in ceil(vocab / tp) rows per rank, the missing rows written as zeros.
  bool pad_vocab = false;
  /// Elements per attention head, for attention tensors whose record carries no head size
  /// (every layer of the vocabulary writes one; tensor_spec::head_size); 0: none.
  std::uint64_t head_dim = 0;
  /// tp > kv heads (and a multiple of them): each kv head is replicated on tp / kv_heads
  /// consecutive tp ranks (the vLLM / Megatron GQA rule) instead of being an error.
  bool replicate_kv_heads = true;

  [[nodiscard]] constexpr plan_options with_role(std::string_view glob, parallel_role r) const {
    plan_options o = *this;
    if (o.role_override_count == max_role_overrides || glob.size() >= 64)
      at_most_16_role_overrides_with_patterns_shorter_than_64_characters();
    role_override& x = o.role_overrides[o.role_override_count++];
    for (std::size_t i = 0; i < glob.size(); ++i) x.pattern[i] = glob[i];
    x.pattern_size = static_cast<std::uint8_t>(glob.size());
    x.role = r;
    return o;
  }
  [[nodiscard]] constexpr plan_options with_stage_boundaries(
      std::span<const std::uint32_t> first_units) const {
    plan_options o = *this;
    if (first_units.size() > max_stage_boundaries) at_most_63_pipeline_stage_boundaries();
    o.stage_boundary_count = 0;
    for (std::uint32_t u : first_units) o.stage_boundaries[o.stage_boundary_count++] = u;
    return o;
  }
  [[nodiscard]] constexpr plan_options with_stage_boundaries(
      std::initializer_list<std::uint32_t> first_units) const {
    return with_stage_boundaries(
        std::span<const std::uint32_t>(first_units.begin(), first_units.size()));
  }
  [[nodiscard]] constexpr plan_options with_vocab_padding(bool on = true) const {
    plan_options o = *this;
    o.pad_vocab = on;
    return o;
  }
  [[nodiscard]] constexpr plan_options with_head_dim(std::uint64_t d) const {
    plan_options o = *this;
    o.head_dim = d;
    return o;
  }

 private:
  // Not constexpr: reaching it in a constant expression is the compile error.
  static void at_most_63_pipeline_stage_boundaries() {
    throw std::length_error("plan_options: at most 63 pipeline stage boundaries");
  }
  static void at_most_16_role_overrides_with_patterns_shorter_than_64_characters() {
    throw std::length_error(
        "plan_options: at most 16 role overrides with patterns shorter than 64 characters");
  }
};

// ---- the text forms of these options (the command line) --------------------------------------

/// "replicated" | "split_rows" (alias "rows") | "split_cols" (alias "cols").
/// @throws std::invalid_argument naming the text and the choices
[[nodiscard]] inline parallel_role parse_role(std::string_view text) {
  if (text == "replicated") return parallel_role::replicated;
  if (text == "split_rows" || text == "rows") return parallel_role::split_rows;
  if (text == "split_cols" || text == "cols") return parallel_role::split_cols;
  throw std::invalid_argument("role '" + std::string(text) +
                              "': expected replicated, split_rows or split_cols");
}

/// `o` with the role overrides of "GLOB=ROLE" (several separated by ';'), later ones winning.
/// @throws std::invalid_argument for an item without '=', an empty glob or an unknown role;
///         std::length_error beyond 16 overrides or a glob of 64 characters
[[nodiscard]] inline plan_options with_role_overrides(plan_options o, std::string_view text) {
  while (!text.empty()) {
    const std::size_t end = std::min(text.find(';'), text.size());
    const std::string_view item = text.substr(0, end);
    text.remove_prefix(std::min(text.size(), end + 1));
    if (item.empty()) continue;
    const std::size_t eq = item.rfind('=');
    if (eq == std::string_view::npos || eq == 0)
      throw std::invalid_argument("role override '" + std::string(item) + "': expected GLOB=ROLE");
    o = o.with_role(item.substr(0, eq), parse_role(item.substr(eq + 1)));
  }
  return o;
}

/// "1,21,41": the first unit of pipeline stages 1..pp-1 (decimal, comma separated, each below
/// 2^32). Whether they fit the model and mesh is the plan's rule (stage_boundaries_increasing).
/// @throws std::invalid_argument naming the item; std::length_error beyond 63 boundaries
[[nodiscard]] inline std::vector<std::uint32_t> parse_stage_boundaries(std::string_view text) {
  std::vector<std::uint32_t> out;
  while (true) {
    const std::size_t end = std::min(text.find(','), text.size());
    const std::string_view item = text.substr(0, end);
    std::uint64_t v = 0;
    bool ok = !item.empty() && item.size() <= 10;
    for (char c : item)
      ok = ok && c >= '0' && c <= '9', v = v * 10 + static_cast<unsigned>(c - '0');
    if (!ok || v > 0xFFFFFFFFull)
      throw std::invalid_argument("stage boundary '" + std::string(item) +
                                  "': expected a unit index (a decimal number below 2^32)");
    out.push_back(static_cast<std::uint32_t>(v));
    if (out.size() > plan_options::max_stage_boundaries)
      throw std::length_error("plan_options: at most 63 pipeline stage boundaries");
    if (end == text.size()) break;
    text.remove_prefix(end + 1);
  }
  return out;
}

}  // namespace blueprint
