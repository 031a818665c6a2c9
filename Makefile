# Attune: `make demo` and `make check` work on a fresh Debian 12 machine as
# root. Both install what is missing (apt), configure with CMake + Ninja,
# build and run.

BUILD_DIR ?= build
JOBS ?= $(shell nproc)
LLVM_PREFIX := /usr/lib/llvm-22
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# Everything the build and the tests need, by Debian package name.
APT_PACKAGES := cmake ninja-build ccache make python3 \
  llvm-22-dev libmlir-22-dev mlir-22-tools llvm-22-tools clang-22 lld-22 \
  libgtest-dev libgmock-dev nlohmann-json3-dev \
  flatbuffers-compiler libflatbuffers-dev libclang-rt-22-dev

CMAKE_FLAGS := -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_C_COMPILER=$(LLVM_PREFIX)/bin/clang \
  -DCMAKE_CXX_COMPILER=$(LLVM_PREFIX)/bin/clang++ \
  -DCMAKE_EXE_LINKER_FLAGS=-fuse-ld=lld -DCMAKE_SHARED_LINKER_FLAGS=-fuse-ld=lld \
  -DMLIR_DIR=$(LLVM_PREFIX)/lib/cmake/mlir

DEMO_MODEL := python-free-examples/llama_block/llama_block.mlir
DEMO_IDS := python-free-examples/llama_block/doc_ids.npy

.PHONY: all deps configure build check demo bench-cpu bench-gpu-prepare docs \
  format clean

all: build

deps:
	@missing=""; \
	for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" \
	    || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing:$$missing"; \
	  $(SUDO) apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends $$missing; \
	fi

$(BUILD_DIR)/build.ninja: | deps
	cmake -S . -B $(BUILD_DIR) $(CMAKE_FLAGS)

configure: $(BUILD_DIR)/build.ninja

build: deps configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

# lit (FileCheck suites) first, then every ctest test but lit itself (unit
# tests, docs); each prints its summary.
check: build
	$(LLVM_PREFIX)/bin/lit -sv $(BUILD_DIR)/test
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) -LE lit

# Compile the Llama-style block for the CPU, write deterministic random
# weights as safetensors, and run it through an application that links only
# the runtime (python-free-examples/llama_block/demo.cpp).
DEMO_DIR := $(BUILD_DIR)/demo

demo: build
	@mkdir -p $(DEMO_DIR)
	@echo "== attune-compile: $(DEMO_MODEL) -> $(DEMO_DIR)/llama_block.atm"
	$(BUILD_DIR)/bin/attune-compile $(DEMO_MODEL) -o $(DEMO_DIR)/llama_block.atm
	$(BUILD_DIR)/bin/attune-compile --print-info $(DEMO_DIR)/llama_block.atm
	@echo "== deterministic random weights (seed 0)"
	$(BUILD_DIR)/bin/attune-run $(DEMO_DIR)/llama_block.atm \
	  --write-random-weights $(DEMO_DIR)/weights.safetensors --seed 0 \
	  --skip x --skip doc_ids
	@echo "== llama-block-demo (links only libattune_runtime)"
	$(BUILD_DIR)/bin/llama-block-demo $(DEMO_DIR)/llama_block.atm \
	  $(DEMO_DIR)/weights.safetensors $(DEMO_IDS) --runs 50

# CPU benchmark against PyTorch in the same run (installs torch into
# bench/.venv first; never part of `make check`).
bench-cpu: build
	bench/cpu/setup.sh
	bench/.venv/bin/python bench/cpu/bench_cpu.py --build $(BUILD_DIR)

# GPU benchmark, build-machine half: compiles the attention models for
# cuda:sm_80,sm_90a into build/bench-gpu with attune-run beside them, and
# prints the `run` call that times them against PyTorch on the GPU machine
# (bench/gpu/README.md).
bench-gpu-prepare: build
	bench/gpu/prepare.sh --build $(BUILD_DIR)

docs: build
	cmake --build $(BUILD_DIR) --target attune-docs

format:
	@command -v clang-format >/dev/null || \
	  (DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q clang-format)
	git ls-files '*.cpp' '*.h' | xargs clang-format -i

clean:
	rm -rf $(BUILD_DIR)
