// Names as template arguments.
//
// Layer and model names are carried in types (as mp-units does with symbols), so that a
// compile error about a layer shows the layer's name in the instantiation chain, and so that
// checks on names (uniqueness inside a scope) are static_asserts.
#pragma once

#include <cstddef>
#include <string_view>

namespace blueprint {

template <std::size_t N>
struct fixed_string {
  char chars[N]{};  // includes the terminating '\0'

  constexpr fixed_string(const char (&s)[N]) {
    for (std::size_t i = 0; i < N; ++i) chars[i] = s[i];
  }
  [[nodiscard]] constexpr std::size_t size() const { return N - 1; }
  [[nodiscard]] constexpr std::string_view view() const { return {chars, N - 1}; }
  constexpr operator std::string_view() const { return view(); }
};

}  // namespace blueprint
