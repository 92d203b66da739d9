# The two commands of the README, and the rest of the developer loop.
#   make demo   install what is missing, build, run the daemon on an example
#   make test   install what is missing, build with ASan+UBSan, run every test
BUILD      ?= build
DEMO_BUILD ?= build-demo
FUZZ_BUILD ?= build-fuzz
JOBS       ?= $(shell nproc)
FUZZ_SECONDS ?= 60

BENCH_BUILD ?= build-bench

.PHONY: all deps build test demo bench format check-format fuzz clean lint-mib

all: build

deps:
	@scripts/install-deps

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Debug -DIPS_ASAN=ON \
	    -DIPS_UBSAN=ON >/dev/null
	@cmake --build $(BUILD) -j$(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS)

demo: deps
	@cmake -S . -B $(DEMO_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	    -DIPS_TESTS=OFF >/dev/null
	@cmake --build $(DEMO_BUILD) -j$(JOBS)
	@scripts/demo $(DEMO_BUILD)

# Benchmarks, optimised build; results go in docs/PERFORMANCE.md.
bench: deps
	@cmake -S . -B $(BENCH_BUILD) -DCMAKE_BUILD_TYPE=Release \
	    -DIPS_TESTS=OFF >/dev/null
	@cmake --build $(BENCH_BUILD) -j$(JOBS) >/dev/null
	@$(BENCH_BUILD)/bench/ike_handshakes
	@echo
	@taskset -c 1 $(BENCH_BUILD)/bench/esp_throughput
	@echo
	@bench/peers.sh $(BENCH_BUILD)
	@echo
	@bench/tunnel.sh $(BENCH_BUILD)
	@echo
	@bench/agent_walk.sh $(BENCH_BUILD)

# libFuzzer on every parser, FUZZ_SECONDS each (needs clang).
fuzz:
	@scripts/install-deps fuzz
	@CC=clang cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=Debug \
	    -DIPS_FUZZ=ON -DIPS_ASAN=ON -DIPS_UBSAN=ON >/dev/null
	@cmake --build $(FUZZ_BUILD) -j$(JOBS)
	@scripts/fuzz $(FUZZ_BUILD) $(FUZZ_SECONDS)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

check-format:
	@scripts/check-format

clean:
	rm -rf $(BUILD) $(DEMO_BUILD) $(FUZZ_BUILD) $(BENCH_BUILD)

# smilint -l 6 on our MIB, with the IETF base modules install-deps put in
# /usr/local/share/ipsecmon/mibs (docs/MIB.md); any message fails.
lint-mib: deps
	@mib/lint.sh mib/IPSECMON-MIB.txt /usr/local/share/ipsecmon/mibs
