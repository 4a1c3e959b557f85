// Compiled against an installed Blueprint (find_package): the declaration, its static checks
// and the constexpr layout must all work from the installed headers alone.
#include <blueprint/blueprint.hpp>

#include <cstdio>

constexpr auto model = blueprint::models::gpt2;
static_assert(model.parameter_count() == 124'439'808);

constexpr auto layout = blueprint::layout(model, blueprint::dtype_policy::bf16());
static_assert(layout.total_bytes() >= 2 * model.parameter_count());

int main() {
  std::printf("consumer: %.*s: %llu parameters, %zu tensors, %llu bytes in bf16\n",
              static_cast<int>(model.name().size()), model.name().data(),
              static_cast<unsigned long long>(model.parameter_count()), layout.size(),
              static_cast<unsigned long long>(layout.total_bytes()));
  return layout.total_bytes() == 0;
}
