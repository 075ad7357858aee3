# Makefile: convenience only; CMake is the source of truth.
BUILD ?= build
MODEL ?=
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: all setup configure run test asan format clean

all: configure
	cmake --build $(BUILD) -j $(JOBS)

setup:
	@scripts/setup

configure: setup
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null

run: all
	@scripts/run-demo $(BUILD) "$(MODEL)"

test: all
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

asan: setup
	cmake -S . -B build-asan -DSWARM_SANITIZE=address,undefined -DCMAKE_BUILD_TYPE=Debug
	cmake --build build-asan -j $(JOBS)
	ctest --test-dir build-asan -L unit --output-on-failure

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) build-asan
