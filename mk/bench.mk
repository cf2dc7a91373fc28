# make bench: the performance benchmark (bench/run.sh; results in
# build/bench/results.md, a recorded run in bench/RESULTS.md). Not part of
# `make test`. Installs what it needs on a fresh machine: nginx (the fixed
# loopback server) and its Lua module (the server that answers after 50 ms,
# for many calls at once), lua-curl (the hand-written alternative), valgrind
# (instructions per call), curl and openssl. curl_loop_decode links liblua5.1
# (installed by `make deps`) and loads Debian's lua-cjson. The module is
# measured on each of BENCH_LUA_VERSIONS (luajit: OpenResty's luajit2, also
# from `make deps`, with Lua 5.1's lua-cjson).

BENCH_OUT = build/bench
BENCH_LUA_VERSIONS = 5.1 5.4 luajit
# The headers of each: the Makefile's LUA_INCDIR for that LUA_VERSION.
bench_lua_incdir = $(if $(filter luajit,$(1)),/usr/include/luajit-2.1,/usr/include/lua$(1))
BENCH_WARNINGS = -std=c99 -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes
# curl_loop_decode: the same loop decoding each body with lua-cjson on Lua 5.1.
BENCH_LUA51_CFLAGS ?= $(shell pkg-config --cflags lua5.1 2>/dev/null || echo -I/usr/include/lua5.1)
BENCH_LUA51_LIBS ?= $(shell pkg-config --libs lua5.1 2>/dev/null || echo -llua5.1)

.PHONY: bench bench-build

$(BENCH_OUT)/curl_loop: bench/curl_loop.c
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_WARNINGS) -O2 -g $(CURL_CFLAGS) $< -o $@ $(CURL_LIBS)

$(BENCH_OUT)/curl_loop_decode: bench/curl_loop.c
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_WARNINGS) -O2 -g -DWITH_CJSON_DECODE $(CURL_CFLAGS) $(BENCH_LUA51_CFLAGS) $< -o $@ \
		$(CURL_LIBS) $(BENCH_LUA51_LIBS)

$(BENCH_OUT)/%/benchclock.so: bench/clock.c
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_WARNINGS) -O2 -fPIC -shared -I$(call bench_lua_incdir,$*) $< -o $@

bench-build: $(BENCH_OUT)/curl_loop $(BENCH_OUT)/curl_loop_decode $(BENCH_LUA_VERSIONS:%=$(BENCH_OUT)/%/benchclock.so)
	@for v in $(BENCH_LUA_VERSIONS); do $(MAKE) --no-print-directory LUA_VERSION=$$v all || exit 1; done

bench: deps
	@EXTRA_PACKAGES="nginx libnginx-mod-http-lua lua-curl valgrind curl openssl" bin/install-deps
	@$(MAKE) --no-print-directory bench-build
	BENCH_LUA_VERSIONS="$(BENCH_LUA_VERSIONS)" bench/run.sh
