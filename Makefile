# lua-modelgates: `make` builds the C core for Lua $(LUA_VERSION);
# `make deps`, `make test`, `make demo`, `make clean`.

LUA_VERSION ?= 5.4
ifeq ($(LUA_VERSION),luajit)
  LUA ?= luajit
  LUA_INCDIR ?= /usr/include/luajit-2.1
  LUA_LIB ?= luajit-5.1
  # LuaRocks knows LuaJIT as Lua 5.1, whose ABI it implements.
  ROCK_LUA_VERSION = 5.1
else
  LUA ?= lua$(LUA_VERSION)
  LUA_INCDIR ?= /usr/include/lua$(LUA_VERSION)
  LUA_LIB ?= lua$(LUA_VERSION)
  ROCK_LUA_VERSION = $(LUA_VERSION)
endif

CC ?= cc
CFLAGS ?= -O2 -g
WARNINGS = -std=c99 -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes
CURL_CFLAGS ?= $(shell pkg-config --cflags libcurl 2>/dev/null)
CURL_LIBS ?= $(shell pkg-config --libs libcurl 2>/dev/null || echo -lcurl)
ALL_CFLAGS = $(WARNINGS) $(CFLAGS) -fPIC -I$(LUA_INCDIR) $(CURL_CFLAGS)
# A Lua C module is never linked against liblua: the host provides it
# (macOS says so explicitly: its symbols resolve when the host loads it).
ifeq ($(shell uname -s),Darwin)
  LDFLAGS_SHARED = -bundle -undefined dynamic_lookup
else
  LDFLAGS_SHARED = -shared
endif

BUILD = build/$(LUA_VERSION)
CORE = $(BUILD)/modelgates/core.so
SOURCES = $(wildcard src/*.c)
OBJECTS = $(SOURCES:src/%.c=$(BUILD)/obj/%.o)

export LUA_PATH := $(CURDIR)/lua/?.lua;$(CURDIR)/lua/?/init.lua;;
export LUA_CPATH := $(CURDIR)/$(BUILD)/?.so;;
export MODELGATES_TEST_LUA := $(LUA)
# spec/fork_spec.lua runs a small host that embeds this Lua and forks.
FORK_CHECK = $(BUILD)/fork_check
export MODELGATES_TEST_FORK_CHECK := $(CURDIR)/$(FORK_CHECK)

ROCKSPEC = rockspec/modelgates-dev-1.rockspec
TESTING_ROCKSPEC = rockspec/modelgates-testing-dev-1.rockspec
ROCK_TREE = $(CURDIR)/build/rock-$(LUA_VERSION)
# Debian packages lua-http, which the test server needs, for Lua 5.1 and 5.2
# only: on another Lua the check starts the server the testing rock installed
# into a Lua 5.1 tree (never the checkout's).
SERVER_ROCK_TREE = $(CURDIR)/build/rock-server-5.1

.PHONY: all deps test demo clean lint format docs check-rock

all: $(CORE)

$(BUILD)/obj/%.o: src/%.c src/*.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(CORE): $(OBJECTS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_SHARED) -o $@ $(OBJECTS) $(CURL_LIBS)

$(FORK_CHECK): spec/fork_check.c
	@mkdir -p $(dir $@)
	$(CC) $(WARNINGS) $(CFLAGS) -I$(LUA_INCDIR) -o $@ $< -l$(LUA_LIB)

deps:
	@bin/install-deps

test: deps $(CORE) $(FORK_CHECK)
	$(LUA) /usr/bin/busted spec

demo: deps $(CORE)
	$(LUA) examples/demo.lua

# Installs the rock into a tree of its own and uses it from outside the
# repository, with only that tree's paths.
check-rock: deps
	rm -rf $(ROCK_TREE)
	luarocks --lua-version=$(ROCK_LUA_VERSION) make --deps-mode=none --tree $(ROCK_TREE) \
		$(ROCKSPEC) LUA_INCDIR=$(LUA_INCDIR)
	luarocks --lua-version=$(ROCK_LUA_VERSION) make --deps-mode=none --tree $(ROCK_TREE) $(TESTING_ROCKSPEC)
	@if $(LUA) -e 'require "http.server"; require "zlib"' 2>/dev/null; then \
		$(call server_launcher,$(ROCK_TREE),$(ROCK_LUA_VERSION)); \
	else \
		rm -rf $(SERVER_ROCK_TREE) && \
		luarocks --lua-version=5.1 make --deps-mode=none --tree $(SERVER_ROCK_TREE) $(TESTING_ROCKSPEC) && \
		$(call server_launcher,$(SERVER_ROCK_TREE),5.1); \
	fi
	cd $$(mktemp -d) && \
		LUA_PATH='$(ROCK_TREE)/share/lua/$(ROCK_LUA_VERSION)/?.lua;$(ROCK_TREE)/share/lua/$(ROCK_LUA_VERSION)/?/init.lua;;' \
		LUA_CPATH='$(ROCK_TREE)/lib/lua/$(ROCK_LUA_VERSION)/?.so;;' \
		MODELGATES_SERVER='$(ROCK_TREE)/run-installed-server' \
		$(LUA) $(CURDIR)/.ci/installed_rock_check.lua

# $(ROCK_TREE)/run-installed-server: the modelgates-server that tree $(1)
# (Lua $(2)) installed, with that tree's paths, as `luarocks path` would set
# them for a tree LuaRocks is not configured with.
server_launcher = printf '\043!/bin/sh\nLUA_PATH=%s exec %s "$$@"\n' \
	"'$(1)/share/lua/$(2)/?.lua;$(1)/share/lua/$(2)/?/init.lua;;'" '$(1)/bin/modelgates-server' \
	> $(ROCK_TREE)/run-installed-server && chmod +x $(ROCK_TREE)/run-installed-server

LUA_SCRIPTS = $(wildcard bin/modelgates-*) $(wildcard .ci/*.lua)

# StyLua, pinned, from npm (the machine's Node.js; Debian's if there is none).
STYLUA_VERSION = 2.5.2
STYLUA = build/tools/node_modules/.bin/stylua
LUA_SOURCES = $(shell find lua spec bench examples docs -name '*.lua') $(wildcard rockspec/*.rockspec) \
	$(LUA_SCRIPTS) .busted .luacheckrc

$(STYLUA):
	@command -v npm >/dev/null || EXTRA_PACKAGES="nodejs npm" bin/install-deps
	npm install --prefix build/tools --no-save --no-audit --no-fund @johnnymorganz/stylua-bin@$(STYLUA_VERSION)

lint: $(STYLUA)
	luacheck lua spec bench examples docs $(LUA_SCRIPTS)
	$(STYLUA) --check $(LUA_SOURCES)

format: $(STYLUA)
	$(STYLUA) $(LUA_SOURCES)

# The LuaCATS classes and the README's tables, from lua/modelgates/api.lua
# (docs/generate.lua); spec/docs_spec.lua fails when they are not current.
docs:
	$(LUA) docs/generate.lua

clean:
	rm -rf build

# Targets of their own concern (other Lua hosts, benchmarks, fuzzing).
-include mk/*.mk
