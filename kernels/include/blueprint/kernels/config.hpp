// Host/device portability macros, in one place (STYLE rule 7).
//
// Every element function in kernels/ is written once and compiled both by the host compiler
// (the CPU materializer) and by nvcc (the fused CUDA kernel). These macros are the only
// difference between the two builds. Bit-identity between CPU and GPU also needs the same
// floating-point contraction on both sides: the build passes -ffp-contract=off to g++ and
// --fmad=false to nvcc, and the element math uses explicit fma where it wants one.
#pragma once

#if defined(__CUDACC__)
#define BLUEPRINT_HD __host__ __device__
#define BLUEPRINT_DEVICE __device__
#define BLUEPRINT_INLINE __forceinline__
#else
#define BLUEPRINT_HD
#define BLUEPRINT_DEVICE
#define BLUEPRINT_INLINE inline __attribute__((always_inline))
#endif

#if defined(__CUDA_ARCH__)
#define BLUEPRINT_ON_DEVICE 1
#else
#define BLUEPRINT_ON_DEVICE 0
#endif
