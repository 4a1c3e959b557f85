// What each unit of the -rdc=true link test does (rdc_link_a.cu says why): takes the address
// of every launcher, which instantiates every kernel and the device functions they call in
// the including unit.
#pragma once

#include <blueprint/kernels/cuda/materialize_kernel.cuh>
#include <blueprint/kernels/cuda/scatter_kernel.cuh>

namespace rdc_link {
inline int launchers_used() {
  using namespace blueprint::cuda_kernels;
  volatile const void* launchers[] = {reinterpret_cast<const void*>(&launch_materialize),
                                      reinterpret_cast<const void*>(&launch_fingerprint),
                                      reinterpret_cast<const void*>(&launch_coverage),
                                      reinterpret_cast<const void*>(&launch_scatter),
                                      reinterpret_cast<const void*>(&launch_float_mode_probe)};
  int n = 0;
  for (volatile const void* p : launchers) n += p != nullptr;
  return n;
}
}  // namespace rdc_link
