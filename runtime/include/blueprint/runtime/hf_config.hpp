// config.json in, model out: Hugging Face's model description read into a family config record,
// and written back for a saved checkpoint.
//
// `hf::read_config(path)` takes a config.json or a directory holding one, dispatches on
// `model_type` and reads the keys that decide names, shapes and init — both the older and the
// newer transformers spellings (`torch_dtype`/`dtype`, `rope_theta`/`rope_scaling` and
// `rope_parameters`) — with transformers' own default for every absent key (hf_defaults.hpp is
// generated from transformers). A value that would change names or shapes and is not
// supported is an error that names the file, the key, the value and what is supported; it is
// never ignored. `hf::config_json_for(model, dtype)` is the config.json a save writes:
// the source's, with its dtype keys set to the saved dtype, or one generated from a built-in's
// config record, which transformers' from_pretrained opens.
#pragma once

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include <blueprint/codegen/model_layout.hpp>  // layout(hf_model, ...): what a reader wants next
#include <blueprint/dsl/hf_model.hpp>
#include <blueprint/kernels/dtype.hpp>

#include "file_io.hpp"
#include "hf_defaults.hpp"

namespace blueprint::hf {

/// The model_types read, in the order the docs list them.
inline constexpr std::string_view supported_model_types[] = {
    "gpt2",      "llama", "mistral", "mixtral", "qwen2",      "qwen3",
    "qwen3_moe", "gemma", "gemma2",  "phi3",    "deepseek_v3"};

[[nodiscard]] inline std::string supported_model_type_list() {
  std::string s;
  for (std::string_view t : supported_model_types) s += (s.empty() ? "" : ", ") + std::string(t);
  return s;
}

/// The dtype a config names (`dtype`, else `torch_dtype`), if any: "bfloat16" -> bf16.
/// @throws std::invalid_argument naming the value when it is not a dtype Blueprint has
[[nodiscard]] std::optional<dtype> config_dtype(const nlohmann::json& config,
                                                std::string_view source);

/// transformers' name of a dtype ("bfloat16").
[[nodiscard]] inline std::string_view torch_dtype_name(dtype t) {
  switch (t) {
    case dtype::f32:
      return "float32";
    case dtype::bf16:
      return "bfloat16";
    case dtype::f16:
      return "float16";
    case dtype::f8_e4m3fn:
      return "float8_e4m3fn";
    case dtype::f8_e5m2:
      return "float8_e5m2";
  }
  return "float32";
}

namespace detail {

class config_reader {
 public:
  config_reader(const nlohmann::json& config, std::string source, std::string model_type)
      : config_(config), source_(std::move(source)), model_type_(std::move(model_type)) {
    const auto all = nlohmann::json::parse(config_defaults_json);
    defaults_ = all.at(model_type_);
    // Keys transformers derives from others when absent (not fixed defaults).
    if (model_type_ == "llama" || model_type_ == "mistral") defaults_.erase("head_dim");
    if (model_type_ == "llama" || model_type_ == "phi3") defaults_.erase("num_key_value_heads");
  }

  [[nodiscard]] const nlohmann::json* find(std::string_view key) const {
    const std::string k(key);
    if (config_.contains(k) && !config_[k].is_null()) return &config_[k];
    if (defaults_.contains(k) && !defaults_[k].is_null()) return &defaults_[k];
    return nullptr;
  }
  [[nodiscard]] bool present(std::string_view key) const { return find(key) != nullptr; }

  [[noreturn]] void fail(std::string_view key, const std::string& why) const {
    throw std::invalid_argument(source_ + ": " + std::string(key) + ": " + why);
  }
  [[nodiscard]] std::string shown(std::string_view key) const {
    const nlohmann::json* v = find(key);
    return v == nullptr ? "null" : v->dump();
  }

  [[nodiscard]] std::uint64_t count(std::string_view key) const {
    const nlohmann::json* v = find(key);
    if (v == nullptr)
      fail(key, "missing (and transformers has no default for " + model_type_ + ")");
    if (!v->is_number_integer() || v->get<std::int64_t>() < 0)
      fail(key, shown(key) + " is not a non-negative integer");
    return v->get<std::uint64_t>();
  }
  [[nodiscard]] std::uint64_t count_or(std::string_view key, std::uint64_t fallback) const {
    return present(key) ? count(key) : fallback;
  }
  [[nodiscard]] float real(std::string_view key, float fallback) const {
    const nlohmann::json* v = find(key);
    if (v == nullptr) return fallback;
    if (!v->is_number()) fail(key, shown(key) + " is not a number");
    return v->get<float>();
  }
  [[nodiscard]] bool flag(std::string_view key, bool fallback) const {
    const nlohmann::json* v = find(key);
    if (v == nullptr) return fallback;
    if (!v->is_boolean()) fail(key, shown(key) + " is not true or false");
    return v->get<bool>();
  }
  [[nodiscard]] std::int64_t token(std::string_view key) const {
    const nlohmann::json* v = find(key);
    if (v == nullptr) return -1;
    if (v->is_array()) return -1;  // a list of ids: no single padding row (transformers: none)
    if (!v->is_number_integer()) fail(key, shown(key) + " is not an integer token id");
    return v->get<std::int64_t>();
  }

  /// The rope parameters: rope_parameters (transformers 5), else rope_scaling with a
  /// top-level rope_theta (older files), else transformers' defaults.
  struct rope {
    float theta = 10000.0f;
    std::string type = "default";
    nlohmann::json params = nlohmann::json::object();
  };
  [[nodiscard]] rope read_rope() const {
    rope r;
    const auto user = [&](const char* k) -> const nlohmann::json* {
      return config_.contains(k) && !config_[k].is_null() ? &config_[k] : nullptr;
    };
    nlohmann::json params = nlohmann::json::object();
    std::string where = "rope_parameters";
    if (const nlohmann::json* p = user("rope_parameters"); p != nullptr && p->is_object()) {
      params = *p;
    } else if (const nlohmann::json* s = user("rope_scaling"); s != nullptr && s->is_object()) {
      params = *s;
      where = "rope_scaling";
    }
    if (params.contains("type") && !params.contains("rope_type"))
      params["rope_type"] = params["type"];
    float theta = 10000.0f;
    if (defaults_.contains("rope_parameters") && defaults_["rope_parameters"].is_object() &&
        defaults_["rope_parameters"].contains("rope_theta"))
      theta = defaults_["rope_parameters"]["rope_theta"].get<float>();
    if (const nlohmann::json* t = user("rope_theta"); t != nullptr && t->is_number())
      theta = t->get<float>();
    if (params.contains("rope_theta") && params["rope_theta"].is_number())
      theta = params["rope_theta"].get<float>();
    r.theta = theta;
    if (params.contains("rope_type") && params["rope_type"].is_string())
      r.type = params["rope_type"].get<std::string>();
    r.params = params;
    if (params.contains("partial_rotary_factor") && params["partial_rotary_factor"].is_number() &&
        params["partial_rotary_factor"].get<double>() != 1.0)
      fail(where + ".partial_rotary_factor", params["partial_rotary_factor"].dump() +
                                                 " is not supported (only 1.0: the rotary "
                                                 "buffer covers the whole head)");
    if (present("partial_rotary_factor") && find("partial_rotary_factor")->get<double>() != 1.0)
      fail("partial_rotary_factor",
           shown("partial_rotary_factor") + " is not supported (only 1.0)");
    return r;
  }
  [[nodiscard]] float rope_number(const rope& r, const char* key, float fallback) const {
    if (!r.params.contains(key) || r.params[key].is_null()) return fallback;
    if (!r.params[key].is_number())
      fail(std::string("rope_parameters.") + key, r.params[key].dump() + " is not a number");
    return r.params[key].get<float>();
  }

  const std::string& model_type() const { return model_type_; }

 private:
  const nlohmann::json& config_;
  nlohmann::json defaults_;
  std::string source_;
  std::string model_type_;
};

inline dsl::gpt2_config read_gpt2(const config_reader& r) {
  dsl::gpt2_config c;
  c.vocab = r.count("vocab_size");
  c.positions = r.count("n_positions");
  c.hidden = r.count("n_embd");
  c.layers = r.count("n_layer");
  c.heads = r.count("n_head");
  c.ffn = r.count_or("n_inner", 0);
  c.initializer_range = r.real("initializer_range", 0.02f);
  if (!r.flag("tie_word_embeddings", true))
    r.fail("tie_word_embeddings", "false is not supported for gpt2 (lm_head is tied to wte)");
  return c;
}

inline dsl::llama_config read_llama(const config_reader& r) {
  const std::string& type = r.model_type();
  dsl::llama_config c;
  c.vocab = r.count("vocab_size");
  c.hidden = r.count("hidden_size");
  c.layers = r.count("num_hidden_layers");
  c.heads = r.count("num_attention_heads");
  c.kv_heads = r.count_or("num_key_value_heads", c.heads);
  c.ffn = r.count("intermediate_size");
  c.head_dim = r.count_or("head_dim", 0);
  c.tied = r.flag("tie_word_embeddings", false);
  c.initializer_range = r.real("initializer_range", 0.02f);
  c.pad_token = r.token("pad_token_id");
  if (c.pad_token >= 0 && static_cast<std::uint64_t>(c.pad_token) >= c.vocab) c.pad_token = -1;
  if (type == "qwen2") {
    c.qkv_bias = true;  // Qwen2 biases q, k, v always, o never
  } else if (type == "llama" || type == "qwen3" || type == "qwen3_moe" || type == "gemma" ||
             type == "gemma2") {
    c.qkv_bias = c.o_bias = r.flag("attention_bias", false);
  }
  if (type == "llama") c.mlp_bias = r.flag("mlp_bias", false);
  c.qk_norm = type == "qwen3" || type == "qwen3_moe";
  if (type == "gemma") c.norms = dsl::norm_style::gemma;
  if (type == "gemma2") c.norms = dsl::norm_style::gemma2;
  c.fused_projections = type == "phi3";
  if (type == "mixtral") {
    c.experts = r.count("num_local_experts");
    c.moe = dsl::moe_naming::mixtral;
  }
  if (type == "qwen3_moe") {
    // transformers 5 writes num_local_experts (num_experts is its alias).
    c.experts = r.present("num_experts") ? r.count("num_experts") : r.count("num_local_experts");
    c.moe = dsl::moe_naming::qwen;
    c.expert_ffn = r.count("moe_intermediate_size");
    c.moe_every = r.count_or("decoder_sparse_step", 1);
    if (const nlohmann::json* only = r.find("mlp_only_layers");
        only != nullptr && !(only->is_array() && only->empty()))
      r.fail("mlp_only_layers", only->dump() + " is not supported (only [])");
  }
  const config_reader::rope rope = r.read_rope();
  c.rope_theta = rope.theta;
  if (rope.type == "llama3") {
    c.rope_llama3_factor = r.rope_number(rope, "factor", 8.0f);
    c.rope_original_max_positions =
        r.rope_number(rope, "original_max_position_embeddings", 8192.0f);
    if (r.rope_number(rope, "low_freq_factor", 1.0f) != 1.0f ||
        r.rope_number(rope, "high_freq_factor", 4.0f) != 4.0f)
      r.fail("rope_parameters", rope.params.dump() +
                                    ": llama3 rope with low_freq_factor other than 1 or "
                                    "high_freq_factor other than 4 is not supported");
  } else if (rope.type != "default") {
    r.fail("rope_parameters.rope_type",
           "\"" + rope.type + "\" is not supported for " + type +
               " (supported: default, llama3; it changes the rotary inv_freq buffer)");
  }
  return c;
}

inline dsl::deepseek_v3_config read_deepseek_v3(const config_reader& r) {
  dsl::deepseek_v3_config c;
  c.vocab = r.count("vocab_size");
  c.hidden = r.count("hidden_size");
  c.layers = r.count("num_hidden_layers");
  c.heads = r.count("num_attention_heads");
  c.ffn = r.count("intermediate_size");
  c.expert_ffn = r.count("moe_intermediate_size");
  c.routed_experts = r.count_or("n_routed_experts", 0);
  c.shared_experts = r.count_or("n_shared_experts", 0);
  c.first_dense = r.count_or("first_k_dense_replace", 0);
  c.q_lora_rank = r.count_or("q_lora_rank", 0);
  c.kv_lora_rank = r.count("kv_lora_rank");
  c.qk_nope_dim = r.count("qk_nope_head_dim");
  c.qk_rope_dim = r.count("qk_rope_head_dim");
  c.v_head_dim = r.count("v_head_dim");
  c.attention_bias = r.flag("attention_bias", false);
  c.tied = r.flag("tie_word_embeddings", false);
  c.initializer_range = r.real("initializer_range", 0.02f);
  c.pad_token = r.token("pad_token_id");
  if (c.pad_token >= 0 && static_cast<std::uint64_t>(c.pad_token) >= c.vocab) c.pad_token = -1;
  const config_reader::rope rope = r.read_rope();
  c.rope_theta = rope.theta;
  if (rope.type == "yarn") {
    c.yarn_factor = r.rope_number(rope, "factor", 0.0f);
    if (c.yarn_factor <= 0.0f)
      r.fail("rope_parameters.factor", "a yarn rope needs a factor above 0");
    c.yarn_beta_fast = r.rope_number(rope, "beta_fast", 32.0f);
    c.yarn_beta_slow = r.rope_number(rope, "beta_slow", 1.0f);
    if (!rope.params.contains("original_max_position_embeddings"))
      r.fail("rope_parameters.original_max_position_embeddings", "a yarn rope needs it");
    c.yarn_original_max_positions =
        r.rope_number(rope, "original_max_position_embeddings", 4096.0f);
    if (rope.params.contains("truncate") && rope.params["truncate"] != true)
      r.fail("rope_parameters.truncate",
             rope.params["truncate"].dump() + " is not supported (only true)");
  } else if (rope.type != "default") {
    r.fail("rope_parameters.rope_type", "\"" + rope.type +
                                            "\" is not supported for deepseek_v3 (supported: "
                                            "default, yarn)");
  }
  return c;
}

/// A config file's text (a FIFO or device refused before open, file_io.hpp).
inline std::string read_text(const std::filesystem::path& path) {
  const unique_fd fd = blueprint::detail::open_regular_file(path.string());
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0)
    blueprint::detail::throw_errno(path.string(), std::nullopt, "cannot stat");
  constexpr std::uint64_t limit = 64ull << 20;  // a config.json is kilobytes
  const auto size = static_cast<std::uint64_t>(st.st_size);
  if (size > limit)
    throw std::invalid_argument(path.string() + ": " + std::to_string(size) +
                                " bytes, more than a config file can be (64 MiB)");
  std::string text(static_cast<std::size_t>(size), '\0');
  blueprint::detail::pread_all(fd.get(), text.data(), size, 0, path.string());
  return text;
}

}  // namespace detail

inline std::optional<dtype> config_dtype(const nlohmann::json& config, std::string_view source) {
  for (const char* key : {"dtype", "torch_dtype"}) {
    if (!config.contains(key) || config[key].is_null()) continue;
    const std::string name = config[key].is_string() ? config[key].get<std::string>() : "";
    if (name == "float32") return dtype::f32;
    if (name == "bfloat16") return dtype::bf16;
    if (name == "float16") return dtype::f16;
    if (name == "float8_e4m3fn") return dtype::f8_e4m3fn;
    if (name == "float8_e5m2") return dtype::f8_e5m2;
    throw std::invalid_argument(std::string(source) + ": " + key + ": " + config[key].dump() +
                                " is not a dtype Blueprint stores (float32, bfloat16, float16, "
                                "float8_e4m3fn, float8_e5m2)");
  }
  return std::nullopt;
}

/// The model a config.json text describes. `source` names it in errors, `name` is the
/// model's name. @throws std::invalid_argument naming the source, key and value
[[nodiscard]] inline hf_model parse_config(std::string_view text, std::string source,
                                           std::string name) {
  nlohmann::json config;
  try {
    config = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw std::invalid_argument(source + ": not valid JSON (" + e.what() + ")");
  }
  if (!config.is_object()) throw std::invalid_argument(source + ": not a JSON object");
  if (!config.contains("model_type") || !config["model_type"].is_string())
    throw std::invalid_argument(source +
                                ": model_type: missing; supported: " + supported_model_type_list());
  const std::string type = config["model_type"].get<std::string>();
  bool known = false;
  for (std::string_view t : supported_model_types) known = known || t == type;
  if (!known)
    throw std::invalid_argument(source + ": model_type: \"" + type +
                                "\" is not supported; supported: " + supported_model_type_list());
  (void)config_dtype(config, source);  // an unknown dtype is an error here, not at save time
  const detail::config_reader r(config, source, type);
  hf_model m;
  m.name = std::move(name);
  m.model_type = type;
  m.source = source;
  m.config_json = std::string(text);
  if (type == "gpt2")
    m.config = detail::read_gpt2(r);
  else if (type == "deepseek_v3")
    m.config = detail::read_deepseek_v3(r);
  else
    m.config = detail::read_llama(r);
  if (const std::string_view problem = config_problem(m.config); !problem.empty())
    throw std::invalid_argument(source + ": " + std::string(problem));
  if (config.contains("quantization_config") && config["quantization_config"].is_object()) {
    const nlohmann::json& q = config["quantization_config"];
    m.notes.push_back(source + ": quantization_config (" +
                      (q.contains("quant_method") ? q["quant_method"].dump() : std::string("?")) +
                      ") is not applied: the layout is the unquantized model, and a quantized "
                      "checkpoint's scale tensors would be reported as unexpected");
  }
  return m;
}

/// The config.json of `path`: the file itself, or `path/config.json` for a directory.
[[nodiscard]] inline std::filesystem::path config_path(const std::filesystem::path& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return path / "config.json";
  return path;
}

/// The model a config.json (or a model directory holding one) describes; the model's name is
/// its directory's name. generation_config.json beside it is kept for saves.
/// @throws std::invalid_argument / std::runtime_error naming the file
[[nodiscard]] inline hf_model read_config(const std::filesystem::path& path) {
  const std::filesystem::path file = config_path(path);
  std::error_code ec;
  namespace io = blueprint::detail;
  const io::path_status status = io::examine_path(file.string());
  if (status.kind == io::path_kind::not_found)
    throw std::invalid_argument(
        file.string() + ": no such config.json" +
        (std::filesystem::is_directory(path, ec) ? " in the model directory" : ""));
  if (status.kind != io::path_kind::regular_file)
    throw std::invalid_argument(file.string() + ": " +
                                io::unusable_file_reason(file.string(), status));
  std::filesystem::path dir = std::filesystem::absolute(file, ec).parent_path();
  std::string name = dir.filename().string();
  if (name.empty()) name = "model";
  hf_model m = parse_config(detail::read_text(file), file.string(), name);
  const std::filesystem::path generation = file.parent_path() / "generation_config.json";
  if (std::filesystem::is_regular_file(generation, ec))
    m.generation_config_json = detail::read_text(generation);
  return m;
}

/// The dtype the config declares, if any (`--dtype auto`).
[[nodiscard]] inline std::optional<dtype> declared_dtype(const hf_model& m) {
  if (m.config_json.empty()) return std::nullopt;
  return config_dtype(nlohmann::json::parse(m.config_json), m.source);
}

/// config.json for a model generated from its config record (a built-in): the keys
/// transformers needs to build the same model.
[[nodiscard]] inline nlohmann::json generated_config(const hf_model& m) {
  nlohmann::json j;
  j["model_type"] = m.model_type;
  std::visit(
      [&](const auto& c) {
        using C = std::decay_t<decltype(c)>;
        j["initializer_range"] = c.initializer_range;
        if constexpr (std::is_same_v<C, dsl::gpt2_config>) {
          j["architectures"] = {"GPT2LMHeadModel"};
          j["vocab_size"] = c.vocab;
          j["n_positions"] = c.positions;
          j["n_embd"] = c.hidden;
          j["n_layer"] = c.layers;
          j["n_head"] = c.heads;
          j["n_inner"] = c.ffn == 0 ? nlohmann::json(nullptr) : nlohmann::json(c.ffn);
          j["tie_word_embeddings"] = true;
        } else if constexpr (std::is_same_v<C, dsl::llama_config>) {
          j["vocab_size"] = c.vocab;
          j["hidden_size"] = c.hidden;
          j["num_hidden_layers"] = c.layers;
          j["num_attention_heads"] = c.heads;
          j["num_key_value_heads"] = c.kv_heads;
          j["intermediate_size"] = c.ffn;
          j["head_dim"] = c.head_dim != 0 ? c.head_dim : c.hidden / c.heads;
          j["tie_word_embeddings"] = c.tied;
          j["pad_token_id"] = c.pad_token >= 0 ? nlohmann::json(c.pad_token) : nlohmann::json();
          if (m.model_type != "qwen2" && m.model_type != "mistral" && m.model_type != "mixtral" &&
              m.model_type != "phi3")
            j["attention_bias"] = c.o_bias;
          if (m.model_type == "llama") j["mlp_bias"] = c.mlp_bias;
          if (m.model_type == "mixtral") j["num_local_experts"] = c.experts;
          if (m.model_type == "qwen3_moe") {
            j["num_experts"] = c.experts;
            j["moe_intermediate_size"] = c.expert_ffn;
            j["decoder_sparse_step"] = c.moe_every;
            j["mlp_only_layers"] = nlohmann::json::array();
          }
          nlohmann::json rope{{"rope_theta", c.rope_theta}, {"rope_type", "default"}};
          if (c.rope_llama3_factor > 0.0f)
            rope = {{"rope_theta", c.rope_theta},
                    {"rope_type", "llama3"},
                    {"factor", c.rope_llama3_factor},
                    {"low_freq_factor", 1.0},
                    {"high_freq_factor", 4.0},
                    {"original_max_position_embeddings", c.rope_original_max_positions}};
          j["rope_parameters"] = rope;
          j["rope_theta"] = c.rope_theta;
          if (c.rope_llama3_factor > 0.0f) j["rope_scaling"] = rope;
        } else {
          j["vocab_size"] = c.vocab;
          j["hidden_size"] = c.hidden;
          j["num_hidden_layers"] = c.layers;
          j["num_attention_heads"] = c.heads;
          j["num_key_value_heads"] = c.heads;
          j["intermediate_size"] = c.ffn;
          j["moe_intermediate_size"] = c.expert_ffn;
          j["n_routed_experts"] = c.routed_experts;
          j["n_shared_experts"] = c.shared_experts;
          j["first_k_dense_replace"] = c.first_dense;
          j["q_lora_rank"] = c.q_lora_rank == 0 ? nlohmann::json() : nlohmann::json(c.q_lora_rank);
          j["kv_lora_rank"] = c.kv_lora_rank;
          j["qk_nope_head_dim"] = c.qk_nope_dim;
          j["qk_rope_head_dim"] = c.qk_rope_dim;
          j["v_head_dim"] = c.v_head_dim;
          j["attention_bias"] = c.attention_bias;
          j["tie_word_embeddings"] = c.tied;
          nlohmann::json rope{{"rope_theta", c.rope_theta}, {"rope_type", "default"}};
          if (c.yarn_factor > 0.0f)
            rope = {{"rope_theta", c.rope_theta},
                    {"rope_type", "yarn"},
                    {"factor", c.yarn_factor},
                    {"beta_fast", c.yarn_beta_fast},
                    {"beta_slow", c.yarn_beta_slow},
                    {"mscale", 1.0},
                    {"mscale_all_dim", 1.0},
                    {"original_max_position_embeddings", c.yarn_original_max_positions}};
          j["rope_parameters"] = rope;
          j["rope_theta"] = c.rope_theta;
          if (c.yarn_factor > 0.0f) j["rope_scaling"] = rope;
        }
      },
      m.config);
  static const std::map<std::string, std::string, std::less<>> architectures{
      {"llama", "LlamaForCausalLM"},     {"mistral", "MistralForCausalLM"},
      {"mixtral", "MixtralForCausalLM"}, {"qwen2", "Qwen2ForCausalLM"},
      {"qwen3", "Qwen3ForCausalLM"},     {"qwen3_moe", "Qwen3MoeForCausalLM"},
      {"gemma", "GemmaForCausalLM"},     {"gemma2", "Gemma2ForCausalLM"},
      {"phi3", "Phi3ForCausalLM"},       {"deepseek_v3", "DeepseekV3ForCausalLM"}};
  if (const auto it = architectures.find(m.model_type); it != architectures.end())
    j["architectures"] = {it->second};
  return j;
}

/// The config.json a save of `m` in `saved` writes: the source's keys, every one kept, with
/// `dtype` and `torch_dtype` set to the saved dtype; a built-in's generated from its record.
[[nodiscard]] inline std::string config_json_for(const hf_model& m, dtype saved) {
  nlohmann::json j =
      m.config_json.empty() ? generated_config(m) : nlohmann::json::parse(m.config_json);
  j["dtype"] = torch_dtype_name(saved);
  j["torch_dtype"] = torch_dtype_name(saved);
  return j.dump(2) + "\n";
}

}  // namespace blueprint::hf
