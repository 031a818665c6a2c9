"""write_npy.py OUT DTYPE SHAPE VALUES: writes a .npy (format 1.0) of DTYPE
(int32, int64, float32) and SHAPE (dims joined by 'x') holding VALUES
(comma-separated, row-major). Standard library only."""
import struct
import sys

out, dtype, shape, values = sys.argv[1:5]
dims = [int(d) for d in shape.split("x")]
vals = [float(v) if dtype == "float32" else int(v) for v in values.split(",")]
n = 1
for d in dims:
    n *= d
if len(vals) != n:
    sys.exit(f"write_npy.py: {len(vals)} values for shape {shape}")
code, fmt = {"int32": ("<i4", "i"), "int64": ("<i8", "q"),
             "float32": ("<f4", "f")}[dtype]
shape_txt = "(" + ", ".join(str(d) for d in dims) + ("," if len(dims) == 1 else "") + ")"
header = f"{{'descr': '{code}', 'fortran_order': False, 'shape': {shape_txt}, }}"
pad = 64 - (10 + len(header) + 1) % 64
header = header + " " * pad + "\n"
with open(out, "wb") as f:
    f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)))
    f.write(header.encode("latin1"))
    f.write(struct.pack("<" + fmt * n, *vals))
