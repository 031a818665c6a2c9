#!/usr/bin/env python3
"""GPU benchmark: Attune's attention forward against PyTorch in one run.

Reads the manifest that bench/gpu/prepare.sh wrote (models compiled on the
build machine, attune-run staged beside them) and, for each configuration,
times on the same shapes and dtype (bf16), in one process:
  flash   torch SDPA, SDPBackend.FLASH_ATTENTION (is_causal; masks refused)
  cudnn   torch SDPA, SDPBackend.CUDNN_ATTENTION (is_causal, or a dense
          boolean attn_mask for the window and document configurations)
  flex    torch.compile(flex_attention) with a create_block_mask block mask
          (none for non-causal)
  attune  attune-run MODEL.atm --device cuda --random-inputs 1 --time-device N
          in a subprocess (one untimed run, then N timed by CUDA events in
          attune-run; its median is parsed)
Torch calls are captured in CUDA graphs (eager if capture fails) and each
replay is timed with CUDA events after a warm-up; every system reports the
median. TFLOP/s count the allowed (q, k) pairs only,
4*B*H*D*pairs, the same for every system. Ratios are peer ms / Attune ms
(> 1: Attune is faster). The peer that matters is flex for the masked
configurations and flash for the dense ones.

A spot check per configuration (--no-check skips it) compares a subset of
query rows of every system's output with an f32 reference computed on the
GPU; Attune's output comes from one extra attune-run on the same inputs
(.npy files, --output-dir).

  python3 bench/gpu/bench_gpu.py --manifest build/bench-gpu/manifest.json
  python3 bench/gpu/bench_gpu.py --dry-run     # validate, print commands
  python3 bench/gpu/bench_gpu.py --report a.json b.json   # merged table
"""

import argparse
import datetime
import json
import os
import re
import shlex
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PEERS = ("flash", "cudnn", "flex")
SYSTEMS = PEERS + ("attune",)
KINDS = ("dense", "window", "document")
TIME_LINE = re.compile(
    r"attune-run: device time per run: median ([0-9.eE+-]+) ms, "
    r"min ([0-9.eE+-]+) ms over (\d+) runs")
CHECK_TOL = 1e-2  # bf16 operands: METHOD.md expects 1e-3 .. 1e-2
SEED = 1  # --random-inputs seed (Attune) and torch generator base
# What Torch.mask_mod allows, for --dry-run (W = the window, 1024).
MASK_TEXT = {"full": "every pair", "causal": "q >= kv",
             "window": "(q >= kv) & (q - kv < W)",
             "document": "(q >= kv) & (doc[b, q] == doc[b, kv])"}


def target_peer(cfg):
    return "flash" if cfg["kind"] == "dense" else "flex"


# ---------------------------------------------------------------------------
# Manifest (standard library only: --dry-run runs where torch is missing)
# ---------------------------------------------------------------------------

def read_npy_i32(path):
    """(shape, flat list) of a little-endian int32 C-order .npy file."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:6] != b"\x93NUMPY":
        raise ValueError(f"{path}: not a .npy file")
    major = data[6]
    if major == 1:
        hlen, start = struct.unpack("<H", data[8:10])[0], 10
    else:
        hlen, start = struct.unpack("<I", data[8:12])[0], 12
    header = data[start:start + hlen].decode("latin1")
    if "'<i4'" not in header or "'fortran_order': False" not in header:
        raise ValueError(f"{path}: expected C-order int32, header {header}")
    m = re.search(r"'shape': \(([^)]*)\)", header)
    shape = tuple(int(x) for x in m.group(1).split(",") if x.strip())
    body = data[start + hlen:]
    n = 1
    for s in shape:
        n *= s
    if len(body) != 4 * n:
        raise ValueError(f"{path}: {len(body)} data bytes for shape {shape}")
    return shape, list(struct.unpack("<%di" % n, body))


def count_pairs(cfg, doc_rows=None):
    """Allowed (q, k) pairs summed over the batch, counted query by query
    from the mask's definition (an independent check of gen_models.py's
    closed forms)."""
    b, l = cfg["B"], cfg["L"]
    if cfg["kind"] == "dense":
        per = sum(q + 1 for q in range(l)) if cfg["causal"] else l * l
        return b * per
    if cfg["kind"] == "window":
        w = cfg["window"]
        return b * sum(min(q + 1, w) for q in range(l))
    total = 0
    for row in doc_rows:  # causal + same document: keys from the doc start
        start = 0
        for q in range(l):
            if q and row[q] != row[q - 1]:
                start = q
            total += q - start + 1
    return total


def load_manifest(path):
    """Returns (manifest, base folder, errors, warnings); a warning is
    (config name or None, text)."""
    errors, warns = [], []
    with open(path) as f:
        man = json.load(f)
    base = os.path.dirname(os.path.abspath(path))
    if man.get("version") != 1:
        errors.append(f"manifest version {man.get('version')!r}, expected 1")
    run = os.path.join(base, man.get("attune_run", "bin/attune-run"))
    if not os.path.isfile(run):
        errors.append(f"attune-run missing: {run}")
    elif not os.access(run, os.X_OK):
        warns.append((None, f"{run} is not executable (chmod +x is tried)"))
    if not str(man.get("target", "")).startswith("cuda:"):
        warns.append((None, f"models were compiled for target "
                            f"{man.get('target')!r}, not cuda:..."))
    if not man.get("compiled", True):
        warns.append((None, "prepared with --no-compile: no .atm, Attune "
                            "is skipped"))
    names = set()
    for c in man.get("configs", []):
        name = c.get("name", "?")
        miss = [k for k in ("name", "kind", "causal", "B", "H", "L", "D",
                            "dtype", "pairs", "flops", "mlir", "atm")
                if k not in c]
        if miss:
            errors.append(f"{name}: missing keys {miss}")
            continue
        if name in names:
            errors.append(f"{name}: duplicate name")
        names.add(name)
        if c["kind"] not in KINDS:
            errors.append(f"{name}: unknown kind {c['kind']!r}")
            continue
        if c["dtype"] != "bf16":
            errors.append(f"{name}: dtype {c['dtype']}, expected bf16")
        if not all(isinstance(c[k], int) and c[k] > 0
                   for k in ("B", "H", "L", "D")):
            errors.append(f"{name}: B, H, L, D must be positive integers")
            continue
        if c["kind"] == "window" and not (isinstance(c.get("window"), int)
                                          and c["window"] > 0):
            errors.append(f"{name}: window kind without a positive window")
            continue
        if not os.path.isfile(os.path.join(base, c["mlir"])):
            errors.append(f"{name}: model source missing: {c['mlir']}")
        atm = os.path.join(base, c["atm"])
        if man.get("compiled", True) and not os.path.isfile(atm):
            err = os.path.splitext(atm)[0] + ".compile-error.txt"
            why = ""
            if os.path.isfile(err):
                with open(err) as f:
                    why = ": " + (f.readline().strip() or "(empty log)")
            warns.append((name, f"{name}: no artifact {c['atm']}{why}; "
                                "Attune skipped"))
        doc_rows = None
        if c["kind"] == "document":
            ids = c.get("doc_ids")
            if not ids or not os.path.isfile(os.path.join(base, ids)):
                errors.append(f"{name}: document ids missing: {ids}")
                continue
            try:
                shape, flat = read_npy_i32(os.path.join(base, ids))
            except ValueError as e:
                errors.append(f"{name}: {e}")
                continue
            if shape != (c["B"], c["L"]):
                errors.append(f"{name}: doc ids shape {shape}, expected "
                              f"{(c['B'], c['L'])}")
                continue
            doc_rows = [flat[r * c["L"]:(r + 1) * c["L"]]
                        for r in range(c["B"])]
        pairs = count_pairs(c, doc_rows)
        if pairs != c["pairs"]:
            errors.append(f"{name}: manifest says {c['pairs']} pairs, the "
                          f"mask allows {pairs}")
        if c["flops"] != 4 * c["H"] * c["D"] * pairs:
            errors.append(f"{name}: flops {c['flops']} != 4*H*D*pairs "
                          f"{4 * c['H'] * c['D'] * pairs}")
    if not names:
        errors.append("manifest has no configurations")
    return man, base, errors, warns


def select(configs, only, part):
    if only:
        keys = [k for k in only.split(",") if k]
        configs = [c for c in configs
                   if any(k == c["name"] or re.search(k, c["name"])
                          for k in keys)]
    if part:
        i, n = part
        configs = configs[i - 1::n]
    return configs


# ---------------------------------------------------------------------------
# Attune (subprocess)
# ---------------------------------------------------------------------------

def attune_env(man, base):
    env = dict(os.environ)
    lib = os.path.join(base, man.get("lib_dir", "bin"))
    env["LD_LIBRARY_PATH"] = lib + (
        ":" + env["LD_LIBRARY_PATH"] if env.get("LD_LIBRARY_PATH") else "")
    return env


def random_inputs_args(run, env, form):
    """Today's attune-run takes --random-inputs SEED; the CUDA version may
    make the seed optional. 'auto' reads --help."""
    if form == "auto":
        try:
            text = subprocess.run([run, "--help"], env=env, timeout=30,
                                  capture_output=True, text=True).stdout
        except (OSError, subprocess.SubprocessError):
            text = ""
        bare = re.search(r"\[--random-inputs\]", text) or re.search(
            r"--random-inputs(?![ =]*(SEED|S\b|N\b|<))", text)
        form = "flag" if bare and "--random-inputs SEED" not in text else "seed"
    return ["--random-inputs"] + ([str(SEED)] if form == "seed" else [])


def attune_time_cmd(run, atm, rnd, iters, doc_ids=None):
    cmd = [run, atm, "--device", "cuda"] + rnd + ["--time-device", str(iters),
                                                   "--print-values", "0"]
    if doc_ids:
        cmd += ["--input", f"doc_ids={doc_ids}"]
    return cmd


def attune_check_cmd(run, atm, folder, doc_ids=None):
    cmd = [run, atm, "--device", "cuda"]
    for n in ("q", "k", "v"):
        cmd += ["--input", f"{n}={os.path.join(folder, n + '.npy')}"]
    if doc_ids:
        cmd += ["--input", f"doc_ids={doc_ids}"]
    return cmd + ["--output-dir", os.path.join(folder, "out"),
                  "--print-values", "0"]


def run_attune_time(cmd, env, timeout):
    try:
        p = subprocess.run(cmd, env=env, capture_output=True, text=True,
                           timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"skipped": f"attune-run timed out after {timeout} s"}
    m = TIME_LINE.search(p.stdout)
    if p.returncode != 0 or not m:
        tail = (p.stderr.strip() or p.stdout.strip()).splitlines()[-3:]
        return {"skipped": f"attune-run exit {p.returncode}: "
                           + " | ".join(tail)}
    return {"ms": float(m.group(1)), "min_ms": float(m.group(2)),
            "iters": int(m.group(3))}


# ---------------------------------------------------------------------------
# Torch
# ---------------------------------------------------------------------------

class Torch:
    def __init__(self, args):
        import numpy
        import torch
        import torch.nn.functional as F
        from torch.nn.attention import SDPBackend, sdpa_kernel
        from torch.nn.attention.flex_attention import (create_block_mask,
                                                       flex_attention)
        self.np, self.torch, self.F = numpy, torch, F
        self.SDPBackend, self.sdpa_kernel = SDPBackend, sdpa_kernel
        self.flex_attention = flex_attention
        self.create_block_mask = create_block_mask
        self.args = args
        self.dev = "cuda"  # the only device timed; tests use "cpu"
        torch.backends.cuda.matmul.allow_tf32 = False  # f32 reference
        dyn = torch._dynamo.config
        for knob in ("recompile_limit", "cache_size_limit"):
            if hasattr(dyn, knob):  # one compile per shape and mask
                setattr(dyn, knob, 1024)

    def header(self):
        t = self.torch
        p = t.cuda.get_device_properties(0)
        return {
            "device": t.cuda.get_device_name(0),
            "sms": p.multi_processor_count,
            "torch": t.__version__,
            "cuda": t.version.cuda,
            "cudnn": t.backends.cudnn.version(),
            "date": datetime.datetime.now(datetime.timezone.utc)
            .strftime("%Y-%m-%d %H:%M:%S UTC"),
        }

    def inputs(self, cfg, seed):
        """q, k, v like attune-run's --random-inputs: N(0, 1) / sqrt(D)."""
        t = self.torch
        g = t.Generator(device=self.dev).manual_seed(seed)
        shape = (cfg["B"], cfg["H"], cfg["L"], cfg["D"])
        return [(t.randn(shape, device=self.dev, generator=g) *
                 cfg["D"] ** -0.5).to(t.bfloat16) for _ in range(3)]

    @staticmethod
    def mask_mod(cfg, doc):
        """FlexAttention's mask_mod; None when every pair is allowed. The
        same predicate builds the dense masks and the reference's."""
        if cfg["kind"] == "dense":
            if not cfg["causal"]:
                return None
            return lambda b, h, q, kv: q >= kv
        if cfg["kind"] == "window":
            w = cfg["window"]  # Attune: sliding_window<left = w - 1, right = 0>
            return lambda b, h, q, kv: (q >= kv) & (q - kv < w)
        return lambda b, h, q, kv: (q >= kv) & (doc[b, q] == doc[b, kv])

    def dense_mask(self, cfg, doc):
        """Boolean attn_mask for SDPA: [L, L], or [B, 1, L, L] for
        documents."""
        t = self.torch
        i = t.arange(cfg["L"], device=self.dev)
        q, kv = i[:, None], i[None, :]
        if cfg["kind"] == "document":
            same = doc[:, None, :, None] == doc[:, None, None, :]
            return same & (q >= kv)
        return self.mask_mod(cfg, doc)(0, 0, q, kv)

    def systems(self, cfg, q, k, v, doc, only):
        """name -> (fn, note) or (None, reason)."""
        t, F = self.torch, self.F
        out, causal = {}, cfg["causal"]
        masked = cfg["kind"] != "dense"
        attn_mask = self.dense_mask(cfg, doc) if masked and (
            "flash" in only or "cudnn" in only) else None
        for name, backend in (("flash", self.SDPBackend.FLASH_ATTENTION),
                              ("cudnn", self.SDPBackend.CUDNN_ATTENTION)):
            if name not in only:
                continue

            def fn(backend=backend):
                with self.sdpa_kernel([backend]):
                    if masked:
                        return F.scaled_dot_product_attention(
                            q, k, v, attn_mask=attn_mask)
                    return F.scaled_dot_product_attention(q, k, v,
                                                          is_causal=causal)
            out[name] = self._probe(fn, "dense bool attn_mask" if masked
                                    else "")
        if "flex" in only:
            t._dynamo.reset()
            flex = t.compile(self.flex_attention, dynamic=False,
                             mode=self.args.flex_mode)
            mod = self.mask_mod(cfg, doc)
            bm = None
            if mod is not None:
                bm = self.create_block_mask(
                    mod, cfg["B"] if cfg["kind"] == "document" else None,
                    None, cfg["L"], cfg["L"], device=self.dev)
            out["flex"] = self._probe(lambda: flex(q, k, v, block_mask=bm),
                                      "block mask" if bm is not None else
                                      "no mask")
        return out

    def _probe(self, fn, note):
        """One call (compiles, picks kernels); a refusal becomes a note."""
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                fn()
                self.torch.cuda.synchronize()
                return fn, note
            except Exception as e:  # noqa: BLE001 - any refusal is a note
                why = [str(w.message).splitlines()[0] for w in caught]
                msg = str(e).strip().splitlines()
                reason = "; ".join(why[-3:]) or (msg[0] if msg else repr(e))
                return None, f"refused: {reason}"[:300]

    def graphed(self, fn):
        """fn captured in a CUDA graph (Attune's runtime replays its launch
        schedule as one too), or None when capture fails."""
        t = self.torch
        try:
            s = t.cuda.Stream()
            s.wait_stream(t.cuda.current_stream())
            with t.cuda.stream(s):
                for _ in range(2):
                    fn()
            t.cuda.current_stream().wait_stream(s)
            g = t.cuda.CUDAGraph()
            with t.cuda.graph(g):
                fn()
            g.replay()
            t.cuda.synchronize()
            return g
        except Exception:  # noqa: BLE001 - fall back to eager launches
            try:
                t.cuda.synchronize()
            except Exception:  # noqa: BLE001 - a sticky error shows later
                pass
            return None

    def time_fn(self, fn, iters=None):
        t, a = self.torch, self.args
        for _ in range(a.warmup):
            fn()
        t.cuda.synchronize()
        if iters is None:
            s, e = (t.cuda.Event(enable_timing=True) for _ in range(2))
            s.record()
            for _ in range(3):
                fn()
            e.record()
            e.synchronize()
            est = max(s.elapsed_time(e) / 3, 1e-3)
            iters = max(a.min_iters, min(a.max_iters, int(a.target_ms / est)))
        starts = [t.cuda.Event(enable_timing=True) for _ in range(iters)]
        ends = [t.cuda.Event(enable_timing=True) for _ in range(iters)]
        for i in range(iters):
            starts[i].record()
            fn()
            ends[i].record()
        t.cuda.synchronize()
        times = sorted(s.elapsed_time(e) for s, e in zip(starts, ends))
        return {"ms": statistics.median(times), "min_ms": times[0],
                "iters": iters}

    def reference_rows(self, cfg, q, k, v, doc, rows):
        """f32 out [B, H, R, D] and lse [B, H, R] of the query rows."""
        t = self.torch
        mod = self.mask_mod(cfg, doc)
        kv = t.arange(cfg["L"], device=self.dev)[None, :]
        outs, lses = [], []
        for b in range(cfg["B"]):
            s = t.matmul(q[b][:, rows].float(), k[b].float().transpose(-1, -2))
            s = s * cfg["D"] ** -0.5
            if mod is not None:
                allowed = mod(b, 0, rows[:, None], kv)
                s = s.masked_fill(~allowed, float("-inf"))
            lses.append(t.logsumexp(s, dim=-1))
            outs.append(t.matmul(t.softmax(s, dim=-1), v[b].float()))
        return t.stack(outs), t.stack(lses)

    def rel_err(self, got_rows, ref):
        d = (got_rows.float() - ref).norm().item()
        return d / max(ref.norm().item(), 1e-30)


# ---------------------------------------------------------------------------
# One configuration
# ---------------------------------------------------------------------------

def tflops(flops, ms):
    return flops / (ms * 1e-3) / 1e12


def run_config(tb, cfg, ctx, args):
    t = tb.torch
    res = {k: cfg[k] for k in ("name", "kind", "causal", "B", "H", "L", "D",
                               "dtype", "pairs", "flops")}
    res["window"] = cfg.get("window")
    res["target_peer"] = target_peer(cfg)
    res["systems"] = {}
    seed = SEED + 7919 * ctx["index"]
    q, k, v = tb.inputs(cfg, seed)
    doc = None
    if cfg["kind"] == "document":
        doc = t.from_numpy(tb.np.load(os.path.join(ctx["base"],
                                                   cfg["doc_ids"]))).to(tb.dev)
    fns = tb.systems(cfg, q, k, v, doc, args.systems)
    for name, (fn, note) in fns.items():
        if fn is None:
            res["systems"][name] = {"skipped": note}
    atm = os.path.join(ctx["base"], cfg["atm"])
    doc_path = os.path.join(ctx["base"], cfg["doc_ids"]) if doc is not None \
        else None
    attune_ok = "attune" in args.systems and os.path.isfile(atm)
    if "attune" in args.systems and not attune_ok:
        res["systems"]["attune"] = {"skipped": "no artifact " + cfg["atm"]}

    timed, graphs = {}, []
    for name, (fn, note) in fns.items():
        if fn is None:
            continue
        g = tb.graphed(fn) if args.graph else None
        if g is not None:
            graphs.append(g)
        timed[name] = (g.replay if g is not None else fn,
                       "CUDA graph" if g is not None else
                       "eager" + (" (graph capture failed)" if args.graph
                                  else ""))
    medians = {n: [] for n in SYSTEMS}
    iters = {}
    for rnd in range(args.rounds):
        for name, (fn, how) in timed.items():
            r = tb.time_fn(fn, iters.get(name))
            iters[name] = r["iters"]
            medians[name].append(r)
        if attune_ok:
            n = (args.attune_iters or iters.get(target_peer(cfg))
                 or max(iters.values(), default=0) or 100)
            t.cuda.empty_cache()
            cmd = attune_time_cmd(ctx["run"], atm, ctx["rnd"], n, doc_path)
            res["attune_cmd"] = shlex.join(cmd)
            r = run_attune_time(cmd, ctx["env"], args.attune_timeout)
            if "skipped" in r:
                res["systems"]["attune"] = r
                attune_ok = False
            else:
                medians["attune"].append(r)
    for name, runs in medians.items():
        if not runs:
            continue
        best = min(runs, key=lambda r: r["ms"])
        res["systems"][name] = dict(best, tflops=tflops(cfg["flops"],
                                                         best["ms"]),
                                    round_medians=[r["ms"] for r in runs])
        note = fns.get(name, (None, ""))[1]
        if note:
            res["systems"][name]["note"] = note
        if name in timed:
            res["systems"][name]["launch"] = timed[name][1]
    a = res["systems"].get("attune", {})
    res["ratios"] = {p: res["systems"][p]["ms"] / a["ms"] for p in PEERS
                     if "ms" in a and "ms" in res["systems"].get(p, {})}
    if args.check:
        try:
            res["check"] = spot_check(tb, cfg, ctx, args, q, k, v, doc, fns,
                                      atm if "ms" in a else None, doc_path)
        except Exception as e:  # noqa: BLE001 - the timings still count
            res["check"] = {"error": f"{type(e).__name__}: {e}"[:300]}
    del q, k, v, fns, timed, graphs
    t.cuda.empty_cache()
    return res


def spot_check(tb, cfg, ctx, args, q, k, v, doc, fns, atm, doc_path):
    t = tb.torch
    l = cfg["L"]
    rows = sorted(set(int(x) for x in t.linspace(0, l - 1, args.check_rows)
                      .round().tolist()) | {0, 1, l - 1})
    rows = t.tensor(rows, device=tb.dev)
    ref, ref_lse = tb.reference_rows(cfg, q, k, v, doc, rows)
    out = {"rows": len(rows), "tol": CHECK_TOL}
    for name, (fn, _) in fns.items():
        if fn is not None:
            out[name] = tb.rel_err(fn()[:, :, rows], ref)
    if atm is not None:
        with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
            for n, x in zip("qkv", (q, k, v)):
                tb.np.save(os.path.join(tmp, n + ".npy"),
                           x.float().cpu().numpy())  # exact: bf16 in f32
            cmd = attune_check_cmd(ctx["run"], atm, tmp, doc_path)
            p = subprocess.run(cmd, env=ctx["env"], capture_output=True,
                               text=True, timeout=args.attune_timeout)
            if p.returncode != 0:
                tail = (p.stderr.strip() or p.stdout.strip()).splitlines()
                out["attune_error"] = " | ".join(tail[-3:])[:300]
            else:
                o = t.from_numpy(tb.np.load(os.path.join(tmp, "out",
                                                         "out.npy")))
                out["attune"] = tb.rel_err(o.to(tb.dev)[:, :, rows], ref)
                lse_path = os.path.join(tmp, "out", "lse.npy")
                if os.path.isfile(lse_path):
                    lse = t.from_numpy(tb.np.load(lse_path)).to(tb.dev)
                    out["attune_lse_max_abs"] = (
                        lse[:, :, rows].float() - ref_lse).abs().max().item()
    bad = [n for n in SYSTEMS if isinstance(out.get(n), float)
           and not out[n] <= CHECK_TOL]  # NaN fails too
    if "attune_error" in out:
        bad.append("attune(run)")
    out["ok"] = not bad
    out["bad"] = bad
    return out


# ---------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------

def table(results):
    def cell(r, name, key, fmt):
        s = r["systems"].get(name)
        if not s:
            return "-"
        return fmt % s[key] if key in s else "n/a"

    head = ["config", "flops (G)"]
    for n in SYSTEMS:
        head += [f"{n} ms", f"{n} TF/s"]
    head += [f"A/{p}" for p in PEERS] + ["check"]
    lines = ["| " + " | ".join(head) + " |",
             "|" + "|".join(["---"] + ["---:"] * (len(head) - 2) + ["---"])
             + "|"]
    for r in results:
        row = [r["name"], "%.0f" % (r["flops"] / 1e9)]
        for n in SYSTEMS:
            row += [cell(r, n, "ms", "%.3f"), cell(r, n, "tflops", "%.0f")]
        for p in PEERS:
            x = r.get("ratios", {}).get(p)
            mark = "*" if p == r["target_peer"] else ""
            row.append("-" if x is None else "%.2f%s" % (x, mark))
        c = r.get("check")
        row.append("-" if not c else "error" if "error" in c else
                   "ok" if c.get("ok") else "BAD " + ",".join(c["bad"]))
        lines.append("| " + " | ".join(row) + " |")
    notes = []
    for r in results:
        for n in SYSTEMS:
            s = r["systems"].get(n, {})
            if "skipped" in s:
                notes.append(f"- {r['name']} {n}: {s['skipped']}")
        c = r.get("check") or {}
        if "error" in c or "attune_error" in c:
            notes.append(f"- {r['name']} check: "
                         f"{c.get('error') or c.get('attune_error')}")
    legend = ("A/peer = peer ms / Attune ms (> 1: Attune faster); * marks "
              "the peer that matters (flash for dense, flex for masked). "
              "TF/s = 4*B*H*D*allowed pairs / time.")
    return "\n".join(lines + ["", legend] + (["", "notes:"] + notes
                                             if notes else []))


def write_results(path, doc):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    os.replace(tmp, path)


def default_results_path(base):
    if os.environ.get("OUT"):
        return os.path.join(os.environ["OUT"], "results.json")
    return os.path.join(base, "results.json")


# ---------------------------------------------------------------------------

def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--manifest",
                   default=os.path.join(ROOT, "build", "bench-gpu",
                                        "manifest.json"))
    p.add_argument("--dry-run", action="store_true",
                   help="validate the manifest and print the commands; no "
                        "torch, no CUDA")
    p.add_argument("--report", nargs="+", metavar="RESULTS_JSON",
                   help="print the merged table of earlier results files")
    p.add_argument("--only", help="comma-separated regexes over config names")
    p.add_argument("--part", help="I/N: every N-th selected config from the "
                                  "I-th (to split the grid over calls)")
    p.add_argument("--systems", default=",".join(SYSTEMS),
                   help="subset of " + ",".join(SYSTEMS))
    p.add_argument("--results", help="results JSON (default: $OUT/results."
                                     "json, else next to the manifest)")
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--target-ms", type=float, default=1000.0,
                   help="timed milliseconds per system and config")
    p.add_argument("--min-iters", type=int, default=20)
    p.add_argument("--max-iters", type=int, default=1000)
    p.add_argument("--attune-iters", type=int, default=0,
                   help="--time-device N (default: the target peer's count)")
    p.add_argument("--attune-timeout", type=int, default=180)
    p.add_argument("--random-inputs-form", choices=("auto", "seed", "flag"),
                   default="auto",
                   help="'seed': --random-inputs 1; 'flag': bare "
                        "--random-inputs; 'auto': read attune-run --help")
    p.add_argument("--rounds", type=int, default=1,
                   help="alternate the systems this many times, keep the "
                        "best median")
    p.add_argument("--no-graph", dest="graph", action="store_false",
                   help="time torch with eager launches instead of CUDA "
                        "graph replays")
    p.add_argument("--flex-mode", default=None,
                   help="torch.compile mode for flex_attention (e.g. "
                        "max-autotune-no-cudagraphs; default: the default)")
    p.add_argument("--no-check", dest="check", action="store_false")
    p.add_argument("--check-rows", type=int, default=64)
    p.add_argument("--budget-s", type=float, default=480.0,
                   help="start no configuration after this many seconds "
                        "(the run tool stops a command at 600)")
    p.add_argument("--tmp", default=None, help="folder for the check's .npy")
    a = p.parse_args()
    a.systems = [s for s in a.systems.split(",") if s]
    bad = [s for s in a.systems if s not in SYSTEMS]
    if bad:
        p.error(f"unknown systems {bad}")
    if a.part:
        m = re.fullmatch(r"(\d+)/(\d+)", a.part)
        if not m or not 1 <= int(m.group(1)) <= int(m.group(2)):
            p.error("--part expects I/N with 1 <= I <= N")
        a.part = (int(m.group(1)), int(m.group(2)))
    return a


def main():
    args = parse_args()
    if args.report:
        results = []
        for path in args.report:
            with open(path) as f:
                doc = json.load(f)
            print(f"{path}: {doc.get('device')}, torch {doc.get('torch')}, "
                  f"{doc.get('date')}")
            results += doc.get("results", [])
        print(table(results))
        return 0

    man, base, errors, warns = load_manifest(args.manifest)
    if errors:
        for e in errors:
            print("error:", e, file=sys.stderr)
        return 1
    configs = select(man["configs"], args.only, args.part)
    if not configs:
        print("error: no configuration selected", file=sys.stderr)
        return 1
    picked = {c["name"] for c in configs}
    for name, w in warns:
        if name is None or name in picked:
            print("warning:", w)
    run = os.path.join(base, man.get("attune_run", "bin/attune-run"))
    if not os.access(run, os.X_OK):
        try:
            os.chmod(run, 0o755)
        except OSError:
            pass
    env = attune_env(man, base)
    rnd = random_inputs_args(run, env, args.random_inputs_form)
    ctx = {"base": base, "run": run, "env": env, "rnd": rnd}

    if args.dry_run:
        print(f"manifest {args.manifest}: {len(man['configs'])} configs, "
              f"target {man.get('target')}, {len(configs)} selected; "
              "valid")
        print(f"attune-run env: LD_LIBRARY_PATH={env['LD_LIBRARY_PATH']}")
        for c in configs:
            print(f"\n{c['name']}: {c['kind']}{' causal' if c['causal'] else ''}"
                  f" {c['dtype']} B={c['B']} H={c['H']} L={c['L']} D={c['D']}"
                  f" pairs={c['pairs']} flops={c['flops'] / 1e9:.1f} G,"
                  f" peer {target_peer(c)}")
            mask = MASK_TEXT[c["kind"] if c["kind"] != "dense" else
                             "causal" if c["causal"] else "full"]
            masked = c["kind"] != "dense"
            for n in ("flash", "cudnn"):
                if n in args.systems:
                    print(f"  {n}: sdpa_kernel([SDPBackend."
                          f"{'FLASH_ATTENTION' if n == 'flash' else 'CUDNN_ATTENTION'}])"
                          f": scaled_dot_product_attention(q, k, v, "
                          + ("attn_mask=<bool mask>)" if masked
                             else f"is_causal={c['causal']})"))
            if "flex" in args.systems:
                bm = "None" if c["kind"] == "dense" and not c["causal"] else (
                    f"create_block_mask({c['kind']} mask_mod, B="
                    f"{c['B'] if c['kind'] == 'document' else None}, H=None,"
                    f" {c['L']}, {c['L']})")
                print(f"  flex: torch.compile(flex_attention)(q, k, v, "
                      f"block_mask={bm})  [{mask}]")
            if "attune" in args.systems:
                doc = os.path.join(base, c["doc_ids"]) if c.get("doc_ids") \
                    else None
                atm = os.path.join(base, c["atm"])
                have = "" if os.path.isfile(atm) else "  [artifact missing]"
                print("  attune: " + shlex.join(attune_time_cmd(
                    run, atm, rnd, "N", doc)) + have)
                if args.check:
                    print("  attune check: " + shlex.join(attune_check_cmd(
                        run, atm, "<tmp>", doc)))
        return 0

    results_path = args.results or default_results_path(base)
    tb = Torch(args)
    head = tb.header()
    print(f"{head['device']} ({head['sms']} SMs), torch {head['torch']}, "
          f"CUDA {head['cuda']}, cuDNN {head['cudnn']}, {head['date']}")
    print(f"attune-run: {run} {' '.join(rnd)} (manifest target "
          f"{man.get('target')}, generated {man.get('generated')})")
    doc = dict(head, manifest=os.path.abspath(args.manifest),
               target=man.get("target"), argv=sys.argv[1:], results=[],
               skipped=[])
    t0 = time.monotonic()
    for i, cfg in enumerate(configs):
        if time.monotonic() - t0 > args.budget_s:
            doc["skipped"] = [c["name"] for c in configs[i:]]
            print(f"budget of {args.budget_s:.0f} s spent; not run: "
                  f"--only {','.join(doc['skipped'])}")
            break
        ctx["index"] = man["configs"].index(cfg)
        start = time.monotonic()
        r = run_config(tb, cfg, ctx, args)
        r["wall_s"] = round(time.monotonic() - start, 1)
        doc["results"].append(r)
        write_results(results_path, doc)
        s = r["systems"]
        parts = [f"{n} {s[n]['ms']:.3f} ms {s[n]['tflops']:.0f} TF/s"
                 for n in SYSTEMS if "ms" in s.get(n, {})]
        print(f"[{time.monotonic() - t0:5.0f} s] {cfg['name']}: "
              + ", ".join(parts) + f" ({r['wall_s']} s)")
    write_results(results_path, doc)
    print()
    print(f"{head['device']}, torch {head['torch']}, {head['date']}")
    print(table(doc["results"]))
    print(f"\nresults: {results_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
