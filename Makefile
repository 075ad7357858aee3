# Makefile: convenience only; CMake is the source of truth.
BUILD ?= build
MODEL ?=
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: all setup configure run serve test asan tsan tidy format clean

all: configure
	cmake --build $(BUILD) -j $(JOBS)

setup:
	@scripts/setup

configure: setup
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null

run: all
	@scripts/run-demo $(BUILD) "$(MODEL)"

# The example swarm as an OpenAI-compatible HTTP service (docs/api.md);
# e.g. make serve SERVE_ARGS="--listen 127.0.0.1:9000 --log"
serve: all
	$(BUILD)/swarm serve --swarm examples/swarm-demo.json $(SERVE_ARGS)

test: all
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

# Sanitizer runs (TESTPLAN H1): every report is fatal; LSan ignores only the
# third-party leaks listed in tests/lsan.supp.
SAN_ENV = ASAN_OPTIONS=detect_leaks=1:strict_string_checks=1 \
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0 \
	TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1

asan: setup
	cmake -S . -B build-asan -DSWARM_SANITIZE=address,undefined -DCMAKE_BUILD_TYPE=Debug
	cmake --build build-asan -j $(JOBS)
	$(SAN_ENV) ctest --test-dir build-asan -L 'unit|cli' --output-on-failure -j $(JOBS)

# The threaded modules (kernels' pool, engine sessions, runtime) under TSan.
tsan: setup
	cmake -S . -B build-tsan -DSWARM_SANITIZE=thread -DCMAKE_BUILD_TYPE=Debug
	cmake --build build-tsan -j $(JOBS)
	$(SAN_ENV) ctest --test-dir build-tsan -L 'unit|cli' --output-on-failure -j $(JOBS)

# clang-tidy (TESTPLAN H2) over src/ and cli/ with bugprone-* and cert-*;
# checks that only restate the project's style are off.
TIDY_CHECKS = -*,bugprone-*,cert-*,-bugprone-easily-swappable-parameters,\
	-bugprone-reserved-identifier,-cert-dcl37-c,-cert-dcl51-cpp,\
	-bugprone-narrowing-conversions,-cert-err33-c
tidy: configure
	@command -v clang-tidy >/dev/null || { echo "clang-tidy not installed"; exit 1; }
	clang-tidy -p $(BUILD) --quiet --checks='$(TIDY_CHECKS)' --warnings-as-errors='*' \
		$$(git ls-files 'src/*.c' 'cli/*.c')

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) build-asan build-tsan
