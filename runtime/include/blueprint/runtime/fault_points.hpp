// Fault injection at the named steps of a load or a save, for the tests of the failure
// semantics (docs/CHECKPOINTS.md "Failure semantics"): a rank that fails while reading, a save
// killed between two renames. Without the environment variable it costs one getenv per step
// (a step is a phase of a load or a save, never an element or a tensor).
//
//   BLUEPRINT_FAULT=POINT[:ACTION][,POINT[:ACTION]...]
//   POINT   validate | read | cast | write | commit | rename | swap | cleanup (the library)
//           fingerprint (the load command, between two agreement steps: the abort path)
//   ACTION  throw (default): the step throws std::runtime_error("injected fault at POINT")
//           crash:           the process ends at once with status 137, as if killed (no
//                            destructors, no cleanup: what a power cut or `kill -9` leaves)
//           pause=MS:        the step sleeps MS milliseconds (to hold a save open in a test)
//
// Per process: under mpirun, a failing rank is given the variable alone
// (`mpirun -np 1 blueprint ... : -np 1 env BLUEPRINT_FAULT=read blueprint ...`).
#pragma once

#include <chrono>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>

namespace blueprint::detail {

/// Acts on BLUEPRINT_FAULT when it names `point` (see the file comment); otherwise nothing.
inline void fault_point(std::string_view point) {
  const char* spec = std::getenv("BLUEPRINT_FAULT");
  if (spec == nullptr || *spec == '\0') return;
  std::string_view rest = spec;
  while (!rest.empty()) {
    const std::size_t comma = rest.find(',');
    std::string_view item = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    const std::size_t colon = item.find(':');
    const std::string_view name = item.substr(0, colon);
    const std::string_view action =
        colon == std::string_view::npos ? std::string_view{"throw"} : item.substr(colon + 1);
    if (name != point) continue;
    if (action == "crash") std::_Exit(137);
    if (action.rfind("pause=", 0) == 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(
          std::strtoul(std::string(action.substr(6)).c_str(), nullptr, 10)));
      continue;
    }
    throw std::runtime_error("injected fault at " + std::string(point) + " (BLUEPRINT_FAULT)");
  }
}

}  // namespace blueprint::detail
