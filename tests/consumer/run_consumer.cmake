# Installs the build tree into a fresh prefix, then configures, builds and runs the consumer
# project against that prefix only:
#   cmake -DBUILD_DIR=... -DPROJECT_DIR=... -DWORK_DIR=... -DCXX=... -DTEST_CONFIG=config.json
#         -DTEST_SMALL_CONFIG=config.json [-DGENERATOR=...] [-DLAUNCHER=ccache]
#         -P run_consumer.cmake
cmake_minimum_required(VERSION 3.25)

function(step what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "consumer: ${what} failed (exit ${rc}):\n${out}")
  endif()
  message(STATUS "consumer: ${what}: ok")
  set(step_output "${out}" PARENT_SCOPE)
endfunction()

set(prefix ${WORK_DIR}/prefix)
set(build ${WORK_DIR}/build)
file(REMOVE_RECURSE ${WORK_DIR})

step("cmake --install into ${prefix}" ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix})
if(NOT EXISTS ${prefix}/include/blueprint/blueprint.hpp)
  message(FATAL_ERROR "consumer: the install lacks include/blueprint/blueprint.hpp")
endif()

set(generator_args "")
if(DEFINED GENERATOR AND NOT GENERATOR STREQUAL "")
  set(generator_args -G "${GENERATOR}")
endif()
# CMAKE_FIND_USE_PACKAGE_REGISTRY=OFF: only the fresh prefix may satisfy find_package.
# Release without optimization: this test is about configuring, building, linking and running
# against the installed package, and -O3 of the generated benchmark's body alone takes two
# minutes on one core (12 s at -O0).
step("configure" ${CMAKE_COMMAND} -S ${PROJECT_DIR} -B ${build} ${generator_args}
     -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_CXX_COMPILER=${CXX} -DCMAKE_BUILD_TYPE=Release
     "-DCMAKE_CXX_FLAGS_RELEASE=-O0 -DNDEBUG"
     -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF -DBLUEPRINT_TEST_CONFIG=${TEST_CONFIG}
     -DBLUEPRINT_TEST_SMALL_CONFIG=${TEST_SMALL_CONFIG} "-DCMAKE_CXX_COMPILER_LAUNCHER=${LAUNCHER}")
step("build" ${CMAKE_COMMAND} --build ${build})
step("run" ${build}/consumer)
message(STATUS "${step_output}")
if(NOT step_output MATCHES "consumer: gpt2: 124439808 parameters")
  message(FATAL_ERROR "consumer: unexpected output:\n${step_output}")
endif()
step("run the generated model's program" ${build}/consumer_model)
message(STATUS "${step_output}")
if(NOT step_output MATCHES "consumer: generated qwen3_8b: 8190735360 parameters")
  message(FATAL_ERROR "consumer: unexpected output:\n${step_output}")
endif()

# The generated benchmark, briefly (no timing is asserted): every per-rank benchmark of both
# ranks ran without error and reported its counters, the JSON context names the model and the
# plan, and the seed checkpoint it wrote is gone when it exits.
set(json ${WORK_DIR}/bench.json)
step("run the generated benchmark" ${build}/bench_tiny_qwen3 --benchmark_min_time=0.001
     --benchmark_out=${json} --benchmark_out_format=json)
message(STATUS "${step_output}")
if(NOT step_output MATCHES "writing a seed checkpoint \\(bf16, [0-9.]+ GB\\) to ([^\n]+)")
  message(FATAL_ERROR "consumer: the benchmark did not say where it wrote its seed checkpoint")
endif()
set(seed_dir "${CMAKE_MATCH_1}")
if(EXISTS "${seed_dir}")
  message(FATAL_ERROR "consumer: the seed checkpoint ${seed_dir} is still there after exit")
endif()
file(READ ${json} report)
foreach(key_value "model;tiny_qwen3" "origin;config.json ${TEST_SMALL_CONFIG}" "dtype;bf16"
        "mesh;tp=2" "strategy;fsdp" "world_size;2" "ranks;0,1")
  list(GET key_value 0 key)
  list(GET key_value 1 expected)
  string(JSON value ERROR_VARIABLE missing GET "${report}" context "blueprint.${key}")
  if(NOT value STREQUAL expected)
    message(FATAL_ERROR "consumer: context blueprint.${key} is '${value}', expected '${expected}'")
  endif()
endforeach()
string(JSON count LENGTH "${report}" benchmarks)
set(seen "")
math(EXPR last "${count} - 1")
foreach(i RANGE ${last})
  string(JSON name GET "${report}" benchmarks ${i} name)
  string(JSON failed ERROR_VARIABLE no_error GET "${report}" benchmarks ${i} error_occurred)
  if(failed)
    string(JSON message GET "${report}" benchmarks ${i} error_message)
    message(FATAL_ERROR "consumer: ${name} failed: ${message}")
  endif()
  string(JSON bytes ERROR_VARIABLE no_bytes GET "${report}" benchmarks ${i} bytes_per_second)
  if(NOT name MATCHES "/plan/" AND NOT bytes GREATER 0)
    message(FATAL_ERROR "consumer: ${name} reported no bytes_per_second")
  endif()
  if(name MATCHES "^tiny_qwen3/bf16/tp=2/fsdp/(rank[01]/[a-z_]+)/real_time$")
    list(APPEND seen ${CMAKE_MATCH_1})
  endif()
endforeach()
foreach(rank rank0 rank1)
  foreach(what plan init_warm init_cold memset_warm memset_cold memcpy_warm fingerprint
          load_warm load_cold)
    if(NOT "${rank}/${what}" IN_LIST seen)
      message(FATAL_ERROR "consumer: no ${rank}/${what} benchmark in ${json}")
    endif()
  endforeach()
endforeach()
message(STATUS "consumer: the generated benchmark ran ${count} benchmarks")

# The ranks' fingerprints (the benchmarks' labels) add up, mod 2^64, to the one-device model's,
# which the installed command prints for the same config and seed.
set(sum_low 0)
set(sum_high 0)
foreach(i RANGE ${last})
  string(JSON name GET "${report}" benchmarks ${i} name)
  if(name MATCHES "/rank[01]/fingerprint/")
    string(JSON label GET "${report}" benchmarks ${i} label)
    # (CMake's regular expressions have no {n}: 16 digits are checked by length.)
    if(NOT label MATCHES "^fingerprint 0x([0-9a-f]+)$")
      message(FATAL_ERROR "consumer: ${name}: label '${label}' is not a fingerprint")
    endif()
    set(digits "${CMAKE_MATCH_1}")
    string(LENGTH "${digits}" n)
    if(NOT n EQUAL 16)
      message(FATAL_ERROR "consumer: ${name}: label '${label}' is not 16 hex digits")
    endif()
    string(SUBSTRING "${digits}" 0 8 high)
    string(SUBSTRING "${digits}" 8 8 low)
    math(EXPR sum_high "${sum_high} + 0x${high}")
    math(EXPR sum_low "${sum_low} + 0x${low}")
  endif()
endforeach()
math(EXPR sum_high "(${sum_high} + (${sum_low} >> 32)) & 0xFFFFFFFF" OUTPUT_FORMAT HEXADECIMAL)
math(EXPR sum_low "${sum_low} & 0xFFFFFFFF" OUTPUT_FORMAT HEXADECIMAL)
get_filename_component(small_dir ${TEST_SMALL_CONFIG} DIRECTORY)
step("fingerprint of the one-device model" ${prefix}/bin/blueprint init ${small_dir} --dtype bf16
     --seed 1234)
if(NOT step_output MATCHES "fingerprint +([0-9a-f]+)")
  message(FATAL_ERROR "consumer: blueprint init printed no fingerprint:\n${step_output}")
endif()
# Compared by 32-bit halves: CMake's integers are signed 64-bit.
set(whole "${CMAKE_MATCH_1}")
string(LENGTH "${whole}" n)
while(n LESS 16)
  string(PREPEND whole "0")
  math(EXPR n "${n} + 1")
endwhile()
string(SUBSTRING "${whole}" 0 8 whole_high)
string(SUBSTRING "${whole}" 8 8 whole_low)
math(EXPR whole_high "0x${whole_high}")
math(EXPR whole_low "0x${whole_low}")
math(EXPR sum_high "${sum_high}")
math(EXPR sum_low "${sum_low}")
if(NOT sum_high EQUAL whole_high OR NOT sum_low EQUAL whole_low)
  message(FATAL_ERROR "consumer: the ranks' fingerprints add up to ${sum_high}:${sum_low} "
                      "(32-bit halves), the one-device model's is ${whole}")
endif()
message(STATUS "consumer: the tp=2 ranks' fingerprints add up to the one-device model's (${whole})")
