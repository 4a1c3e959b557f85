// One built-in model as a program that picks models at run time sees it: its name, its
// model_type and its config record. Its table comes from the family function the config
// record belongs to (dsl/hf_model.hpp), built at run time: a program holding the registry
// compiles no model table at all.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <blueprint/codegen/model_layout.hpp>
#include <blueprint/dsl/hf_model.hpp>

namespace blueprint {

struct model_entry {
  std::string_view name;
  std::string_view family;  // the model_type a config.json of this model has
  family_config config;

  /// The model, as a config.json read would give it (without the file's text).
  [[nodiscard]] hf_model model() const {
    hf_model m;
    m.name = std::string(name);
    m.model_type = std::string(family);
    m.config = config;
    return m;
  }
  /// Parameters, as transformers counts them (persistent buffers excluded).
  [[nodiscard]] std::uint64_t parameter_count() const { return table_of(config).parameters; }
  [[nodiscard]] dynamic_layout make_layout(const dtype_policy& policy,
                                           const layout_options& options = {}) const {
    return layout(model(), policy, options);
  }
};

}  // namespace blueprint
