// One built-in model as a program that picks models at run time sees it: its name, family,
// parameter count and the function that builds its layout. The table of them (registry.hpp)
// instantiates every built-in model, which costs seconds of compile time; this record alone
// costs nothing, so a program can compile the table once and pass entries around.
#pragma once

#include <cstdint>
#include <string_view>

#include <blueprint/codegen/layout.hpp>

namespace blueprint {

struct model_entry {
  std::string_view name;
  std::string_view family;
  std::uint64_t parameters;
  dynamic_layout (*make_layout)(const dtype_policy&, const layout_options&);
};

}  // namespace blueprint
