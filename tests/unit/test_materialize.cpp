// The CPU materializer's contracts (runtime/materialize.hpp, kernels/fill.hpp): every stored
// element is the cast of sample_element; the bytes and the fingerprint do not depend on the
// thread count, the cut of the program or the layout; skip and poison modes; views and errors.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <blueprint/codegen/layout.hpp>
#include <blueprint/codegen/program.hpp>
#include <blueprint/dsl/models.hpp>
#include <blueprint/kernels/fill.hpp>
#include <blueprint/runtime/materialize.hpp>
#include <blueprint/runtime/registry.hpp>

#include "../support/stored_bits.hpp"

namespace {

using namespace blueprint;
using test::stored_bits;

std::vector<std::byte> bytes_of(const materialized_model& m) {
  return {m.arena().begin(), m.arena().end()};
}

/// Checks `step`-strided elements (plus the last one) of every segment against sample_element;
/// returns the number of mismatches.
std::uint64_t count_mismatches(const materialized_model& m, std::uint64_t seed,
                               std::uint64_t step) {
  std::uint64_t bad = 0;
  for (const segment& s : m.program().segments) {
    const std::byte* base = m.arena().data() + s.arena_offset;
    if (s.count == 0) continue;
    for (std::uint64_t k = 0; k < s.count; k += step)
      bad += stored_bits(s.type, base, k) != expected_storage_bits(s, seed, k);
    bad += stored_bits(s.type, base, s.count - 1) != expected_storage_bits(s, seed, s.count - 1);
  }
  return bad;
}

std::vector<dynamic_layout> tiny_layouts(dtype t) {
  const dtype_policy p = dtype_policy::uniform(t);
  return {dynamic_layout_of(models::tiny_llama, p), dynamic_layout_of(models::tiny_gpt2, p),
          dynamic_layout_of(models::tiny_mixtral, p)};
}

/// The program with every tensor segment cut into random pieces: whole-tensor segments are
/// rewritten in row form (run = last dimension) and cut at random row boundaries, and single
/// rows are cut anywhere.
program split_randomly(const program& p, std::span<const placed_tensor> tensors,
                       std::uint32_t seed) {
  std::mt19937_64 rng(seed);
  program out;
  out.arena_bytes = p.arena_bytes;
  out.tensors = p.tensors;
  for (const segment& s : p.segments) {
    if (s.padding != 0 || s.count < 2) {
      out.segments.push_back(s);
      continue;
    }
    const placed_tensor& t = tensors[s.tensor_index];
    const std::uint64_t cols = t.spec.rank >= 2 ? t.spec.shape[t.spec.rank - 1] : s.count;
    const std::uint64_t size = dtype_size(s.type);
    std::uint64_t k = 0;
    while (k < s.count) {
      segment piece = s;
      const bool by_rows = cols < s.count && (rng() & 1) != 0 && k % cols == 0;
      std::uint64_t n;
      if (by_rows) {
        const std::uint64_t rows_left = (s.count - k) / cols;
        n = cols * (1 + rng() % rows_left);
        piece.run = cols;
        piece.stride = cols;
        piece.base = k;  // row-aligned: global = k + (k'/cols) * cols + k' % cols
      } else {
        n = 1 + rng() % std::min<std::uint64_t>(s.count - k, 37);
        piece.run = n;
        piece.stride = n;
        piece.base = k;
      }
      piece.arena_offset = s.arena_offset + k * size;
      piece.count = n;
      out.segments.push_back(piece);
      k += n;
    }
  }
  std::shuffle(out.segments.begin(), out.segments.end(), rng);
  return out;
}

}  // namespace

TEST_CASE("Every element of the tiny models is the cast of sample_element, in every dtype",
          "[materialize]") {
  for (dtype t : all_dtypes)
    for (const dynamic_layout& l : tiny_layouts(t)) {
      const materialized_model m =
          materialize(l, cpu{.threads = 2}, {.source = init{.seed = 1234}});
      INFO(l.model_name << " " << dtype_name(t));
      CHECK(count_mismatches(m, 1234, 1) == 0);
    }
}

TEST_CASE("Sampled elements of every GPT-2 tensor are the cast of sample_element",
          "[materialize]") {
  const dynamic_layout l = dynamic_layout_of(models::gpt2, dtype_policy::bf16());
  const materialized_model m = materialize(l, cpu{}, {.source = init{.seed = 7}});
  CHECK(count_mismatches(m, 7, 4099) == 0);
}

TEST_CASE("Strided segments (column shards) store the same values as the whole tensor",
          "[materialize]") {
  // Columns [0, 5) and [5, C) of every 2-D tensor of tiny-llama, as two programs with
  // run < stride, compared element by element with the whole-tensor materialization.
  for (dtype t : {dtype::f32, dtype::bf16, dtype::f8_e4m3fn}) {
    const dynamic_layout l = dynamic_layout_of(models::tiny_llama, dtype_policy::uniform(t));
    const materialized_model whole =
        materialize(l, cpu{.threads = 1}, {.source = init{.seed = 99}});
    for (std::uint64_t split : {std::uint64_t{5}, std::uint64_t{8}}) {
      program shard;
      std::uint64_t offset = 0;
      for (std::uint32_t i = 0; i < l.size(); ++i) {
        const placed_tensor& p = l.tensors()[i];
        if (p.spec.rank != 2 || p.spec.shape[1] <= split) continue;
        const std::uint64_t rows = p.spec.shape[0], cols = p.spec.shape[1];
        for (auto [c0, c1] : {std::pair{std::uint64_t{0}, split}, std::pair{split, cols}}) {
          segment s{};
          s.arena_offset = offset;
          s.count = rows * (c1 - c0);
          s.tensor_id = p.id();
          s.base = c0;
          s.run = c1 - c0;
          s.stride = cols;
          s.init = p.init;
          s.type = p.type;
          s.tensor_index = i;
          shard.segments.push_back(s);
          offset += s.bytes();
        }
      }
      shard.arena_bytes = offset;
      const materialized_model m =
          materialize(l, shard, cpu{.threads = 3}, {.source = init{.seed = 99}});
      std::uint64_t bad = 0;
      for (const segment& s : shard.segments) {
        const placed_tensor& p = l.tensors()[s.tensor_index];
        for (std::uint64_t k = 0; k < s.count; ++k)
          bad += stored_bits(s.type, m.arena().data() + s.arena_offset, k) !=
                 stored_bits(p.type, whole.arena().data() + p.offset, s.global_index(k));
      }
      CHECK(bad == 0);
    }
  }
}

TEST_CASE("One, two and seven threads store identical bytes", "[materialize]") {
  for (dtype t : {dtype::bf16, dtype::f32, dtype::f8_e5m2}) {
    const dynamic_layout l = dynamic_layout_of(models::tiny_mixtral, dtype_policy::uniform(t));
    const auto one = bytes_of(materialize(l, cpu{.threads = 1}, {.source = init{.seed = 5}}));
    CHECK(one == bytes_of(materialize(l, cpu{.threads = 2}, {.source = init{.seed = 5}})));
    CHECK(one == bytes_of(materialize(l, cpu{.threads = 7}, {.source = init{.seed = 5}})));
  }
}

TEST_CASE("A randomly split and shuffled program stores identical bytes", "[materialize]") {
  const dynamic_layout l = dynamic_layout_of(models::tiny_gpt2, dtype_policy::bf16());
  const auto whole = bytes_of(materialize(l, cpu{.threads = 1}, {.source = init{.seed = 11}}));
  for (std::uint32_t r = 0; r < 4; ++r) {
    const program p = split_randomly(program_of(l), l.tensors(), r);
    CHECK(p.segments.size() > program_of(l).segments.size());
    CHECK(whole == bytes_of(materialize(l, p, cpu{.threads = 2},
                                        {.source = init{.seed = 11}, .poison = true})));
  }
}

TEST_CASE("The seed changes every random tensor and no constant one", "[materialize]") {
  const dynamic_layout l = dynamic_layout_of(models::tiny_llama, dtype_policy::f32());
  const materialized_model a = materialize(l, cpu{}, {.source = init{.seed = 1}});
  const materialized_model b = materialize(l, cpu{}, {.source = init{.seed = 2}});
  for (const placed_tensor& t : l.tensors()) {
    const tensor_view va = a[t.name()], vb = b[t.name()];
    const bool same = std::memcmp(va.data, vb.data, va.bytes) == 0;
    INFO(t.name());
    CHECK(same == !detail::is_random(t.init.kind));
  }
}

TEST_CASE("A no_init source allocates the arena and writes nothing", "[materialize]") {
  const dynamic_layout l = dynamic_layout_of(models::tiny_llama, dtype_policy::bf16());
  const materialized_model m = materialize(l, cpu{}, {.source = no_init{.seed = 3}});
  REQUIRE(m.bytes() == l.total_bytes());
  CHECK(m.init_seconds() == 0);
  CHECK(std::all_of(m.arena().begin(), m.arena().end(),
                    [](std::byte b) { return b == std::byte{0}; }));
  CHECK(reinterpret_cast<std::uintptr_t>(m.arena().data()) % 4096 == 0);
}

TEST_CASE("Poison mode passes for every tiny model in every dtype", "[materialize][poison]") {
  for (dtype t : all_dtypes)
    for (const dynamic_layout& l : tiny_layouts(t)) {
      INFO(l.model_name << " " << dtype_name(t));
      CHECK_NOTHROW(materialize(l, cpu{.threads = 2}, {.source = init{.seed = 8}, .poison = true}));
    }
}

TEST_CASE("Poison mode names the tensor whose segment was removed from the program",
          "[materialize][poison]") {
  const dynamic_layout l = dynamic_layout_of(models::tiny_llama, dtype_policy::bf16());
  program p = program_of(l);
  const auto victim = std::find_if(p.segments.begin(), p.segments.end(), [&](const segment& s) {
    return s.padding == 0 &&
           l.tensors()[s.tensor_index].name() == "model.layers.1.mlp.up_proj.weight";
  });
  REQUIRE(victim != p.segments.end());
  const std::uint64_t offset = victim->arena_offset;
  p.segments.erase(victim);
  try {
    (void)materialize(l, p, cpu{}, {.source = init{.seed = 8}, .poison = true});
    FAIL("poison mode accepted a program with a missing segment");
  } catch (const poison_error& e) {
    CHECK(e.tensor() == "model.layers.1.mlp.up_proj.weight");
    CHECK(e.arena_offset() == offset);
    CHECK_THAT(e.what(), Catch::Contains("model.layers.1.mlp.up_proj.weight") &&
                             Catch::Contains(std::to_string(offset)));
  }
}

TEST_CASE("The poison content check finds elements that a fill did not write",
          "[materialize][poison]") {
  const dynamic_layout l = dynamic_layout_of(models::tiny_gpt2, dtype_policy::f16());
  const program p = program_of(l);
  std::vector<std::byte> arena(p.arena_bytes, std::byte{0xFF});
  const segment* skipped = nullptr;
  for (const segment& s : p.segments) {
    // Leave the last three elements of the first random tensor unwritten.
    const bool victim = skipped == nullptr && s.padding == 0 && detail::is_random(s.init.kind);
    fill_segment_range(s, 4, 0, victim ? s.count - 3 : s.count, arena.data());
    if (victim) skipped = &s;
  }
  REQUIRE(skipped != nullptr);
  const std::string name(l.tensors()[skipped->tensor_index].name());
  CHECK_NOTHROW(check_coverage(l.tensors(), p));
  CHECK_THROWS_WITH(verify_poisoned_arena(l.tensors(), p, 4, arena.data(), 2),
                    Catch::Contains(name) && Catch::Contains("never written"));
}

TEST_CASE("Poison mode accepts an all-ones pattern that the init legitimately produces",
          "[materialize][poison]") {
  // e4m3fn has no infinity: -1000 saturates to 0xFF, the very poison byte.
  const dynamic_layout l = dynamic_layout_of(models::tiny_llama, dtype_policy::bf16());
  program p;
  segment s{};
  s.count = 64;
  s.tensor_id = 42;
  s.run = s.stride = 64;
  s.init = init::constant(-1000.0f);
  s.type = dtype::f8_e4m3fn;
  p.segments.push_back(s);
  p.arena_bytes = 64;
  const materialized_model m = materialize(l, p, cpu{}, {.poison = true});
  CHECK(m.arena()[0] == std::byte{0xFF});
}

TEST_CASE("An invalid program is rejected before anything is written, naming the tensor",
          "[materialize]") {
  const dynamic_layout l = dynamic_layout_of(models::tiny_llama, dtype_policy::bf16());
  program p = program_of(l);
  segment& s = p.segments[1];
  REQUIRE(s.padding == 0);
  const std::string name(l.tensors()[s.tensor_index].name());
  SECTION("a segment that runs past the arena") {
    s.count = p.arena_bytes;
    CHECK_THROWS_WITH(materialize(l, p, cpu{}),
                      Catch::Contains(name) && Catch::Contains("do not fit"));
  }
  SECTION("an unresolved init scheme") {
    s.init = init::kaiming_uniform();
    CHECK_THROWS_WITH(materialize(l, p, cpu{}),
                      Catch::Contains(name) && Catch::Contains("kaiming_uniform"));
  }
}

TEST_CASE("A view has the tensor's name, shape, dtype and bytes in the arena", "[materialize]") {
  constexpr auto l = layout(models::tiny_llama, dtype_policy::bf16().with("*norm*", dtype::f32));
  const materialized_model m = materialize(l, cpu{}, {.source = init{.seed = 1234}});
  const tensor_view q = m["model.layers.1.self_attn.q_proj.weight"];
  const placed_tensor& p = l.tensors()[*l.find("model.layers.1.self_attn.q_proj.weight")];
  CHECK(q.name == "model.layers.1.self_attn.q_proj.weight");
  CHECK(std::vector<std::uint64_t>(q.shape.begin(), q.shape.end()) ==
        std::vector<std::uint64_t>(p.shape().begin(), p.shape().end()));
  CHECK(q.type == dtype::bf16);
  CHECK(q.data == m.arena().data() + p.offset);
  CHECK(q.bytes == p.bytes);
  CHECK(q.as<std::uint16_t>().size() == p.numel());
  CHECK_THROWS_WITH(q.as<float>(), Catch::Contains("bf16"));
  CHECK(q.at(5) == bf16_bits_to_float(float_to_bf16_bits(sample_element(p.init, 1234, p.id(), 5))));
  CHECK(m["model.norm.weight"].type == dtype::f32);
  CHECK(m.tensors().size() == l.size());
}

TEST_CASE("Looking up an unknown tensor names it and suggests the closest name", "[materialize]") {
  const materialized_model m =
      materialize(layout(models::tiny_llama), cpu{}, {.source = blueprint::no_init{}});
  CHECK_THROWS_AS(m["model.layers.0.mlp.up_proj.weigth"], tensor_not_found);
  CHECK_THROWS_WITH(m["model.layers.0.mlp.up_proj.weigth"],
                    Catch::Contains("'model.layers.0.mlp.up_proj.weigth'") &&
                        Catch::Contains("did you mean 'model.layers.0.mlp.up_proj.weight'"));
  CHECK_THROWS_WITH(m["completely.different"], !Catch::Contains("did you mean"));
  CHECK_FALSE(m.contains("completely.different"));
}

TEST_CASE("A tensor of the model that this arena does not hold is reported as such",
          "[materialize]") {
  const dynamic_layout l = dynamic_layout_of(models::tiny_llama, dtype_policy::bf16());
  program p = program_of(l);
  p.tensors.erase(p.tensors.begin());
  const materialized_model m = materialize(l, p, cpu{});
  CHECK_THROWS_WITH(m[l.tensors()[0].name()], Catch::Contains("not held by this arena"));
}

TEST_CASE("A tied lm_head resolves to the embedding's bytes", "[materialize]") {
  const dynamic_layout l = dynamic_layout_of(models::tiny_gpt2, dtype_policy::bf16());
  REQUIRE_FALSE(l.ties().empty());
  const materialized_model m = materialize(l, cpu{}, {.source = init{.seed = 2}});
  for (const tie_spec& t : l.ties()) {
    const tensor_view head = m[t.name()], target = m[t.target_name()];
    CHECK(head.data == target.data);
    CHECK(head.bytes == target.bytes);
    CHECK(head.name == t.target_name());
  }
  CHECK(m["lm_head.weight"].data == m["transformer.wte.weight"].data);
}

TEST_CASE("The fingerprint does not depend on the thread count", "[materialize][fingerprint]") {
  const dynamic_layout l = dynamic_layout_of(models::tiny_mixtral, dtype_policy::bf16());
  const materialized_model m = materialize(l, cpu{.threads = 1}, {.source = init{.seed = 21}});
  const std::uint64_t fp = m.fingerprint(1);
  CHECK(m.fingerprint(2) == fp);
  CHECK(m.fingerprint(7) == fp);
  CHECK(materialize(l, cpu{.threads = 7}, {.source = init{.seed = 21}}).fingerprint() == fp);
}

TEST_CASE("The fingerprint does not depend on how the program is split",
          "[materialize][fingerprint]") {
  const dynamic_layout l = dynamic_layout_of(models::tiny_llama, dtype_policy::f16());
  const std::uint64_t fp = materialize(l, cpu{}, {.source = init{.seed = 21}}).fingerprint();
  for (std::uint32_t r = 0; r < 3; ++r)
    CHECK(materialize(l, split_randomly(program_of(l), l.tensors(), 100 + r), cpu{.threads = 3},
                      {.source = init{.seed = 21}})
              .fingerprint() == fp);
}

TEST_CASE("The fingerprint does not depend on the tensor order or the alignment of the layout",
          "[materialize][fingerprint]") {
  const dtype_policy policy = dtype_policy::bf16();
  const dynamic_layout l = dynamic_layout_of(models::tiny_gpt2, policy);
  const std::uint64_t fp = materialize(l, cpu{}, {.source = init{.seed = 77}}).fingerprint();

  const dynamic_layout aligned = dynamic_layout_of(models::tiny_gpt2, policy, {.alignment = 4096});
  REQUIRE(aligned.total_bytes() != l.total_bytes());
  CHECK(materialize(aligned, cpu{}, {.source = init{.seed = 77}}).fingerprint() == fp);

  dynamic_layout reversed;
  reversed.model_name = l.model_name;
  std::vector<tensor_spec> specs;
  for (const placed_tensor& t : l.tensors()) specs.push_back(t.spec);
  std::reverse(specs.begin(), specs.end());
  reversed.entries.resize(specs.size());
  reversed.arena_bytes = place_tensors(specs, policy, {.alignment = 64}, reversed.entries);
  REQUIRE(reversed.tensors().front().name() == l.tensors().back().name());
  CHECK(materialize(reversed, cpu{}, {.source = init{.seed = 77}}).fingerprint() == fp);
}

TEST_CASE("The fingerprints of a program's pieces add up to the whole model's",
          "[materialize][fingerprint]") {
  const dynamic_layout l = dynamic_layout_of(models::tiny_mixtral, dtype_policy::f8_e4m3fn());
  const program whole = program_of(l);
  program even = whole, odd = whole;
  even.segments.clear();
  odd.segments.clear();
  for (std::size_t i = 0; i < whole.segments.size(); ++i)
    (i % 2 ? odd : even).segments.push_back(whole.segments[i]);
  const std::uint64_t fp = materialize(l, cpu{}, {.source = init{.seed = 4}}).fingerprint();
  CHECK(materialize(l, even, cpu{}, {.source = init{.seed = 4}}).fingerprint() +
            materialize(l, odd, cpu{}, {.source = init{.seed = 4}}).fingerprint() ==
        fp);
}

TEST_CASE("The fingerprint changes with any stored bit, the seed or the dtype",
          "[materialize][fingerprint]") {
  const dynamic_layout l = dynamic_layout_of(models::tiny_llama, dtype_policy::bf16());
  materialized_model m = materialize(l, cpu{}, {.source = init{.seed = 9}});
  const std::uint64_t fp = m.fingerprint();
  CHECK(materialize(l, cpu{}, {.source = init{.seed = 10}}).fingerprint() != fp);
  CHECK(materialize(dynamic_layout_of(models::tiny_llama, dtype_policy::f16()), cpu{},
                    {.source = init{.seed = 9}})
            .fingerprint() != fp);
  std::byte* b = m["model.layers.0.mlp.down_proj.weight"].data + 6;
  *b ^= std::byte{1};
  CHECK(m.fingerprint() != fp);
  *b ^= std::byte{1};
  CHECK(m.fingerprint() == fp);
}

TEST_CASE("The vectorizable log and sincos equal math.hpp on every Box-Muller input",
          "[materialize][fill]") {
  // fill.hpp's branch-free copies are only ever called on u01_open_closed / u01_closed_open
  // values: 2^24 of each. Compare bits on all of them.
  std::uint64_t bad_log = 0, bad_sincos = 0;
  for (std::uint32_t m = 0; m < (1u << 24); ++m) {
    const std::uint32_t x = m << 8;
    const float u1 = detail::u01_open_closed(x);
    bad_log += float_as_bits(detail::log_of_unit(u1)) != float_as_bits(det_log(u1));
    const float u2 = detail::u01_closed_open(x);
    float s0 = 0, c0 = 0, s1 = 0, c1 = 0;
    detail::sincos_2pi_of_unit(u2, &s0, &c0);
    det_sincos_2pi(u2, &s1, &c1);
    bad_sincos += float_as_bits(s0) != float_as_bits(s1) || float_as_bits(c0) != float_as_bits(c1);
  }
  CHECK(bad_log == 0);
  CHECK(bad_sincos == 0);
}

TEST_CASE("Every fill path agrees with sample_element at group edges and odd lengths",
          "[materialize][fill]") {
  // Ranges that start and end at every lane, through each init kind, for every dtype.
  const init_spec specs[] = {init::normal(0.5f, 2.0f),
                             {init_kind::normal_icdf, 0.5f, 2.0f},    // init stream v2
                             {init_kind::normal_icdf16, 0.5f, 2.0f},  // init stream v3
                             init::uniform(-3, 1),
                             init::truncated_normal(0, 1, -2, 2),
                             init::constant(0.25f),
                             init::arange(1, 0.5f),
                             init::rotary_inv_freq(10000, 16),
                             init::zeros(),
                             init::ones()};
  for (dtype t : all_dtypes)
    for (const init_spec& spec : specs) {
      segment s{};
      s.count = 300;
      s.tensor_id = tensor_id_from_name("x");
      s.base = 3;
      s.run = 7;
      s.stride = 13;
      s.init = spec;
      s.type = t;
      std::vector<std::byte> arena(s.bytes());
      for (std::uint64_t b = 0; b < 9; ++b)
        for (std::uint64_t e = s.count - 9; e <= s.count; ++e) {
          std::fill(arena.begin(), arena.end(), std::byte{0xAB});
          fill_segment_range(s, 77, b, e, arena.data());
          std::uint64_t bad = 0;
          for (std::uint64_t k = b; k < e; ++k)
            bad += stored_bits(t, arena.data(), k) != expected_storage_bits(s, 77, k);
          INFO(init_kind_name(spec.kind) << " " << dtype_name(t) << " [" << b << ", " << e << ")");
          CHECK(bad == 0);
          const std::size_t size = dtype_size(t);
          CHECK(std::all_of(arena.begin(), arena.begin() + b * size,
                            [](std::byte x) { return x == std::byte{0xAB}; }));
          CHECK(std::all_of(arena.begin() + e * size, arena.end(),
                            [](std::byte x) { return x == std::byte{0xAB}; }));
        }
    }
}

TEST_CASE("Vectorized Philox carries the group counter into its high word as the scalar one does",
          "[materialize][fill]") {
  // Groups 2^32 - 40 .. 2^32 + 88: the low counter word wraps inside a 16-group vector (elements
  // of a tensor beyond 2^34). Also a tensor id and a seed with high words set.
  for (dtype t : {dtype::f32, dtype::bf16})
    for (const init_spec& spec :
         {init::normal(0, 1), init::uniform(-1, 1), init_spec{init_kind::normal_icdf16, 0, 1}}) {
      segment s{};
      s.count = 4 * 128;
      s.tensor_id = 0xFEDCBA9876543210ull;
      s.base = 4 * ((std::uint64_t{1} << 32) - 40) + 4;  // group-aligned, one group past
      // Init stream v3: block (= 2 groups) 2^32 wraps inside a 16-block vector.
      if (spec.kind == init_kind::normal_icdf16) s.base = 8 * ((std::uint64_t{1} << 32) - 39);
      s.run = s.count;
      s.stride = s.count;
      s.init = spec;
      s.type = t;
      std::vector<std::byte> arena(s.bytes());
      const std::uint64_t seed = 0x0123456789ABCDEFull;
      fill_segment_range(s, seed, 0, s.count, arena.data());
      std::uint64_t bad = 0;
      for (std::uint64_t k = 0; k < s.count; ++k)
        bad += stored_bits(t, arena.data(), k) != expected_storage_bits(s, seed, k);
      INFO(init_kind_name(spec.kind) << " " << dtype_name(t));
      CHECK(bad == 0);
    }
}

TEST_CASE("Materializing by registry name gives the same model as the compile-time layout",
          "[materialize]") {
  // The `blueprint init` command takes this path.
  const model_entry& e = find_model("tiny-llama");
  const dynamic_layout dl = e.make_layout(dtype_policy::bf16(), {});
  constexpr auto sl = layout(models::tiny_llama, dtype_policy::bf16());
  CHECK(materialize(dl, cpu{}, {.source = init{.seed = 1234}}).fingerprint() ==
        materialize(sl, cpu{}, {.source = init{.seed = 1234}}).fingerprint());
}
