// Materialize a model on the CPU in bf16, in one pass, and look at a tensor.
//
// The layout (every tensor's dtype and offset in one arena) is computed at compile time; the
// materializer allocates the arena once and writes every parameter directly in bf16 from its
// deterministic init: element i of tensor t depends only on (seed, t's name, i), never on the
// thread count or the memory layout. The fingerprint printed at the end is what any other run
// with the same seed (more threads, a sharded job, a GPU) must print too. Usage:
//   example_materialize_tiny [seed]
#include <cstdio>
#include <cstdlib>

#include <blueprint/dsl/models.hpp>
#include <blueprint/runtime/materialize.hpp>

int main(int argc, char** argv) {
  const std::uint64_t seed = argc > 1 ? std::strtoull(argv[1], nullptr, 0) : 1234;

  // 1. Pick a model (or declare your own with the DSL, see declare_model.cpp) and a dtype
  //    policy: everything in bf16. The layout is a constant expression.
  constexpr auto layout =
      blueprint::layout(blueprint::models::tiny_llama, blueprint::dtype_policy::bf16());
  static_assert(layout.total_bytes() < 1'000'000, "a tiny model stays tiny");

  // 2. Materialize: one allocation, all hardware threads, values cast to bf16 as they are made.
  const blueprint::materialized_model model =
      blueprint::materialize(layout, blueprint::cpu{}, {.source = blueprint::init{.seed = seed}});

  // 3. Look a tensor up by its Hugging Face name; the view carries shape, dtype and the bytes.
  const blueprint::tensor_view q = model["model.layers.0.self_attn.q_proj.weight"];
  std::printf("%.*s  shape [%llu, %llu]  %.*s  %llu bytes\n", static_cast<int>(q.name.size()),
              q.name.data(), static_cast<unsigned long long>(q.shape[0]),
              static_cast<unsigned long long>(q.shape[1]),
              static_cast<int>(blueprint::dtype_name(q.type).size()),
              blueprint::dtype_name(q.type).data(), static_cast<unsigned long long>(q.bytes));
  std::printf("first values:");
  for (std::uint64_t i = 0; i < 6; ++i) std::printf(" %+.6f", q.at(i));  // widened from bf16
  std::printf("\n");

  // A norm weight is a constant init: ones.
  std::printf("model.norm.weight[0] = %g\n", model["model.norm.weight"].at(0));

  // 4. The fingerprint: an order-free hash of (tensor id, element index, stored bits).
  std::printf("allocated in %.6f s, initialized in %.6f s\n", model.alloc_seconds(),
              model.init_seconds());
  std::printf("fingerprint %016llx\n", static_cast<unsigned long long>(model.fingerprint()));
  return 0;
}
