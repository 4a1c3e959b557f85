// Umbrella header of the runtime component.
#pragma once

#include "runtime/registry.hpp"
