// Specification of kernels/cast.hpp: exact widening, round trips, and bit-for-bit agreement
// with numpy + ml_dtypes `astype` (reference written by tests/python/make_cast_reference.py).
#include <catch2/catch.hpp>

#include <blueprint/kernels/cast.hpp>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

using namespace blueprint;

namespace {

bool is_nan(float f) {
  return f != f;
}

struct cast_reference {
  std::vector<std::uint32_t> inputs;
  std::vector<std::uint16_t> bf16, f16;
  std::vector<std::uint8_t> e4m3, e5m2;
  std::vector<std::uint32_t> wide_bf16, wide_f16, wide_e4m3, wide_e5m2;
};

template <class T>
void read_into(std::ifstream& in, std::vector<T>& v, std::size_t n) {
  v.resize(n);
  in.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(n * sizeof(T)));
}

// Loaded once: ~100 MB. A missing file is a failure (the CTest fixture make_cast_reference
// writes it), never a skip.
const cast_reference& reference() {
  static const cast_reference ref = [] {
    cast_reference r;
    const std::string path = std::string(BLUEPRINT_TEST_DATA_DIR) + "/cast_reference.bin";
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      FAIL("cast reference '" << path
                              << "' is missing: run the make_cast_reference test first "
                                 "(ctest runs it as a fixture)");
    }
    char magic[8];
    std::uint64_t n = 0;
    in.read(magic, 8);
    in.read(reinterpret_cast<char*>(&n), 8);
    REQUIRE(std::string(magic, 8) == "BPCAST01");
    read_into(in, r.inputs, n);
    read_into(in, r.bf16, n);
    read_into(in, r.f16, n);
    read_into(in, r.e4m3, n);
    read_into(in, r.e5m2, n);
    read_into(in, r.wide_bf16, 65536);
    read_into(in, r.wide_f16, 65536);
    read_into(in, r.wide_e4m3, 256);
    read_into(in, r.wide_e5m2, 256);
    REQUIRE(in.good());
    return r;
  }();
  return ref;
}

template <class Narrow, class Bits>
std::size_t count_mismatches(const std::vector<std::uint32_t>& in, const std::vector<Bits>& want,
                             Narrow narrow, const char* name) {
  std::size_t bad = 0;
  for (std::size_t i = 0; i < in.size(); ++i) {
    const Bits got = narrow(bits_as_float(in[i]));
    if (got != want[i]) {
      if (bad < 8) {
        UNSCOPED_INFO(name << ": input 0x" << std::hex << in[i] << " -> 0x" << +got
                           << ", ml_dtypes 0x" << +want[i] << std::dec);
      }
      ++bad;
    }
  }
  return bad;
}

}  // namespace

TEST_CASE("the cast reference file holds at least 10^7 inputs", "[cast]") {
  REQUIRE(reference().inputs.size() >= 10'000'000);
}

TEST_CASE("float32 to bf16 equals ml_dtypes bit for bit", "[cast]") {
  const auto& r = reference();
  CHECK(count_mismatches(r.inputs, r.bf16, float_to_bf16_bits, "bf16") == 0);
}

TEST_CASE("float32 to f16 equals numpy bit for bit", "[cast]") {
  const auto& r = reference();
  CHECK(count_mismatches(r.inputs, r.f16, float_to_f16_bits, "f16") == 0);
}

TEST_CASE("float32 to f8_e4m3fn equals ml_dtypes bit for bit", "[cast]") {
  const auto& r = reference();
  CHECK(count_mismatches(r.inputs, r.e4m3, float_to_f8_e4m3fn_bits, "e4m3fn") == 0);
}

TEST_CASE("float32 to f8_e5m2 equals ml_dtypes bit for bit", "[cast]") {
  const auto& r = reference();
  CHECK(count_mismatches(r.inputs, r.e5m2, float_to_f8_e5m2_bits, "e5m2") == 0);
}

TEST_CASE("widening every narrow bit pattern equals ml_dtypes bit for bit", "[cast]") {
  const auto& r = reference();
  for (std::uint32_t h = 0; h < 65536; ++h) {
    INFO("pattern 0x" << std::hex << h);
    REQUIRE(float_as_bits(bf16_bits_to_float(static_cast<std::uint16_t>(h))) == r.wide_bf16[h]);
    REQUIRE(float_as_bits(f16_bits_to_float(static_cast<std::uint16_t>(h))) == r.wide_f16[h]);
  }
  for (std::uint32_t h = 0; h < 256; ++h) {
    INFO("pattern 0x" << std::hex << h);
    REQUIRE(float_as_bits(f8_e4m3fn_bits_to_float(static_cast<std::uint8_t>(h))) == r.wide_e4m3[h]);
    REQUIRE(float_as_bits(f8_e5m2_bits_to_float(static_cast<std::uint8_t>(h))) == r.wide_e5m2[h]);
  }
}

TEST_CASE("every bf16 and f16 pattern survives widen then narrow", "[cast]") {
  for (std::uint32_t h = 0; h < 65536; ++h) {
    const auto b = static_cast<std::uint16_t>(h);
    INFO("pattern 0x" << std::hex << h);
    const float fb = bf16_bits_to_float(b);
    if (is_nan(fb)) {
      REQUIRE(is_nan(bf16_bits_to_float(float_to_bf16_bits(fb))));
    } else {
      REQUIRE(float_to_bf16_bits(fb) == b);
    }
    const float fh = f16_bits_to_float(b);
    if (is_nan(fh)) {
      REQUIRE(is_nan(f16_bits_to_float(float_to_f16_bits(fh))));
      REQUIRE(float_to_f16_bits(fh) == b);  // numpy keeps f16 payloads exactly
    } else {
      REQUIRE(float_to_f16_bits(fh) == b);
    }
  }
}

TEST_CASE("every f8 pattern survives widen then narrow", "[cast]") {
  for (std::uint32_t h = 0; h < 256; ++h) {
    const auto b = static_cast<std::uint8_t>(h);
    INFO("pattern 0x" << std::hex << h);
    const float f4 = f8_e4m3fn_bits_to_float(b);
    if (is_nan(f4)) {
      REQUIRE((float_to_f8_e4m3fn_bits(f4) & 0x7F) == 0x7F);
    } else {
      REQUIRE(float_to_f8_e4m3fn_bits(f4) == b);
    }
    const float f5 = f8_e5m2_bits_to_float(b);
    if (is_nan(f5)) {
      REQUIRE(is_nan(f8_e5m2_bits_to_float(float_to_f8_e5m2_bits(f5))));
    } else {
      REQUIRE(float_to_f8_e5m2_bits(f5) == b);
    }
  }
}

TEST_CASE("the documented special values of each narrow format", "[cast]") {
  const float inf = bits_as_float(0x7f800000u);
  const float nan = bits_as_float(0x7fc00000u);
  CHECK(float_to_bf16_bits(nan) == 0x7FC0);
  CHECK(float_to_bf16_bits(-nan) == 0xFFC0);
  CHECK(float_to_bf16_bits(bits_as_float(0x7f800001u)) == 0x7FC0);
  CHECK(float_to_f16_bits(bits_as_float(0x7f800001u)) == 0x7C01);
  CHECK(float_to_f16_bits(65520.0f) == 0x7C00);
  CHECK(float_to_f16_bits(65519.996f) == 0x7BFF);
  CHECK(float_to_f8_e4m3fn_bits(448.0f) == 0x7E);
  CHECK(float_to_f8_e4m3fn_bits(464.0f) == 0x7E);
  CHECK(float_to_f8_e4m3fn_bits(464.00003f) == 0x7F);
  CHECK(float_to_f8_e4m3fn_bits(inf) == 0x7F);
  CHECK(float_to_f8_e4m3fn_bits(-inf) == 0xFF);
  CHECK(float_to_f8_e4m3fn_bits(-0.0f) == 0x80);
  CHECK(float_to_f8_e5m2_bits(61439.996f) == 0x7B);
  CHECK(float_to_f8_e5m2_bits(61440.0f) == 0x7C);
  CHECK(float_to_f8_e5m2_bits(-inf) == 0xFC);
  CHECK(float_to_f8_e5m2_bits(nan) == 0x7E);
}

TEST_CASE("store_element and load_element_as_float agree with the scalar casts", "[cast]") {
  const float vals[] = {0.0f, -1.5f, 3.14159f, 1e-3f, 65504.0f, 448.0f};
  float f32[6];
  std::uint16_t b16[6], h16[6];
  std::uint8_t e4[6], e5[6];
  for (std::size_t i = 0; i < 6; ++i) {
    store_element<dtype::f32>(f32, i, vals[i]);
    store_element<dtype::bf16>(b16, i, vals[i]);
    store_element<dtype::f16>(h16, i, vals[i]);
    store_element<dtype::f8_e4m3fn>(e4, i, vals[i]);
    store_element<dtype::f8_e5m2>(e5, i, vals[i]);
  }
  for (std::size_t i = 0; i < 6; ++i) {
    CHECK(load_element_as_float(dtype::f32, f32, i) == vals[i]);
    CHECK(load_element_as_float(dtype::bf16, b16, i) ==
          bf16_bits_to_float(float_to_bf16_bits(vals[i])));
    CHECK(load_element_as_float(dtype::f16, h16, i) ==
          f16_bits_to_float(float_to_f16_bits(vals[i])));
    CHECK(float_as_bits(load_element_as_float(dtype::f8_e4m3fn, e4, i)) ==
          float_as_bits(f8_e4m3fn_bits_to_float(float_to_f8_e4m3fn_bits(vals[i]))));
    CHECK(load_element_as_float(dtype::f8_e5m2, e5, i) ==
          f8_e5m2_bits_to_float(float_to_f8_e5m2_bits(vals[i])));
    CHECK(float_to_storage_bits(dtype::bf16, vals[i]) == b16[i]);
  }
}
