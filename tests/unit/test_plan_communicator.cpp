// Tier 2: the communicators that need no MPI or GPU (issue #4): the single-process one, and
// the TCP bootstrap that torchrun-style NCCL launches use, with threads as ranks on loopback.
#include <catch2/catch.hpp>

#include <random>
#include <thread>
#include <vector>

#include <blueprint/runtime/communicator.hpp>
#include <blueprint/runtime/tcp_bootstrap.hpp>

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
