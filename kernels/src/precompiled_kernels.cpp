// The one translation unit of blueprint::precompiled_kernels: the host entry points of the fill
// loops (kernels/fill.hpp), compiled once for every x86 ISA path instead of in every
// translation unit that materializes. Linking the target defines BLUEPRINT_PRECOMPILED_KERNELS
// for its consumers, who then see declarations only.
#define BLUEPRINT_DEFINE_PRECOMPILED_KERNELS 1
#include <blueprint/kernels/fill.hpp>
