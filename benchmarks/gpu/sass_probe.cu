// Static SASS instruction counts of the materialize kernel's hot paths, per element: compiled
// (not run) by benchmarks/gpu/sass_count.sh with the project's flags, dumped with cuobjdump,
// counted per kernel. Each probe kernel wraps exactly one of the kernel header's own functions,
// so the counts follow the code the materialize kernel runs (docs/KERNEL_NOTES.md records them).
#include <blueprint/kernels/cuda/materialize_kernel.cuh>

namespace probe {
using namespace blueprint;
using namespace blueprint::cuda_kernels;

/// One 16-byte vector of 8 bf16 normals at global element g (g % 4 unknown: both paths).
__global__ void normal_bf16_vector(init_spec s, std::uint64_t seed, std::uint64_t id,
                                   std::uint64_t g, uint4* out) {
  const philox_schedule key = philox_seed_schedule(seed);  // as materialize_kernel does
  out[threadIdx.x] = cuda_kernels::detail::random_vector<dtype::bf16, init_kind::normal>(
      s, key, id, g + 8 * threadIdx.x);
}

/// The same for init stream v2's normal values (inverse CDF, no pairs).
__global__ void normal_v2_bf16_vector(init_spec s, std::uint64_t seed, std::uint64_t id,
                                      std::uint64_t g, uint4* out) {
  const philox_schedule key = philox_seed_schedule(seed);
  out[threadIdx.x] = cuda_kernels::detail::random_vector<dtype::bf16, init_kind::normal_icdf>(
      s, key, id, g + 8 * threadIdx.x);
}

/// Four v2 normals from one Philox block's words (the math after the generator).
__global__ void icdf_group(init_spec s, uint4 words, float4* out) {
  const philox_result x{{words.x ^ threadIdx.x, words.y, words.z, words.w}};
  float v[4];
  blueprint::detail::group_values<init_kind::normal_icdf>(s, {}, x, v);
  out[threadIdx.x] = make_float4(v[0], v[1], v[2], v[3]);
}

/// The same for init stream v3 (16-bit inverse CDF; g block-aligned: one Philox block).
__global__ void normal_v3_bf16_vector(init_spec s, std::uint64_t seed, std::uint64_t id,
                                      std::uint64_t g, uint4* out) {
  const philox_schedule key = philox_seed_schedule(seed);
  out[threadIdx.x] = cuda_kernels::detail::random_vector<dtype::bf16, init_kind::normal_icdf16>(
      s, key, id, (g & ~std::uint64_t{7}) + 8 * threadIdx.x);
}

/// Eight v3 normals from one Philox block's words (the math after the generator; the refined
/// levels' second Philox call is out of line and counted nowhere).
__global__ void icdf16_block(init_spec s, std::uint64_t seed, std::uint64_t id, uint4 words,
                             float4* out) {
  const philox_result x{{words.x ^ threadIdx.x, words.y, words.z, words.w}};
  float v[8];
  cuda_kernels::detail::icdf16_group_values(s, seed, id, 2 * threadIdx.x, x, v);
  cuda_kernels::detail::icdf16_group_values(s, seed, id, 2 * threadIdx.x + 1, x, v + 4);
  out[2 * threadIdx.x] = make_float4(v[0], v[1], v[2], v[3]);
  out[2 * threadIdx.x + 1] = make_float4(v[4], v[5], v[6], v[7]);
}

/// The same for uniform values.
__global__ void uniform_bf16_vector(init_spec s, std::uint64_t seed, std::uint64_t id,
                                    std::uint64_t g, uint4* out) {
  const philox_schedule key = philox_seed_schedule(seed);
  out[threadIdx.x] = cuda_kernels::detail::random_vector<dtype::bf16, init_kind::uniform>(
      s, key, id, g + 8 * threadIdx.x);
}

/// One Philox4x32-10 block (4 words).
__global__ void philox_block(std::uint64_t seed, std::uint64_t id, std::uint64_t group,
                             uint4* out) {
  const philox_schedule key = philox_seed_schedule(seed);  // as materialize_kernel does
  const philox_result x = philox_for_element_group(key, id, group + threadIdx.x);
  out[threadIdx.x] = make_uint4(x.v[0], x.v[1], x.v[2], x.v[3]);
}

/// Four normals from one Philox block's words (the math after the generator).
__global__ void box_muller_group(init_spec s, uint4 words, float4* out) {
  const philox_result x{{words.x ^ threadIdx.x, words.y, words.z, words.w}};
  float v[4];
  blueprint::detail::group_values<init_kind::normal>(s, {}, x, v);
  out[threadIdx.x] = make_float4(v[0], v[1], v[2], v[3]);
}

/// One whole-vector step of the materialize kernel's loop for a bf16 segment: segment lookup
/// result in hand, local index, contiguity, value, store (segment_vector + the store).
__global__ void segment_vector_bf16(kernel_segment ks, const philox_schedule key, std::uint64_t vb,
                                    std::byte* arena) {
  const std::uint64_t at = vb + 16 * threadIdx.x;
  uint4 value;
  const std::uint64_t k = cuda_kernels::detail::local_element(ks, at);
  if (cuda_kernels::detail::segment_vector<dtype::bf16>(ks, key, k, &value))
    __stcs(reinterpret_cast<uint4*>(arena + at), value);
}
}  // namespace probe
