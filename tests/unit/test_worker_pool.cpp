// The one worker pool (runtime/worker_pool.hpp): every worker runs, the first error wins and
// stops the others, a cancelled progress callback is an error like any other.
#include <catch2/catch.hpp>

#include <atomic>
#include <stdexcept>
#include <string>
#include <thread>

#include <blueprint/runtime/worker_pool.hpp>

using namespace blueprint;

TEST_CASE("run_workers runs every worker once, the caller as worker 0", "[worker_pool]") {
  std::atomic<unsigned> seen{0};
  std::atomic<bool> caller_ran{false};
  const std::thread::id caller = std::this_thread::get_id();
  run_workers(5, [&](unsigned w, worker_control&) {
    seen |= 1u << w;
    if (w == 0) caller_ran = std::this_thread::get_id() == caller;
  });
  CHECK(seen == 0b11111u);
  CHECK(caller_ran);
}

TEST_CASE("the first exception of a worker is rethrown after all have ended, and stops them",
          "[worker_pool]") {
  std::atomic<int> stopped_seen{0};
  std::atomic<int> ended{0};
  CHECK_THROWS_WITH(run_workers(4,
                                [&](unsigned w, worker_control& control) {
                                  if (w == 2) throw std::runtime_error("worker 2 failed");
                                  // The others poll between pieces of work until told to stop.
                                  for (int i = 0; i < 2'000'000 && !control.stopped(); ++i)
                                    std::this_thread::yield();
                                  if (control.stopped()) ++stopped_seen;
                                  ++ended;
                                }),
                    "worker 2 failed");
  CHECK(ended == 3);         // every other worker ended before run_workers returned
  CHECK(stopped_seen == 3);  // and each of them saw the stop request
}

TEST_CASE("a progress callback that returns false cancels the work", "[worker_pool]") {
  std::atomic<int> calls{0};
  const std::function<bool(float)> progress = [&](float f) {
    ++calls;
    return f < 0.5f;
  };
  CHECK_THROWS_WITH(run_workers(2,
                                [&](unsigned, worker_control& control) {
                                  for (std::uint64_t done = 1; done <= 10 && !control.stopped();
                                       ++done)
                                    control.report_progress(progress, done, 10);
                                }),
                    Catch::Contains("cancelled by the progress callback"));
  CHECK(calls >= 1);
}

TEST_CASE("more than max_worker_threads is refused before a thread starts", "[worker_pool]") {
  std::atomic<int> ran{0};
  REQUIRE_THROWS_WITH(
      run_workers(max_worker_threads + 1, [&](unsigned, worker_control&) { ++ran; }),
      Catch::Contains("at most 4096"));
  REQUIRE(ran == 0);
}

TEST_CASE("one worker runs on the caller alone", "[worker_pool]") {
  int runs = 0;
  run_workers(1, [&](unsigned w, worker_control&) { runs += w == 0 ? 1 : 100; });
  CHECK(runs == 1);
}
