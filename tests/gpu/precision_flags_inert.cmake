# The precision flags -prec-div=false and -prec-sqrt=false leave every kernel's PTX unchanged
# (precision_flags.cu says why this matters). Run by ctest where nvcc is found:
#   cmake -DNVCC=nvcc -DSOURCE=precision_flags.cu -DINCLUDE=kernels/include -DWORK=dir
#         -P precision_flags_inert.cmake
cmake_minimum_required(VERSION 3.25)
file(MAKE_DIRECTORY ${WORK})
set(common -std=c++20 -O3 --fmad=false -Xcompiler=-ffp-contract=off -arch=sm_90 -I${INCLUDE}
           -ptx ${SOURCE})
set(variants "default" "approximate")
set(flags_default "")
set(flags_approximate -prec-div=false -prec-sqrt=false)
foreach(v ${variants})
  execute_process(COMMAND ${NVCC} ${common} ${flags_${v}} -o ${WORK}/${v}.ptx
                  RESULT_VARIABLE rc ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "precision flags: nvcc (${v}) failed:\n${err}")
  endif()
  file(STRINGS ${WORK}/${v}.ptx lines)
  # Comments carry the command line; internal symbols a hash of it: neither is code.
  list(FILTER lines EXCLUDE REGEX "^[ \t]*//")
  list(TRANSFORM lines REPLACE "_INTERNAL_[0-9a-f]+_[0-9]+_[A-Za-z0-9_]+_[0-9a-f]+_[0-9]+" "_INTERNAL_")
  set(ptx_${v} "${lines}")
  list(LENGTH lines n)
  message(STATUS "precision flags: ${v}: ${n} PTX lines")
endforeach()
string(REGEX MATCHALL "(div|sqrt)\\.(approx|full)" approx "${ptx_approximate}")
list(LENGTH approx n_approx)
if(NOT ptx_default STREQUAL ptx_approximate)
  list(LENGTH ptx_default n_default)
  set(first "")
  foreach(i RANGE 0 ${n_default})
    list(GET ptx_default ${i} a)
    list(GET ptx_approximate ${i} b)
    if(NOT a STREQUAL b)
      set(first "line ${i}:\n  ${a}\n  ${b}")
      break()
    endif()
  endforeach()
  message(FATAL_ERROR "precision flags: -prec-div=false -prec-sqrt=false change the kernels' "
                      "PTX (${n_approx} approximate div/sqrt); first difference at ${first}")
endif()
message(STATUS "precision flags: the PTX is the same (no approximate div/sqrt)")
