# Installs the attune_runtime component of BUILD_DIR into WORK_DIR/prefix,
# then configures, builds and runs CONSUMER_SOURCE against it.
file(REMOVE_RECURSE ${WORK_DIR})
function(run_step what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out
    ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${what} failed (${rc}):\n${out}")
  endif()
  message(STATUS "${what}: ok")
endfunction()
run_step("install" ${CMAKE_COMMAND} --install ${BUILD_DIR}
  --component attune_runtime --prefix ${WORK_DIR}/prefix)
set(flags)
if(LINKER_FLAGS)
  list(APPEND flags -DCMAKE_EXE_LINKER_FLAGS=${LINKER_FLAGS})
endif()
run_step("configure consumer" ${CMAKE_COMMAND} -S ${CONSUMER_SOURCE}
  -B ${WORK_DIR}/build -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix
  -DCMAKE_C_COMPILER=${C_COMPILER} -DCMAKE_CXX_COMPILER=${CXX_COMPILER}
  -DCMAKE_BUILD_TYPE=Release ${flags})
run_step("build consumer" ${CMAKE_COMMAND} --build ${WORK_DIR}/build)
run_step("run consumer" ${WORK_DIR}/build/consumer)
