#!/bin/sh
# Installs the benchmark's peer, PyTorch (CPU is enough), into a virtual
# environment of its own: bench/.venv. `make check` never needs it.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
venv="${ATTUNE_BENCH_VENV:-$here/.venv}"
if [ ! -x "$venv/bin/python" ]; then
  command -v python3 >/dev/null || apt-get install -y -q python3 python3-venv
  python3 -m venv "$venv" || { apt-get install -y -q python3-venv && python3 -m venv "$venv"; }
fi
"$venv/bin/python" -c "import torch" 2>/dev/null ||
  "$venv/bin/pip" install -q torch numpy
"$venv/bin/python" -c "import torch; print('torch', torch.__version__, 'threads', torch.get_num_threads())"
