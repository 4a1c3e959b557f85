// Compiled to PTX twice by precision_flags_inert.cmake (a ctest, no GPU needed): with the
// project's flags, and with -prec-div=false -prec-sqrt=false added. Every division and square
// root on the device goes through __fdiv_rn / __fsqrt_rn (math.hpp det_div / det_sqrt), so the
// two PTX files must be the same instruction for instruction: the flags, which no run-time
// probe could tell apart from correct rounding on a few inputs, cannot change a stored bit.
// (-ftz=true and --fmad=true do change bits; the float-mode probe catches them at run time.)
#include "rdc_link_uses.cuh"

int precision_flags_kernels() {
  return rdc_link::launchers_used();
}
