// From config.json to a shard plan: the run-time cost of a model chosen at run time (issue 11,
// "Scale"). DeepSeek-V3 is the largest table there is: 45,396 tensor records, one per expert
// matrix. Run: ./build/benchmarks/bench_model_table
//   read_config   parse + defaults + family config record (tests/data/configs/*/config.json)
//   table         the family function into vectors (dsl::build_table: count, then fill)
//   layout        table + placement (dtype, offsets): what `blueprint inspect` needs
//   plan_512      layout + the 512-rank plan's summaries (pp=8,dp=8,tp=8, fsdp): `blueprint plan`
// The comparison a user has today, transformers building the same model on the meta device
// (no memory, names and shapes only), is benchmarks/model_table_transformers.py; figures for
// both are in docs/PERFORMANCE.md "Model tables".
#include <benchmark/benchmark.h>

#include <string>

#include <blueprint/codegen/plan.hpp>
#include <blueprint/runtime/hf_config.hpp>

namespace {

namespace bp = blueprint;

std::string config_path(const std::string& model) {
  return std::string(BLUEPRINT_SOURCE_DIR) + "/tests/data/configs/" + model + "/config.json";
}

void read_config(benchmark::State& state, const std::string& model) {
  for (auto _ : state) benchmark::DoNotOptimize(bp::hf::read_config(config_path(model)));
}

void table(benchmark::State& state, const std::string& model) {
  const bp::hf_model m = bp::hf::read_config(config_path(model));
  std::size_t records = 0;
  for (auto _ : state) {
    const bp::dsl::dynamic_table t = bp::table_of(m.config);
    records = t.tensors.size();
    benchmark::DoNotOptimize(t.tensors.data());
  }
  state.counters["records"] = static_cast<double>(records);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * records));
}

void layout(benchmark::State& state, const std::string& model) {
  const bp::hf_model m = bp::hf::read_config(config_path(model));
  for (auto _ : state) benchmark::DoNotOptimize(bp::layout(m, bp::dtype_policy::bf16()));
}

void plan_512(benchmark::State& state, const std::string& model) {
  const bp::hf_model m = bp::hf::read_config(config_path(model));
  for (auto _ : state) {
    const auto p = bp::plan(bp::layout(m, bp::dtype_policy::bf16()),
                            bp::mesh{.pp = 8, .dp = 8, .tp = 8}, bp::fsdp);
    benchmark::DoNotOptimize(p.report());
  }
}

}  // namespace

BENCHMARK_CAPTURE(read_config, deepseek_v3, std::string("DeepSeek-V3"))
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(table, deepseek_v3, std::string("DeepSeek-V3"))->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(layout, deepseek_v3, std::string("DeepSeek-V3"))->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(plan_512, deepseek_v3, std::string("DeepSeek-V3"))->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(table, qwen3_30b_a3b, std::string("Qwen3-30B-A3B"))
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(layout, llama3_1_8b, std::string("Llama-3.1-8B-Instruct"))
    ->Unit(benchmark::kMillisecond);
