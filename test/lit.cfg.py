# -*- Python -*-
#
# lit configuration of the attune FileCheck suites (test/Dialect, test/Passes,
# test/Reference, ...). Follows mlir/examples/standalone/test. lit reads the
# generated <build>/test/lit.site.cfg.py, which sets the paths below and
# loads this file.

import os

import lit.formats
import lit.util

from lit.llvm import llvm_config
from lit.llvm.subst import ToolSubst

if not hasattr(config, "attune_obj_root"):
    lit_config.fatal(
        "run lit on the build tree (<build>/test), whose lit.site.cfg.py "
        "CMake generates from lit.site.cfg.py.in"
    )

# name: The name of this test suite.
config.name = "ATTUNE"

config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)

# suffixes: A list of file extensions to treat as test files.
config.suffixes = [".mlir"]

# test_source_root: The root path where tests are located.
config.test_source_root = os.path.dirname(__file__)

# test_exec_root: The root path where tests should be run (the build tree).
config.test_exec_root = os.path.join(config.attune_obj_root, "test")

config.substitutions.append(("%PATH%", config.environment["PATH"]))

llvm_config.with_system_environment(["HOME", "INCLUDE", "LIB", "TMP", "TEMP"])

# FileCheck, not and count from the LLVM tools dir.
llvm_config.use_default_substitutions()

# excludes: directories and files under test/ that are not lit tests: the
# GoogleTest unit tests (run by ctest) and the CMake files.
config.excludes = [
    "Inputs",
    "unit",
    "e2e",
    "CMakeLists.txt",
    "lit.cmake",
    "lit.cfg.py",
    "lit.site.cfg.py",
    "lit.site.cfg.py.in",
    "README.md",
]

config.attune_tools_dir = os.path.join(config.attune_obj_root, "bin")

# Tweak the PATH to include the tools dirs.
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)
llvm_config.with_environment("PATH", config.attune_tools_dir, append_path=True)

tool_dirs = [config.attune_tools_dir, config.llvm_tools_dir]
tools = [
    "attune-opt",
    # Built only when tools/attune-ref exists; tests that run it say
    # `REQUIRES: attune-ref`.
    ToolSubst("attune-ref", unresolved="ignore"),
    "attune-compile",
    "attune-run",
    # The PTX interpreter's loader (test/ptxemu).
    "ptxemu-load",
]
llvm_config.add_tool_substitutions(tools, tool_dirs)

if lit.util.which("attune-ref", os.pathsep.join(tool_dirs)):
    config.available_features.add("attune-ref")

# ptxas (CUDA toolkit) checks the cuda target's kernels; tests that run it
# say `REQUIRES: ptxas` and call it as %ptxas.
_ptxas = None
for _dir in [os.path.join(os.environ.get("CUDA_HOME", ""), "bin"),
             "/usr/local/cuda/bin"]:
    if _dir and os.access(os.path.join(_dir, "ptxas"), os.X_OK):
        _ptxas = os.path.join(_dir, "ptxas")
        break
if _ptxas is None:
    _ptxas = lit.util.which("ptxas")
if _ptxas:
    config.available_features.add("ptxas")
    config.substitutions.append(("%ptxas", _ptxas))

# The fake libcuda.so.1 (test/unit/runtime/FakeCudaDriver.c); with
# ATTUNE_FAKE_CUDA=ptx it runs kernels on the PTX interpreter (test/ptxemu).
config.substitutions.append(
    ("%fake_cuda_dir",
     os.path.join(config.attune_obj_root, "test", "unit", "runtime",
                  "fake-cuda")))
