// What the command reads from text, beside the types it produces (examples/blueprint).
#include <catch2/catch.hpp>

#include <cstdint>
#include <string>

#include "../../examples/blueprint/numbers.hpp"

using blueprint::cli::parse_byte_size;
using blueprint::cli::parse_count;
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

TEST_CASE("counts are decimal (or 0x hex), unsigned, and within their maximum", "[checkpoint]") {
  CHECK(parse_count("010", 100) == 10);  // CLI11 alone reads octal 8
  CHECK(parse_count("0x1F", 100) == 31);
  CHECK(parse_count("0", 0) == 0);
  CHECK(parse_count("18446744073709551615", UINT64_MAX) == UINT64_MAX);
  CHECK_THROWS_WITH(parse_count("18446744073709551616", UINT64_MAX), Contains("exceeds"));
  CHECK_THROWS_WITH(parse_count("4097", 4096, "--threads"), Contains("--threads '4097'"));
  CHECK_THROWS_WITH(parse_count("-1", 100), Contains("expected a decimal number"));
  CHECK_THROWS_WITH(parse_count(" 1", 100), Contains("expected a decimal number"));
  CHECK_THROWS_WITH(parse_count("1e3", 10000), Contains("expected a decimal number"));
  CHECK_THROWS_WITH(parse_count("0x", 100), Contains("expected a decimal number"));
  CHECK_THROWS_WITH(parse_count("", 100), Contains("expected a decimal number"));
  CHECK_THROWS_WITH(parse_count("5", 3), Contains("exceeds the maximum 3"));
}

TEST_CASE("byte sizes are bounded by 2^50", "[checkpoint]") {
  CHECK(parse_byte_size("1024TiB") == 1ull << 50);
  CHECK_THROWS_WITH(parse_byte_size("1025TiB"), Contains("exceeds the maximum of 2^50"));
  CHECK_THROWS_WITH(parse_byte_size("1e39"), Contains("'1e39'"));
  CHECK_THROWS(parse_byte_size(std::string(400, '9')));
}
