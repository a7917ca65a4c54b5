# The front door: `make run` and `make test` are the README's two commands.
# CMake does the building; this file names the everyday tasks.
BUILD ?= build
BUILD_TYPE ?= RelWithDebInfo
PREFIX ?= /usr/local
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=
ifeq ($(CI),true)
CMAKE_FLAGS += -DSANZARU_WERROR=ON
endif

.PHONY: all deps build run test unit e2e asan tsan fuzz soak install format format-check \
        spec-check conformance bench clean

all: build

deps:
	@scripts/install-deps

$(BUILD)/Makefile: CMakeLists.txt
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_FLAGS)

build: $(BUILD)/Makefile
	cmake --build $(BUILD) -j $(JOBS)

# Installs what is missing, builds, and runs the server on stdio.
run: deps build
	exec $(BUILD)/sanzaru $(ARGS)

tests/node_modules/.installed: tests/package.json
	cd tests && npm install --no-audit --no-fund --loglevel=error && touch node_modules/.installed

# Installs what is missing, builds, and runs every test; ends with ctest's summary.
test: deps build tests/node_modules/.installed
	cd $(BUILD) && ctest --output-on-failure -j 2

unit: build
	cd $(BUILD) && ctest --output-on-failure -L unit

e2e: build tests/node_modules/.installed
	cd $(BUILD) && ctest --output-on-failure -L e2e

# Unit tests under AddressSanitizer + UndefinedBehaviorSanitizer, in their own tree.
asan:
	cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DSANZARU_SANITIZE=ON $(CMAKE_FLAGS)
	cmake --build build-asan -j $(JOBS)
	cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j 2

# The threaded code under ThreadSanitizer, in its own tree: the job pool (imaging
# and audio), the store's writer, the state database and every audio job run
# real work on pool threads; stdio, HTTP, the net client (and the OpenAI and
# Gemini clients on it) and the engine run beside them on the loop. test_imaging itself is left out: libvips synchronises its own worker
# threads through GLib (futexes, atomics) that TSan cannot see, so its pixel
# copies between those threads look like races (and the run takes minutes).
TSAN_TESTS ?= test_(pool|store|store_paths|state|taskdb|audio|audio_bad|audio_plan|audio_async|stdio|http|net|openai|openai_audio|gemini|mcp|tasks|watch)$$
tsan:
	cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=Debug -DSANZARU_SANITIZE=thread $(CMAKE_FLAGS)
	cmake --build build-tsan -j $(JOBS)
	cd build-tsan && TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
	  ctest --output-on-failure -j 2 -L unit -R '$(TSAN_TESTS)'

# Every libFuzzer driver in fuzz/ for FUZZ_SECONDS each, under ASan+UBSan,
# from the committed seeds (fuzz/corpus/<driver>/) plus what earlier runs
# found (build-fuzz/corpus/<driver>/). Crashes land in build-fuzz/artifacts/.
FUZZ_SECONDS ?= 60
fuzz:
	CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSANZARU_FUZZ=ON \
	  -DSANZARU_TESTS=OFF $(CMAKE_FLAGS)
	cmake --build build-fuzz -j $(JOBS)
	fuzz/run build-fuzz $(FUZZ_SECONDS)

# Hours of use in a few minutes (bench/soak/soak.mjs, ~2 min; docs/reliability.md):
# 100,000 stdio calls, 20,000 HTTP calls, 256 downloads with 10 % cut mid-body,
# kill -9 mid-download and a restart, 1,000 slow sockets for 60 s. Not part of
# make test. SOAK_ARGS=--quick for a short run of the same checks.
soak: build tests/node_modules/.installed
	mkdir -p $(BUILD)/bench
	cc -O2 -std=c17 -Wall -Wextra -o $(BUILD)/bench/mcpdrive bench/driver/mcpdrive.c \
	  $$(pkg-config --cflags --libs jansson libcurl libcrypto) -lpthread
	node bench/soak/soak.mjs --bin $(BUILD)/sanzaru --driver $(BUILD)/bench/mcpdrive $(SOAK_ARGS)

install: build
	cmake --install $(BUILD) --prefix $(PREFIX)

FORMAT_FILES = $(shell git ls-files '*.c' '*.h' 2>/dev/null)
format:
	clang-format -i $(FORMAT_FILES)

format-check:
	clang-format --dry-run --Werror $(FORMAT_FILES)

spec-check: build tests/node_modules/.installed
	SANZARU_BIN=$(abspath $(BUILD))/sanzaru scripts/spec-check

conformance: build tests/node_modules/.installed
	BUILD=$(BUILD) scripts/conformance

bench:
	scripts/bench

clean:
	rm -rf $(BUILD) build-asan build-tsan build-fuzz build-release
