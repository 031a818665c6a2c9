#!/usr/bin/env bash
# Prepares the GPU benchmark on the build machine (the GPU machine has no
# LLVM, so models are compiled here and carried there):
#   1. writes one attention model per configuration, the document ids and
#      manifest.json into OUT/models (bench/gpu/gen_models.py);
#   2. compiles each model to OUT/models/<name>.atm with
#      attune-compile --target=TARGET (default cuda:sm_80,sm_90a);
#   3. copies attune-run and the shared libraries it needs that are not the
#      system's into OUT/bin (bench_gpu.py puts OUT/bin on attune-run's
#      LD_LIBRARY_PATH);
#   4. checks that OUT plus the working tree fit the 64 MiB carry limit and
#      prints the `run` call that times everything on the GPU machine.
#
# usage: bench/gpu/prepare.sh [--build DIR] [--out DIR] [--target T]
#                             [--no-compile] [--keep-going]
#   --build DIR    build folder holding bin/attune-compile and bin/attune-run
#                  (default: $ATTUNE_BUILD, else <repo>/build)
#   --out DIR      where to stage everything; must be inside the repository
#                  (default: <repo>/build/bench-gpu)
#   --target T     attune-compile's --target (default: cuda:sm_80,sm_90a;
#                  `cpu` compiles for the CPU, to check the models here)
#   --no-compile   write the models and the manifest only (for a dry run:
#                  bench_gpu.py --dry-run); attune-compile is not needed
#   --keep-going   a model that fails to compile is recorded (its .atm is
#                  missing, the error is in models/<name>.compile-error.txt)
#                  and the script still exits 0
set -euo pipefail

die() { echo "prepare.sh: error: $*" >&2; exit 1; }

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${ATTUNE_BUILD:-$root/build}
out=$root/build/bench-gpu
target=cuda:sm_80,sm_90a
compile=1
keep_going=0
limit=$((64 * 1024 * 1024))

while [ $# -gt 0 ]; do
  case $1 in
    --build) [ $# -ge 2 ] || die "--build expects a folder"; build=$2; shift 2 ;;
    --build=*) build=${1#*=}; shift ;;
    --out) [ $# -ge 2 ] || die "--out expects a folder"; out=$2; shift 2 ;;
    --out=*) out=${1#*=}; shift ;;
    --target) [ $# -ge 2 ] || die "--target expects a value"; target=$2; shift 2 ;;
    --target=*) target=${1#*=}; shift ;;
    --no-compile) compile=0; shift ;;
    --keep-going) keep_going=1; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done

command -v python3 >/dev/null || die "python3 is needed to write the models"
[ -d "$build" ] || die "build folder '$build' does not exist (make build, or --build DIR)"
build=$(cd "$build" && pwd)
out=$(realpath -m "$out")
case $out/ in
  "$root"/*) rel=${out#"$root"/} ;;
  *) die "--out '$out' is outside the repository '$root': the run tool carries only paths inside it" ;;
esac
[ "$out" != "$root" ] || die "--out must be a folder below the repository root"
mkdir -p "$out"
if git -C "$root" rev-parse --git-dir >/dev/null 2>&1 &&
   ! git -C "$root" check-ignore -q "$rel/manifest.json"; then
  echo "prepare.sh: warning: $rel is not ignored by git: it will travel as part of the working tree, not through carry" >&2
fi

find_tool() {  # prints the path of $1 in the build folder, or nothing
  local c
  for c in "$build/bin/$1" "$build/tools/$1/$1"; do
    if [ -f "$c" ] && [ -x "$c" ]; then echo "$c"; return 0; fi
  done
  return 0
}
run_tool=$(find_tool attune-run)
[ -n "$run_tool" ] || die "attune-run not found in $build/bin (build it first: make build)"
if [ $compile = 1 ]; then
  compile_tool=$(find_tool attune-compile)
  [ -n "$compile_tool" ] || die "attune-compile not found in $build/bin (build it first: make build)"
  case $target in
    cuda:*)
      if ! command -v ptxas >/dev/null &&
         [ ! -x "${CUDA_HOME:-/usr/local/cuda}/bin/ptxas" ] &&
         [ ! -x /usr/local/cuda/bin/ptxas ]; then
        echo "prepare.sh: warning: no ptxas in \$CUDA_HOME/bin, /usr/local/cuda/bin or PATH; attune-compile --target=$target needs it" >&2
      fi ;;
  esac
fi

# A clean stage: no artifact from an earlier run may stand in for a model
# that failed to compile this time.
rm -rf "${out:?}/models" "${out:?}/bin" "${out:?}/manifest.json"
gen_args=(--out "$out" --target "$target" --list)
[ $compile = 1 ] || gen_args+=(--no-compile)
mapfile -t names < <(python3 "$here/gen_models.py" "${gen_args[@]}")
[ ${#names[@]} -gt 0 ] || die "gen_models.py wrote no models"
echo "== ${#names[@]} models in $rel/models"

failed=()
if [ $compile = 1 ]; then
  echo "== attune-compile --target=$target ($compile_tool)"
  for n in "${names[@]}"; do
    src=$out/models/$n.mlir atm=$out/models/$n.atm err=$out/models/$n.compile-error.txt
    start=$(date +%s%N)
    if "$compile_tool" "$src" -o "$atm" --target="$target" -q 2>"$err"; then
      rm -f "$err"
      [ -s "$atm" ] || die "attune-compile succeeded but wrote no $atm"
      printf '  %-24s %9d bytes %7d ms\n' "$n" "$(stat -c %s "$atm")" \
        $((($(date +%s%N) - start) / 1000000))
    else
      rm -f "$atm"
      failed+=("$n")
      echo "  $n: FAILED ($(head -n 1 "$err"))"
    fi
  done
fi

echo "== attune-run and its libraries -> $rel/bin"
mkdir -p "$out/bin"
cp "$run_tool" "$out/bin/attune-run"
chmod +x "$out/bin/attune-run"
# Libraries that come with the system (glibc, libstdc++, libgcc, the CUDA
# driver) are the GPU machine's own; anything else (a shared runtime from the
# build folder, an LLVM library) must travel.
ldd_out=$(ldd "$run_tool" 2>&1) || die "ldd $run_tool failed: $ldd_out"
if grep -q "not found" <<<"$ldd_out"; then
  die "attune-run has unresolved libraries here:
$(grep "not found" <<<"$ldd_out")"
fi
while read -r lib; do
  [ -n "$lib" ] || continue
  base=$(basename "$lib")
  case $base in
    linux-vdso*|ld-linux*|libc.so*|libm.so*|libpthread.so*|libdl.so*|librt.so*|\
    libstdc++.so*|libgcc_s.so*|libcuda.so*|libnvidia*) continue ;;
  esac
  case $lib in
    */llvm-*/*) ;;  # LLVM's libraries are not on the GPU machine
    /lib/*|/lib64/*|/usr/lib/*|/usr/lib64/*) continue ;;
  esac
  cp -L "$lib" "$out/bin/$base"
  echo "  $base (from $lib)"
done < <(awk '/=>/ && $3 ~ /^\// {print $3}' <<<"$ldd_out")
if command -v objdump >/dev/null; then
  need=$(objdump -T "$run_tool" 2>/dev/null |
         grep -o 'GLIBC\(XX\)\{0,1\}_[0-9.]*' | sort -t_ -k1,1 -k2,2V -u |
         awk -F_ '{v[$1]=$2} END {for (k in v) printf "%s_%s ", k, v[k]}')
  echo "  attune-run needs: ${need:-?}(the GPU machine's libc/libstdc++ must be at least these)"
fi

# Size: the staged folder plus what travels anyway (tracked files and
# untracked files git does not ignore; shared/ where the checkout has one).
stage=$(du -sb "$out" | cut -f1)
tree=0
if git -C "$root" rev-parse --git-dir >/dev/null 2>&1; then
  tree=$(cd "$root" && git ls-files -z --cached --others --exclude-standard |
         xargs -0 -r stat -c %s 2>/dev/null | awk '{s += $1} END {print s + 0}')
fi
[ -d "$root/shared" ] && tree=$((tree + $(du -sb "$root/shared" | cut -f1)))
total=$((stage + tree))
mib() { awk -v b="$1" 'BEGIN {printf "%.1f MiB", b / 1048576}'; }
echo "== size: $rel $(mib "$stage") + working tree $(mib "$tree") = $(mib "$total") (limit 64 MiB)"
[ "$total" -le "$limit" ] ||
  die "what the run call would send ($(mib "$total")) exceeds 64 MiB; drop models or shrink the tree"

if [ ${#failed[@]} -gt 0 ]; then
  echo "prepare.sh: ${#failed[@]} of ${#names[@]} models failed to compile: ${failed[*]}" >&2
  echo "  (errors in $rel/models/<name>.compile-error.txt; bench_gpu.py skips Attune for them)" >&2
fi
[ $compile = 1 ] || echo "== --no-compile: no .atm written; check with: python3 bench/gpu/bench_gpu.py --dry-run --manifest $rel/manifest.json"

cat <<EOF
== on the GPU machine, one call of the run tool:
  command:   set -o pipefail; PYTHONUNBUFFERED=1 python3 bench/gpu/bench_gpu.py --manifest $rel/manifest.json 2>&1 | tee \$OUT/bench_gpu.log
  carry:     ["$rel"]
  timeout_s: 600
  (results.json and bench_gpu.log come back in \$OUT; bench/gpu/README.md says how to split the grid over two calls)
EOF

if [ ${#failed[@]} -gt 0 ] && [ $keep_going = 0 ]; then
  exit 1
fi
exit 0
