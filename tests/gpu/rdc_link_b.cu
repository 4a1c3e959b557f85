// The second unit of the -rdc=true link test (rdc_link_a.cu says why).
#include "rdc_link_uses.cuh"

namespace rdc_link {
int kernels_of_b() {
  return launchers_used();
}
}  // namespace rdc_link
