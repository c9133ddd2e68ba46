# eintrfix: build, test, demo. `make help` lists the targets.

CARGO   ?= cargo
CC      ?= gcc
CFLAGS  ?= -O2 -g -Wall -Wextra -Werror
FORTIFY_CFLAGS = -O2 -D_FORTIFY_SOURCE=2
LIB     := target/release/libeintrfix.so
# Installs (or names) the Debian packages a target needs: see its header.
DEPS    := scripts/test-deps
CBIN    := target/c-tests

C_SOURCES  := $(wildcard c-tests/*.c)
C_PROGRAMS := $(patsubst c-tests/%.c,$(CBIN)/%,$(C_SOURCES))

.PHONY: all lib c-tests test deps demo clean help bench stress stress-short install uninstall deb dist rpm userlands cpython-suites

all: lib c-tests ## Build the library, the CLI and the C test programs

# Both files run on glibc 2.17 and later (docs/portability.md): the library
# imports nothing newer, and the command is linked statically (static-pie),
# which cargo can do only for a binary on its own (`cargo rustc`), not in a
# build that also makes the cdylib. `cargo build --release` alone would
# rebuild the command dynamically, needing the build machine's glibc.
lib: ## Build target/release/libeintrfix.so and target/release/eintrfix
	$(CARGO) build --release --lib $(CARGO_FLAGS)
	$(CARGO) rustc --release --bin eintrfix $(CARGO_FLAGS) -- -C target-feature=+crt-static

c-tests: $(C_PROGRAMS) ## Build the legacy C programs into target/c-tests/

# Programs named *_fortified.c are built as distributions build: fortified.
$(CBIN)/%_fortified: c-tests/%_fortified.c c-tests/legacy.h | $(CBIN)
	$(CC) $(CFLAGS) $(FORTIFY_CFLAGS) -MMD -MP -o $@ $< $(LDLIBS)

# Programs named *_c99.c are strict ISO C, where signal() is System V's.
$(CBIN)/%_c99: c-tests/%_c99.c | $(CBIN)
	$(CC) $(CFLAGS) -std=c99 -o $@ $< $(LDLIBS)

$(CBIN)/%: c-tests/%.c c-tests/legacy.h | $(CBIN)
	$(CC) $(CFLAGS) -MMD -MP -o $@ $< $(LDLIBS) -lpthread -lrt

# What each program includes (other headers, or the base of a fortified build).
-include $(C_PROGRAMS:=.d)

$(CBIN):
	mkdir -p $@

# The packages come first, before anything is built or run: without them
# the run stops at once with one line naming them.
test: ## Run every test: unit, integration, legacy programs in every mode
	@$(DEPS) test
	@$(MAKE) -s c-tests
	$(CARGO) test --all-targets

deps: ## Install the Debian packages that every target needs (scripts/test-deps all)
	$(DEPS) all

demo: ## Show a legacy program failing bare and working under the shim
	@$(MAKE) -s lib CARGO_FLAGS=--quiet
	@$(MAKE) -s c-tests
	@echo '$$ ./$(CBIN)/read_pipe            # bare: a 1 ms SIGALRM storm meets read(2)'
	@./$(CBIN)/read_pipe; echo "exit status $$?"
	@echo '$$ LD_PRELOAD=$(LIB) ./$(CBIN)/read_pipe'
	@LD_PRELOAD=$(CURDIR)/$(LIB) ./$(CBIN)/read_pipe; echo "exit status $$?"

# --- bench ---
# `make bench BENCH_QUICK=1`: a smoke run of the same tables (under a minute).
# `make bench BENCH_ONLY=startup` (or fast, slow, deadline): one table only.
BENCH_BIN      := target/bench
BENCH_PROGRAMS := $(BENCH_BIN)/loop $(BENCH_BIN)/absorb $(BENCH_BIN)/deadline $(BENCH_BIN)/frame_cost \
                  $(BENCH_BIN)/spawn $(BENCH_BIN)/stopper $(BENCH_BIN)/thread_storm \
                  $(BENCH_BIN)/libretry.so $(BENCH_BIN)/libpassthrough.so $(BENCH_BIN)/libempty.so

bench: ## Benchmarks: fast-path cost, tracing cost, slow path, deadline accuracy, start-up
	@$(DEPS) bench
	@$(MAKE) -s lib $(BENCH_PROGRAMS)
	python3 bench/run.py $(if $(BENCH_QUICK),--quick) $(if $(BENCH_ONLY),--only $(BENCH_ONLY))

$(BENCH_BIN)/lib%.so: bench/%_interposer.c | $(BENCH_BIN)
	$(CC) $(CFLAGS) -fPIC -shared -o $@ $< -ldl

$(BENCH_BIN)/libempty.so: bench/empty_preload.c | $(BENCH_BIN)
	$(CC) $(CFLAGS) -fPIC -shared -o $@ $<

$(BENCH_BIN)/%: bench/%.c c-tests/legacy.h | $(BENCH_BIN)
	$(CC) $(CFLAGS) -o $@ $< -lpthread -lrt

$(BENCH_BIN):
	mkdir -p $@
# --- end bench ---

# --- stress ---
# Stress programs in stress/*.c, built three ways: plain, fortified
# (*_fortified, from the same source) and with AddressSanitizer (*_asan).
STRESS_SOURCES  := $(wildcard stress/*.c)
STRESS_NAMES    := $(patsubst stress/%.c,%,$(STRESS_SOURCES))
SBIN            := target/stress
# Crash tests of c-tests/ that the suite also runs under AddressSanitizer.
STRESS_C_TESTS  := hostile_altstack hostile_select
STRESS_PROGRAMS := $(addprefix $(SBIN)/,$(STRESS_NAMES) pump_fortified cancel_fortified) \
                   $(addsuffix _asan,$(addprefix $(SBIN)/,$(STRESS_NAMES) $(STRESS_C_TESTS)))
STRESS_CFLAGS   := $(CFLAGS) -Ic-tests
STRESS_LDLIBS   := -lpthread -lrt -ldl

.PHONY: stress-programs
stress-programs: $(STRESS_PROGRAMS) ## Build the stress programs into target/stress/

$(SBIN)/%_fortified: stress/%.c stress/stress.h c-tests/legacy.h | $(SBIN)
	$(CC) $(STRESS_CFLAGS) $(FORTIFY_CFLAGS) -o $@ $< $(STRESS_LDLIBS)

$(SBIN)/%_asan: stress/%.c stress/stress.h c-tests/legacy.h | $(SBIN)
	$(CC) $(STRESS_CFLAGS) -O1 -fsanitize=address -fno-omit-frame-pointer -o $@ $< $(STRESS_LDLIBS)

$(SBIN)/%_asan: c-tests/%.c c-tests/legacy.h | $(SBIN)
	$(CC) $(STRESS_CFLAGS) -O1 -fsanitize=address -fno-omit-frame-pointer -o $@ $< $(STRESS_LDLIBS)

$(SBIN)/%: stress/%.c stress/stress.h c-tests/legacy.h | $(SBIN)
	$(CC) $(STRESS_CFLAGS) -o $@ $< $(STRESS_LDLIBS)

$(SBIN):
	mkdir -p $@

stress: ## The long stress suite (about 14 minutes; see docs/reliability.md)
	@$(DEPS) stress
	@$(MAKE) -s lib c-tests stress-programs
	stress/run.sh long

stress-short: ## The short stress suite that CI runs (under 4 minutes)
	@$(DEPS) stress
	@$(MAKE) -s lib c-tests stress-programs
	stress/run.sh short
# --- end stress ---

# --- install ---
# PREFIX/bin/eintrfix finds LIBDIR/eintrfix/libeintrfix.so by itself
# (relative to its own location), so no variable is needed after install:
# LIBDIR is PREFIX/lib, or PREFIX/lib/TUPLE, Debian's multiarch libdir (what
# `make deb` uses). Both files are stripped as dh_strip does: the symbol
# table, the debug sections and the compiler's .comment go, the library
# keeping its dynamic symbols (`make install STRIP=true` keeps everything;
# `make deb` puts the debug symbols in a -dbgsym package).
PREFIX  ?= /usr/local
LIBDIR  ?= $(PREFIX)/lib
DESTDIR ?=
INSTALL ?= install
STRIP   ?= strip
BINDIR  := $(DESTDIR)$(PREFIX)/bin
PKGLIBDIR := $(DESTDIR)$(LIBDIR)/eintrfix
MAN1DIR := $(DESTDIR)$(PREFIX)/share/man/man1

install: ## Install, stripped, into $$(DESTDIR)$$(PREFIX) (default /usr/local)
	@test -f $(LIB) -a -f target/release/eintrfix || $(MAKE) lib
	$(INSTALL) -d $(BINDIR) $(PKGLIBDIR) $(MAN1DIR)
	$(INSTALL) -m 755 target/release/eintrfix $(BINDIR)/eintrfix
	$(INSTALL) -m 644 $(LIB) $(PKGLIBDIR)/libeintrfix.so
	$(STRIP) --remove-section=.comment $(BINDIR)/eintrfix
	$(STRIP) --strip-unneeded --remove-section=.comment $(PKGLIBDIR)/libeintrfix.so
	$(INSTALL) -m 644 docs/eintrfix.1 $(MAN1DIR)/eintrfix.1

uninstall: ## Remove what install installed
	rm -f $(BINDIR)/eintrfix $(PKGLIBDIR)/libeintrfix.so $(MAN1DIR)/eintrfix.1
	rmdir $(PKGLIBDIR) 2>/dev/null || true
# --- end install ---

# --- packages ---
# The tarball, the .deb and the .rpm hold the same files: what `make lib`
# builds, staged by scripts/stage (`make install`, stripped). Each is built
# by its own script; docs/packaging.md says how and why, .ci/*-check test
# them.
deb: lib ## Build target/deb/eintrfix_*.deb and eintrfix-dbgsym_*.deb, then run lintian on them
	@$(DEPS) deb
	scripts/build-deb

dist: lib ## Build the release tarball target/dist/eintrfix-VERSION-ARCH-linux-gnu.tar.gz (with install.sh)
	scripts/build-dist

rpm: lib ## Build target/rpm/eintrfix-VERSION-1.ARCH.rpm with rpmbuild
	@$(DEPS) rpm
	scripts/build-rpm

# Debian 11 and 13 userlands (debootstrap, cached in $(USERLANDS_CACHE)):
# the tarball, and the .deb where `make deb` built it, installed there;
# legacy programs built there fixed by them.
USERLANDS_CACHE ?= /var/cache/eintrfix-userlands
userlands: dist ## Test the tarball in Debian 11 (glibc 2.31) and 13 (2.41) userlands (root; cached)
	@$(DEPS) userlands
	scripts/userlands $(USERLANDS_CACHE)
# --- end packages ---

# --- cpython-suites ---
# CPython's test_eintr, test_signal, test_threading, test_subprocess and
# test_os, bare and under the shim; every per-test outcome must match.
# Debian's libpython3.11-testsuite comes first (scripts/test-deps cpython).
# `make cpython-suites CPYTHON_SUITES=test_signal` runs one suite.
cpython-suites: ## CPython's signal, EINTR, threading, subprocess and os suites: same outcomes bare and under the shim
	@$(DEPS) cpython
	python3 tests/cpython/run.py $(CPYTHON_SUITES)
# --- end cpython-suites ---

clean: ## Remove build products
	$(CARGO) clean

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(firstword $(MAKEFILE_LIST)) | sed 's/:.*## /\t/; s/[$$][$$]/$$/g'
