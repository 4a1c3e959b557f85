// Specification of kernels/philox.hpp: Random123's known answers and the Blueprint counter
// convention.
#include <catch2/catch.hpp>

#include <blueprint/kernels/philox.hpp>

using namespace blueprint;

namespace {
void check_kat(philox_counter c, philox_key k, philox_result want) {
  const philox_result got = philox4x32_10(c, k);
  for (int i = 0; i < 4; ++i) CHECK(got.v[i] == want.v[i]);
}
}  // namespace

// Random123 kat_vectors, "philox4x32 10" lines (checked against an independent Python port).
TEST_CASE("philox4x32_10 reproduces Random123's known-answer vectors", "[philox]") {
  check_kat({{0, 0, 0, 0}}, {{0, 0}}, {{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}});
  check_kat({{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}}, {{0xffffffff, 0xffffffff}},
            {{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}});
  check_kat({{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}}, {{0xa4093822, 0x299f31d0}},
            {{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}});
}

TEST_CASE("philox_for_element_group puts seed in the key and (group, id) in the counter",
          "[philox]") {
  const std::uint64_t seed = 0x0123456789abcdefull, id = 0xfedcba9876543210ull,
                      group = 0x1122334455667788ull;
  const philox_result a = philox_for_element_group(seed, id, group);
  const philox_result b =
      philox4x32_10({{0x55667788, 0x11223344, 0x76543210, 0xfedcba98}}, {{0x89abcdef, 0x01234567}});
  for (int i = 0; i < 4; ++i) CHECK(a.v[i] == b.v[i]);
}

TEST_CASE("neighbouring groups, ids and seeds give unrelated words", "[philox]") {
  const philox_result base = philox_for_element_group(1, 2, 3);
  const philox_result others[] = {philox_for_element_group(1, 2, 4),
                                  philox_for_element_group(1, 3, 3),
                                  philox_for_element_group(2, 2, 3)};
  for (const auto& o : others) {
    int same = 0;
    for (int i = 0; i < 4; ++i) same += o.v[i] == base.v[i];
    CHECK(same == 0);
  }
}
