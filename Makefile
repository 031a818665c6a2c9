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

.PHONY: all deps configure build check demo docs format clean

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

demo: build
	@echo "== Llama-style decoder block in the reference evaluator (f64)"
	$(BUILD_DIR)/bin/attune-ref $(DEMO_MODEL) --signature
	$(BUILD_DIR)/bin/attune-ref $(DEMO_MODEL) --random-inputs 0 \
	  --input doc_ids=$(DEMO_IDS) --output-dir $(BUILD_DIR)/demo

docs: build
	cmake --build $(BUILD_DIR) --target attune-docs

format:
	@command -v clang-format >/dev/null || \
	  (DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q clang-format)
	git ls-files '*.cpp' '*.h' | xargs clang-format -i

clean:
	rm -rf $(BUILD_DIR)
