// Ranks as threads of one test process: a communicator whose collectives are real rendezvous
// (std::barrier), so that the save protocol and the agreement steps can be tested without
// mpirun. Every collective: each rank deposits its value, all meet, each reads, all meet again.
#pragma once

#include <algorithm>
#include <barrier>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>
#include <vector>

#include <blueprint/runtime/communicator.hpp>

namespace blueprint::test {

/// What the thread ranks of one job share.
struct thread_world {
  explicit thread_world(int n) : size(n), sync(n), values(static_cast<std::size_t>(n)) {}
  int size;
  std::barrier<> sync;
  std::vector<std::uint64_t> values;
  std::vector<std::byte> shared;
};

class thread_communicator final : public communicator {
 public:
  thread_communicator(thread_world* w, int rank) : world_(w), rank_(rank) {}
  [[nodiscard]] int rank() const override { return rank_; }
  [[nodiscard]] int size() const override { return world_->size; }
  [[nodiscard]] std::string_view backend() const override { return "threads"; }

  void barrier() override { world_->sync.arrive_and_wait(); }
  [[nodiscard]] std::uint64_t allreduce_sum_u64(std::uint64_t value) override {
    return reduce(value, [](std::uint64_t a, std::uint64_t b) { return a + b; });
  }
  [[nodiscard]] std::uint64_t allreduce_min_u64(std::uint64_t value) override {
    return reduce(value, [](std::uint64_t a, std::uint64_t b) { return std::min(a, b); });
  }
  [[nodiscard]] std::vector<std::vector<std::byte>> gather_bytes(std::span<const std::byte> mine,
                                                                 int root) override {
    std::vector<std::vector<std::byte>> out;
    for (int r = 0; r < size(); ++r) {
      std::vector<std::byte> piece(mine.begin(), mine.end());
      broadcast_vector(piece, r);
      if (rank_ == root) out.push_back(std::move(piece));
    }
    return out;
  }
  void broadcast(std::span<std::byte> data, int root) override {
    if (rank_ == root) world_->shared.assign(data.begin(), data.end());
    world_->sync.arrive_and_wait();
    if (rank_ != root) std::memcpy(data.data(), world_->shared.data(), data.size());
    world_->sync.arrive_and_wait();
  }

 private:
  thread_world* world_;
  int rank_;

  template <class Op>
  std::uint64_t reduce(std::uint64_t value, Op op) {
    world_->values[static_cast<std::size_t>(rank_)] = value;
    world_->sync.arrive_and_wait();
    std::uint64_t r = world_->values[0];
    for (std::size_t i = 1; i < world_->values.size(); ++i) r = op(r, world_->values[i]);
    world_->sync.arrive_and_wait();
    return r;
  }
  void broadcast_vector(std::vector<std::byte>& v, int root) {
    std::uint64_t n = v.size();
    broadcast(std::as_writable_bytes(std::span<std::uint64_t>(&n, 1)), root);
    v.resize(n);
    broadcast(v, root);
  }
};

}  // namespace blueprint::test
