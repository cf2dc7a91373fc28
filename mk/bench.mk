# make bench: the performance benchmark (bench/run.sh; results in
# build/bench/results.md, a recorded run in bench/RESULTS.md). Not part of
# `make test`. Installs what it needs on a fresh machine: nginx (the fixed
# loopback server), lua-curl (the hand-written alternative), valgrind
# (instructions per call), curl and openssl.

BENCH_OUT = build/bench
BENCH_LUA_VERSIONS = 5.1 5.4
BENCH_WARNINGS = -std=c99 -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes

.PHONY: bench bench-build

$(BENCH_OUT)/curl_loop: bench/curl_loop.c
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_WARNINGS) -O2 -g $(CURL_CFLAGS) $< -o $@ $(CURL_LIBS)

$(BENCH_OUT)/%/benchclock.so: bench/clock.c
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_WARNINGS) -O2 -fPIC -shared -I/usr/include/lua$* $< -o $@

bench-build: $(BENCH_OUT)/curl_loop $(BENCH_LUA_VERSIONS:%=$(BENCH_OUT)/%/benchclock.so)
	@for v in $(BENCH_LUA_VERSIONS); do $(MAKE) --no-print-directory LUA_VERSION=$$v all || exit 1; done

bench: deps
	@EXTRA_PACKAGES="nginx lua-curl valgrind curl openssl" bin/install-deps
	@$(MAKE) --no-print-directory bench-build
	bench/run.sh
