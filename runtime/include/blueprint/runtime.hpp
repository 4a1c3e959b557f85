// Umbrella header of the runtime component: arenas, CPU materialization, sharded
// materialization, communicators (single process; MPI and NCCL are opt-in headers:
// runtime/mpi_communicator.hpp, runtime/nccl_communicator.hpp), checkpoints, and the CUDA
// materializer (runtime/cuda.hpp: active in .cu translation units, empty elsewhere).
#pragma once

#include "runtime/arena.hpp"
#include "runtime/checkpoints.hpp"
#include "runtime/communicator.hpp"
#include "runtime/cuda.hpp"
#include "runtime/materialize.hpp"
#include "runtime/registry.hpp"
#include "runtime/sharded.hpp"
