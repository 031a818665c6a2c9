#!/usr/bin/env python3
"""Writes the GPU benchmark's attention models, document ids and manifest.

Standard library only (this runs on the build machine, which has no numpy).
bench/gpu/prepare.sh calls it, then compiles every models/<name>.mlir to
models/<name>.atm; bench/gpu/bench_gpu.py reads manifest.json on the GPU
machine.

The grid (DESIGN.md section 8): bf16, B*L = 16384 tokens, H*D = 2048,
  dense:    D in {64, 128} x L in {1024, 4096, 16384} x {non-causal, causal}
  window:   D = 128, each L: causal sliding window of 1024 keys, the query's
            own key included (q - 1023 <= k <= q);
  document: D = 128, each L: causal + document mask over documents of
            pseudo-random lengths (ids in models/doc_ids_L<L>.npy, [B, L]
            int32, given to Attune with --input and loaded by the torch side).
FLOPs are 4*B*H*D*(allowed (q, k) pairs) for every system.
"""

import argparse
import datetime
import json
import os
import random
import struct
import sys

TOKENS = 16384
HIDDEN = 2048  # H * D
WINDOW = 1024
DTYPE = "bf16"
MLIR_DTYPE = {"bf16": "bf16"}


def doc_lengths(length, seed):
    """Lengths of the documents packed into one row of `length` tokens:
    uniform in [L/16, 3L/16] (about 8 documents a row), the last one cut
    to fit. Deterministic for a given seed."""
    rng = random.Random(seed)
    lo, hi = max(1, length // 16), max(1, 3 * length // 16)
    out, used = [], 0
    while used < length:
        n = min(rng.randint(lo, hi), length - used)
        out.append(n)
        used += n
    return out


def pairs_per_row(cfg, lengths=None):
    """Allowed (q, k) pairs of one [L, L] score matrix (closed forms;
    bench_gpu.py recounts them query by query as a check)."""
    length = cfg["L"]
    if cfg["kind"] == "dense":
        return length * (length + 1) // 2 if cfg["causal"] else length * length
    if cfg["kind"] == "window":
        w = min(cfg["window"], length)
        return w * (w + 1) // 2 + (length - w) * w
    if cfg["kind"] == "document":
        return sum(n * (n + 1) // 2 for n in lengths)
    raise ValueError(cfg["kind"])


def mask_attr(cfg):
    if cfg["kind"] == "dense":
        return "#attune.causal" if cfg["causal"] else None
    if cfg["kind"] == "window":
        # q' - left <= k <= q' + right: the window's keys end at the query.
        return f"#attune.sliding_window<left = {cfg['window'] - 1}, right = 0>"
    if cfg["kind"] == "document":
        return "#attune.and<[#attune.causal, #attune.document]>"
    raise ValueError(cfg["kind"])


def model_mlir(cfg):
    b, h, l, d = cfg["B"], cfg["H"], cfg["L"], cfg["D"]
    et = MLIR_DTYPE[cfg["dtype"]]
    t = f"tensor<{b}x{h}x{l}x{d}x{et}>"
    lse = f"tensor<{b}x{h}x{l}xf32>"
    ids = f"tensor<{b}x{l}xi32>"
    doc = cfg["kind"] == "document"
    args = [f'%q: {t} {{attune.name = "q"}}', f'%k: {t} {{attune.name = "k"}}',
            f'%v: {t} {{attune.name = "v"}}']
    if doc:
        args.append(f'%doc_ids: {ids} {{attune.name = "doc_ids"}}')
    attrs = f" {{mask = {cfg['mask_attr']}}}" if cfg["mask_attr"] else ""
    doc_operands = " doc(%doc_ids, %doc_ids)" if doc else ""
    operand_types = [t, t, t] + ([ids, ids] if doc else [])
    return (
        f"// GPU benchmark model {cfg['name']} (bench/gpu/gen_models.py):\n"
        f"// {cfg['description']}\n"
        f"func.func @attention({', '.join(args)})\n"
        f'    -> ({t} {{attune.name = "out"}}, {lse} {{attune.name = "lse"}}) {{\n'
        f"  %out, %lse = attune.attention %q, %k, %v{doc_operands}{attrs}\n"
        f"    : ({', '.join(operand_types)}) -> ({t}, {lse})\n"
        f"  return %out, %lse : {t}, {lse}\n"
        f"}}\n")


def write_npy_i32(path, rows):
    """A C-order little-endian int32 .npy (format 1.0) of a 2-D list."""
    shape = (len(rows), len(rows[0]))
    header = ("{'descr': '<i4', 'fortran_order': False, 'shape': (%d, %d), }"
              % shape)
    # Magic (6) + version (2) + header length (2) + header + '\n', padded
    # to a multiple of 64 bytes as numpy writes it.
    pad = 64 - (10 + len(header) + 1) % 64
    header = header + " " * (pad % 64) + "\n"
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)))
        f.write(header.encode("latin1"))
        for r in rows:
            f.write(struct.pack("<%di" % len(r), *r))


def configs(lengths=(1024, 4096, 16384), dims=(64, 128), masked_dim=128,
            tokens=TOKENS, hidden=HIDDEN, window=WINDOW):
    """The grid: dense (both D, causal or not) and, at masked_dim, the
    window and document masks, for every L; B = tokens / L, H = hidden / D."""
    out = []
    for d in dims:
        for l in lengths:
            for causal in (False, True):
                out.append(dict(kind="dense", causal=causal, L=l, D=d))
    for l in lengths:
        out.append(dict(kind="window", causal=True, L=l, D=masked_dim))
    for l in lengths:
        out.append(dict(kind="document", causal=True, L=l, D=masked_dim))
    for c in out:
        c["B"] = tokens // c["L"]
        c["H"] = hidden // c["D"]
        c["dtype"] = DTYPE
        c["window"] = window if c["kind"] == "window" else None
        tag = {"dense": "causal" if c["causal"] else "full",
               "window": f"window{window}", "document": "doc"}[c["kind"]]
        c["name"] = f"{tag}_L{c['L']}_D{c['D']}"
    return out


def write_stage(out_dir, cfgs, target, compiled):
    """Writes models/<name>.mlir, the document ids and manifest.json;
    returns the manifest."""
    models = os.path.join(out_dir, "models")
    os.makedirs(models, exist_ok=True)
    for c in cfgs:
        b, h, l, d = c["B"], c["H"], c["L"], c["D"]
        c["mask_attr"] = mask_attr(c)
        c["doc_ids"] = None
        c["doc_lengths"] = None
        if c["kind"] == "document":
            lengths = [doc_lengths(l, seed=1000003 * l + row)
                       for row in range(b)]
            rows = [[i for i, n in enumerate(ls) for _ in range(n)]
                    for ls in lengths]
            ids = f"doc_ids_L{l}.npy"
            write_npy_i32(os.path.join(models, ids), rows)
            c["doc_ids"] = "models/" + ids
            c["doc_lengths"] = lengths
            pairs = sum(pairs_per_row(c, ls) for ls in lengths)
        else:
            pairs = b * pairs_per_row(c)
        c["pairs"] = pairs  # summed over the batch, per head
        c["flops"] = 4 * h * d * pairs
        w = c["window"]
        c["description"] = {
            "dense": "causal" if c["causal"] else "non-causal",
            "window": f"causal sliding window of {w} keys "
                      f"(q - {w and w - 1} <= k <= q)",
            "document": "causal + document mask (document ids as input "
                        "doc_ids)"}[c["kind"]] + \
            f", {c['dtype']}, B={b} H={h} L={l} D={d}"
        c["mlir"] = f"models/{c['name']}.mlir"
        c["atm"] = f"models/{c['name']}.atm"
        with open(os.path.join(out_dir, c["mlir"]), "w") as f:
            f.write(model_mlir(c))

    manifest = {
        "version": 1,
        "generated": datetime.datetime.now(datetime.timezone.utc)
        .strftime("%Y-%m-%dT%H:%M:%SZ"),
        "generator": "bench/gpu/gen_models.py",
        "target": target,
        "compiled": compiled,
        "flops_rule": "4*B*H*D*allowed_pairs (same for every system)",
        "paths": "relative to this manifest's folder",
        "attune_run": "bin/attune-run",
        "lib_dir": "bin",
        "configs": cfgs,
    }
    with open(os.path.join(out_dir, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    return manifest


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", required=True,
                   help="output folder (models/ and manifest.json go here)")
    p.add_argument("--target", default="cuda:sm_80,sm_90a",
                   help="recorded in the manifest")
    p.add_argument("--no-compile", action="store_true",
                   help="recorded in the manifest: no .atm will be built")
    p.add_argument("--list", action="store_true",
                   help="print one model name per line after writing")
    args = p.parse_args()
    man = write_stage(args.out, configs(), args.target, not args.no_compile)
    if args.list:
        for c in man["configs"]:
            print(c["name"])


if __name__ == "__main__":
    sys.exit(main())
