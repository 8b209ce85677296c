# Steward — see README.md. `make demo` and `make check` are the two commands.
SHELL := /bin/bash
JOBS ?= $(shell nproc)
BUILD ?= build
CMAKE_FLAGS ?=
# Release keeps CI builds quick; use BUILD_TYPE=RelWithDebInfo to debug.
BUILD_TYPE ?= Release

.PHONY: deps deps-full build configure check test test-asan fuzz demo bench clean format

deps:
	@./scripts/install-deps.sh

deps-full:
	@STEWARD_DEPS=full ./scripts/install-deps.sh

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_FLAGS)

configure: deps $(BUILD)/build.ninja

build: configure
	cmake --build $(BUILD) -j $(JOBS)

# Unit + integration tests, then unit and integration tests again under
# ASan+UBSan, then every fuzz target for a bounded time.
check: deps-full build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) --timeout 600
	$(MAKE) test-asan
	$(MAKE) fuzz

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

build-asan/build.ninja:
	cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DSTEWARD_SANITIZE=ON -DSTEWARD_BENCH=OFF

# The unit tests, then the integration tests against ASan builds of steward
# and steward-sim (the request path's coroutines are where g++ has miscompiled
# object lifetimes before); the scan quality and linear-time evaluations are
# dataset-sized and run only in the normal build.
test-asan: deps build-asan/build.ninja
	cmake --build build-asan -j $(JOBS)
	cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --output-on-failure -j $(JOBS) -L unit
	cd build-asan && ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --output-on-failure -j $(JOBS) -L integration -E '^(scan_quality_test|scan_linear_test)$$'

build-fuzz/build.ninja:
	CC=clang-14 CXX=clang++-14 cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=Debug \
	  -DSTEWARD_FUZZ=ON -DSTEWARD_TESTS=OFF -DSTEWARD_BENCH=OFF

FUZZ_SECONDS ?= 20
fuzz: deps build-fuzz/build.ninja
	@set -o pipefail; fuzzers=$$(cat build-fuzz/fuzzers.txt); \
	if [[ -n "$$fuzzers" ]]; then cmake --build build-fuzz -j $(JOBS) --target $$fuzzers || exit 1; fi; \
	for f in $$fuzzers; do \
	  echo "fuzz: $$f for $(FUZZ_SECONDS)s"; \
	  corpus=test/fuzz/corpus/$$f; mkdir -p build-fuzz/corpus/$$f; \
	  ./build-fuzz/$$(find build-fuzz -name $$f -type f -executable -printf '%P\n' | head -1) \
	    -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 -print_final_stats=0 \
	    -artifact_prefix=build-fuzz/ \
	    build-fuzz/corpus/$$f $$( [[ -d $$corpus ]] && echo $$corpus ) > build-fuzz/$$f.log 2>&1 \
	    || { tail -40 build-fuzz/$$f.log; echo "fuzz: $$f failed (crash input in build-fuzz/)"; exit 1; }; \
	  tail -1 build-fuzz/$$f.log; \
	done

demo: deps build
	./scripts/demo.sh

bench: deps-full build
	@for b in $$(ls bench/*.sh 2>/dev/null | xargs -n1 basename | sed 's/\.sh$$//'); do \
	  echo "== bench-$$b"; ./bench/$$b.sh || exit 1; done

bench-%: deps-full build
	./bench/$*.sh

format:
	find src include bench test -name '*.h' -o -name '*.cc' | xargs clang-format -i

clean:
	rm -rf build build-asan build-fuzz
