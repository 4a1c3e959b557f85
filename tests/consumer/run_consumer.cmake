# Installs the build tree into a fresh prefix, then configures, builds and runs the consumer
# project against that prefix only:
#   cmake -DBUILD_DIR=... -DPROJECT_DIR=... -DWORK_DIR=... -DCXX=... -DTEST_CONFIG=config.json
#         [-DGENERATOR=...]
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
step("configure" ${CMAKE_COMMAND} -S ${PROJECT_DIR} -B ${build} ${generator_args}
     -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_CXX_COMPILER=${CXX} -DCMAKE_BUILD_TYPE=Release
     -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF -DBLUEPRINT_TEST_CONFIG=${TEST_CONFIG})
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
