# Memory and crash safety of the C core: the whole suite under valgrind and
# under AddressSanitizer + UndefinedBehaviorSanitizer, and a libFuzzer
# target for the response interpreter.

ASAN_BUILD = build/asan-$(LUA_VERSION)
ASAN_CORE = $(ASAN_BUILD)/modelgates/core.so
SANITIZE = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
FUZZER = build/fuzz/response_fuzzer
FUZZ_SECONDS ?= 60

.PHONY: check-memory check-valgrind check-asan fuzz

check-memory: check-valgrind check-asan

check-valgrind: deps $(CORE) $(FORK_CHECK)
	@EXTRA_PACKAGES=valgrind bin/install-deps
	valgrind --quiet --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=3 \
		$(LUA) /usr/bin/busted spec

$(ASAN_CORE): $(SOURCES) src/*.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(SANITIZE) $(LDFLAGS_SHARED) -o $@ $(SOURCES) $(CURL_LIBS)

# The interpreter is not built with the sanitizers, so their runtimes are
# preloaded; only the module is instrumented. The Lua processes the specs
# start (the CLI, examples, documents) are checked for memory errors but not
# for leaks: LeakSanitizer's tracer crashes now and then at the exit of such
# short processes here ("Tracer caught signal 11"), failing them at random.
check-asan: deps $(ASAN_CORE) $(FORK_CHECK)
	LD_PRELOAD="$$($(CC) -print-file-name=libasan.so) $$($(CC) -print-file-name=libubsan.so)" \
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	MODELGATES_TEST_CHILD_ENV=ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 \
	LSAN_OPTIONS=suppressions=$(CURDIR)/fuzz/lsan.supp:print_suppressions=0 \
	LUA_CPATH='$(CURDIR)/$(ASAN_BUILD)/?.so;;' \
		$(LUA) /usr/bin/busted spec

$(FUZZER): $(SOURCES) src/*.h fuzz/response_fuzzer.c
	@EXTRA_PACKAGES="clang libclang-rt-dev" bin/install-deps
	@mkdir -p $(dir $@)
	clang -std=c99 -g -O1 -fsanitize=fuzzer,address,undefined -Isrc -I$(LUA_INCDIR) $(CURL_CFLAGS) \
		-o $@ fuzz/response_fuzzer.c $(SOURCES) -l$(LUA_LIB) $(CURL_LIBS)

# Runs the fuzzer for FUZZ_SECONDS on a copy of the seed corpus.
fuzz: deps $(FUZZER)
	rm -rf build/fuzz/corpus && cp -r fuzz/corpus build/fuzz/corpus
	$(FUZZER) -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -print_final_stats=1 build/fuzz/corpus
