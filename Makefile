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

.PHONY: all deps build run test unit e2e asan install format format-check spec-check \
        conformance bench clean

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
	rm -rf $(BUILD) build-asan build-release
