// Matching a checkpoint's keys against a model, once per load: the key report and, per model
// tensor, where its bytes come from.
//
// `match_checkpoint` compares the layout's tensors with the checkpoint's names and shapes and
// decides, per tensor, where its bytes come from: the file (under its own name or, for a tied
// tensor, its alias), or its deterministic init (missing tensors under `init_missing`, and
// non-persistent buffers such as rotary `inv_freq`, which checkpoints do not hold). Strict
// policies turn any missing, unexpected or shape-mismatched tensor into one error that lists
// them all, each with both shapes. The match is handed to the loader (load_program.hpp); no
// load matches keys a second time. `checkpoint_dtype_policy` is the `--dtype auto` policy.
//
// The hub's older layouts load as transformers loads them: a checkpoint whose names lack the
// model's prefix (`transformer.`, `model.`: a base-model save, the original GPT-2 files) or
// carry one more is matched without or with it, and says so in the report; the buffers old
// checkpoints carry that are not parameters (GPT-2's attn.bias / attn.masked_bias masks,
// per-layer rotary_emb.inv_freq) are listed as ignored. Under `missing = init`, a checkpoint
// that matched nothing, or whose names look like the model's under another prefix, is refused:
// the result would be a random model that looks loaded.
#pragma once

#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include <blueprint/codegen/dtype_policy.hpp>
#include <blueprint/codegen/layout.hpp>

#include "checkpoint_files.hpp"
#include "load_report.hpp"
#include "source.hpp"

namespace blueprint {

/// Where one model tensor's bytes come from.
struct tensor_source {
  enum class kind : std::uint8_t { file, init } from = kind::init;
  const checkpoint_entry* entry = nullptr;  // from == file
};

/// The key report and the per-tensor sources (indexed like layout.tensors()).
struct load_match {
  load_report report;
  std::vector<tensor_source> sources;
};

namespace detail {
[[nodiscard]] inline std::vector<std::uint64_t> shape_of(const tensor_spec& s) {
  return {s.shape, s.shape + s.rank};
}

/// The first dotted component of `name` ("model" of "model.layers.0.x"), or "".
[[nodiscard]] inline std::string_view first_component(std::string_view name) {
  const std::size_t dot = name.find('.');
  return dot == std::string_view::npos ? std::string_view{} : name.substr(0, dot);
}

/// How model names become checkpoint names.
struct name_mapping {
  enum class kind : std::uint8_t { same, strip, add } how = kind::same;
  std::string prefix;  // with its trailing '.'

  [[nodiscard]] std::string operator()(std::string_view name) const {
    if (how == kind::strip && name.substr(0, prefix.size()) == prefix)
      return std::string(name.substr(prefix.size()));
    if (how == kind::add) return prefix + std::string(name);
    return std::string(name);
  }
};

/// The mapping under which most persistent model tensors are found (identity on a tie).
template <class Layout>
[[nodiscard]] name_mapping choose_name_mapping(const Layout& layout, const checkpoint_files& ckpt) {
  const auto tensors = layout.tensors();
  std::map<std::string, std::size_t, std::less<>> model_first, ckpt_first;
  for (const placed_tensor& t : tensors) ++model_first[std::string(first_component(t.name()))];
  for (const auto& [name, e] : ckpt.tensors) ++ckpt_first[std::string(first_component(name))];
  const auto most = [](const auto& counts) {
    std::string best;
    std::size_t n = 0;
    for (const auto& [k, c] : counts)
      if (c > n && !k.empty()) best = k, n = c;
    return best;
  };
  const auto found = [&](const name_mapping& m) {
    std::size_t n = 0;
    for (const placed_tensor& t : tensors)
      if (t.spec.persistent && ckpt.find(m(t.name())) != nullptr) ++n;
    return n;
  };
  name_mapping best{};
  std::size_t best_found = found(best);
  const std::string model_prefix = most(model_first), ckpt_prefix = most(ckpt_first);
  if (!model_prefix.empty()) {
    const name_mapping strip{name_mapping::kind::strip, model_prefix + "."};
    if (const std::size_t n = found(strip); n > best_found) best = strip, best_found = n;
  }
  if (!ckpt_prefix.empty() && ckpt_prefix != model_prefix) {
    const name_mapping add{name_mapping::kind::add, ckpt_prefix + "."};
    if (const std::size_t n = found(add); n > best_found) best = add, best_found = n;
  }
  return best;
}

/// Buffers older transformers versions saved that are not parameters of any model here.
[[nodiscard]] inline std::string_view legacy_buffer_reason(std::string_view name) {
  const auto ends = [&](std::string_view suffix) {
    return name.size() > suffix.size() && name.substr(name.size() - suffix.size()) == suffix &&
           name[name.size() - suffix.size() - 1] == '.';
  };
  if (ends("attn.bias") || ends("attn.masked_bias"))
    return "GPT-2's causal-mask buffer, saved by older transformers; not a parameter";
  if (ends("rotary_emb.inv_freq"))
    return "a rotary buffer, saved per layer by older transformers; computed instead";
  return {};
}

/// Byte-compares two tensors of the checkpoint through a bounded buffer.
[[nodiscard]] inline bool same_bytes(const checkpoint_files& c, const checkpoint_entry& a,
                                     const checkpoint_entry& b) {
  if (a.info->type != b.info->type || a.info->shape != b.info->shape) return false;
  const safetensors_file& fa = c.file_of(a);
  const safetensors_file& fb = c.file_of(b);
  constexpr std::uint64_t block = 1 << 20;
  std::vector<unsigned char> x(block), y(block);
  for (std::uint64_t done = 0; done < a.info->bytes(); done += block) {
    const std::uint64_t n = std::min(block, a.info->bytes() - done);
    pread_all(fa.fd.get(), x.data(), n, fa.header.data_start + a.info->begin + done, fa.path);
    pread_all(fb.fd.get(), y.data(), n, fb.header.data_start + b.info->begin + done, fb.path);
    if (std::memcmp(x.data(), y.data(), n) != 0) return false;
  }
  return true;
}
/// `missing = init` would initialize what should have loaded: nothing matched, or most missing
/// tensors have an unexpected twin under another first name component.
inline void refuse_unmatched(const load_report& r) {
  std::set<std::string, std::less<>> unexpected_rest;
  std::string their_prefix;
  for (const report_tensor& u : r.unexpected) {
    const std::string_view f = first_component(u.name);
    if (f.empty()) continue;
    unexpected_rest.insert(u.name.substr(f.size() + 1));
    if (their_prefix.empty()) their_prefix = std::string(f);
  }
  std::size_t twins = 0;
  std::string our_prefix;
  for (const report_tensor& m : r.missing) {
    const std::string_view f = first_component(m.name);
    if (f.empty()) continue;
    if (unexpected_rest.count(m.name.substr(f.size() + 1))) ++twins;
    if (our_prefix.empty()) our_prefix = std::string(f);
  }
  const bool nothing = r.loaded == 0;
  const bool renamed = twins > 0 && 2 * twins >= r.missing.size();
  if (!nothing && !renamed) return;
  std::string why =
      nothing ? "no checkpoint tensor matched the model (" + std::to_string(r.missing.size()) +
                    " missing, " + std::to_string(r.unexpected.size()) + " unexpected)"
              : std::to_string(twins) + " of the " + std::to_string(r.missing.size()) +
                    " missing tensors are in the checkpoint under another prefix";
  if (renamed)
    why += "; the checkpoint's names begin '" + their_prefix + ".' where the model's begin '" +
           our_prefix + ".' — a prefix mismatch is the likely cause";
  throw checkpoint_key_error(
      r, "refusing --missing init: " + why +
             ", so the model would be randomly initialized rather than loaded. Check MODEL "
             "against the checkpoint, or pass --allow-unmatched (C++: checkpoint::allow_unmatched) "
             "to initialize anyway");
}

}  // namespace detail

/// Compares the model with the checkpoint; reads headers only (and, for a tied tensor stored
/// under both names, compares the two copies). Throws checkpoint_key_error under the strict
/// policies when anything is missing, unexpected or mismatched.
template <class Layout>
[[nodiscard]] load_match match_checkpoint(const Layout& layout, const checkpoint_files& ckpt,
                                          const checkpoint& options = {}) {
  load_match m;
  load_report& r = m.report;
  r.checkpoint = ckpt.root;
  r.files = ckpt.files.size();
  r.warnings = ckpt.warnings;
  const auto tensors = layout.tensors();
  m.sources.resize(tensors.size());
  std::set<std::string, std::less<>> claimed;  // checkpoint names the model accounts for
  std::map<std::string, std::size_t> cast_counts;
  const detail::name_mapping in_file = detail::choose_name_mapping(layout, ckpt);
  if (in_file.how == detail::name_mapping::kind::strip)
    r.prefix = "the checkpoint's names lack the model's '" + in_file.prefix +
               "' prefix (a base-model save, or an older layout): matched without it";
  else if (in_file.how == detail::name_mapping::kind::add)
    r.prefix = "the checkpoint's names carry a '" + in_file.prefix +
               "' prefix the model's lack: matched with it";
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const placed_tensor& t = tensors[i];
    const std::string name(t.name());
    const std::string file_name = in_file(name);
    const checkpoint_entry* own = ckpt.find(file_name);
    if (!t.spec.persistent) {
      if (own != nullptr) {
        claimed.insert(file_name);
        r.ignored.push_back(name + " (a non-persistent buffer: always initialized)");
      }
      r.initialized.push_back(name + " (non-persistent buffer)");
      continue;
    }
    // Aliases (ties) whose target is this tensor.
    const checkpoint_entry* chosen = own;
    std::string chosen_name = file_name;
    for (const tie_spec& tie : layout.ties()) {
      if (tie.target != i) continue;
      const std::string alias(tie.name());
      const checkpoint_entry* a = ckpt.find(in_file(alias));
      if (a == nullptr) a = ckpt.find(alias);
      if (a == nullptr) {
        r.tied.push_back(alias + " -> " + name +
                         ": omitted from the checkpoint (as Hugging Face saves it)");
        continue;
      }
      claimed.insert(ckpt.find(in_file(alias)) != nullptr ? in_file(alias) : alias);
      if (chosen == nullptr) {
        chosen = a;
        chosen_name = alias;
        r.tied.push_back(alias + " -> " + name + ": loaded from '" + alias + "'");
      } else if (detail::same_bytes(ckpt, *chosen, *a)) {
        r.tied.push_back(alias + " -> " + name + ": present and equal, loaded once");
      } else {
        r.mismatched.push_back({alias + " (tied to " + name + ", but its values differ)",
                                detail::shape_of(t.spec), a->info->shape});
      }
    }
    if (chosen == nullptr) {
      r.missing.push_back({name, detail::shape_of(t.spec), std::string(dtype_name(t.type))});
      if (options.missing == missing_policy::init) r.initialized.push_back(name + " (missing)");
      continue;
    }
    claimed.insert(chosen_name);
    if (chosen->info->shape != detail::shape_of(t.spec)) {
      r.mismatched.push_back({name, detail::shape_of(t.spec), chosen->info->shape});
      if (options.mismatched == mismatch_policy::init)
        r.initialized.push_back(name + " (shape mismatch)");
      continue;
    }
    if (!st_dtype_is_float(chosen->info->type))
      throw checkpoint_error(ckpt.file_of(*chosen).path, chosen_name,
                             ckpt.file_of(*chosen).header.data_start + chosen->info->begin,
                             "dtype " + std::string(st_dtype_name(chosen->info->type)) +
                                 " cannot be cast to the model's " +
                                 std::string(dtype_name(t.type)) +
                                 " (only float sources are cast)");
    if (to_storage_dtype(chosen->info->type) != t.type)
      ++cast_counts[std::string(st_dtype_name(chosen->info->type)) + " -> " +
                    std::string(dtype_name(t.type))];
    m.sources[i] = {tensor_source::kind::file, chosen};
    ++r.loaded;
  }
  for (const auto& [name, e] : ckpt.tensors) {
    if (claimed.count(name)) continue;
    if (const std::string_view why = detail::legacy_buffer_reason(name); !why.empty()) {
      r.ignored.push_back(name + " (" + std::string(why) + ")");
      continue;
    }
    r.unexpected.push_back({name, e.info->shape, std::string(st_dtype_name(e.info->type))});
  }
  for (const auto& [what, n] : cast_counts)
    r.casts.push_back(what + ": " + std::to_string(n) + (n == 1 ? " tensor" : " tensors"));
  const bool fail = (!r.missing.empty() && options.missing == missing_policy::error) ||
                    (!r.unexpected.empty() && options.unexpected_is_error()) ||
                    (!r.mismatched.empty() && options.mismatched == mismatch_policy::error);
  if (fail) throw checkpoint_key_error(r);
  if (options.missing == missing_policy::init && !options.allow_unmatched && !r.missing.empty())
    detail::refuse_unmatched(r);
  return m;
}

/// The dtype policy that stores every tensor in the checkpoint's dtype (`--dtype auto`): the
/// most common dtype (by bytes) as the default, then per-kind and per-name overrides for the
/// rest. Tensors the checkpoint lacks (and buffers) take the default. F64 maps to f32.
/// Throws std::invalid_argument if the checkpoint's dtypes need more overrides than a policy holds.
template <class Layout>
[[nodiscard]] dtype_policy checkpoint_dtype_policy(const Layout& layout,
                                                   const checkpoint_files& ckpt) {
  const auto tensors = layout.tensors();
  std::vector<std::optional<dtype>> want(tensors.size());
  std::map<dtype, std::uint64_t> bytes;
  const detail::name_mapping in_file = detail::choose_name_mapping(layout, ckpt);
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const checkpoint_entry* e = ckpt.find(in_file(tensors[i].name()));
    for (const tie_spec& tie : layout.ties())
      if (e == nullptr && tie.target == i) e = ckpt.find(tie.name());
    if (e == nullptr || !st_dtype_is_float(e->info->type)) continue;
    want[i] = to_storage_dtype(e->info->type).value_or(dtype::f32);
    bytes[*want[i]] += e->info->bytes();
  }
  dtype_policy p = dtype_policy::f32();
  std::uint64_t best = 0;
  for (const auto& [t, n] : bytes)
    if (n > best) best = n, p.default_type = t;
  // Kinds whose tensors all agree on another dtype.
  for (std::uint8_t k = 0; k <= static_cast<std::uint8_t>(tensor_kind::buffer); ++k) {
    std::optional<dtype> common;
    bool uniform = true, any = false;
    for (std::size_t i = 0; i < tensors.size(); ++i) {
      if (static_cast<std::uint8_t>(tensors[i].spec.kind) != k || !want[i]) continue;
      any = true;
      if (common && *common != *want[i]) uniform = false;
      common = want[i];
    }
    if (any && uniform && *common != p.default_type) {
      if (p.override_count == dtype_policy::max_overrides)
        throw std::invalid_argument(
            "dtype auto: the checkpoint mixes too many dtypes for a dtype policy");
      p = p.with_kind(static_cast<tensor_kind>(k), *common);
    }
  }
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    if (!want[i] || p.resolve(tensors[i].spec) == *want[i]) continue;
    if (p.override_count == dtype_policy::max_overrides || tensors[i].name().size() >= 64)
      throw std::invalid_argument("dtype auto: cannot express the checkpoint's dtype of '" +
                                  std::string(tensors[i].name()) +
                                  "' in a dtype policy; pass --dtype");
    p = p.with(tensors[i].name(), *want[i]);
  }
  return p;
}

/// An opened checkpoint and its key match (the match points into the files' tables).
struct matched_checkpoint {
  std::shared_ptr<const checkpoint_files> files;
  load_match match;
};

/// Opens and validates the checkpoint of `source` (headers, index; or takes `source.opened`)
/// and matches its keys: the first step of every load, before anything is allocated or written.
/// @throws checkpoint_error (format), checkpoint_key_error (strict policies)
template <class Layout>
[[nodiscard]] matched_checkpoint match_checkpoint(const Layout& layout, const checkpoint& source) {
  matched_checkpoint m;
  m.files =
      source.opened
          ? source.opened
          : std::make_shared<const checkpoint_files>(open_checkpoint(source.path, source.limits));
  m.match = match_checkpoint(layout, *m.files, source);
  return m;
}

/// The key report alone: headers and names, no tensor data (`blueprint verify`). Never throws
/// for key problems; they are in the report.
template <class Layout>
[[nodiscard]] load_report verify_checkpoint(const Layout& layout, const std::string& path,
                                            const st_read_limits& limits = {}) {
  const checkpoint_files ckpt = open_checkpoint(path, limits);
  checkpoint o;
  o.missing = missing_policy::init;
  o.unexpected = unexpected_policy::report;
  o.mismatched = mismatch_policy::init;
  o.allow_unmatched = true;
  load_report r = match_checkpoint(layout, ckpt, o).report;
  r.initialized.clear();
  return r;
}

}  // namespace blueprint
