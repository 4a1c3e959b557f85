// Host/device portability macros, in one place (STYLE rule 7).
//
// Every element function in kernels/ is written once and compiled both by the host compiler
// (the CPU materializer) and by nvcc (the fused CUDA kernel). These macros are the only
// difference between the two builds. Bit-identity between CPU and GPU also needs the same
// floating-point contraction on both sides: the build passes -ffp-contract=off to g++ and
// --fmad=false to nvcc, and the element math uses explicit fma where it wants one.
#pragma once

// Every kernel header includes this one, so the guards sit here once. They catch what a macro
// shows: g++/clang -ffast-math (__FAST_MATH__) and older nvcc's -use_fast_math. nvcc 13 defines
// no macro for -use_fast_math, --fmad=true or -ftz=true (checked with -dryrun: only cicc's own
// flags change), so the CUDA runtime also runs a one-thread self-test of contraction and
// subnormals per device before the first kernel (cuda_support.hpp, check_float_mode), which
// fails with a sentence naming the flags.
#if defined(__FAST_MATH__)
#error "blueprint kernels: -ffast-math changes rounding and breaks CPU/GPU bit-identity"
#endif
#if defined(__CUDACC__)
#if defined(__USE_FAST_MATH__)
#error "blueprint CUDA kernels: -use_fast_math flushes subnormals and breaks CPU/GPU bit-identity"
#endif
#define BLUEPRINT_HD __host__ __device__
#define BLUEPRINT_DEVICE __device__
#define BLUEPRINT_INLINE __forceinline__
#else
#define BLUEPRINT_HD
#define BLUEPRINT_DEVICE
#define BLUEPRINT_INLINE inline __attribute__((always_inline))
#endif

// On a lambda handed to with_dtype / with_source_format in host code: g++ 12's `flatten` (the
// x86 fill wrappers of fill.hpp) does not inline through a lambda's call operator unless the
// operator is always_inline itself; without it the AVX-512 normal fill runs at the portable
// path's speed (55 M instead of 850 M samples/s). nvcc inlines device lambdas on its own.
#if defined(__CUDACC__)
#define BLUEPRINT_LAMBDA_INLINE
#else
#define BLUEPRINT_LAMBDA_INLINE __attribute__((always_inline))
#endif

// Before a host/device dispatch template that calls its function argument (with_dtype): a
// kernel's lambdas are __device__ (and implicitly constexpr), which nvcc 13 refuses to call from
// a __host__ __device__ function unless the execution-space check is disabled for it.
#if defined(__CUDACC__)
#define BLUEPRINT_HD_DISPATCH _Pragma("nv_exec_check_disable")
#else
#define BLUEPRINT_HD_DISPATCH
#endif

#if defined(__CUDA_ARCH__)
#define BLUEPRINT_ON_DEVICE 1
#else
#define BLUEPRINT_ON_DEVICE 0
#endif

// The CPU fill loops are compiled for AVX2+FMA and AVX-512 too and chosen at run time
// (kernels/x86/simd.hpp) on x86-64 g++ host builds; elsewhere only the portable path exists.
#if !defined(__CUDACC__) && defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define BLUEPRINT_FILL_X86_DISPATCH 1
#else
#define BLUEPRINT_FILL_X86_DISPATCH 0
#endif
