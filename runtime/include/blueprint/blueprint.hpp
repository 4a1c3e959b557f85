// Blueprint: declare a model at compile time; plan its layout and shards; materialize it.
// This umbrella header includes every component, from the declaration vocabulary down to the
// element kernels.
#pragma once

#include "codegen.hpp"
#include "dsl.hpp"
#include "runtime.hpp"
