// Expert groups: the definition table's one record per group of identical experts, and the
// per-expert records every later phase reads.
//
// A mixture of experts repeats the same few tensors for every expert: DeepSeek-V3 has 256 per
// layer, about 45,000 tensors in all. Writing each of them as its own record in constant
// evaluation costs more than g++'s default constexpr operation limit, and they carry nothing
// the group does not. So a family's definition writes one record per group (`experts.*.w1`,
// with `expert_count` set), and this expansion, the only place that spells expert indices,
// turns them into the records a layout, a shard plan and a checkpoint name: `experts.0.w1`,
// `experts.1.w1`, ... in the order a per-expert emission writes them (expert by expert, each
// expert's tensors in declaration order). The same function runs at compile time (a model
// type's `table()`) and at run time (`build_table`), so both get the same records.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include <blueprint/kernels/fingerprint.hpp>

#include "builder.hpp"
#include "tensor_spec.hpp"

namespace blueprint::dsl {

namespace detail {

/// The name before and after the '*' of a grouped record.
struct expert_pattern {
  std::string_view before, after;
};
constexpr expert_pattern split_pattern(std::string_view name) {
#if defined(__clang__)
  // clang: find is one builtin step; a loop would cost Mixtral its constexpr step budget.
  std::size_t star = name.find('*');
  if (star == std::string_view::npos) return {name, {}};
#else
  // g++: a plain loop, since under -fsanitize=undefined g++ 12 cannot constant-evaluate the
  // null check of char_traits::find's pointer into a constexpr table.
  std::size_t star = 0;
  while (star < name.size() && name[star] != '*') ++star;
  if (star == name.size()) return {name, {}};
#endif
  return {name.substr(0, star), name.substr(star + 1)};
}

/// `grouped` as the record of expert `e`: the index in the name, a fresh id.
constexpr void write_expert_record(const tensor_spec& grouped, std::uint32_t e, tensor_spec& out) {
  out = grouped;
  const expert_pattern p = split_pattern(grouped.name());
  const decimal_index index{e};
  if (p.before.size() + index.size + p.after.size() > max_name_size)
    reject_long_name(p.before, p.after);
  char name[max_name_size + 1]{};
  std::size_t k = 0;
  for (char c : p.before) name[k++] = c;
  for (char c : index.text()) name[k++] = c;
  for (char c : p.after) name[k++] = c;
  out.name_storage.assign({name, k});
  out.id = tensor_id_from_name(out.name());
  out.expert = static_cast<std::int32_t>(e);
  out.expert_count = 0;
}

}  // namespace detail

/// Writes the records `definition` stands for into `out` (null: only counts them) and returns
/// their number. A group is a run of records with the same `expert_count` and the same name
/// up to the '*'; a record without `expert_count` is copied as it is.
/// @throws std::length_error (a compile error in constant evaluation) when an expanded name
///         is longer than max_name_size
constexpr std::size_t expand_expert_groups(std::span<const tensor_spec> definition,
                                           tensor_spec* out) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < definition.size();) {
    const tensor_spec& first = definition[i];
    if (first.expert_count == 0) {
      if (out != nullptr) out[n] = first;
      ++n;
      ++i;
      continue;
    }
    const std::string_view head = detail::split_pattern(first.name()).before;
    std::size_t end = i + 1;
    while (end < definition.size() && definition[end].expert_count == first.expert_count &&
           definition[end].name().substr(0, head.size() + 1) ==
               first.name().substr(0, head.size() + 1))
      ++end;
    for (std::uint32_t e = 0; e < first.expert_count; ++e)
      for (std::size_t k = i; k < end; ++k) {
        if (out != nullptr) detail::write_expert_record(definition[k], e, out[n]);
        ++n;
      }
    i = end;
  }
  return n;
}

}  // namespace blueprint::dsl
