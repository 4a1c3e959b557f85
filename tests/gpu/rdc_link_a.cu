// Separable compilation (-rdc=true): two translation units that both instantiate every kernel
// of the CUDA headers link into one program. Out-of-line device functions defined in a header
// without inline/template linkage broke this with "multiple definition" (issue 15); the build
// of this program is the test (CI compiles it wherever nvcc is found; it runs nothing).
#include <cstdio>

#include "rdc_link_uses.cuh"

namespace rdc_link {
int kernels_of_b();  // rdc_link_b.cu
}  // namespace rdc_link

int main() {
  std::printf("%d launchers from each of two units\n", rdc_link::launchers_used());
  return rdc_link::kernels_of_b() == rdc_link::launchers_used() ? 0 : 1;
}
