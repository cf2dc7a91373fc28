# lua-modelgates: `make` builds the C core for Lua $(LUA_VERSION);
# `make deps`, `make test`, `make demo`, `make clean`.

LUA_VERSION ?= 5.4
ifeq ($(LUA_VERSION),luajit)
  LUA ?= luajit
  LUA_INCDIR ?= /usr/include/luajit-2.1
else
  LUA ?= lua$(LUA_VERSION)
  LUA_INCDIR ?= /usr/include/lua$(LUA_VERSION)
endif

CC ?= cc
CFLAGS ?= -O2 -g
WARNINGS = -std=c99 -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes
CURL_CFLAGS ?= $(shell pkg-config --cflags libcurl 2>/dev/null)
CURL_LIBS ?= $(shell pkg-config --libs libcurl 2>/dev/null || echo -lcurl)
ALL_CFLAGS = $(WARNINGS) $(CFLAGS) -fPIC -I$(LUA_INCDIR) $(CURL_CFLAGS)
# A Lua C module is never linked against liblua: the host provides it.
LDFLAGS_SHARED = -shared

BUILD = build/$(LUA_VERSION)
CORE = $(BUILD)/modelgates/core.so
SOURCES = $(wildcard src/*.c)
OBJECTS = $(SOURCES:src/%.c=$(BUILD)/obj/%.o)

export LUA_PATH := $(CURDIR)/lua/?.lua;$(CURDIR)/lua/?/init.lua;;
export LUA_CPATH := $(CURDIR)/$(BUILD)/?.so;;
export MODELGATES_TEST_LUA := $(LUA)

.PHONY: all deps test demo clean lint

all: $(CORE)

$(BUILD)/obj/%.o: src/%.c src/*.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(CORE): $(OBJECTS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_SHARED) -o $@ $(OBJECTS) $(CURL_LIBS)

deps:
	@bin/install-deps

test: deps $(CORE)
	$(LUA) /usr/bin/busted spec

demo: deps $(CORE)
	$(LUA) examples/demo.lua

lint:
	luacheck lua spec bin examples

clean:
	rm -rf build
