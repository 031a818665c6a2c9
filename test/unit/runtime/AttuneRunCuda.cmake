# attune-run --device cuda on WORK/cuda.atm (the test artifact with the cpu
# and cuda targets), as a ctest script:
#
#   cmake -DMODE=no-device|time -DATTUNE_RUN=<attune-run> -DWORK=<dir> -P ...
#
# no-device: without a usable driver or device attune-run exits with status
#   1 and writes exactly one line, the probe's, on stderr and nothing on
#   stdout; with -DEXPECT=REGEX that line must match it. Prints
#   "attune-run-cuda: skipped" where a device is present (an error with
#   -DNO_SKIP=ON).
# time: on a GPU, --time-device 5 prints its one line and the results equal
#   the cpu run's. Prints "attune-run-cuda: skipped" without a device (an
#   error with -DNO_SKIP=ON).

foreach(var MODE ATTUNE_RUN WORK)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "AttuneRunCuda.cmake: -D${var}=... is required")
  endif()
endforeach()

set(inputs --weights ${WORK}/w.safetensors --input x=${WORK}/x.npy
           --print-values 8)
set(probe_line "^attune-run: error: CUDA driver[^\n]*\n$")

execute_process(
  COMMAND ${ATTUNE_RUN} ${WORK}/cuda.atm --device cuda ${inputs}
          --time-device 5
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)

if(MODE STREQUAL "no-device")
  if(rc EQUAL 0)
    if(NO_SKIP)
      message(FATAL_ERROR "attune-run --device cuda succeeded; expected it "
                          "to fail: ${out}")
    endif()
    message("attune-run-cuda: skipped: a CUDA device is present")
    return()
  endif()
  string(REGEX MATCHALL "\n" breaks "${err}")
  list(LENGTH breaks lines)
  if(NOT rc EQUAL 1 OR NOT out STREQUAL "" OR NOT lines EQUAL 1
     OR NOT err MATCHES "${probe_line}")
    message(FATAL_ERROR
      "attune-run --device cuda without a device: expected exit status 1, "
      "no output and one line 'attune-run: error: CUDA driver ...' on "
      "stderr; got status ${rc}, stdout '${out}', ${lines} lines on stderr: "
      "'${err}'")
  endif()
  if(DEFINED EXPECT AND NOT err MATCHES "${EXPECT}")
    message(FATAL_ERROR "attune-run --device cuda: expected a line matching "
                        "'${EXPECT}', got '${err}'")
  endif()
  message("attune-run-cuda: ok: ${err}")
elseif(MODE STREQUAL "time")
  if(rc EQUAL 1 AND err MATCHES "${probe_line}" AND NOT NO_SKIP)
    message("attune-run-cuda: skipped: ${err}")
    return()
  endif()
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "attune-run --device cuda failed (status ${rc}): "
                        "${err}${out}")
  endif()
  string(REGEX MATCHALL "attune-run: device time per run: median [0-9]+\\.[0-9][0-9][0-9][0-9] ms, min [0-9]+\\.[0-9][0-9][0-9][0-9] ms over 5 runs\n"
         times "${out}")
  list(LENGTH times n)
  if(NOT n EQUAL 1)
    message(FATAL_ERROR "expected one device time line, got: ${out}")
  endif()
  execute_process(
    COMMAND ${ATTUNE_RUN} ${WORK}/cuda.atm --device cpu ${inputs}
    RESULT_VARIABLE cpu_rc OUTPUT_VARIABLE cpu_out ERROR_VARIABLE cpu_err)
  if(NOT cpu_rc EQUAL 0)
    message(FATAL_ERROR "attune-run on cpu failed (status ${cpu_rc}): "
                        "${cpu_err}")
  endif()
  # The result lines (name, type, mean, abs-max, first values) must agree.
  string(REGEX MATCH "y: [^\n]*\n  values:[^\n]*" gpu_y "${out}")
  string(REGEX MATCH "y: [^\n]*\n  values:[^\n]*" cpu_y "${cpu_out}")
  if(gpu_y STREQUAL "" OR NOT gpu_y STREQUAL cpu_y)
    message(FATAL_ERROR "cuda results differ from cpu results:\n"
                        "cuda: ${gpu_y}\ncpu:  ${cpu_y}")
  endif()
  message("attune-run-cuda: ok: ${times}${gpu_y}")
else()
  message(FATAL_ERROR "AttuneRunCuda.cmake: unknown MODE '${MODE}'")
endif()
