#!/usr/bin/env bash
# Issue 4's whole device check in one call of the session's `run` tool, on
# the GPU machine (CUDA and PyTorch, no LLVM), inside its 600 s limit:
#   1. the device (nvidia-smi),
#   2. GpuNumericsTest: every GPU case against its bound, bitwise repeats,
#   3. CudaDeviceTest: the runtime's CUDA device on hand-written kernels,
#   4. bench/gpu/bench_gpu.py with the time that is left (it starts no new
#      configuration past its budget and prints the rest as --only).
# Logs and results.json go to $OUT (they come back with the reply).
#
# Here, first (no GPU needed; every kernel has already run on the PTX
# interpreter in `make check`):
#   make build
#   ctest --test-dir build -R gpu_cases_generate   # writes build/gpu-cases
#   test/gpu/carry.sh --build build                # stages build/gpu-carry
#   make bench-gpu-prepare                         # stages build/bench-gpu
# There, one `run` call:
#   carry:     ["build/gpu-carry", "build/bench-gpu"]
#   command:   bash test/gpu/device-session.sh
#   timeout_s: 600
# Then give the machine back (give_back) unless you rerun at once.
#
# usage: test/gpu/device-session.sh [--skip-numerics] [--skip-bench]
#                                   [--limit-s S] [-- bench_gpu.py args...]
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${OUT:-$root/build/device-out}
mkdir -p "$out"
limit=560 # seconds this script may take (the call's limit is 600)
numerics=1
bench=1
while [ $# -gt 0 ]; do
  case $1 in
    --skip-numerics) numerics=0; shift ;;
    --skip-bench) bench=0; shift ;;
    --limit-s) limit=$2; shift 2 ;;
    --) shift; break ;;
    -h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "device-session.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
start=$(date +%s)
left() { echo $((limit - ($(date +%s) - start))); }
carry=$root/build/gpu-carry
status=0

echo "== device ($(date -u +%Y-%m-%dT%H:%MZ))"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm \
  --format=csv 2>&1 | tee "$out/device.txt"

# gtest NAME LOG TIMEOUT [VAR=VALUE...]: runs carry/NAME in carry/ with the
# variables set, prints its summary and failures, and records a failure.
gtest() {
  local name=$1 log=$2 limit=$3
  shift 3
  (cd "$carry" && env "$@" timeout "$limit" "./$name" >"$out/$log" 2>&1)
  local rc=$?
  grep -E '^\[  (PASSED|SKIPPED) +\] [0-9]+ tests?|^\[  FAILED  \] ' \
    "$out/$log" | head -60
  echo "$name exit status $rc ($(($(date +%s) - start)) s in)"
  [ "$rc" = 0 ] || status=1
}

if [ "$numerics" = 1 ]; then
  echo "== GpuNumericsTest (log: gpu-numerics.log)"
  if [ -x "$carry/GpuNumericsTest" ]; then
    gtest GpuNumericsTest gpu-numerics.log 240 "ATTUNE_GPU_CASES=$carry/cases"
  else
    echo "no $carry/GpuNumericsTest: run test/gpu/carry.sh here first"
    status=1
  fi
  echo "== CudaDeviceTest (log: cuda-device.log)"
  if [ -x "$carry/CudaDeviceTest" ]; then
    gtest CudaDeviceTest cuda-device.log 60 \
      "ATTUNE_TEST_CUDA_PTX=$carry/CudaTestKernels.ptx" \
      "ATTUNE_TEST_KERNELS_SO=$carry/libattune_test_kernels.so"
  else
    echo "CudaDeviceTest was not staged (carry.sh stages it when built)"
  fi
fi

if [ "$bench" = 1 ]; then
  budget=$(($(left) - 45))
  echo "== bench_gpu.py, budget ${budget} s (log: bench_gpu.log)"
  if [ "$budget" -lt 60 ]; then
    echo "too little time left for the benchmark; rerun with --skip-numerics"
    status=1
  elif [ ! -f "$root/build/bench-gpu/manifest.json" ]; then
    echo "no build/bench-gpu/manifest.json: run make bench-gpu-prepare here first"
    status=1
  else
    cd "$root"
    PYTHONUNBUFFERED=1 timeout $(($(left) - 5)) \
      python3 bench/gpu/bench_gpu.py --manifest build/bench-gpu/manifest.json \
      --budget-s "$budget" "$@" 2>&1 | tee "$out/bench_gpu.log" | tail -70
    rc=${PIPESTATUS[0]}
    echo "bench_gpu.py exit status $rc"
    [ "$rc" = 0 ] || status=1
  fi
fi
echo "== done in $(($(date +%s) - start)) s, status $status"
exit $status
