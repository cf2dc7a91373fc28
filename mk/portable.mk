# make check-clang: the C core built by clang with -std=c99,
# -D_POSIX_C_SOURCE=200809L and nothing else (no _GNU_SOURCE), warnings as
# errors, and the suite run against that build: what can be proved here of
# a core meant to build on macOS and the BSDs too.

CLANG_BUILD = build/clang-$(LUA_VERSION)

.PHONY: check-clang

check-clang: deps $(FORK_CHECK)
	@EXTRA_PACKAGES=clang bin/install-deps
	$(MAKE) --no-print-directory BUILD=$(CLANG_BUILD) CC=clang LUA_VERSION=$(LUA_VERSION) \
		CFLAGS="-O2 -g -Werror -D_POSIX_C_SOURCE=200809L" all
	LUA_CPATH='$(CURDIR)/$(CLANG_BUILD)/?.so;;' $(LUA) /usr/bin/busted spec
