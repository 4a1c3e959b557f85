// Umbrella header of the runtime component: arenas, CPU materialization, sharded
// materialization, communicators (single process; MPI and NCCL are opt-in headers:
// runtime/mpi_communicator.hpp, runtime/nccl_communicator.hpp), checkpoints, and the CUDA
// materializer (runtime/cuda.hpp: active in .cu translation units, empty elsewhere).
// The registry of built-in models by name (runtime/registry.hpp) is not included: it builds
// every built-in table, which costs seconds of compile time.
#pragma once

#include "runtime/arena.hpp"
#include "runtime/communicator.hpp"
#include "runtime/cuda.hpp"
#include "runtime/device_map.hpp"
#include "runtime/device_map_report.hpp"
#include "runtime/materialize.hpp"
#include "runtime/save_model.hpp"
