#!/usr/bin/env python3
"""CPU benchmark: Attune's compiled kernels against PyTorch in the same run.

Attention (f32, B=1, H=8): dense causal and a causal sliding window of 256,
L in {1024, 4096}, D in {64, 128}; and the Llama-style block of
python-free-examples/llama_block. Each Attune case is compiled with
attune-compile and timed with `attune-run --repeat`; PyTorch runs
scaled_dot_product_attention (is_causal, or a boolean mask for the window)
and the same block written in torch, with the same thread count. Prints the
median latency of each, GFLOP/s (attended pairs only: 4*B*H*pairs*D) and the
ratio torch_time / attune_time (> 1: Attune is faster).

The cloud machine this runs on is noisy (identical runs differ by up to 40%),
so each case alternates Attune and PyTorch for --rounds rounds and reports
the best (minimum) latency each reached: the least disturbed estimate of
what each implementation can do, measured under the same conditions.

Run `bench/cpu/setup.sh` once (installs torch into bench/.venv), then
  bench/.venv/bin/python bench/cpu/bench_cpu.py --build build [--threads 2]
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def attune_time(build, mlir_text, tmp, name, threads, repeat, extra=()):
    src = os.path.join(tmp, name + ".mlir")
    atm = os.path.join(tmp, name + ".atm")
    with open(src, "w") as f:
        f.write(mlir_text)
    subprocess.run([os.path.join(build, "bin", "attune-compile"), src, "-o",
                    atm, "-q"], check=True)
    out = subprocess.run(
        [os.path.join(build, "bin", "attune-run"), atm, "--repeat",
         str(repeat), "--threads", str(threads), "--print-values", "0"] +
        list(extra), check=True, capture_output=True, text=True).stdout
    m = re.search(r"min ([0-9.]+) ms", out)
    if not m:
        sys.exit("attune-run printed no latency:\n" + out)
    return float(m.group(1)) / 1e3


def torch_time(fn, repeat, warmup=2):
    with torch.inference_mode():
        for _ in range(warmup):
            fn()
        times = []
        for _ in range(repeat):
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
    return min(times)


def attention_mlir(h, l, d, mask):
    t = f"tensor<1x{h}x{l}x{d}xf32>"
    lse = f"tensor<1x{h}x{l}xf32>"
    return (f"func.func @attn(%q: {t} {{attune.name = \"q\"}}, %k: {t} "
            f"{{attune.name = \"k\"}}, %v: {t} {{attune.name = \"v\"}}) -> "
            f"({t}, {lse}) {{\n"
            f"  %o, %l = attune.attention %q, %k, %v {{mask = {mask}}} : "
            f"({t}, {t}, {t}) -> ({t}, {lse})\n"
            f"  return %o, %l : {t}, {lse}\n}}\n")


def pairs(l, window):
    if window is None:
        return l * (l + 1) // 2
    return sum(min(q + 1, window) for q in range(l))


def bench_attention(args, tmp, rows):
    h = 8
    for l in (1024, 4096):
        for d in (64, 128):
            for kind in ("causal", "window256"):
                window = 256 if kind == "window256" else None
                mask = ("#attune.causal" if window is None else
                        "#attune.sliding_window<left = 255, right = 0>")
                repeat = 5 if l == 4096 else 20
                q, k, v = (torch.randn(1, h, l, d) for _ in range(3))
                if window is None:
                    fn = lambda: F.scaled_dot_product_attention(
                        q, k, v, is_causal=True)
                else:
                    i = torch.arange(l)
                    allowed = (i[None, :] <= i[:, None]) & (
                        i[:, None] - i[None, :] < window)
                    fn = lambda: F.scaled_dot_product_attention(
                        q, k, v, attn_mask=allowed)
                ta = tt = float("inf")
                for _ in range(args.rounds):
                    ta = min(ta, attune_time(
                        args.build, attention_mlir(h, l, d, mask), tmp,
                        f"attn_{kind}_{l}_{d}", args.threads, repeat,
                        ["--random-inputs", "1"]))
                    tt = min(tt, torch_time(fn, repeat))
                flops = 4.0 * h * pairs(l, window) * d
                rows.append((f"attention {kind} L={l} D={d}", ta, tt, flops))


def bench_llama(args, tmp, rows):
    path = os.path.join(ROOT, "python-free-examples", "llama_block",
                        "llama_block.mlir")
    with open(path) as f:
        text = f.read()
    weights = os.path.join(tmp, "llama_weights.safetensors")
    src = os.path.join(tmp, "llama.mlir")
    with open(src, "w") as f:
        f.write(text)
    subprocess.run([os.path.join(args.build, "bin", "attune-compile"), src,
                    "-o", os.path.join(tmp, "llama_w.atm"), "-q"], check=True)
    subprocess.run([os.path.join(args.build, "bin", "attune-run"),
                    os.path.join(tmp, "llama_w.atm"), "--write-random-weights",
                    weights, "--seed", "0", "--skip", "x", "--skip",
                    "doc_ids"], check=True, capture_output=True)
    ids = os.path.join(ROOT, "python-free-examples", "llama_block",
                       "doc_ids.npy")
    extra = ["--weights", weights, "--input", f"doc_ids={ids}",
             "--random-inputs", "1"]

    # The same block in torch: L=64, hidden 256, 8 query / 2 kv heads of 32,
    # RoPE theta 500000, causal and document mask, SwiGLU 688.
    torch.manual_seed(0)
    L, Dm, Hq, Hkv, Dh, Fd = 64, 256, 8, 2, 32, 688
    x = torch.randn(1, L, Dm)
    w = {n: torch.randn(*s) / s[-1] ** 0.5 for n, s in {
        "q": (Hq * Dh, Dm), "k": (Hkv * Dh, Dm), "v": (Hkv * Dh, Dm),
        "o": (Dm, Hq * Dh), "g": (Fd, Dm), "u": (Fd, Dm), "d": (Dm, Fd)}.items()}
    n1, n2 = torch.ones(Dm), torch.ones(Dm)
    doc = torch.tensor([0 if i < 40 else 1 for i in range(L)])  # doc_ids.npy
    i = torch.arange(L)
    mask = (i[None, :] <= i[:, None]) & (doc[None, :] == doc[:, None])
    inv = 500000.0 ** (-torch.arange(0, Dh, 2, dtype=torch.float64) / Dh)
    ang = torch.arange(L, dtype=torch.float64)[:, None] * inv[None, :]
    cos, sin = ang.cos().float(), ang.sin().float()

    def rope(t):
        a, b = t[..., : Dh // 2], t[..., Dh // 2:]
        return torch.cat([a * cos - b * sin, a * sin + b * cos], dim=-1)

    def block():
        h = F.rms_norm(x, (Dm,), n1, 1e-5)
        q = F.linear(h, w["q"]).view(1, L, Hq, Dh).transpose(1, 2)
        k = F.linear(h, w["k"]).view(1, L, Hkv, Dh).transpose(1, 2)
        v = F.linear(h, w["v"]).view(1, L, Hkv, Dh).transpose(1, 2)
        a = F.scaled_dot_product_attention(rope(q), rope(k), v,
                                           attn_mask=mask, enable_gqa=True)
        y = x + F.linear(a.transpose(1, 2).reshape(1, L, Hq * Dh), w["o"])
        h2 = F.rms_norm(y, (Dm,), n2, 1e-5)
        return y + F.linear(F.silu(F.linear(h2, w["g"])) * F.linear(h2, w["u"]),
                            w["d"])

    ta = tt = float("inf")
    for _ in range(args.rounds):
        ta = min(ta, attune_time(args.build, text, tmp, "llama", args.threads,
                                 200, extra))
        tt = min(tt, torch_time(block, 200, warmup=10))
    flops = 2.0 * L * Dm * (2 * Hq * Dh + 2 * Hkv * Dh) + 6.0 * L * Dm * Fd + \
        4.0 * Hq * Dh * L * (L + 1) / 2
    rows.append(("llama block L=64 (tokens/s: attune %.0f, torch %.0f)"
                 % (L / ta, L / tt), ta, tt, flops))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--build", default=os.path.join(ROOT, "build"))
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--only", choices=["attention", "llama"])
    p.add_argument("--rounds", type=int, default=3,
                   help="alternating Attune/PyTorch rounds per case")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} threads, "
          f"{os.cpu_count()} CPUs")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        if args.only in (None, "attention"):
            bench_attention(args, tmp, rows)
        if args.only in (None, "llama"):
            bench_llama(args, tmp, rows)
    print("best latency of each over the rounds")
    print(f"{'case':58} {'attune ms':>10} {'torch ms':>10} "
          f"{'attune GF/s':>12} {'torch GF/s':>11} {'ratio':>6}")
    for name, ta, tt, flops in rows:
        print(f"{name:58} {ta * 1e3:10.3f} {tt * 1e3:10.3f} "
              f"{flops / ta / 1e9:12.1f} {flops / tt / 1e9:11.1f} "
              f"{tt / ta:6.2f}")


if __name__ == "__main__":
    main()
