// Compile-time facts of the element math (tier 1: compiling this file is the test).
#include <blueprint/kernels/kernels.hpp>
#include <type_traits>

namespace bp = blueprint;

// Philox runs at compile time: Random123 known answers.
constexpr bp::philox_result kat0 = bp::philox4x32_10({{0, 0, 0, 0}}, {{0, 0}});
static_assert(kat0.v[0] == 0x6627e8d5 && kat0.v[1] == 0xe169c58d && kat0.v[2] == 0xbc57ac4c &&
                  kat0.v[3] == 0x9b00dbd8,
              "philox4x32_10 must match Random123 (zero counter/key)");
constexpr bp::philox_result kat_pi = bp::philox4x32_10(
    {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}}, {{0xa4093822, 0x299f31d0}});
static_assert(kat_pi.v[0] == 0xd16cfe09 && kat_pi.v[3] == 0x24126ea1,
              "philox4x32_10 must match Random123 (pi digits)");

// Kernels receive PODs only.
static_assert(std::is_standard_layout_v<bp::philox_result> &&
              std::is_trivially_copyable_v<bp::philox_result>);
static_assert(std::is_standard_layout_v<bp::init_spec> &&
              std::is_trivially_copyable_v<bp::init_spec>);

// Casts are constexpr.
static_assert(bp::float_to_bf16_bits(1.0f) == 0x3F80);
static_assert(bp::float_to_bf16_bits(-2.0f) == 0xC000);
static_assert(bp::float_to_f16_bits(1.0f) == 0x3C00);
static_assert(bp::float_to_f16_bits(65504.0f) == 0x7BFF);
static_assert(bp::float_to_f16_bits(0x1p-24f) == 0x0001, "f16 keeps subnormals");
static_assert(bp::float_to_f8_e4m3fn_bits(448.0f) == 0x7E);
static_assert(bp::float_to_f8_e4m3fn_bits(1e6f) == 0x7F, "e4m3fn overflow is NaN");
static_assert(bp::float_to_f8_e4m3fn_bits(0x1p-9f) == 0x01);
static_assert(bp::float_to_f8_e5m2_bits(57344.0f) == 0x7B);
static_assert(bp::float_to_f8_e5m2_bits(1e6f) == 0x7C, "e5m2 overflow is inf");
static_assert(bp::f16_bits_to_float(0x3C00) == 1.0f);
static_assert(bp::f8_e4m3fn_bits_to_float(0x7E) == 448.0f);
static_assert(bp::f8_e5m2_bits_to_float(0x01) == 0x1p-16f);
static_assert(bp::bf16_bits_to_float(0x3F80) == 1.0f);

// Storage sizes.
static_assert(bp::dtype_size(bp::dtype::f32) == 4 && bp::dtype_size(bp::dtype::bf16) == 2 &&
              bp::dtype_size(bp::dtype::f16) == 2 && bp::dtype_size(bp::dtype::f8_e4m3fn) == 1 &&
              bp::dtype_size(bp::dtype::f8_e5m2) == 1);

// Tensor ids are fixed forever: a change here re-seeds every model ever initialized.
static_assert(bp::tensor_id_from_name("model.embed_tokens.weight") == 0x1acb025cf390dc05ull,
              "tensor ids must never change (FNV-1a 64 + splitmix64 finalizer)");
static_assert(bp::tensor_id_from_name("model.layers.0.self_attn.q_proj.weight") ==
              0x3d33f6d36653c025ull);
static_assert(bp::tensor_id_from_name("") == bp::mix64(0xCBF29CE484222325ull));
static_assert(bp::tensor_id_from_name("a") != bp::tensor_id_from_name("b"));

// Deterministic math folds at compile time (g++: __builtin_fmaf/__builtin_sqrtf are constant).
static_assert(bp::det_log(1.0f) == 0.0f);
static_assert(bp::det_exp(0.0f) == 1.0f);
static_assert(bp::sample_element(bp::init::arange(1.0f, 2.0f), 0, 0, 3) == 7.0f);
static_assert(bp::sample_element(bp::init::constant(0.5f), 1, 2, 3) == 0.5f);
