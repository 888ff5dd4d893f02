# timewarp: `make` builds build/timewarp and build/libtimewarp.so, `make check` runs
# every test, `make check-sanitize` runs them again under ASan/UBSan and
# `make check-valgrind` runs the unit tests and the CLI under valgrind.

CC ?= gcc
PREFIX ?= /usr/local
BUILD ?= build
CFLAGS ?= -O2 -g
# SAN=1: the CLI, the control library and the unit tests under AddressSanitizer
# and UBSan; the preload library under UBSan in trap mode (it is loaded into
# programs that have no sanitizer runtime).
SAN ?=

WARN := -Wall -Wextra -Werror -Wmissing-prototypes -Wstrict-prototypes -Wshadow \
	-Wformat=2 -Wformat-nonliteral -Wpointer-arith -Wundef
# -fno-strict-aliasing: struct timespec and the engine's struct tw_ts (the kernel
# ABI, same layout) are used for one another at the libc boundary.
BASE := -std=gnu11 -D_GNU_SOURCE -fPIC -fno-strict-aliasing -Iinclude -Isrc/engine -Isrc/control \
	$(WARN) $(CFLAGS)
# The engine runs where no libc may be called (DESIGN section 4).
ENGINE := -ffreestanding -fno-builtin -fno-stack-protector -fno-plt
# The engine's functions start on a cache line: where a read of a few
# nanoseconds (a COARSE clock) fell against the 64-byte fetch blocks moved it
# through the timewarp vDSO by a tenth (bench/ab).  Not the preload library's
# own entry points: there it measured no better (bench/ab --libc).
ALIGN := -falign-functions=64
# Code loaded into members dispatches on the clock id with tests, not jump
# tables: a read with cold caches would fetch the table's line too.
NOTABLE := -fno-jump-tables

ifeq ($(SAN),1)
# linked statically, so a sanitized timewarp also runs inside a namespace (preloaded)
HOST_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer \
	-static-libasan -static-libubsan
GUEST_SAN := -fsanitize=undefined -fsanitize-undefined-trap-on-error
endif

ENGINE_SRC := $(wildcard src/engine/*.c)
CONTROL_SRC := $(wildcard src/control/*.c)
CLI_SRC := $(wildcard src/cli/*.c)
PRELOAD_SRC := $(wildcard src/preload/*.c)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
HEADERS := $(wildcard include/*.h src/*/*.h tests/unit/*.h)

# Two object sets: "host" objects for the CLI and tests, "guest" objects for the
# library that is loaded into other people's programs (hidden visibility).
hobj = $(patsubst src/%.c,$(BUILD)/host/%.o,$(1))
gobj = $(patsubst src/%.c,$(BUILD)/guest/%.o,$(1))

CONTROL_LIB := $(BUILD)/libtimewarp-control.a
UNITS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))

all: $(BUILD)/timewarp $(BUILD)/libtimewarp.so

$(BUILD)/host/engine/%.o: src/engine/%.c $(HEADERS)
	@mkdir -p $(@D)
	$(CC) $(BASE) $(ENGINE) $(HOST_SAN) -c $< -o $@
$(BUILD)/guest/engine/%.o: src/engine/%.c $(HEADERS)
	@mkdir -p $(@D)
	$(CC) $(BASE) $(ENGINE) $(ALIGN) -fvisibility=hidden -ffunction-sections $(NOTABLE) $(GUEST_SAN) \
		-c $< -o $@
$(BUILD)/host/%.o: src/%.c $(HEADERS)
	@mkdir -p $(@D)
	$(CC) $(BASE) $(HOST_SAN) -c $< -o $@
$(BUILD)/guest/%.o: src/%.c $(HEADERS)
	@mkdir -p $(@D)
	$(CC) $(BASE) -fvisibility=hidden -Isrc/vdso $(NOTABLE) $(GUEST_SAN) -c $< -o $@

$(CONTROL_LIB): $(call hobj,$(ENGINE_SRC) $(CONTROL_SRC))
	rm -f $@
	ar rcs $@ $^

$(BUILD)/timewarp: $(call hobj,$(CLI_SRC)) $(CONTROL_LIB)
	$(CC) $(BASE) $(HOST_SAN) -o $@ $^ -lpthread

# The timewarp vDSO: the engine behind the kernel vDSO's entry points, in an
# image laid out like the kernel's (src/vdso/vdso.lds) that needs no relocation.
VDSO := $(BUILD)/timewarp-vdso.so
$(BUILD)/guest/vdso/%.o: src/vdso/%.c $(HEADERS) src/vdso/vdso.h
	@mkdir -p $(@D)
	$(CC) $(BASE) $(ENGINE) $(ALIGN) -Isrc/vdso -fno-asynchronous-unwind-tables -ffunction-sections \
		$(NOTABLE) $(GUEST_SAN) -c $< -o $@
$(VDSO): $(BUILD)/guest/vdso/vdso.o $(call gobj,$(ENGINE_SRC)) src/vdso/vdso.lds src/vdso/vdso.map
	$(CC) -nostdlib -shared -Wl,-T,src/vdso/vdso.lds -Wl,--version-script=src/vdso/vdso.map \
		-Wl,--hash-style=both -Wl,-soname=linux-vdso.so.1 -Wl,--no-undefined \
		-Wl,-z,max-page-size=4096 -Wl,--build-id=none -Wl,--strip-all -Wl,--gc-sections \
		-o $@ $(filter %.o,$^)
	@if readelf -rW $@ | grep -q R_X86_64; then \
		echo "$@ needs relocations:"; readelf -rW $@; rm -f $@; exit 1; fi

$(BUILD)/guest/preload/vdso_image.o: src/preload/vdso_image.S $(VDSO)
	@mkdir -p $(@D)
	$(CC) -c -Wa,-I$(BUILD) $< -o $@

# Exports exactly the interposed entry points (marked TW_EXPORT).
$(BUILD)/libtimewarp.so: $(call gobj,$(PRELOAD_SRC) $(ENGINE_SRC) $(CONTROL_SRC)) \
		$(BUILD)/guest/preload/vdso_image.o
	$(CC) $(BASE) $(GUEST_SAN) -shared -Wl,-z,now -Wl,-z,relro -Wl,--no-undefined \
		-o $@ $^ -ldl -lpthread

$(BUILD)/tests/%: tests/unit/%.c $(CONTROL_LIB) $(HEADERS)
	@mkdir -p $(@D)
	$(CC) $(BASE) $(HOST_SAN) -o $@ $< $(CONTROL_LIB) -lpthread

# The engine must stand alone (DESIGN section 4): its objects linked on their own
# need no symbol from outside and no load-time relocation.
engine-check: $(call gobj,$(ENGINE_SRC))
	@ld -shared --no-undefined -o $(BUILD)/engine-alone.so $^
	@if readelf -rW $(BUILD)/engine-alone.so | grep -q R_X86_64; then \
		echo "engine needs load-time relocations:"; readelf -rW $(BUILD)/engine-alone.so; exit 1; fi
	@echo "engine-check: freestanding, no load-time relocations"

# Helper programs the black-box tests run under timewarp (never sanitized:
# they run with the preload library).
$(BUILD)/tests/tw-%: tests/helpers/%.c $(call gobj,src/engine/vdso_lookup.c)
	@mkdir -p $(@D)
	$(CC) $(BASE) -o $@ $^ -ldl

HELPERS := $(patsubst tests/helpers/%.c,$(BUILD)/tests/tw-%,$(wildcard tests/helpers/*.c))

check: all $(UNITS) $(HELPERS) engine-check
	TW_BUILD=$(abspath $(BUILD)) prove -f $(UNITS) tests/*.t

check-valgrind: all $(UNITS)
	prove -f tests/valgrind.sh :: $(BUILD)

check-sanitize:
	$(MAKE) BUILD=build/sanitize SAN=1 check

# Benchmarks (DESIGN section 6): bench/run builds its own helpers in
# bench/build, measures timewarp side by side with the host and the peers,
# prints the table and writes it to bench/results/.  Installs nothing: a
# missing peer or tool is reported.  QUICK=1: smoke run; BENCH_CPU=N: pin;
# BENCH_CLOCKSOURCES=all (as root): the read scenarios on each clock source
# the machine offers, the original one restored after.
bench: all
	TIMEWARP=$(abspath $(BUILD))/timewarp CC="$(CC)" bench/run \
		$(if $(filter-out 0,$(QUICK)),--quick) $(if $(BENCH_CPU),--cpu $(BENCH_CPU))

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include/timewarp
	install -m 755 $(BUILD)/timewarp $(DESTDIR)$(PREFIX)/bin/timewarp
	install -m 644 $(BUILD)/libtimewarp.so $(CONTROL_LIB) $(DESTDIR)$(PREFIX)/lib/
	install -m 644 include/timewarp.h src/engine/clockmath.h src/engine/page.h \
		$(DESTDIR)$(PREFIX)/include/timewarp/

clean:
	rm -rf build

.PHONY: all bench check check-sanitize check-valgrind engine-check install clean
.DELETE_ON_ERROR:
