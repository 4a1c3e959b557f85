// What the command reads from text, beside the types it produces (examples/blueprint).
#include <catch2/catch.hpp>

#include <cstdint>

#include "../../examples/blueprint/byte_size.hpp"

using blueprint::cli::parse_byte_size;
using Catch::Contains;

TEST_CASE("shard sizes parse in decimal and binary units", "[checkpoint]") {
  CHECK(parse_byte_size("5GB") == 5'000'000'000ull);
  CHECK(parse_byte_size("500MB") == 500'000'000ull);
  CHECK(parse_byte_size("10kb") == 10'000ull);
  CHECK(parse_byte_size("2GiB") == 2ull << 30);
  CHECK(parse_byte_size("0.5GB") == 500'000'000ull);
  CHECK(parse_byte_size("1234") == 1234ull);
  CHECK_THROWS_WITH(parse_byte_size("5XB"), Contains("'5XB'"));
  CHECK_THROWS(parse_byte_size("GB"));
  CHECK_THROWS(parse_byte_size("0"));
}
