# Every Lua host, proven by the real one:
#   make test-all      the suite on each interpreter, the rock for each of them,
#                      Neovim and nginx, and luacheck
#   make test-5.3      the suite on one interpreter (any of LUA_VERSIONS)
#   make check-rocks   `make check-rock` for each interpreter
#   make check-hosts   Neovim and nginx (Debian's, with its Lua module)
#   make check-luarocks-test
#                      the suite as `luarocks test` runs it after `luarocks
#                      make`: plain busted, the rock tree's paths, no make
# Each interpreter's run is a make of its own, so that LUA_VERSION picks the
# build, the paths and the interpreter exactly as it does for `make test`.

LUA_VERSIONS = 5.1 5.2 5.3 5.4 luajit
SUITES = $(LUA_VERSIONS:%=test-%)
ROCK_CHECKS = $(LUA_VERSIONS:%=check-rock-%)
HOST_PACKAGES = neovim nginx libnginx-mod-http-lua dnsmasq-base
SUBMAKE = $(MAKE) --no-print-directory

.PHONY: test-all check-rocks check-hosts host-specs check-luarocks-test $(SUITES) $(ROCK_CHECKS)

test-all: $(SUITES) check-rocks check-hosts check-luarocks-test lint

# LuaRocks cannot fetch busted offline, so its busted wrapper is stood in for
# by Debian's busted with the same paths: those of the Lua 5.1 rock tree,
# whose bin/ is on PATH as an installed rock's is.
check-luarocks-test: check-rock-5.1
	env -u MODELGATES_TEST_LUA -u MODELGATES_TEST_FORK_CHECK PATH="$(CURDIR)/build/rock-5.1/bin:$$PATH" \
		LUA_PATH='$(CURDIR)/build/rock-5.1/share/lua/5.1/?.lua;$(CURDIR)/build/rock-5.1/share/lua/5.1/?/init.lua;;' \
		LUA_CPATH='$(CURDIR)/build/rock-5.1/lib/lua/5.1/?.so;;' \
		lua5.1 /usr/bin/busted

$(SUITES): test-%:
	$(SUBMAKE) test LUA_VERSION=$*

check-rocks: $(ROCK_CHECKS)

# The host provides Lua's symbols: a core.so that needs liblua would load a
# second Lua into it.
$(ROCK_CHECKS): check-rock-%:
	$(SUBMAKE) check-rock LUA_VERSION=$*
	@if readelf -d build/rock-$*/lib/lua/*/modelgates/core.so | grep -E 'NEEDED.*\[lib(lua|luajit-)[0-9.]+\.so'; then \
		echo "check-rock-$*: core.so is linked against a Lua library" >&2; exit 1; fi

# Neovim and nginx embed LuaJIT: the host specs run on the LuaJIT build
# (Neovim also loads the LuaJIT rock, the way rocks.nvim does).
check-hosts: deps check-rock-luajit
	@EXTRA_PACKAGES="$(HOST_PACKAGES)" bin/install-deps
	$(SUBMAKE) host-specs LUA_VERSION=luajit

host-specs: $(CORE)
	MODELGATES_TEST_ROOT=$(CURDIR) MODELGATES_TEST_ROCK_TREE=$(ROCK_TREE) \
		$(LUA) /usr/bin/busted --pattern=_host spec/hosts
