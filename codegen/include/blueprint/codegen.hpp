// Umbrella header of the planning component: dtype policies, init resolution, layouts.
#pragma once

#include "codegen/dtype_policy.hpp"
#include "codegen/init_scheme.hpp"
#include "codegen/layout.hpp"
#include "codegen/program.hpp"
