#!/usr/bin/env bash
# Stages the GPU numerics tests for a GPU machine that has CUDA but no LLVM:
# the runner GpuNumericsTest (it links only the runtime), any shared library
# it needs that is not the system's, and the cases attune-gpu-cases wrote,
# into one folder inside the repository (an ignored path, so that the
# session's `run` tool can carry it). Checks that it fits the 64 MiB carry
# limit together with the working tree, and prints the command to run there.
#
# usage: test/gpu/carry.sh [--build DIR] [--cases DIR] [--out DIR]
#   --build DIR   build folder with test/gpu/GpuNumericsTest (default:
#                 $ATTUNE_BUILD, else <repo>/build)
#   --cases DIR   the case directory (default: <build>/gpu-cases, written by
#                 `ctest -L gpu` or `<build>/test/gpu/attune-gpu-cases DIR`)
#   --out DIR     where to stage, inside the repository (default:
#                 <repo>/build/gpu-carry)
set -euo pipefail

die() { echo "carry.sh: error: $*" >&2; exit 1; }

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${ATTUNE_BUILD:-$root/build}
cases=
out=$root/build/gpu-carry
limit=$((64 * 1024 * 1024))

while [ $# -gt 0 ]; do
  case $1 in
    --build) [ $# -ge 2 ] || die "--build expects a folder"; build=$2; shift 2 ;;
    --build=*) build=${1#*=}; shift ;;
    --cases) [ $# -ge 2 ] || die "--cases expects a folder"; cases=$2; shift 2 ;;
    --cases=*) cases=${1#*=}; shift ;;
    --out) [ $# -ge 2 ] || die "--out expects a folder"; out=$2; shift 2 ;;
    --out=*) out=${1#*=}; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done

build=$(cd "$build" 2>/dev/null && pwd) || die "no build folder '$build'"
cases=${cases:-$build/gpu-cases}
runner=$build/test/gpu/GpuNumericsTest
[ -x "$runner" ] || die "no $runner; build it: cmake --build $build --target GpuNumericsTest"
[ -f "$cases/MANIFEST.txt" ] || die "no cases in $cases (no MANIFEST.txt); generate them: ctest --test-dir $build -R gpu_cases_generate (or $build/test/gpu/attune-gpu-cases $cases)"
cases=$(cd "$cases" && pwd)

mkdir -p "$out"
out=$(cd "$out" && pwd)
case $out/ in
  "$root"/*) ;;
  *) die "--out must be inside the repository ($root) for the run tool to carry it" ;;
esac
rel=${out#"$root"/}
if ! git -C "$root" check-ignore -q "$rel"; then
  die "$rel is not ignored by git; stage into an ignored folder (e.g. build/gpu-carry)"
fi

# A fresh stage: only a folder this script made (or an empty one) is replaced.
if [ -n "$(ls -A "$out")" ] && [ ! -f "$out/.attune-gpu-carry" ]; then
  die "$out is not empty and was not made by carry.sh; refusing to replace it"
fi
rm -rf "$out"
mkdir -p "$out/lib"
touch "$out/.attune-gpu-carry"
cp "$runner" "$out/GpuNumericsTest"
cp -r "$cases" "$out/cases"
# The CUDA device's own tests (hand-written PTX kernels; no compiler) and
# attune-run travel too when they are built.
device=$build/test/unit/runtime/CudaDeviceTest
testso=$(ls "$build"/test/unit/runtime/libattune_test_kernels.so 2>/dev/null || true)
if [ -x "$device" ] && [ -n "$testso" ]; then
  cp "$device" "$out/CudaDeviceTest"
  cp "$testso" "$out/libattune_test_kernels.so"
  cp "$root/test/unit/runtime/CudaTestKernels.ptx" "$out/"
fi
[ ! -x "$build/bin/attune-run" ] || cp "$build/bin/attune-run" "$out/attune-run"

# Shared libraries outside the system folders travel too (libattune_runtime
# is static today; this covers a shared build).
libs=0
while read -r lib; do
  [ -n "$lib" ] || continue
  case $lib in
    /lib/*|/lib64/*|/usr/lib/*|/usr/lib64/*) ;;
    *) cp -L "$lib" "$out/lib/"; libs=$((libs + 1)) ;;
  esac
done < <(ldd "$runner" | awk '/=> \//{print $3}')
[ "$libs" -gt 0 ] || rmdir "$out/lib"

ncases=$(grep -vc '^#' "$cases/MANIFEST.txt" || true)
stage=$(du -sb "$out" | cut -f1)
# The working tree travels too: tracked and untracked files git does not
# ignore.
tree=$(cd "$root" && git ls-files -z -co --exclude-standard |
       xargs -0 stat -c %s 2>/dev/null | awk '{s += $1} END {print s + 0}')
total=$((stage + tree))
mib() { awk -v b="$1" 'BEGIN {printf "%.1f MiB", b / 1048576}'; }
echo "carry.sh: staged $ncases cases and GpuNumericsTest in $rel: $(mib "$stage")" \
     "(working tree $(mib "$tree"), together $(mib "$total") of the 64 MiB limit)"
[ "$total" -le "$limit" ] || die "over the 64 MiB carry limit; generate fewer cases (attune-gpu-cases --filter)"

envs="ATTUNE_GPU_CASES=\$PWD/cases"
[ "$libs" -eq 0 ] || envs="LD_LIBRARY_PATH=\$PWD/lib $envs"
cat <<EOF

On the GPU machine (the session's run tool):
  carry:   ["$rel"]
  command: cd $rel && set -o pipefail && $envs ./GpuNumericsTest 2>&1 | tee \$OUT/gpu-numerics.log
  (one case: add --gtest_filter='*/<case name>'; the [ numerics ] lines give
  each result's max error as a fraction of its bound)
EOF
if [ -x "$out/CudaDeviceTest" ]; then
  cat <<EOF
  the CUDA device's tests, in the same folder:
  command: cd $rel && ATTUNE_TEST_CUDA_PTX=\$PWD/CudaTestKernels.ptx ATTUNE_TEST_KERNELS_SO=\$PWD/libattune_test_kernels.so ./CudaDeviceTest
EOF
fi
