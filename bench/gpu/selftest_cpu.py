#!/usr/bin/env python3
"""Self-test of the GPU benchmark on a machine without a GPU.

Runs bench_gpu.py's real code path (manifest, torch systems, Attune
subprocess, spot check, table) on a small grid (L = 64, 128; D = 64;
window 16) on the CPU: the models are compiled with --target=cpu, and
attune-run is reached through a wrapper that stands in for
`--device cuda --time-device N`. The CUDA-only calls (synchronize, graphs,
events, torch.compile) get CPU stand-ins. It checks that:
  - every system's output matches the f32 reference built from the
    FlexAttention mask_mod, Attune's included, so Attune's mask attributes
    mean what the torch masks mean;
  - an off-by-one window in the Attune model is caught (the check can fail).

Needs torch and numpy (bench/cpu/setup.sh installs both into bench/.venv):
  bench/.venv/bin/python bench/gpu/selftest_cpu.py [--build build]
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bench_gpu as bg  # noqa: E402
import gen_models as gm  # noqa: E402

WRAPPER = """#!/bin/bash
# attune-run --device cuda --time-device N, played by the CPU attune-run.
args=(); n=0
while [ $# -gt 0 ]; do
  case $1 in
    --device) shift 2 ;;
    --time-device) n=$2; shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done
if [ "$n" -gt 0 ]; then
  out=$("{real}" "${{args[@]}}" --repeat "$n" --print-values 0) || exit 1
  echo "$out" | sed -n 's/^latency over \\([0-9]*\\) runs: min \\([0-9.]*\\) ms, median \\([0-9.]*\\) ms.*/attune-run: device time per run: median \\3 ms, min \\2 ms over \\1 runs/p'
else
  exec "{real}" "${{args[@]}}"
fi
"""


def stage(build, folder, bad_window):
    cfgs = gm.configs(lengths=(64, 128), dims=(64,), masked_dim=64,
                      tokens=256, hidden=128, window=16)
    man = gm.write_stage(folder, cfgs, "cuda:sm_80,sm_90a", True)
    for c in man["configs"]:
        src = os.path.join(folder, c["mlir"])
        if bad_window and c["kind"] == "window":
            with open(src) as f:
                text = f.read().replace("left = 15", "left = 16")
            with open(src, "w") as f:
                f.write(text)
        subprocess.run([os.path.join(build, "bin", "attune-compile"), src,
                        "-o", os.path.join(folder, c["atm"]), "--target=cpu",
                        "-q"], check=True)
    os.makedirs(os.path.join(folder, "bin"))
    run = os.path.join(folder, "bin", "attune-run")
    with open(run, "w") as f:
        f.write(WRAPPER.format(real=os.path.join(build, "bin", "attune-run")))
    os.chmod(run, 0o755)
    return os.path.join(folder, "manifest.json")


def cpu_torch(args):
    import torch
    torch.cuda.synchronize = lambda *a: None
    torch.compile = lambda f, **kw: f  # flex_attention runs eagerly
    tb = bg.Torch(args)
    tb.dev = "cpu"

    def time_fn(fn, iters=None):
        iters = iters or 3
        ts = []
        for _ in range(iters):
            t0 = time.perf_counter()
            fn()
            ts.append((time.perf_counter() - t0) * 1e3)
        ts.sort()
        return {"ms": ts[len(ts) // 2], "min_ms": ts[0], "iters": iters}

    tb.time_fn = time_fn
    tb.graphed = lambda fn: None
    return tb


def run_grid(build, bad_window):
    with tempfile.TemporaryDirectory() as tmp:
        manifest = stage(build, tmp, bad_window)
        man, base, errors, _ = bg.load_manifest(manifest)
        assert not errors, errors
        sys.argv = ["bench_gpu.py", "--manifest", manifest, "--check-rows",
                    "16", "--warmup", "1"]
        args = bg.parse_args()
        tb = cpu_torch(args)
        run = os.path.join(base, "bin", "attune-run")
        env = bg.attune_env(man, base)
        ctx = {"base": base, "run": run, "env": env,
               "rnd": bg.random_inputs_args(run, env, "auto")}
        results = []
        for i, c in enumerate(man["configs"]):
            ctx["index"] = i
            results.append(bg.run_config(tb, c, ctx, args))
        return results


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--build", default=os.path.join(bg.ROOT, "build"))
    args = p.parse_args()
    if not shutil.which("bash"):
        sys.exit("needs bash")
    failed = 0

    results = run_grid(args.build, bad_window=False)
    print(bg.table(results))
    for r in results:
        c = r.get("check", {})
        ok = c.get("ok") and isinstance(c.get("attune"), float) \
            and "ms" in r["systems"].get("attune", {}) \
            and "ms" in r["systems"].get("flex", {})
        print(f"{'PASS' if ok else 'FAIL'}: {r['name']} matches the reference"
              f" (attune {c.get('attune')}, flex {c.get('flex')})")
        failed += not ok

    results = run_grid(args.build, bad_window=True)
    for r in results:
        if r["kind"] != "window":
            continue
        c = r.get("check", {})
        ok = "attune" in c.get("bad", [])
        print(f"{'PASS' if ok else 'FAIL'}: {r['name']} with an off-by-one "
              f"window is caught (attune rel err {c.get('attune')})")
        failed += not ok
    total = sum(1 for _ in results) + sum(r["kind"] == "window"
                                          for r in results)
    print(f"{total - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
