// Declare your own model with Blueprint's vocabulary, check it at compile time, and print its
// layout. Build: part of the project (examples/*.cpp); run: ./build/examples/example_declare_model
#include <blueprint/blueprint.hpp>

#include <cstdio>

namespace bp = blueprint;
using namespace blueprint::dsl;

// A small decoder: every name below becomes part of the tensor names ("net.blocks.2.attn...").
constexpr std::uint64_t dim = 256;
using decoder_block =
    block<dim,                                                  // layers must work on `dim`
          rms_norm<"attn_norm", dim>,                           // weight [256]
          attention<"attn", dim, /*heads=*/8, /*kv_heads=*/2>,  // q/k/v/o_proj, GQA
          rms_norm<"mlp_norm", dim>,                            //
          swiglu_mlp<"mlp", dim, /*ffn=*/768>>;                 // gate/up/down_proj

using my_model = model<"my-decoder",
                       scope<"net", embedding<"tokens", /*vocab=*/32000, dim>,  // [32000, 256]
                             repeat<"blocks", 12, decoder_block>,  // one type, 12 copies
                             rms_norm<"final_norm", dim>>,
                       tie<"head.weight", "net.tokens.weight", shape<32000, dim>>>;  // tied head

constexpr my_model net{};
static_assert(net.parameter_count() ==
              32000 * 256 + 12 * (2 * 256 + 256 * 256 * 2 + 2 * 64 * 256 + 3 * 256 * 768) + 256);

// The layout in bf16 with norms kept in float32, as a constant expression.
constexpr auto plan = bp::layout(net, bp::dtype_policy::bf16().norms_in_f32());
static_assert(plan.total_bytes() < 64'000'000, "my-decoder must fit in 64 MB");

int main() {
  for (const bp::placed_tensor& t : plan.tensors())
    std::printf("%-40.*s %-5.*s offset %9llu  %8llu bytes\n", static_cast<int>(t.name().size()),
                t.name().data(), static_cast<int>(bp::dtype_name(t.type).size()),
                bp::dtype_name(t.type).data(), static_cast<unsigned long long>(t.offset),
                static_cast<unsigned long long>(t.bytes));
  std::printf("%llu parameters, %llu bytes\n",
              static_cast<unsigned long long>(net.parameter_count()),
              static_cast<unsigned long long>(plan.total_bytes()));
}
