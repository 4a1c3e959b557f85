// A minimal TCP exchange for bootstrapping collectives without MPI: rank 0 listens on
// MASTER_ADDR:MASTER_PORT and sends a small blob (a ncclUniqueId) to every other rank.
//
// This is what torchrun-style launches (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR,
// MASTER_PORT in the environment) need before NCCL can form a communicator. It is POSIX
// sockets only, blocking, with a connect-retry deadline; not a general-purpose store.
#pragma once

#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <thread>

namespace blueprint {

/// torchrun's environment contract.
struct launch_environment {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;
  std::string master_addr = "127.0.0.1";
  std::uint16_t master_port = 29500;
};

/// Reads RANK, WORLD_SIZE, LOCAL_RANK (default 0), MASTER_ADDR (default 127.0.0.1) and
/// MASTER_PORT (default 29500); std::nullopt when RANK or WORLD_SIZE is missing.
[[nodiscard]] inline std::optional<launch_environment> read_launch_environment() {
  const char* rank = std::getenv("RANK");
  const char* world = std::getenv("WORLD_SIZE");
  if (!rank || !world) return std::nullopt;
  launch_environment e;
  e.rank = std::atoi(rank);
  e.world_size = std::atoi(world);
  if (const char* v = std::getenv("LOCAL_RANK")) e.local_rank = std::atoi(v);
  if (const char* v = std::getenv("MASTER_ADDR")) e.master_addr = v;
  if (const char* v = std::getenv("MASTER_PORT"))
    e.master_port = static_cast<std::uint16_t>(std::atoi(v));
  if (e.world_size < 1 || e.rank < 0 || e.rank >= e.world_size)
    throw std::invalid_argument("launch environment: RANK must be in [0, WORLD_SIZE)");
  return e;
}

namespace detail {
inline void tcp_fail(const std::string& what) {
  throw std::runtime_error("tcp bootstrap: " + what + ": " + std::strerror(errno));
}
inline void send_all(int fd, const std::byte* p, std::size_t n) {
  while (n > 0) {
    const ssize_t k = ::send(fd, p, n, MSG_NOSIGNAL);
    if (k <= 0) tcp_fail("send");
    p += k;
    n -= static_cast<std::size_t>(k);
  }
}
inline void recv_all(int fd, std::byte* p, std::size_t n) {
  while (n > 0) {
    const ssize_t k = ::recv(fd, p, n, 0);
    if (k <= 0) tcp_fail("recv");
    p += k;
    n -= static_cast<std::size_t>(k);
  }
}
}  // namespace detail

/// Rank 0's `data` copied into every rank's `data` over TCP. Rank 0 binds `port` on all
/// interfaces and serves world_size - 1 connections; the others connect to addr:port,
/// retrying until `timeout`. @pre the same data.size() everywhere
inline void tcp_broadcast(const launch_environment& env, std::span<std::byte> data,
                          std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
  if (env.world_size == 1) return;
  if (env.rank == 0) {
    const int server = ::socket(AF_INET, SOCK_STREAM, 0);
    if (server < 0) detail::tcp_fail("socket");
    const int yes = 1;
    ::setsockopt(server, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_ANY);
    address.sin_port = htons(env.master_port);
    if (::bind(server, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
      ::close(server);
      detail::tcp_fail("bind port " + std::to_string(env.master_port));
    }
    if (::listen(server, env.world_size) != 0) detail::tcp_fail("listen");
    for (int served = 1; served < env.world_size; ++served) {
      const int peer = ::accept(server, nullptr, nullptr);
      if (peer < 0) detail::tcp_fail("accept");
      detail::send_all(peer, data.data(), data.size());
      ::close(peer);
    }
    ::close(server);
    return;
  }
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(env.master_port);
  if (::getaddrinfo(env.master_addr.c_str(), port.c_str(), &hints, &found) != 0 || !found)
    throw std::runtime_error("tcp bootstrap: cannot resolve MASTER_ADDR '" + env.master_addr + "'");
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) detail::tcp_fail("socket");
    if (::connect(fd, found->ai_addr, found->ai_addrlen) == 0) {
      ::freeaddrinfo(found);
      detail::recv_all(fd, data.data(), data.size());
      ::close(fd);
      return;
    }
    ::close(fd);
    if (std::chrono::steady_clock::now() > deadline) {
      ::freeaddrinfo(found);
      detail::tcp_fail("connect to " + env.master_addr + ":" + port + " timed out");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

}  // namespace blueprint
