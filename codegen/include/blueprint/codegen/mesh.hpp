// The device mesh: how many ranks, and which coordinates each rank has on the parallel axes.
//
// A mesh is four small integers, usable as a template argument (static mesh) and as a run-time
// value (world size from the environment) with the same code. Rank order is DESIGN.md's,
// tp innermost: `rank = (pp * DP + dp) * TP + tp`. Expert parallelism does not add ranks: as
// in Megatron-LM and DeepSpeed-MoE, the `ep` axis is carved out of `dp`. The dp index splits
// into `dp = edp * EP + ep` (ep innermost, so an expert-parallel group is EP consecutive dp
// ranks); expert tensors are distributed over `ep` and replicated (or sharded) over the
// `edp = DP / EP` ranks of the expert-data-parallel group, every other tensor over all of dp.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace blueprint {

/// A rank's coordinates on the mesh axes.
struct mesh_coords {
  std::uint32_t pp = 0;   // pipeline stage
  std::uint32_t dp = 0;   // data-parallel index, 0..DP-1
  std::uint32_t tp = 0;   // tensor-parallel index
  std::uint32_t ep = 0;   // expert-parallel index = dp % EP
  std::uint32_t edp = 0;  // expert-data-parallel index = dp / EP

  friend constexpr bool operator==(const mesh_coords&, const mesh_coords&) = default;
};

/// `pp x dp x tp` ranks; `ep` divides `dp` (see the file comment).
struct mesh {
  /// The most ranks a mesh may have (2^24 = 16,777,216): rank numbers and world sizes stay far
  /// inside 32 bits, and the planner's per-rank tables stay addressable.
  static constexpr std::uint64_t max_world_size = std::uint64_t{1} << 24;

  std::uint32_t pp = 1;
  std::uint32_t dp = 1;
  std::uint32_t tp = 1;
  std::uint32_t ep = 1;

  friend constexpr bool operator==(const mesh&, const mesh&) = default;

  /// pp * dp * tp, in 64 bits so that a product beyond 2^32 cannot wrap into a small mesh.
  [[nodiscard]] constexpr std::uint64_t world_size_64() const {
    return std::uint64_t{pp} * dp * tp;
  }
  /// @pre valid() (then the product fits: at most max_world_size)
  [[nodiscard]] constexpr std::uint32_t world_size() const {
    return static_cast<std::uint32_t>(world_size_64());
  }
  /// Size of the expert-data-parallel group (ranks holding the same experts on one stage).
  [[nodiscard]] constexpr std::uint32_t expert_dp() const { return ep == 0 ? 0 : dp / ep; }
  /// All axes at least 1, ep dividing dp, and at most max_world_size ranks.
  [[nodiscard]] constexpr bool valid() const {
    return pp >= 1 && dp >= 1 && tp >= 1 && ep >= 1 && dp % ep == 0 &&
           world_size_64() <= max_world_size;
  }

  /// @pre valid() and rank < world_size()
  [[nodiscard]] constexpr mesh_coords coords(std::uint32_t rank) const {
    mesh_coords c;
    c.tp = rank % tp;
    c.dp = (rank / tp) % dp;
    c.pp = rank / (tp * dp);
    c.ep = c.dp % ep;
    c.edp = c.dp / ep;
    return c;
  }
  /// @pre valid() and each coordinate below its axis size
  [[nodiscard]] constexpr std::uint32_t rank_of(std::uint32_t pp_index, std::uint32_t dp_index,
                                                std::uint32_t tp_index) const {
    return (pp_index * dp + dp_index) * tp + tp_index;
  }
};

namespace detail {
// Called only when parsing fails during constant evaluation: its name is the error.
inline void mesh_string_must_be_a_comma_separated_list_of_axis_equals_positive_integer() {}

[[noreturn]] inline void throw_mesh_error(std::string_view text, std::string_view why) {
  throw std::invalid_argument("mesh '" + std::string(text) + "': " + std::string(why) +
                              " (expected e.g. 'pp=4,dp=8,tp=8', axes pp, dp, tp, ep)");
}
}  // namespace detail

namespace detail {
/// Parses `text` into `m`; returns what is wrong with it, or "" when it is a mesh.
[[nodiscard]] constexpr std::string_view parse_mesh_into(std::string_view text, mesh& m) {
  std::string_view rest = text;
  if (rest.empty()) return "empty mesh";
  bool seen[4] = {false, false, false, false};  // pp, dp, tp, ep
  while (!rest.empty()) {
    const std::size_t comma = rest.find(',');
    const std::string_view item = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    const std::size_t eq = item.find('=');
    if (eq == std::string_view::npos) return "an item has no '='";
    const std::string_view axis = item.substr(0, eq);
    const std::string_view number = item.substr(eq + 1);
    if (number.empty()) return "an axis size is not a positive integer";
    std::uint64_t value = 0;
    for (char ch : number) {
      if (ch < '0' || ch > '9') return "an axis size is not a positive integer";
      value = value * 10 + static_cast<std::uint64_t>(ch - '0');
      if (value > mesh::max_world_size) return "an axis size exceeds 2^24 ranks";
    }
    if (value == 0) return "an axis size is zero";
    const int axis_index = axis == "pp"   ? 0
                           : axis == "dp" ? 1
                           : axis == "tp" ? 2
                           : axis == "ep" ? 3
                                          : -1;
    if (axis_index < 0) return "unknown axis";
    if (seen[axis_index]) return "an axis is given twice";
    seen[axis_index] = true;
    const auto v = static_cast<std::uint32_t>(value);
    (axis_index == 0 ? m.pp : axis_index == 1 ? m.dp : axis_index == 2 ? m.tp : m.ep) = v;
  }
  if (m.dp % m.ep != 0) return "ep must divide dp (expert parallelism is carved out of dp)";
  if (m.world_size_64() > mesh::max_world_size)
    return "the world size pp*dp*tp exceeds the maximum of 2^24 = 16777216 ranks";
  return "";
}
}  // namespace detail

/// What is wrong with the mesh text, or "" when parse_mesh accepts it (for static_assert:
/// generated benchmark programs check their MESH with it).
[[nodiscard]] constexpr std::string_view mesh_problem(std::string_view text) {
  mesh m;
  return detail::parse_mesh_into(text, m);
}

/// Parses "pp=4,dp=8,tp=8" (any order, any subset; missing axes are 1; also "ep=2"). Sizes are
/// decimal (a leading zero is a decimal digit, not octal); each axis at most once; the world
/// size at most mesh::max_world_size. Throws std::invalid_argument naming the problem; a
/// compile error in constant evaluation.
[[nodiscard]] constexpr mesh parse_mesh(std::string_view text) {
  mesh m;
  const std::string_view why = detail::parse_mesh_into(text, m);
  if (!why.empty()) {
    if (std::is_constant_evaluated())
      detail::mesh_string_must_be_a_comma_separated_list_of_axis_equals_positive_integer();
    detail::throw_mesh_error(text, why);
  }
  return m;
}

/// "pp=4,dp=8,tp=8" (ep only when not 1).
[[nodiscard]] inline std::string to_string(const mesh& m) {
  std::string s =
      "pp=" + std::to_string(m.pp) + ",dp=" + std::to_string(m.dp) + ",tp=" + std::to_string(m.tp);
  if (m.ep != 1) s += ",ep=" + std::to_string(m.ep);
  return s;
}

}  // namespace blueprint
