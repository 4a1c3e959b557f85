// GPU tier (DESIGN.md "Test tiers" 3): the device bytes equal the CPU bytes, bit for bit.
//
// The CPU reference is the CPU materializer's own inner loop, `fill_segment_range` over the
// same program (kernels/fill.hpp), run on host threads; the device side is the public API
// `materialize(..., cuda{...})` (runtime/cuda.hpp). Every case compares whole arenas, and
// names the first differing segment, element and bits when they differ.
//
// Run by tests/gpu/run.sh on a machine with a GPU; built (not run) by CI.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include <blueprint/codegen/layout.hpp>
#include <blueprint/codegen/plan.hpp>
#include <blueprint/codegen/program.hpp>
#include <blueprint/dsl/models.hpp>
#include <blueprint/kernels/fill.hpp>
#include <blueprint/runtime/cuda.hpp>
#include <blueprint/runtime/device_map.hpp>
#include <blueprint/runtime/materialize.hpp>

#include "gpu_check.hpp"

using namespace blueprint;

namespace {

// ---- CPU reference -----------------------------------------------------------------------

/// The CPU materializer's bytes of `p` (gaps: zero), on all host threads.
std::vector<std::byte> cpu_arena(const program& p, std::uint64_t seed) {
  std::vector<std::byte> arena(p.arena_bytes);
  struct piece {
    std::size_t segment;
    std::uint64_t begin, end;
  };
  std::vector<piece> pieces;
  constexpr std::uint64_t chunk = 1u << 20;
  for (std::size_t i = 0; i < p.segments.size(); ++i)
    for (std::uint64_t k = 0; k < p.segments[i].count; k += chunk)
      pieces.push_back({i, k, std::min(p.segments[i].count, k + chunk)});
  const unsigned threads = std::max(1u, std::min(16u, std::thread::hardware_concurrency()));
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      for (std::size_t j = t; j < pieces.size(); j += threads)
        fill_segment_range(p.segments[pieces[j].segment], seed, pieces[j].begin, pieces[j].end,
                           arena.data());
    });
  for (std::thread& th : pool) th.join();
  return arena;
}

std::uint64_t cpu_fingerprint(const program& p, const std::vector<std::byte>& arena) {
  std::uint64_t sum = 0;
  for (const segment& s : p.segments) sum += segment_fingerprint(s, arena.data());
  return sum;
}

/// "" when equal; otherwise where the first difference is.
std::string first_difference(const program& p, const std::vector<std::byte>& cpu_bytes,
                             const std::vector<std::byte>& gpu) {
  if (cpu_bytes.size() != gpu.size())
    return "sizes differ: " + std::to_string(cpu_bytes.size()) + " vs " +
           std::to_string(gpu.size());
  std::size_t differing = 0, first = cpu_bytes.size();
  for (std::size_t i = 0; i < cpu_bytes.size(); ++i)
    if (cpu_bytes[i] != gpu[i]) {
      if (first == cpu_bytes.size()) first = i;
      ++differing;
    }
  if (differing == 0) return "";
  std::string where = "byte " + std::to_string(first);
  for (std::size_t i = 0; i < p.segments.size(); ++i) {
    const segment& s = p.segments[i];
    if (first < s.arena_offset || first >= s.arena_offset + s.bytes()) continue;
    const std::uint64_t size = dtype_size(s.type);
    const std::uint64_t k = (first - s.arena_offset) / size;
    std::uint32_t a = 0, b = 0;
    std::memcpy(&a, cpu_bytes.data() + s.arena_offset + k * size, size);
    std::memcpy(&b, gpu.data() + s.arena_offset + k * size, size);
    where += " = segment " + std::to_string(i) + " (" + std::string(dtype_name(s.type)) + ", " +
             std::string(init_kind_name(s.init.kind)) + (s.padding ? ", padding" : "") + ", base " +
             std::to_string(s.base) + ", run " + std::to_string(s.run) + ", stride " +
             std::to_string(s.stride) + ") element " + std::to_string(k) + ": cpu bits " +
             std::to_string(a) + ", gpu bits " + std::to_string(b);
    break;
  }
  return std::to_string(differing) + " bytes differ; first at " + where;
}

}  // namespace

/// A layout with no tensors, for synthetic programs (their segments name no layout row).
dynamic_layout no_layout() {
  dynamic_layout l;
  l.model_name = "synthetic";
  return l;
}

namespace {

/// Materializes `p` on the GPU and checks bytes and fingerprint against the CPU.
template <class Layout>
void check_program(const Layout& layout, const program& p, std::uint64_t seed,
                   const std::string& what) {
  const std::vector<std::byte> cpu_bytes = cpu_arena(p, seed);
  device_model m = materialize(layout, p, cuda{}, {.source = init{.seed = seed}, .poison = true});
  const std::vector<std::byte> gpu = m.copy_to_host();
  const std::string diff = first_difference(p, cpu_bytes, gpu);
  GPU_CHECK_MSG(diff.empty(), what + ": " + diff);
  const std::uint64_t want = cpu_fingerprint(p, cpu_bytes), got = m.fingerprint();
  GPU_CHECK_MSG(want == got,
                what + ": fingerprint cpu " + std::to_string(want) + " gpu " + std::to_string(got));
}

// ---- synthetic programs ------------------------------------------------------------------

struct affine_shape {
  std::uint64_t count, base, run, stride;
  std::uint64_t misalign;  // extra bytes (in elements) after the natural alignment
};

constexpr affine_shape shapes[] = {
    {1031, 0, 1031, 1031, 0},         // a whole tensor
    {37, 0, 37, 37, 1},               // short, start not 16-byte aligned
    {20000, 4001, 20000, 20000, 0},   // group-misaligned start (flat ZeRO-3 piece)
    {24 * 50, 48, 24, 96, 0},         // rows of 24 (split_cols shard)
    {7 * 40, 3, 7, 13, 3},            // odd rows: the element-by-element path
    {512 * 64, 512, 512, 1024, 0},    // rows of 512 from the second half (tp rank 1)
    {50000, 12345, 50000, 50000, 2},  // long, misaligned in both arena and group
};

constexpr init_spec inits[] = {
    init::normal(0.1f, 0.02f),
    init::normal(-1.0f, 3.0f),
    {init_kind::normal_icdf, 0.1f, 0.02f},  // init stream v2
    {init_kind::normal_icdf, -1.0f, 3.0f},
    {init_kind::normal_icdf16, 0.1f, 0.02f},  // init stream v3
    {init_kind::normal_icdf16, -1.0f, 3.0f},
    init::uniform(-0.5f, 0.25f),
    init::truncated_normal(0.0f, 1.0f, -2.0f, 2.0f),
    init::truncated_normal(0.3f, 0.5f, -0.1f, 0.9f),
    init::zeros(),
    init::ones(),
    init::constant(0.37f),
    init::arange(1.0f, 0.5f),
    init::rotary_inv_freq(10000.0f, 64.0f),
    {init_kind::skip},
};

/// Every dtype x init x shape, packed with padding so that the program covers its arena.
program synthetic_program() {
  program p;
  std::uint64_t cursor = 0, id = 0;
  for (dtype t : all_dtypes)
    for (const init_spec& in : inits)
      for (const affine_shape& sh : shapes) {
        const std::uint64_t size = dtype_size(t);
        std::uint64_t at = align_up(cursor, size) + sh.misalign * size;
        if (sh.misalign == 0 && id % 3 == 0) at = align_up(cursor, 256);
        append_padding(p.segments, cursor, at - cursor);
        segment s{};
        s.arena_offset = at;
        s.count = sh.count;
        s.tensor_id = mix64(++id * 0x9E3779B97F4A7C15ull);
        s.base = sh.base;
        s.run = sh.run;
        s.stride = sh.stride;
        s.init = in;
        s.type = t;
        p.segments.push_back(s);
        cursor = at + s.bytes();
      }
  p.arena_bytes = align_up(cursor, 16) + 5;  // an arena end that is not 16-byte aligned
  append_padding(p.segments, cursor, p.arena_bytes - cursor);
  return p;
}

// ---- models ------------------------------------------------------------------------------

/// The whole model, against the CPU materializer itself (materialize(layout, cpu{})).
template <class M>
void check_model(const M& model, const dtype_policy& policy, const std::string& what,
                 std::uint64_t seed = 7, init_stream stream = init_stream::v1) {
  const auto l = dynamic_layout_of(model, policy, {.stream = stream});
  const materialized_model cpu_model = materialize(l, cpu{}, {.source = init{.seed = seed}});
  const std::span<const std::byte> a = cpu_model.arena();
  const std::vector<std::byte> cpu_bytes(a.begin(), a.end());
  device_model m = materialize(l, cuda{}, {.source = init{.seed = seed}, .poison = true});
  const std::string diff = first_difference(m.program(), cpu_bytes, m.copy_to_host());
  GPU_CHECK_MSG(diff.empty(), what + ": " + diff);
  const std::uint64_t want = cpu_model.fingerprint(), got = m.fingerprint();
  GPU_CHECK_MSG(want == got,
                what + ": fingerprint cpu " + std::to_string(want) + " gpu " + std::to_string(got));
}

}  // namespace

GPU_TEST("every distribution x dtype x affine map gives the CPU's bytes and fingerprint") {
  const program p = synthetic_program();
  for (std::uint64_t seed : {0ull, 7ull, 0x8000000000000005ull})
    check_program(no_layout(), p, seed, "synthetic, seed " + std::to_string(seed));
}

GPU_TEST("tiny models in every dtype give the CPU's bytes and fingerprint") {
  for (dtype t : all_dtypes) {
    const dtype_policy policy = dtype_policy::uniform(t);
    const std::string d(dtype_name(t));
    check_model(models::tiny_gpt2, policy, "tiny-gpt2 " + d);
    check_model(models::tiny_llama, policy, "tiny-llama " + d);
    check_model(models::tiny_mixtral, policy, "tiny-mixtral " + d);
    check_model(models::tiny_qwen2, policy, "tiny-qwen2 " + d);
  }
  check_model(models::tiny_llama, dtype_policy::bf16().norms_in_f32(), "tiny-llama bf16+f32 norms");
}

GPU_TEST("init stream v2: tiny models and gpt2 bf16 give the CPU's bytes and fingerprint") {
  for (dtype t : all_dtypes)
    check_model(models::tiny_llama, dtype_policy::uniform(t),
                "tiny-llama v2 " + std::string(dtype_name(t)), 7, init_stream::v2);
  check_model(models::gpt2, dtype_policy::bf16(), "gpt2 bf16 v2", 3, init_stream::v2);
}

GPU_TEST("init stream v3: tiny models and gpt2 bf16 give the CPU's bytes and fingerprint") {
  for (dtype t : all_dtypes)
    check_model(models::tiny_llama, dtype_policy::uniform(t),
                "tiny-llama v3 " + std::string(dtype_name(t)), 7, init_stream::v3);
  check_model(models::gpt2, dtype_policy::bf16(), "gpt2 bf16 v3", 3, init_stream::v3);
  check_model(models::gpt2, dtype_policy::f32(), "gpt2 f32 v3", 5, init_stream::v3);
}

GPU_TEST("gpt2 (124M) in f32 and bf16 gives the CPU's bytes and fingerprint") {
  check_model(models::gpt2, dtype_policy::f32(), "gpt2 f32", 1);
  check_model(models::gpt2, dtype_policy::bf16().norms_in_f32(), "gpt2 bf16", 2);
}

GPU_TEST("every rank of tp, fsdp, zero3, pp and ep plans gives the CPU's bytes of its program") {
  struct mesh_case {
    mesh m;
    strategy s;
  };
  const mesh_case cases[] = {
      {{.tp = 2}, replicate},
      {{.dp = 2}, fsdp},
      {{.dp = 3}, fsdp},
      {{.dp = 3}, zero3},
      {{.pp = 2, .tp = 2}, replicate},
      {{.pp = 2, .dp = 2, .tp = 2}, zero3},
  };
  const auto llama = dynamic_layout_of(models::tiny_llama, dtype_policy::bf16());
  const auto mixtral = dynamic_layout_of(models::tiny_mixtral, dtype_policy::f32());
  for (const auto* l : {&llama, &mixtral})
    for (const mesh_case& c : cases) {
      const auto pl = plan(*l, c.m, c.s);
      const std::uint64_t whole =
          materialize(*l, cpu{}, {.source = init{.seed = 11}}).fingerprint();
      std::uint64_t sum = 0;
      for (std::uint32_t r = 0; r < pl.world_size(); ++r) {
        const std::string what = std::string(l->model_name) + " " +
                                 std::string(strategy_name(c.s)) + " world " +
                                 std::to_string(pl.world_size()) + " rank " + std::to_string(r);
        const program p = pl.program(r);
        const std::vector<std::byte> cpu_bytes = cpu_arena(p, 11);
        device_model m = materialize(pl, r, cuda{}, {.source = init{.seed = 11}, .poison = true});
        const std::string diff = first_difference(p, cpu_bytes, m.copy_to_host());
        GPU_CHECK_MSG(diff.empty(), what + ": " + diff);
        const materialized_model cpu_shard =
            materialize(pl, r, cpu{}, {.source = init{.seed = 11}});
        GPU_CHECK_MSG(m.fingerprint() == cpu_shard.fingerprint(), what + ": rank fingerprint");
        const std::uint64_t mine = fingerprint(m);
        GPU_CHECK_MSG(mine == fingerprint(cpu_shard), what + ": shard fingerprint");
        sum += mine;
      }
      GPU_CHECK_MSG(sum == whole, std::string(l->model_name) + " " +
                                      std::string(strategy_name(c.s)) +
                                      ": the ranks' fingerprints do not sum to the model's");
    }
  // Expert parallelism.
  const auto pe = plan(mixtral, mesh{.dp = 2, .ep = 2}, replicate);
  for (std::uint32_t r = 0; r < pe.world_size(); ++r) {
    const program p = pe.program(r);
    device_model m = materialize(pe, r, cuda{}, {.source = init{.seed = 3}});
    GPU_CHECK_MSG(first_difference(p, cpu_arena(p, 3), m.copy_to_host()).empty(),
                  "tiny-mixtral ep rank " + std::to_string(r));
  }
}

GPU_TEST("the same seed gives the same bytes again, another seed other bytes") {
  const auto l = dynamic_layout_of(models::tiny_llama, dtype_policy::bf16());
  device_model m = materialize(l, cuda{}, {.source = init{.seed = 5}});
  const auto first = m.copy_to_host();
  m.refill(5);
  GPU_CHECK(m.copy_to_host() == first);
  m.refill(6);
  GPU_CHECK(m.copy_to_host() != first);
  GPU_CHECK(m.copy_to_host() == cpu_arena(m.program(), 6));
}

GPU_TEST("named lookups return device pointers into the arena, and ties resolve") {
  const auto l = dynamic_layout_of(models::tiny_gpt2, dtype_policy::f32());
  device_model m = materialize(l, cuda{}, {.source = init{.seed = 1}});
  const auto host = m.copy_to_host();
  for (const placed_tensor& t : l.tensors()) {
    const device_tensor d = m[t.name()];
    GPU_CHECK(static_cast<std::byte*>(d.data) == m.data() + t.offset);
    GPU_CHECK(d.bytes == t.bytes && d.numel() == t.numel() && d.type == t.type);
    std::vector<std::byte> one(d.bytes);
    BLUEPRINT_CUDA_CHECK(cudaMemcpy(one.data(), d.data, d.bytes, cudaMemcpyDeviceToHost));
    GPU_CHECK(std::equal(one.begin(), one.end(), host.begin() + t.offset));
  }
  for (const tie_spec& tie : l.ties())
    GPU_CHECK(m[tie.name()].data == m[l.tensors()[tie.target].name()].data);
  GPU_CHECK_THROWS_WITH(m["no.such.tensor"], "no.such.tensor");
}

GPU_TEST("the coverage check finds an element nobody wrote and names its tensor") {
  const auto l = dynamic_layout_of(models::tiny_llama, dtype_policy::bf16());
  device_model m = materialize(l, cuda{}, {.source = init{.seed = 1}, .poison = true});
  GPU_CHECK(m.check_coverage().complete());
  const placed_tensor& victim = l.tensors()[3];
  // Undo two elements of one tensor, as a kernel that skipped them would have left them.
  BLUEPRINT_CUDA_CHECK(cudaMemset(m.data() + victim.offset + 2 * 10, 0xFF, 2 * 2));
  const coverage_report r = m.check_coverage();
  GPU_CHECK(r.unwritten_elements == 2);
  GPU_CHECK(r.first_unwritten_offset == victim.offset + 20);
  GPU_CHECK_MSG(r.first_unwritten_tensor.find(victim.name()) != std::string::npos,
                "report names '" + r.first_unwritten_tensor + "'");
}

GPU_TEST("a program with a gap leaves the gap untouched and the check counts it") {
  program p = synthetic_program();
  // Drop one padding segment: its bytes belong to no segment.
  std::size_t dropped = 0;
  for (std::size_t i = 0; i < p.segments.size(); ++i)
    if (p.segments[i].padding && p.segments[i].count >= 16) {
      dropped = p.segments[i].count;
      p.segments.erase(p.segments.begin() + static_cast<std::ptrdiff_t>(i));
      break;
    }
  GPU_REQUIRE(dropped != 0);
  device_model m = materialize(no_layout(), p, cuda{}, {.source = init{.seed = 1}, .poison = true});
  const coverage_report r = m.check_coverage();
  GPU_CHECK(r.complete());
  GPU_CHECK(r.gap_poison_bytes == dropped);
}

GPU_TEST("the device model's lookups and their errors are the host model's") {
  const auto l = dynamic_layout_of(models::tiny_llama, dtype_policy::bf16());
  const auto p = plan(l, mesh{.pp = 2}, replicate);
  const device_model stage1 = materialize(p, 1, cuda{}, {.source = init{.seed = 3}});
  const materialized_model host = materialize(p, 1, cpu{}, {.source = init{.seed = 3}});
  for (const char* name : {"model.norm.wieght", "model.embed_tokens.weight", "nothing.like.it"}) {
    std::string device_error, host_error;
    try {
      (void)stage1[name];
    } catch (const tensor_not_found& e) {
      device_error = e.what();
    }
    try {
      (void)host[name];
    } catch (const tensor_not_found& e) {
      host_error = e.what();
    }
    GPU_CHECK_MSG(!device_error.empty() && device_error == host_error,
                  std::string(name) + ": device '" + device_error + "', host '" + host_error + "'");
  }
  GPU_CHECK_THROWS_WITH(stage1["model.norm.wieght"], "did you mean 'model.norm.weight'");
  GPU_CHECK(stage1.contains("lm_head.weight") == host.contains("lm_head.weight"));
  GPU_CHECK(&stage1.layout() != nullptr && stage1.layout().size() == l.size());
}

GPU_TEST("a no_init source allocates a zeroed arena and runs no kernel") {
  const auto l = dynamic_layout_of(models::tiny_llama, dtype_policy::bf16());
  device_model m = materialize(l, cuda{}, {.source = no_init{.seed = 3}});
  const auto bytes = m.copy_to_host();
  GPU_CHECK(std::all_of(bytes.begin(), bytes.end(), [](std::byte b) { return b == std::byte{0}; }));
}

GPU_TEST("an arena that does not fit is refused with the bytes asked and free") {
  const auto l = dynamic_layout_of(models::llama3_1_405b, dtype_policy::f32());
  GPU_CHECK_THROWS_WITH(materialize(l, cuda{}), "arena needs");
  GPU_CHECK_THROWS_WITH(materialize(l, cuda{}), "free");
}

GPU_TEST("segments that break the table's preconditions are refused, naming the segment") {
  program p;
  p.arena_bytes = 64;
  segment s{};
  s.arena_offset = 2;  // f32 must start at a multiple of 4
  s.count = 4;
  s.type = dtype::f32;
  s.init = init::ones();
  s.run = s.stride = 4;
  p.segments.push_back(s);
  GPU_CHECK_THROWS_WITH(materialize(no_layout(), p, cuda{}), "segment 0");
  p.segments[0].arena_offset = 60;  // ends past the arena
  GPU_CHECK_THROWS_WITH(materialize(no_layout(), p, cuda{}), "ends past the arena");
}

GPU_TEST("BLUEPRINT_CUDA_CHECK throws with the file, the line and CUDA's error string") {
  int devices = 0;
  BLUEPRINT_CUDA_CHECK(cudaGetDeviceCount(&devices));
  GPU_CHECK_THROWS_WITH(BLUEPRINT_CUDA_CHECK(cudaSetDevice(devices + 100)),
                        "test_gpu_materialize.cu");
  GPU_CHECK_THROWS_WITH(BLUEPRINT_CUDA_CHECK(cudaSetDevice(devices + 100)), "cudaSetDevice");
  GPU_CHECK_THROWS_WITH(BLUEPRINT_CUDA_CHECK(cudaSetDevice(devices + 100)),
                        cudaGetErrorString(cudaErrorInvalidDevice));
  (void)cudaGetLastError();
}

GPU_TEST("on a user stream without synchronization, event() and wait(stream) order the work") {
  cudaStream_t s = nullptr, other = nullptr;
  BLUEPRINT_CUDA_CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  BLUEPRINT_CUDA_CHECK(cudaStreamCreateWithFlags(&other, cudaStreamNonBlocking));
  {
    const auto l = dynamic_layout_of(models::tiny_mixtral, dtype_policy::f16());
    device_model m = materialize(l, cuda{.device = 0, .stream = s, .synchronize = false},
                                 {.source = init{.seed = 9}});
    std::vector<std::byte> copy(m.arena_bytes());
    m.wait(other);  // the copy on `other` starts after the fill
    BLUEPRINT_CUDA_CHECK(
        cudaMemcpyAsync(copy.data(), m.data(), copy.size(), cudaMemcpyDeviceToHost, other));
    BLUEPRINT_CUDA_CHECK(cudaStreamSynchronize(other));
    GPU_CHECK(cudaEventQuery(m.event()) == cudaSuccess);
    GPU_CHECK(copy == cpu_arena(m.program(), 9));
    GPU_CHECK(m.fill_milliseconds() >= 0.0f);
  }
  BLUEPRINT_CUDA_CHECK(cudaStreamDestroy(s));
  BLUEPRINT_CUDA_CHECK(cudaStreamDestroy(other));
}

// The NCCL path (world size 1 here, several GPUs under a launcher) is tests/gpu/test_gpu_nccl.cu,
// a separate program because it needs nccl.h and libnccl.

GPU_TEST("a device map over GPU 0, the host and disk gives the one-device model") {
  const auto l = to_dynamic(layout(models::tiny_llama, dtype_policy::bf16()));
  const materialized_model whole = materialize(l, cpu{}, {.source = init{.seed = 21}});
  const std::string offload = "/tmp/blueprint_gpu_device_map";
  const device_map_plan map = device_map(
      l, {.max_memory = {{device_ref::gpu(0), 1ull << 30}},
          .pinned = {{"model.layers.1", device_ref::cpu()}, {"lm_head", device_ref::disk()}},
          .offload_dir = offload});
  GPU_REQUIRE(map.uses(device_tier::gpu) && map.uses(device_tier::disk));
  const mapped_model m = materialize(map, cuda{}, {.source = init{.seed = 21}, .poison = true});
  GPU_CHECK(m.fingerprint() == whole.fingerprint());
  const mapped_view q = m["model.layers.0.self_attn.q_proj.weight"];
  GPU_CHECK(q.where() == device_ref::gpu(0));
  std::vector<std::byte> back(q.bytes);
  GPU_REQUIRE(cudaMemcpy(back.data(), q.data, q.bytes, cudaMemcpyDeviceToHost) == cudaSuccess);
  GPU_CHECK(
      std::memcmp(back.data(), whole["model.layers.0.self_attn.q_proj.weight"].data, q.bytes) == 0);
  GPU_CHECK(m["lm_head.weight"].where() == device_ref::disk());
}

int main(int argc, char** argv) {
  return gpu_check::run_all(argc, argv);
}

// ---- issue 15: what a real GPU must show of the fixes made by reading the code ----------

namespace {
__global__ void needs_too_many_threads() {}
}  // namespace

GPU_TEST("the float-mode probe gives IEEE single's values under the project's flags") {
  detail::device_buffer out(0, sizeof(float_mode_probe));
  auto* probe = reinterpret_cast<float_mode_probe*>(out.get());
  BLUEPRINT_CUDA_CHECK(cuda_kernels::launch_float_mode_probe(probe, nullptr));
  float_mode_probe got;
  BLUEPRINT_CUDA_CHECK(cudaMemcpy(&got, probe, sizeof got, cudaMemcpyDeviceToHost));
  GPU_CHECK_MSG(float_mode_problem(got).empty(), float_mode_problem(got));
  GPU_CHECK(got.subnormal_sqrt == float_mode_expected::subnormal_sqrt);
  detail::check_float_mode(0);  // the materializer's own check passes too
}

GPU_TEST("an earlier launch error left on the thread is not the materialize launch's") {
  // A launch with 4096 threads per block fails at once and leaves the error on the thread.
  needs_too_many_threads<<<1, 4096>>>();
  GPU_REQUIRE(cudaPeekAtLastError() == cudaErrorInvalidConfiguration);
  const auto l = dynamic_layout_of(models::tiny_llama, dtype_policy::bf16());
  device_model m = materialize(l, cuda{}, {.source = init{.seed = 5}});
  GPU_CHECK(m.copy_to_host() == cpu_arena(m.program(), 5));
  (void)cudaGetLastError();
}

GPU_TEST("a fresh thread materializes on the last GPU; the context query sees that GPU used") {
  // The device scope restores a thread's previous device only when that device's context is
  // active (primary_context_active): this checks the query on a real driver. That GPU 0 gets no
  // context from work on GPU 1 needs a machine with two GPUs and a fresh process (not run yet).
  int devices = 0;
  BLUEPRINT_CUDA_CHECK(cudaGetDeviceCount(&devices));
  const int last = devices - 1;
  std::thread([&] {
    const auto l = dynamic_layout_of(models::tiny_gpt2, dtype_policy::f32());
    const device_model m = materialize(l, cuda{.device = last}, {.source = init{.seed = 1}});
    GPU_CHECK(m.copy_to_host() == cpu_arena(m.program(), 1));
  }).join();
  GPU_CHECK(detail::primary_context_active(last));
}
