// The safetensors reader rejects every malformed input before reading data, and its error names
// the file, the tensor and the offending value or byte offset.
#include <catch2/catch.hpp>

#include "../support/scratch.hpp"

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include <blueprint/runtime/checkpoint_files.hpp>
#include <blueprint/runtime/safetensors.hpp>

namespace fs = std::filesystem;
using namespace blueprint;

namespace {

/// Writes 8-byte length (or `length_override`) + header + `data_bytes` bytes of data.
std::string write_raw(const fs::path& path, const std::string& header, std::uint64_t data_bytes,
                      std::optional<std::uint64_t> length_override = std::nullopt) {
  std::ofstream out(path, std::ios::binary);
  const std::uint64_t n = length_override.value_or(header.size());
  for (int i = 0; i < 8; ++i) out.put(static_cast<char>((n >> (8 * i)) & 0xFF));
  out << header;
  for (std::uint64_t i = 0; i < data_bytes; ++i) out.put(static_cast<char>(i));
  return path.string();
}

std::string error_of(const std::string& path, st_read_limits limits = {}) {
  try {
    (void)open_checkpoint(path, limits);
  } catch (const checkpoint_error& e) {
    return e.what();
  }
  return "(no error)";
}

using Catch::Matchers::Contains;

}  // namespace

TEST_CASE("a well-formed file opens and its tensors are sorted by offset", "[safetensors]") {
  const fs::path d = test::scratch_dir("safetensors_reader", "good");
  const std::string f = write_raw(
      d / "x.safetensors",
      R"({"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]},"a":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]},"__metadata__":{"format":"pt"}})",
      12);
  const checkpoint_files c = open_checkpoint(f);
  REQUIRE(c.files.size() == 1);
  const st_header& h = c.files[0].header;
  REQUIRE(h.tensors.size() == 2);
  CHECK(h.tensors[0].name == "a");
  CHECK(h.tensors[1].name == "b");
  CHECK(h.metadata.at("format") == "pt");
  CHECK(c.find("b")->info->type == st_dtype::f32);
}

TEST_CASE("a file shorter than the 8-byte length is rejected", "[safetensors]") {
  const fs::path p = test::scratch_dir("safetensors_reader", "tiny") / "x.safetensors";
  std::ofstream(p, std::ios::binary) << "abc";
  const std::string e = error_of(p.string());
  CHECK_THAT(e, Contains(p.string()) && Contains("too small") && Contains("byte offset 0"));
}

TEST_CASE("a truncated file (data shorter than the header declares) is rejected", "[safetensors]") {
  const fs::path d = test::scratch_dir("safetensors_reader", "truncated");
  const std::string f = write_raw(d / "x.safetensors",
                                  R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", 10);
  const std::string e = error_of(f);
  CHECK_THAT(e, Contains(f) && Contains("tensor 'w'") && Contains("not within the file bounds") &&
                    Contains("byte offset"));
}

TEST_CASE("a header length beyond the end of the file is rejected", "[safetensors]") {
  const fs::path d = test::scratch_dir("safetensors_reader", "header_beyond");
  const std::string f = write_raw(d / "x.safetensors", "{}", 0, 4096);
  CHECK_THAT(error_of(f),
             Contains(f) && Contains("header length 4096") && Contains("beyond the end"));
}

TEST_CASE("a header larger than the cap is rejected before it is read", "[safetensors]") {
  const fs::path d = test::scratch_dir("safetensors_reader", "header_cap");
  const std::string f = write_raw(d / "x.safetensors", "{}", 0, 200'000'000);
  CHECK_THAT(error_of(f), Contains(f) && Contains("200000000") && Contains("exceeds the limit"));
  const std::string g = write_raw(d / "y.safetensors", std::string(64, ' ') + "{}", 0);
  CHECK_THAT(error_of(g, st_read_limits{.max_header_bytes = 16}),
             Contains("exceeds the limit of 16"));
}

TEST_CASE("a header that is not JSON is rejected with the offset of the fault", "[safetensors]") {
  const fs::path d = test::scratch_dir("safetensors_reader", "bad_json");
  const std::string f = write_raw(d / "x.safetensors", R"({"w":{"dtype":"F32",)", 0);
  CHECK_THAT(error_of(f), Contains(f) && Contains("not valid JSON") && Contains("byte offset"));
  const std::string g = write_raw(d / "y.safetensors", "[1, 2]  ", 0);
  CHECK_THAT(error_of(g), Contains("not a JSON object"));
  const std::string h = write_raw(d / "z.safetensors", "{\"\xff\":1}", 0);
  CHECK_THAT(error_of(h), Contains("UTF-8"));
}

TEST_CASE("an unknown dtype is rejected naming the tensor and the dtype", "[safetensors]") {
  const fs::path d = test::scratch_dir("safetensors_reader", "unknown_dtype");
  const std::string f =
      write_raw(d / "x.safetensors", R"({"w":{"dtype":"F4","shape":[2],"data_offsets":[0,1]}})", 1);
  CHECK_THAT(error_of(f), Contains(f) && Contains("tensor 'w'") && Contains("unknown dtype 'F4'"));
}

TEST_CASE("a shape whose byte count differs from the data range is rejected", "[safetensors]") {
  const fs::path d = test::scratch_dir("safetensors_reader", "size_mismatch");
  const std::string f = write_raw(
      d / "x.safetensors", R"({"w":{"dtype":"BF16","shape":[3,2],"data_offsets":[0,8]}})", 8);
  CHECK_THAT(error_of(f), Contains(f) && Contains("tensor 'w'") && Contains("[3, 2]") &&
                              Contains("needs 12 bytes") && Contains("[0, 8]") &&
                              Contains("byte offset"));
}

TEST_CASE("a shape whose element or byte count overflows 64 bits is rejected", "[safetensors]") {
  const fs::path d = test::scratch_dir("safetensors_reader", "overflow");
  const std::string f = write_raw(
      d / "x.safetensors",
      R"({"w":{"dtype":"F32","shape":[4294967296,4294967296,2],"data_offsets":[0,4]}})", 4);
  CHECK_THAT(error_of(f), Contains(f) && Contains("tensor 'w'") &&
                              Contains("overflows 64 bits (element count)"));
  const std::string g =
      write_raw(d / "y.safetensors",
                R"({"w":{"dtype":"F64","shape":[4611686018427387904],"data_offsets":[0,8]}})", 8);
  CHECK_THAT(error_of(g), Contains("tensor 'w'") && Contains("overflows 64 bits (byte count)"));
}

TEST_CASE("data offsets beyond the data region are rejected", "[safetensors]") {
  const fs::path d = test::scratch_dir("safetensors_reader", "out_of_bounds");
  const std::string f = write_raw(
      d / "x.safetensors",
      R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[4],"data_offsets":[4,8]}})",
      6);
  const std::string e = error_of(f);
  CHECK_THAT(e, Contains(f) && Contains("tensor 'b'") && Contains("[4, 8]") &&
                    Contains("not within the file bounds"));
  const std::uint64_t data_start = fs::file_size(f) - 6;
  CHECK_THAT(e, Contains("byte offset " + std::to_string(data_start + 8)));
}

TEST_CASE("data offsets that end before they begin are rejected", "[safetensors]") {
  const fs::path d = test::scratch_dir("safetensors_reader", "reversed");
  const std::string f =
      write_raw(d / "x.safetensors", R"({"w":{"dtype":"U8","shape":[0],"data_offsets":[4,0]}})", 4);
  CHECK_THAT(error_of(f), Contains("tensor 'w'") && Contains("end before they begin"));
}

TEST_CASE("overlapping tensors are rejected naming both", "[safetensors]") {
  const fs::path d = test::scratch_dir("safetensors_reader", "overlap");
  const std::string f = write_raw(
      d / "x.safetensors",
      R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[4],"data_offsets":[2,6]}})",
      6);
  CHECK_THAT(error_of(f), Contains(f) && Contains("tensor 'b'") && Contains("overlap tensor 'a'") &&
                              Contains("byte offset"));
}

TEST_CASE("a gap in the data region is rejected (the reference reader requires full coverage)",
          "[safetensors]") {
  const fs::path d = test::scratch_dir("safetensors_reader", "gap");
  const std::string f = write_raw(
      d / "x.safetensors",
      R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[2],"data_offsets":[4,6]}})",
      6);
  CHECK_THAT(error_of(f),
             Contains("tensor 'b'") && Contains("[2, 4) of the data region uncovered"));
  const std::string g =
      write_raw(d / "y.safetensors", R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}})", 5);
  CHECK_THAT(error_of(g), Contains("tensor 'a'") && Contains("trailing bytes"));
}

TEST_CASE("a malformed entry is rejected naming the tensor", "[safetensors]") {
  const fs::path d = test::scratch_dir("safetensors_reader", "malformed_entry");
  CHECK_THAT(error_of(write_raw(d / "a.safetensors", R"({"w":{"dtype":"F32","shape":[1]}})", 0)),
             Contains("tensor 'w'") && Contains("data_offsets"));
  CHECK_THAT(error_of(write_raw(d / "b.safetensors",
                                R"({"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", 4)),
             Contains("tensor 'w'") && Contains("not a non-negative integer"));
  CHECK_THAT(error_of(write_raw(d / "c.safetensors", R"({"__metadata__":{"k":1}})", 0)),
             Contains("__metadata__"));
}

TEST_CASE("an index naming a file that does not exist is rejected", "[safetensors]") {
  const fs::path d = test::scratch_dir("safetensors_reader", "index_missing_file");
  write_raw(d / "model-00001-of-00002.safetensors",
            R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}})", 2);
  std::ofstream(d / "model.safetensors.index.json")
      << R"({"metadata":{"total_size":4},"weight_map":{"a":"model-00001-of-00002.safetensors","b":"model-00002-of-00002.safetensors"}})";
  const std::string e = error_of(d.string());
  CHECK_THAT(e, Contains("model.safetensors.index.json") && Contains("tensor 'b'") &&
                    Contains("model-00002-of-00002.safetensors") && Contains("does not exist"));
}

TEST_CASE("an index assigning a tensor to a file that does not hold it is rejected",
          "[safetensors]") {
  const fs::path d = test::scratch_dir("safetensors_reader", "index_wrong_file");
  write_raw(d / "model-00001-of-00002.safetensors",
            R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}})", 2);
  write_raw(d / "model-00002-of-00002.safetensors",
            R"({"c":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}})", 2);
  std::ofstream(d / "model.safetensors.index.json")
      << R"({"metadata":{"total_size":4},"weight_map":{"a":"model-00001-of-00002.safetensors","b":"model-00002-of-00002.safetensors"}})";
  const std::string e = error_of(d.string());
  CHECK_THAT(e, Contains("model-00002-of-00002.safetensors") && Contains("tensor 'b'") &&
                    Contains("does not hold it"));
}

TEST_CASE("an index that is not JSON, or names a path outside its directory, is rejected",
          "[safetensors]") {
  const fs::path d = test::scratch_dir("safetensors_reader", "index_bad");
  std::ofstream(d / "model.safetensors.index.json") << R"({"weight_map": )";
  CHECK_THAT(error_of(d.string()), Contains("index.json") && Contains("not valid JSON"));
  std::ofstream(d / "model.safetensors.index.json") << R"({"weight_map":{"a":"../x.safetensors"}})";
  CHECK_THAT(error_of(d.string()), Contains("tensor 'a'") && Contains("not a file name"));
}

TEST_CASE("a directory with both a single file and an index is rejected", "[safetensors]") {
  const fs::path d = test::scratch_dir("safetensors_reader", "both");
  write_raw(d / "model.safetensors", "{}      ", 0);
  std::ofstream(d / "model.safetensors.index.json") << R"({"weight_map":{}})";
  CHECK_THAT(error_of(d.string()), Contains(d.string()) && Contains("both"));
  const fs::path e = test::scratch_dir("safetensors_reader", "neither");
  CHECK_THAT(error_of(e.string()), Contains("neither"));
}

TEST_CASE("an index whose total_size disagrees is accepted with a warning", "[safetensors]") {
  const fs::path d = test::scratch_dir("safetensors_reader", "index_total_size");
  write_raw(d / "model-00001-of-00001.safetensors",
            R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}})", 2);
  std::ofstream(d / "model.safetensors.index.json")
      << R"({"metadata":{"total_size":99},"weight_map":{"a":"model-00001-of-00001.safetensors"}})";
  const checkpoint_files c = open_checkpoint(d.string());
  REQUIRE(c.warnings.size() == 1);
  CHECK_THAT(c.warnings[0], Contains("total_size is 99"));
}

TEST_CASE("a written header is padded to 8 bytes with spaces and parses back", "[safetensors]") {
  const std::string h = serialize_safetensors_header(
      {{"x", st_dtype::bf16, {3}, 6}, {"y", st_dtype::f32, {1, 2}, 8}});
  REQUIRE(h.size() % 8 == 0);
  const std::uint64_t n = detail::read_le64(reinterpret_cast<const unsigned char*>(h.data()));
  CHECK(n == h.size() - 8);
  CHECK((h.back() == ' ' || h.back() == '}'));
  CHECK(h.substr(8, 31) == R"({"__metadata__":{"format":"pt"})");
  const st_header parsed =
      parse_safetensors_header(std::string_view(h).substr(8), h.size() + 14, "mem");
  CHECK(parsed.tensors[1].name == "y");
  CHECK(parsed.tensors[1].begin == 6);
}

TEST_CASE("a header whose JSON is followed by a NUL byte is rejected, as the reference reader does",
          "[safetensors]") {
  // Issue 12: nlohmann's lexer ends the input at a NUL, so "{...}\0   " parsed.
  const std::string json = R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})";
  std::string text = json + std::string(1, '\0') + "      ";
  CHECK_THROWS_WITH(parse_safetensors_header(text, 8 + text.size() + 4, "mem"),
                    Catch::Contains("NUL byte") &&
                        Catch::Contains("byte offset " + std::to_string(8 + json.size())));
  text = json + "       \t\n";  // whitespace only: accepted
  CHECK(parse_safetensors_header(text, 8 + text.size() + 4, "mem").tensors.size() == 1);
}

TEST_CASE(
    "a number beyond 64 bits in the header is rejected, not thrown through (found by fuzzing)",
    "[safetensors]") {
  const fs::path d = test::scratch_dir("safetensors_reader", "number_overflow");
  const std::string f =
      write_raw(d / "x.safetensors",
                R"({"w":{"dtype":"F32","shape":[969e294967229],"data_offsets":[0,4]}})", 4);
  CHECK_THAT(error_of(f), Contains(f) && Contains("not valid JSON"));
  std::ofstream(d / "model.safetensors.index.json")
      << R"({"weight_map":{},"metadata":{"total_size":1e999}})";
  CHECK_THAT(error_of(d.string()), Contains("index.json") && Contains("not valid JSON"));
}
