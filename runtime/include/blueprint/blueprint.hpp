// Blueprint: declare a model at compile time; plan its layout and shards; materialize it.
// This umbrella header includes every component, from the declaration vocabulary down to the
// element kernels.
#pragma once

#include <blueprint/codegen.hpp>
#include <blueprint/dsl.hpp>
#include <blueprint/runtime.hpp>
