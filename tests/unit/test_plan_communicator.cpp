// Tier 2: the communicators that need no MPI or GPU (issue #4): the single-process one, and
// the TCP bootstrap that torchrun-style NCCL launches use, with threads as ranks on loopback.
#include <catch2/catch.hpp>

#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <blueprint/runtime/communicator.hpp>
#include <blueprint/runtime/tcp_bootstrap.hpp>

#include "../support/thread_communicator.hpp"

using namespace blueprint;

TEST_CASE("The single-process communicator is the identity", "[plan][communicator]") {
  single_process_communicator c;
  REQUIRE(c.rank() == 0);
  REQUIRE(c.size() == 1);
  REQUIRE(c.allreduce_sum_u64(42) == 42);
  const std::byte data[3] = {std::byte{1}, std::byte{2}, std::byte{3}};
  const auto all = c.gather_bytes(data, 0);
  REQUIRE(all.size() == 1);
  REQUIRE(all[0].size() == 3);
  REQUIRE(all[0][2] == std::byte{3});
}

TEST_CASE("The TCP bootstrap copies rank 0's bytes to every rank", "[plan][communicator]") {
  constexpr int world = 4;
  const std::uint16_t port = static_cast<std::uint16_t>(29000 + (std::random_device{}() % 2000));
  std::vector<std::vector<std::byte>> blobs(world, std::vector<std::byte>(128, std::byte{0}));
  for (std::size_t i = 0; i < 128; ++i) blobs[0][i] = static_cast<std::byte>(i * 3 + 1);
  std::vector<std::thread> ranks;
  for (int r = 0; r < world; ++r)
    ranks.emplace_back([&, r] {
      tcp_broadcast(
          {.rank = r, .world_size = world, .master_addr = "127.0.0.1", .master_port = port},
          blobs[r]);
    });
  for (std::thread& t : ranks) t.join();
  for (int r = 1; r < world; ++r) REQUIRE(blobs[r] == blobs[0]);
}

TEST_CASE("An agreement step gives every rank the lowest failing rank's message",
          "[communicator]") {
  // Issue 12: a rank that fails must not leave the others waiting; at an agreement step every
  // rank arrives, failed or not, and leaves with the same job_error.
  constexpr int world = 4;
  test::thread_world w(world);
  std::vector<std::string> seen(world);
  std::vector<int> failed_rank(world, -1), failed_ranks(world, 0), results(world, 0);
  std::vector<std::thread> ranks;
  for (int r = 0; r < world; ++r)
    ranks.emplace_back([&, r] {
      test::thread_communicator comm(&w, r);
      // Round 1: everyone succeeds, everyone gets its own result.
      results[r] = agreed_step(comm, [&] { return r * 10; });
      // Round 2: ranks 1 and 3 fail with their own messages.
      try {
        agreed_step(comm, [&] {
          if (r == 1 || r == 3) throw std::runtime_error("bad local copy on " + std::to_string(r));
        });
      } catch (const job_error& e) {
        seen[r] = e.what();
        failed_rank[r] = e.failed_rank();
        failed_ranks[r] = e.failed_ranks();
      }
    });
  for (std::thread& t : ranks) t.join();
  for (int r = 0; r < world; ++r) {
    CHECK(results[r] == r * 10);
    CHECK(seen[r] == "rank 1 of 4: bad local copy on 1; 2 of 4 ranks failed");
    CHECK(failed_rank[r] == 1);
    CHECK(failed_ranks[r] == 2);
  }
}

TEST_CASE("With one rank an agreement step is the step itself", "[communicator]") {
  single_process_communicator alone;
  CHECK(agreed_step(alone, [] { return 7; }) == 7);
  CHECK_THROWS_AS(agreed_step(alone, [] { throw std::out_of_range("x"); }), std::out_of_range);
  CHECK(alone.allreduce_min_u64(5) == 5);
}
