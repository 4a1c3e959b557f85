// nvcc proves that the element math compiles as device code (tier 1, CUDA builds only).
#include <blueprint/kernels/kernels.hpp>

namespace bp = blueprint;

__global__ void blueprint_all_kernels_smoke(bp::init_spec spec, unsigned long long seed,
                                            unsigned long long id, float* out, unsigned short* bf16,
                                            unsigned short* f16, unsigned char* e4m3,
                                            unsigned char* e5m2, unsigned long long* fp) {
  const unsigned long long group = blockIdx.x * blockDim.x + threadIdx.x;
  float v[4];
  bp::sample_group(spec, seed, id, group, v);
  for (int l = 0; l < 4; ++l) {
    const unsigned long long i = group * 4 + l;
    out[i] = bp::sample_element(spec, seed, id, i);
    bf16[i] = bp::float_to_bf16_bits(v[l]);
    f16[i] = bp::float_to_f16_bits(v[l]);
    e4m3[i] = bp::float_to_f8_e4m3fn_bits(v[l]);
    e5m2[i] = bp::float_to_f8_e5m2_bits(v[l]);
    bp::store_element<bp::dtype::bf16>(bf16, i, bp::load_element_as_float(bp::dtype::f32, out, i));
    fp[i] = bp::element_fingerprint(id, i, bp::float_to_storage_bits(bp::dtype::f16, v[l]));
  }
  float s = 0, c = 0;
  bp::det_sincos_2pi(v[0], &s, &c);
  out[0] += s + c + bp::det_erf(v[1]) + bp::det_erfinv(v[2] * 0.1f) + bp::det_exp(v[3]) +
            bp::f8_e5m2_bits_to_float(e5m2[0]) + bp::f8_e4m3fn_bits_to_float(e4m3[0]) +
            bp::f16_bits_to_float(f16[0]) + bp::bf16_bits_to_float(bf16[0]);
  fp[0] += bp::tensor_id_from_name("x", 1);
}
