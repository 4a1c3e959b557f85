// `blueprint plan MODEL --mesh pp=4,dp=8,tp=8 [--strategy fsdp|zero3|replicate] [--dtype bf16]
// [--norms-f32] [--pad-vocab] [--head-dim N] [--stages 1,21,41] [--role GLOB=ROLE]...
// [--ranks] [--json]`: the shard plan of a model on a mesh before anything is allocated —
// per-rank bytes and padding, the largest rank, what each rank holds, and what the
// alternatives (FSDP1 unit init, broadcast init, a full model per rank) would need.
// `blueprint plan MODEL --device-map auto --max-memory 0=40GiB,cpu=64GiB [--offload-dir D]
// [--reserve-kv TOKENS] [--gpu-reserve 2GiB] [--json]`: one process over GPUs, cpu and disk —
// the hf_device_map, each device's bytes, reserves and headroom.
#include <algorithm>
#include <cstdio>
#include <map>
#include <sstream>

#include <blueprint/codegen/plan.hpp>
#include <blueprint/runtime/device_map_report.hpp>

#include "cli.hpp"
#include "describe.hpp"

namespace blueprint::cli {
namespace {

std::string gib(std::uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f GiB", static_cast<double>(bytes) / (1ull << 30));
  return buf;
}

nlohmann::json coords_json(const mesh_coords& c) {
  return {{"pp", c.pp}, {"dp", c.dp}, {"tp", c.tp}, {"ep", c.ep}};
}

struct plan_command_args {
  std::string model;
  layout_args shape;
  plan_args mesh;
  device_map_args maps;
  bool mesh_given = false;
  bool ranks = false;
  bool json = false;
};

/// `--device-map`: one process over GPUs, cpu and disk instead of ranks.
int run_device_map_plan(const plan_command_args& a) {
  if (a.mesh_given)
    throw std::invalid_argument(
        "--device-map plans one process over several devices, --mesh a job of ranks: give one");
  const hf_model entry = resolve_model(a.model);
  const dynamic_layout layout = blueprint::layout(entry, a.shape.policy(), a.shape.options());
  const device_map_plan map = device_map(layout, a.maps.options(entry));
  if (a.json)
    std::printf("%s\n", to_json(map).dump(2).c_str());
  else
    std::printf("%s", to_string(map).c_str());
  return 0;
}

int run_plan(const plan_command_args& a) {
  if (a.maps.given()) return run_device_map_plan(a);
  const hf_model entry = resolve_model(a.model);
  const dtype_policy policy = a.shape.policy();
  const mesh m = a.mesh.parsed_mesh();
  const std::optional<strategy> s = a.mesh.parsed_strategy();
  const plan_options o = a.mesh.options();
  const dynamic_layout layout = blueprint::layout(entry, policy, a.shape.options());
  const auto p = plan(layout, m, *s, o);
  const plan_context c = p.context();
  const std::vector<rank_summary> ranks = p.summaries();
  const memory_report report = p.report();
  const auto largest =
      std::max_element(ranks.begin(), ranks.end(),
                       [](const auto& a, const auto& b) { return a.arena_bytes < b.arena_bytes; });

  if (a.json) {
    nlohmann::json j;
    j["model"] = entry.name;
    j["mesh"] = {{"pp", m.pp}, {"dp", m.dp}, {"tp", m.tp}, {"ep", m.ep}};
    j["world_size"] = m.world_size();
    j["strategy"] = strategy_name(*s);
    j["dtype"] = dtype_name(policy.default_type);
    j["parameters"] = layout.parameter_count();
    j["max_rank_bytes"] = report.max_rank_bytes;
    j["min_rank_bytes"] = report.min_rank_bytes;
    j["largest_rank"] = largest->rank;
    j["total_bytes"] = report.total_bytes;
    j["stages"] = nlohmann::json::array();
    for (std::uint32_t st = 0; st < m.pp; ++st)
      j["stages"].push_back(
          {{"stage", st}, {"first_unit", c.stage_begin[st]}, {"end_unit", c.stage_begin[st + 1]}});
    j["memory"] = {{"ours_peak_bytes", report.max_rank_bytes},
                   {"ours_transient_bytes", report.transient_bytes},
                   {"model_bytes", report.model_bytes},
                   {"model_f32_bytes", report.model_f32_bytes},
                   {"largest_unit_f32_bytes", report.largest_unit_f32_bytes},
                   {"fsdp1_unit_init_peak_bytes", report.fsdp1_unit_peak},
                   {"broadcast_init_root_peak_bytes", report.broadcast_root_peak},
                   {"full_model_per_rank_peak_bytes", report.full_model_peak},
                   {"full_model_per_rank_host_total_bytes", report.full_model_host_total}};
    j["ranks"] = nlohmann::json::array();
    for (const rank_summary& r : ranks) {
      nlohmann::json row{{"rank", r.rank},
                         {"coords", coords_json(r.coords)},
                         {"bytes", r.arena_bytes},
                         {"parameter_bytes", r.parameter_bytes},
                         {"padding_bytes", r.padding_bytes},
                         {"alignment_bytes", r.alignment_bytes},
                         {"transient_bytes", r.transient_bytes},
                         {"tensors", r.tensors},
                         {"segments", r.segments}};
      if (a.ranks) {
        row["holds"] = nlohmann::json::array();
        for (const local_tensor& l : p.program(c, r.rank).tensors)
          row["holds"].push_back({{"name", layout.tensors()[l.tensor_index].name()},
                                  {"shape", shape_string({l.shape, l.rank})},
                                  {"offset", l.offset},
                                  {"bytes", l.bytes},
                                  {"global_begin", l.global_begin}});
      }
      j["ranks"].push_back(row);
    }
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }

  std::printf("%.*s on %s (%u ranks), %.*s, %.*s\n", static_cast<int>(entry.name.size()),
              entry.name.data(), to_string(m).c_str(), m.world_size(),
              static_cast<int>(strategy_name(*s).size()), strategy_name(*s).data(),
              static_cast<int>(dtype_name(policy.default_type).size()),
              dtype_name(policy.default_type).data());
  for (std::uint32_t st = 0; st < m.pp; ++st)
    std::printf("  stage %u: units [%u, %u)\n", st, c.stage_begin[st], c.stage_begin[st + 1]);
  std::printf("\n%6s %-16s %16s %14s %12s %8s\n", "rank", "pp/dp/tp/ep", "bytes", "padding",
              "alignment", "tensors");
  // Ranks with identical rows are folded unless --ranks asks for each.
  std::map<std::tuple<std::uint64_t, std::uint64_t, std::uint64_t, std::uint32_t>, int> seen;
  for (const rank_summary& r : ranks) {
    const auto key = std::make_tuple(r.arena_bytes, r.padding_bytes, r.alignment_bytes, r.tensors);
    if (!a.ranks && ranks.size() > 16 && seen[key]++ > 0) continue;
    char coords[40];
    std::snprintf(coords, sizeof coords, "%u/%u/%u/%u", r.coords.pp, r.coords.dp, r.coords.tp,
                  r.coords.ep);
    std::printf("%6u %-16s %16llu %14llu %12llu %8u\n", r.rank, coords,
                static_cast<unsigned long long>(r.arena_bytes),
                static_cast<unsigned long long>(r.padding_bytes),
                static_cast<unsigned long long>(r.alignment_bytes), r.tensors);
    if (a.ranks)
      for (const local_tensor& l : p.program(c, r.rank).tensors)
        std::printf("         %-60.*s %-18s %12llu bytes\n",
                    static_cast<int>(layout.tensors()[l.tensor_index].name().size()),
                    layout.tensors()[l.tensor_index].name().data(),
                    shape_string({l.shape, l.rank}).c_str(),
                    static_cast<unsigned long long>(l.bytes));
  }
  if (!a.ranks && ranks.size() > 16)
    std::printf(
        "  (ranks with the same totals as a rank above are not repeated; --ranks lists all)\n");
  std::printf("\nlargest rank: %u with %llu bytes (%s); all ranks: %llu bytes (%s)\n",
              largest->rank, static_cast<unsigned long long>(report.max_rank_bytes),
              gib(report.max_rank_bytes).c_str(),
              static_cast<unsigned long long>(report.total_bytes), gib(report.total_bytes).c_str());
  std::printf("\npeak memory per rank to materialize this plan:\n");
  std::printf("  %-44s %s (no transient memory)\n", "blueprint (each rank only its bytes)",
              gib(report.max_rank_bytes).c_str());
  std::printf("  %-44s %s\n", "FSDP1 unit-by-unit init (one f32 unit)",
              gib(report.fsdp1_unit_peak).c_str());
  std::printf("  %-44s %s on rank 0\n", "broadcast init (full f32 model on rank 0)",
              gib(report.broadcast_root_peak).c_str());
  std::printf("  %-44s %s per rank, %s per job\n", "full f32 model built on every rank",
              gib(report.full_model_peak).c_str(), gib(report.full_model_host_total).c_str());
  return 0;
}

void setup(CLI::App& app, int& exit_code) {
  CLI::App* sub = app.add_subcommand(
      "plan", "the shard plan of a model on a device mesh: per-rank bytes, padding, memory");
  auto a = std::make_shared<plan_command_args>();
  sub->add_option("MODEL", a->model,
                  "a built-in model (blueprint models), a config.json, or a model directory")
      ->required();
  a->shape.add_to(*sub, "bf16");
  a->mesh.add_to(*sub);
  a->maps.add_to(*sub, /*loading=*/false);
  sub->add_flag("--ranks", a->ranks, "list every rank and what it holds");
  sub->add_flag("--json", a->json, "print JSON");
  sub->callback([&exit_code, a, sub] {
    a->mesh_given = a->mesh.given(*sub);
    exit_code = run_plan(*a);
  });
}

const bool registered = register_command({"plan", setup});

}  // namespace
}  // namespace blueprint::cli
