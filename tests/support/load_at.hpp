// Test support: an arena-level load from a path, in one call. The library's arena executor
// (load_arena) takes the key match its caller made; the tests of the executor itself open and
// match here, as materialize() and load(model, ...) do.
#pragma once

#include <span>
#include <string>
#include <utility>

#include <blueprint/runtime/key_match.hpp>
#include <blueprint/runtime/load.hpp>

namespace blueprint::test {

/// Opens `path`, matches its keys under the policies of `source` and loads it into `arena`.
template <Layout L>
load_report load_arena_at(const L& layout, const program& prog, std::span<std::byte> arena,
                          const std::string& path, checkpoint source = {}) {
  source.path = path;
  matched_checkpoint m = match_checkpoint(layout, source);
  return load_arena(layout, prog, arena, *m.files, std::move(m.match), source);
}

}  // namespace blueprint::test
