// `blueprint codegen CONFIG [--name N] [--namespace NS] [-o FILE]`: a config.json (or a model
// directory) as a small, readable C++ header — the family's config record spelled out field by
// field (each with the config.json key it came from), the compile-time model type through the
// family template, an `inline constexpr` object, and static_asserts of the parameter and tensor
// counts computed now, from the run-time table of the same family definition. A header edited
// by hand, or a family that changes later, then fails to compile with a sentence that says so.
//
// The config is read by the run-time reader (hf::read_config), so a config.json that the
// run-time path refuses is refused here with the same error. Output is deterministic (same
// input, same bytes) and laid out as clang-format would lay it out (aligned comments).
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include <blueprint/codegen/model_layout.hpp>
#include <blueprint/runtime/hf_config.hpp>

#include "cli.hpp"

namespace blueprint::cli {
namespace {

struct codegen_args {
  std::string config, name, name_space = "models", output;
};

/// One field of a config record: its C++ designator, value and the config.json key it reflects.
struct field {
  std::string name, value, key;
};

std::string number(std::uint64_t v) {
  return std::to_string(v);
}
std::string number(std::int64_t v) {
  return std::to_string(v);
}
std::string number(bool v) {
  return v ? "true" : "false";
}
/// The shortest decimal that reads back as the same float, with an f suffix.
std::string number(float v) {
  char buf[64];
  for (int digits = 1; digits <= 9; ++digits) {
    std::snprintf(buf, sizeof buf, "%.*g", digits, static_cast<double>(v));
    if (std::strtof(buf, nullptr) == v) break;
  }
  std::string s = buf;
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  return s + "f";
}

std::vector<field> fields_of(const dsl::gpt2_config& c) {
  return {{"vocab", number(c.vocab), "vocab_size"},
          {"positions", number(c.positions), "n_positions"},
          {"hidden", number(c.hidden), "n_embd"},
          {"layers", number(c.layers), "n_layer"},
          {"heads", number(c.heads), "n_head"},
          {"initializer_range", number(c.initializer_range), "initializer_range"},
          {"ffn", number(c.ffn), "n_inner (0: 4 * n_embd)"}};
}

std::vector<field> fields_of(const dsl::llama_config& c) {
  const char* moe = c.moe == dsl::moe_naming::mixtral ? "mixtral" : "qwen";
  const char* norms = c.norms == dsl::norm_style::llama   ? "llama"
                      : c.norms == dsl::norm_style::gemma ? "gemma"
                                                          : "gemma2";
  return {{"vocab", number(c.vocab), "vocab_size"},
          {"hidden", number(c.hidden), "hidden_size"},
          {"layers", number(c.layers), "num_hidden_layers"},
          {"heads", number(c.heads), "num_attention_heads"},
          {"kv_heads", number(c.kv_heads), "num_key_value_heads"},
          {"ffn", number(c.ffn), "intermediate_size"},
          {"head_dim", number(c.head_dim), "head_dim (0: hidden_size / num_attention_heads)"},
          {"experts", number(c.experts), "num_local_experts / num_experts"},
          {"tied", number(c.tied), "tie_word_embeddings"},
          {"qkv_bias", number(c.qkv_bias), "attention_bias (qwen2: always)"},
          {"initializer_range", number(c.initializer_range), "initializer_range"},
          {"rope_theta", number(c.rope_theta), "rope_theta / rope_parameters"},
          {"rope_llama3_factor", number(c.rope_llama3_factor), "rope_scaling.factor (llama3)"},
          {"rope_original_max_positions", number(c.rope_original_max_positions),
           "rope_scaling.original_max_position_embeddings"},
          {"o_bias", number(c.o_bias), "attention_bias"},
          {"mlp_bias", number(c.mlp_bias), "mlp_bias"},
          {"qk_norm", number(c.qk_norm), "model_type qwen3 / qwen3_moe"},
          {"moe", std::string("blueprint::dsl::moe_naming::") + moe, "model_type"},
          {"expert_ffn", number(c.expert_ffn), "moe_intermediate_size"},
          {"moe_every", number(c.moe_every), "decoder_sparse_step"},
          {"norms", std::string("blueprint::dsl::norm_style::") + norms, "model_type"},
          {"fused_projections", number(c.fused_projections), "model_type phi3"},
          {"pad_token", number(c.pad_token), "pad_token_id (-1: none)"}};
}

std::vector<field> fields_of(const dsl::deepseek_v3_config& c) {
  return {{"vocab", number(c.vocab), "vocab_size"},
          {"hidden", number(c.hidden), "hidden_size"},
          {"layers", number(c.layers), "num_hidden_layers"},
          {"heads", number(c.heads), "num_attention_heads"},
          {"ffn", number(c.ffn), "intermediate_size"},
          {"expert_ffn", number(c.expert_ffn), "moe_intermediate_size"},
          {"routed_experts", number(c.routed_experts), "n_routed_experts"},
          {"shared_experts", number(c.shared_experts), "n_shared_experts"},
          {"first_dense", number(c.first_dense), "first_k_dense_replace"},
          {"q_lora_rank", number(c.q_lora_rank), "q_lora_rank (0: a plain q_proj)"},
          {"kv_lora_rank", number(c.kv_lora_rank), "kv_lora_rank"},
          {"qk_nope_dim", number(c.qk_nope_dim), "qk_nope_head_dim"},
          {"qk_rope_dim", number(c.qk_rope_dim), "qk_rope_head_dim"},
          {"v_head_dim", number(c.v_head_dim), "v_head_dim"},
          {"attention_bias", number(c.attention_bias), "attention_bias"},
          {"tied", number(c.tied), "tie_word_embeddings"},
          {"initializer_range", number(c.initializer_range), "initializer_range"},
          {"rope_theta", number(c.rope_theta), "rope_theta"},
          {"yarn_factor", number(c.yarn_factor), "rope_scaling.factor (yarn)"},
          {"yarn_beta_fast", number(c.yarn_beta_fast), "rope_scaling.beta_fast"},
          {"yarn_beta_slow", number(c.yarn_beta_slow), "rope_scaling.beta_slow"},
          {"yarn_original_max_positions", number(c.yarn_original_max_positions),
           "rope_scaling.original_max_position_embeddings"},
          {"pad_token", number(c.pad_token), "pad_token_id (-1: none)"}};
}

/// "Qwen3-8B" -> "qwen3_8b": a C++ identifier.
std::string identifier(const std::string& name) {
  std::string id;
  for (char ch : name) {
    const auto u = static_cast<unsigned char>(ch);
    id += std::isalnum(u) ? static_cast<char>(std::tolower(u)) : '_';
  }
  if (id.empty() || std::isdigit(static_cast<unsigned char>(id[0]))) id = "model_" + id;
  return id;
}

/// 8190735360 -> "8'190'735'360".
std::string grouped(std::uint64_t v) {
  std::string digits = std::to_string(v), out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i != 0 && (digits.size() - i) % 3 == 0) out += '\'';
    out += digits[i];
  }
  return out;
}

std::string generate(const codegen_args& a) {
  hf_model m = hf::read_config(a.config);
  const std::string name = a.name.empty() ? m.name : a.name;
  const std::string id = identifier(name);
  for (char ch : a.name_space)
    if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == ':'))
      throw std::invalid_argument("--namespace '" + a.name_space + "': not a C++ namespace name");
  if (name.find('"') != std::string::npos || name.find('\\') != std::string::npos)
    throw std::invalid_argument("--name '" + name + "': no quotes or backslashes");
  const dynamic_layout l = layout(m, dtype_policy::f32());
  const std::uint64_t parameters = l.parameter_count(), tensors = l.size();

  struct family_text {
    std::string config_type, model_template, header;
    std::vector<field> fields;
  };
  const family_text family = std::visit(
      [](const auto& c) -> family_text {
        using C = std::decay_t<decltype(c)>;
        if constexpr (std::is_same_v<C, dsl::gpt2_config>)
          return {"gpt2_config", "gpt2", "gpt2", fields_of(c)};
        else if constexpr (std::is_same_v<C, dsl::llama_config>)
          return {"llama_config", "llama", "llama", fields_of(c)};
        else
          return {"deepseek_v3_config", "deepseek_v3", "deepseek", fields_of(c)};
      },
      m.config);

  std::string h;
  h += "// Generated by `blueprint codegen` — do not edit; regenerate. From:\n//   " + a.config +
       " (model_type \"" + m.model_type + "\")\n";
  h += "// The config record below is config.json as Blueprint reads it (transformers' defaults "
       "for\n// absent keys); the static_asserts hold the counts computed when it was "
       "generated.\n";
  h += "#pragma once\n\n#include <blueprint/dsl/families/" + family.header + ".hpp>\n\nnamespace " +
       a.name_space + " {\n\n";
  h += "inline constexpr blueprint::dsl::" + family.config_type + " " + id + "_config{\n";
  // Trailing comments aligned, as clang-format aligns them.
  std::size_t width = 0;
  for (const field& f : family.fields) width = std::max(width, f.name.size() + f.value.size());
  for (const field& f : family.fields)
    h += "    ." + f.name + " = " + f.value + "," +
         std::string(width - f.name.size() - f.value.size() + 2, ' ') + "// " + f.key + "\n";
  h += "};\n";
  h += "using " + id + "_t = blueprint::dsl::" + family.model_template + "<\"" + name + "\", " +
       id + "_config>;\n";
  h += "inline constexpr " + id + "_t " + id + "{};\n\n";
  const auto check = [&](const std::string& expression, const std::string& what) {
    h += "static_assert(" + expression + ",\n              \"" + id + ": the " + what +
         " differs from the one this header was generated \"\n              \"with (the "
         "header was edited, or the family changed): regenerate it with \"\n              "
         "\"blueprint codegen\");\n";
  };
  check(id + "_t::parameter_count() == " + grouped(parameters) + "ull", "parameter count");
  check(id + "_t::tensor_count == " + grouped(tensors) + "ull", "tensor count");
  h += "\n";
  h += "}  // namespace " + a.name_space + "\n";
  return h;
}

int run_codegen(const codegen_args& a) {
  const std::string text = generate(a);
  if (a.output.empty() || a.output == "-") {
    std::fwrite(text.data(), 1, text.size(), stdout);
    return 0;
  }
  // Written whole to a temporary name, then renamed: a build never sees half a header, and an
  // unchanged header keeps its timestamp (no rebuild of what includes it).
  {
    std::ifstream old(a.output, std::ios::binary);
    std::string current((std::istreambuf_iterator<char>(old)), std::istreambuf_iterator<char>());
    if (old && current == text) return 0;
  }
  const std::string temp = a.output + ".blueprint-partial";
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    if (!out) throw std::runtime_error(temp + ": cannot be written");
  }
  std::error_code ec;
  std::filesystem::rename(temp, a.output, ec);
  if (ec) throw std::runtime_error(a.output + ": cannot be written: " + ec.message());
  return 0;
}

void setup(CLI::App& app, int& exit_code) {
  CLI::App* sub = app.add_subcommand(
      "codegen", "a config.json as a C++ header: config record, model type, counts asserted");
  auto a = std::make_shared<codegen_args>();
  sub->add_option("CONFIG", a->config, "a config.json, or a model directory holding one")
      ->required();
  sub->add_option("--name", a->name, "the model's name (default: its directory's name)");
  sub->add_option("--namespace", a->name_space, "the C++ namespace of the declarations")
      ->capture_default_str();
  sub->add_option("-o,--output", a->output, "the header to write (default: standard output)");
  sub->callback([&exit_code, a] { exit_code = run_codegen(*a); });
}

const bool registered = register_command({"codegen", setup});

}  // namespace
}  // namespace blueprint::cli
