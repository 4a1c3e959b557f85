// The flat tensor record: what every later phase (layout, shard plan, kernels, checkpoints)
// knows about a tensor.
//
// The declaration is heterogeneous (one type per layer kind); flattening lowers it, once, into
// a constexpr std::array of these plain records. They are standard-layout and trivially
// copyable so that plans can be built from them at compile time and at run time by the same
// code, and so that they could be handed to a kernel as they are.
#pragma once

#include <cstdint>
#include <string_view>
#include <type_traits>

#include <blueprint/kernels/init.hpp>

namespace blueprint {

inline constexpr std::size_t max_name_size = 111;  // longest fully-qualified tensor name
inline constexpr std::size_t max_rank = 4;

/// How tensor parallelism splits a tensor, in storage dimensions (DESIGN.md "Layers and
/// roles"). Column-parallel linears and vocab-parallel embeddings split dim 0 of `[out, in]`
/// storage; row-parallel linears split dim 1. GPT-2's Conv1D stores `[in, out]`, so the same
/// semantic role lands on the other storage dimension. Experts are distributed over the `ep`
/// axis by `tensor_spec::expert`, independently of this role.
enum class parallel_role : std::uint8_t { replicated, split_rows, split_cols };

/// What the tensor is, so that init schemes (HF defaults, PyTorch defaults) can be applied by
/// kind and reports can group tensors.
enum class tensor_kind : std::uint8_t {
  weight,       // a linear / Conv1D weight
  bias,         // a linear / Conv1D bias
  embedding,    // an embedding table
  norm_weight,  // LayerNorm / RMSNorm scale
  norm_bias,    // LayerNorm shift
  router,       // a mixture-of-experts router weight
  buffer,       // a deterministic function of the index (e.g. rotary inv_freq)
};

[[nodiscard]] constexpr std::string_view role_name(parallel_role r) {
  switch (r) {
    case parallel_role::replicated:
      return "replicated";
    case parallel_role::split_rows:
      return "split_rows";
    case parallel_role::split_cols:
      return "split_cols";
  }
  return "?";
}

[[nodiscard]] constexpr std::string_view kind_name(tensor_kind k) {
  switch (k) {
    case tensor_kind::weight:
      return "weight";
    case tensor_kind::bias:
      return "bias";
    case tensor_kind::embedding:
      return "embedding";
    case tensor_kind::norm_weight:
      return "norm_weight";
    case tensor_kind::norm_bias:
      return "norm_bias";
    case tensor_kind::router:
      return "router";
    case tensor_kind::buffer:
      return "buffer";
  }
  return "?";
}

/// What the split dimension of an attention tensor is made of, for the shard planner's head
/// rules: query heads (q, o, and fused q/k/v blocks) or key/value heads, which a
/// tensor-parallel degree above their count may replicate.
enum class head_group : std::uint8_t { none, query, key_value };

/// A fixed-capacity name, usable in constexpr arrays.
struct tensor_name {
  char chars[max_name_size + 1]{};
  std::uint8_t length = 0;

  [[nodiscard]] constexpr std::string_view view() const { return {chars, length}; }
  constexpr void assign(std::string_view s) {
    length = static_cast<std::uint8_t>(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) chars[i] = s[i];
    for (std::size_t i = s.size(); i <= max_name_size; ++i) chars[i] = '\0';
  }
};

/// One tensor of the model, as declared.
/// @post numel == product of shape[0..rank); id == tensor_id_from_name(name())
struct tensor_spec {
  tensor_name name_storage;
  std::uint64_t id = 0;  // stable hash of the fully-qualified name
  std::uint8_t rank = 0;
  std::uint64_t shape[max_rank]{};  // row-major, unsharded
  std::uint64_t numel = 0;
  parallel_role role = parallel_role::replicated;
  tensor_kind kind = tensor_kind::weight;
  bool persistent = true;                 // false: a buffer not saved in checkpoints
  std::uint8_t fused = 1;                 // equal sub-blocks along the split dim (fused qkv: 3)
  init_spec init{};                       // as declared: may still be a scheme (kaiming, ...)
  std::uint64_t fan_in = 0, fan_out = 0;  // of the layer (for schemes), 0 when not applicable
  std::uint32_t unit = 0;                 // pipeline / FSDP unit: 0 = before the blocks, then
                                          // one per repeated block, last = after the blocks
  std::int32_t block = -1;                // index of the repeated block, -1 outside blocks
  std::int32_t expert = -1;               // expert index for MoE experts (ep axis), else -1
  std::uint32_t expert_count = 0;         // > 0 only in a definition table: the record stands
                                          // for this many experts, its name holds '*' where
                                          // the index goes (expert_groups.hpp expands it)
  // What the planner needs to know, written by the layer that declares the tensor (never
  // recovered from the name):
  head_group heads = head_group::none;  // the split dim holds whole attention heads
  std::uint32_t head_size = 0;          // their size (rows per head), when heads != none
  bool vocab = false;                   // dim 0 is a vocabulary (embeddings, lm_head): may be
                                        // padded to a multiple of tp
  std::uint64_t blocks[3]{};            // unequal fused sub-blocks along the split dim (Phi-3's
                                        // q, k, v rows); all 0: `fused` equal blocks
  std::int64_t zero_row = -1;           // a row of dim 0 that init sets to zeros (the embedding
                                        // row at pad_token_id), -1: none

  [[nodiscard]] constexpr std::string_view name() const { return name_storage.view(); }
  [[nodiscard]] constexpr std::uint64_t dim(std::size_t i) const { return shape[i]; }
};

/// A second name for an existing tensor (an lm_head tied to the embedding): one tensor,
/// stored once, counted once.
struct tie_spec {
  tensor_name name_storage;
  tensor_name target_storage;
  std::uint32_t target = 0;  // index of the target tensor in the table

  [[nodiscard]] constexpr std::string_view name() const { return name_storage.view(); }
  [[nodiscard]] constexpr std::string_view target_name() const { return target_storage.view(); }
};

static_assert(std::is_standard_layout_v<tensor_spec> && std::is_trivially_copyable_v<tensor_spec>);
static_assert(std::is_standard_layout_v<tie_spec> && std::is_trivially_copyable_v<tie_spec>);

}  // namespace blueprint
