// Umbrella header of the planning component: dtype policies, init resolution, layouts,
// programs, meshes and shard plans.
#pragma once

#include "codegen/device_map.hpp"
#include "codegen/dtype_policy.hpp"
#include "codegen/init_scheme.hpp"
#include "codegen/layout.hpp"
#include "codegen/mesh.hpp"
#include "codegen/plan.hpp"
#include "codegen/plan_options.hpp"
#include "codegen/plan_rules.hpp"
#include "codegen/program.hpp"
