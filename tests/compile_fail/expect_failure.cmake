# Compiles one translation unit of the compile-fail suite and checks the verdict.
#
#   cmake -DCOMPILER=<c++> -DSOURCE=<file.cpp> -DINCLUDES="<dir>|<dir>|..." [-DFLAGS="a|b"]
#         -P expect_failure.cmake
#
# SOURCE carries its expectations in comment lines:
#   // expect: <regex>     the compile must fail and every such regex must match its output
#   // expect-success      the compile must succeed (the suite's control)
# The compiler runs with LC_ALL=C so that its quotes are plain ASCII and the regexes portable.
cmake_minimum_required(VERSION 3.25)

foreach(var COMPILER SOURCE INCLUDES)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "expect_failure.cmake: -D${var}=... is required")
  endif()
endforeach()

file(STRINGS "${SOURCE}" expect_lines REGEX "^// expect")
set(expect_success OFF)
set(patterns "")
foreach(line IN LISTS expect_lines)
  if(line MATCHES "^// expect-success")
    set(expect_success ON)
  elseif(line MATCHES "^// expect: (.+)$")
    list(APPEND patterns "${CMAKE_MATCH_1}")
  endif()
endforeach()
if(NOT expect_success AND NOT patterns)
  message(FATAL_ERROR "${SOURCE}: no '// expect: <regex>' line (nor '// expect-success')")
endif()

string(REPLACE "|" ";" include_dirs "${INCLUDES}")
set(args -std=c++20 -fsyntax-only -fno-diagnostics-color)
foreach(dir IN LISTS include_dirs)
  list(APPEND args "-I${dir}")
endforeach()
if(DEFINED FLAGS AND NOT FLAGS STREQUAL "")
  string(REPLACE "|" ";" extra "${FLAGS}")
  list(APPEND args ${extra})
endif()

set(ENV{LC_ALL} C)
execute_process(COMMAND "${COMPILER}" ${args} "${SOURCE}"
                RESULT_VARIABLE rc OUTPUT_VARIABLE output ERROR_VARIABLE output)

get_filename_component(name "${SOURCE}" NAME)
string(LENGTH "${output}" output_length)
if(output_length GREATER 6000)
  string(SUBSTRING "${output}" 0 6000 excerpt)
  string(APPEND excerpt "\n... (${output_length} characters in all)")
else()
  set(excerpt "${output}")
endif()

if(expect_success)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${name}: this declaration must compile, but the compiler failed "
                        "(exit ${rc}):\n${excerpt}")
  endif()
  message(STATUS "${name}: compiles, as expected")
  return()
endif()

if(rc EQUAL 0)
  list(JOIN patterns "\n  " wanted)
  message(FATAL_ERROR "${name}: this broken declaration compiled; it must fail with:\n"
                      "  ${wanted}")
endif()
set(missing "")
foreach(pattern IN LISTS patterns)
  if(NOT output MATCHES "${pattern}")
    string(APPEND missing "  ${pattern}\n")
  endif()
endforeach()
if(missing)
  message(FATAL_ERROR "${name}: the compile failed (exit ${rc}) but its output lacks:\n"
                      "${missing}compiler output:\n${excerpt}")
endif()
list(LENGTH patterns n)
message(STATUS "${name}: fails to compile as expected (${n} patterns matched)")
