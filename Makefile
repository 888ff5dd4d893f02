# timewarp: `make` builds build/timewarp and build/libtimewarp.so, `make check` runs
# every test, `make check-sanitize` runs them again under ASan/UBSan and
# `make check-valgrind` runs the unit tests and the CLI under valgrind.

CC ?= gcc
BUILD ?= build
VERSION := $(shell sed -n 's/^\#define TIMEWARP_VERSION "\(.*\)"/\1/p' include/timewarp.h)

# Where `make install` puts things (DESTDIR stages them elsewhere).  The CLI
# finds the preload library in PKGLIBDIR from BINDIR, relative to itself, so an
# installed tree still works when moved as a whole.
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
LIBDIR ?= $(PREFIX)/lib
PKGLIBDIR ?= $(LIBDIR)/timewarp
INCLUDEDIR ?= $(PREFIX)/include
DATADIR ?= $(PREFIX)/share
MANDIR ?= $(DATADIR)/man
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
BASHCOMPDIR ?= $(DATADIR)/bash-completion/completions
ZSHCOMPDIR ?= $(DATADIR)/zsh/site-functions
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
	-Isrc/runtime -I$(BUILD) $(WARN) $(CFLAGS)
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
# The shared control library leaves the sanitizer runtime to the program that
# loads it (which must then be sanitized too).
SO_SAN := -fsanitize=address,undefined
else
SO_NO_UNDEFINED := -Wl,--no-undefined
endif

ENGINE_SRC := $(wildcard src/engine/*.c)
# The member runtime (src/runtime): freestanding like the engine; audit.c is
# its entry as ld.so's audit module and loader.c its entry as a program (the
# loader of static programs), both in libtimewarp-rt.so only.
RUNTIME_ENTRIES := src/runtime/audit.c src/runtime/loader.c
RUNTIME_SRC := $(filter-out $(RUNTIME_ENTRIES),$(wildcard src/runtime/*.c))
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
# The shared control library: its soname changes when its ABI breaks.
SOVERSION := 0
CONTROL_SONAME := libtimewarp-control.so.$(SOVERSION)
CONTROL_SO := $(BUILD)/libtimewarp-control.so.$(VERSION)
UNITS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))

all: $(BUILD)/timewarp $(BUILD)/libtimewarp.so $(BUILD)/libtimewarp-rt.so $(CONTROL_SO)

# The preload library's place seen from the CLI's, rewritten only when it
# changes so that the CLI is rebuilt exactly then.
LIBDIR_FROM_BIN = $(shell realpath -m --relative-to=$(BINDIR) $(PKGLIBDIR))
$(BUILD)/paths.h: FORCE
	@mkdir -p $(@D)
	@echo '#define TW_LIBDIR_FROM_BIN "$(LIBDIR_FROM_BIN)"' >$@.new
	@if cmp -s $@.new $@; then rm $@.new; else mv $@.new $@; fi
$(BUILD)/host/cli/library.o: $(BUILD)/paths.h

$(BUILD)/host/engine/%.o: src/engine/%.c $(HEADERS)
	@mkdir -p $(@D)
	$(CC) $(BASE) $(ENGINE) $(HOST_SAN) -c $< -o $@
$(BUILD)/guest/engine/%.o: src/engine/%.c $(HEADERS)
	@mkdir -p $(@D)
	$(CC) $(BASE) $(ENGINE) $(ALIGN) -fvisibility=hidden -ffunction-sections $(NOTABLE) $(GUEST_SAN) \
		-c $< -o $@
$(BUILD)/host/runtime/%.o: src/runtime/%.c $(HEADERS)
	@mkdir -p $(@D)
	$(CC) $(BASE) $(ENGINE) -Isrc/runtime -Isrc/vdso $(HOST_SAN) -c $< -o $@
$(BUILD)/guest/runtime/%.o: src/runtime/%.c $(HEADERS)
	@mkdir -p $(@D)
	$(CC) $(BASE) $(ENGINE) -fvisibility=hidden -Isrc/runtime -Isrc/vdso $(GUEST_SAN) -c $< -o $@
$(BUILD)/host/%.o: src/%.c $(HEADERS)
	@mkdir -p $(@D)
	$(CC) $(BASE) $(HOST_SAN) -c $< -o $@
# TW_GUEST: the control library inside a member keeps no per-thread message
# buffer (src/control/why.c).
$(BUILD)/guest/%.o: src/%.c $(HEADERS)
	@mkdir -p $(@D)
	$(CC) $(BASE) -DTW_GUEST -fvisibility=hidden -Isrc/vdso $(NOTABLE) $(GUEST_SAN) -c $< -o $@

$(CONTROL_LIB): $(call hobj,$(ENGINE_SRC) $(CONTROL_SRC))
	rm -f $@
	ar rcs $@ $^

# the CLI maps the gate and installs the filter before it execs a member, and
# execs it as the exec trap would (src/runtime/exec.c)
CLI_RUNTIME := $(call hobj,src/runtime/gate.c src/runtime/filter.c src/runtime/mini.c \
	src/runtime/exec.c src/runtime/exec_env.c src/runtime/elf.c src/runtime/exec_mem.c \
	src/runtime/traced.c src/runtime/selfexe.c)

$(BUILD)/timewarp: $(call hobj,$(CLI_SRC)) $(CLI_RUNTIME) $(CONTROL_LIB)
	$(CC) $(BASE) $(HOST_SAN) -o $@ $^ -lpthread

# Exports exactly the functions include/timewarp.h declares (a declaration
# starts a line with its type); the engine's and the store's stay inside.
$(BUILD)/libtimewarp-control.map: include/timewarp.h
	@mkdir -p $(@D)
	{ echo '{ global:'; sed -n 's/^[a-z].*[ *]\(tw_[a-z0-9_]*\)(.*/\t\1;/p' $<; \
	  echo 'local: *; };'; } >$@
$(CONTROL_SO): $(call hobj,$(ENGINE_SRC) $(CONTROL_SRC)) $(BUILD)/libtimewarp-control.map
	$(CC) $(BASE) $(SO_SAN) -shared -Wl,-soname,$(CONTROL_SONAME) \
		-Wl,--version-script=$(BUILD)/libtimewarp-control.map -Wl,-z,now -Wl,-z,relro \
		$(SO_NO_UNDEFINED) -o $@ $(filter %.o,$^) -lpthread

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

$(BUILD)/guest/runtime/vdso_image.o: src/runtime/vdso_image.S $(VDSO)
	@mkdir -p $(@D)
	$(CC) -c -Wa,-I$(BUILD) $< -o $@

# The member runtime as ld.so's audit module (no libc, nothing exported but
# la_version), and as the loader of static programs (its entry point, run with
# nothing relocated: no relocation may be needed but la_version's use of
# ld.so's __libc_stack_end).  As an audit module it needs ld.so itself, for
# __libc_stack_end (where the program's arguments, environment and auxiliary
# vector are): an audit module lives in a link namespace of its own whose only
# scope is what it depends on, so without ld.so among its needs that symbol
# would not be found there.  (Run as a program, no ld.so reads its needs.)
LDSO := $(shell $(CC) -print-file-name=ld-linux-x86-64.so.2)
RUNTIME_OBJ := $(call gobj,$(RUNTIME_SRC) $(ENGINE_SRC)) $(BUILD)/guest/runtime/vdso_image.o
$(BUILD)/libtimewarp-rt.so: $(RUNTIME_OBJ) $(call gobj,$(RUNTIME_ENTRIES))
	$(CC) -nostdlib -shared -Wl,-z,now -Wl,-z,relro -Wl,--no-undefined -Wl,--gc-sections \
		-Wl,-e,tw_loader_entry $(GUEST_SAN) -o $@ $^ -Wl,--no-as-needed $(LDSO)
	@if readelf -rW $@ | grep R_X86_64 | grep -qv 'GLOB_DAT.* __libc_stack_end'; then \
		echo "$@ needs relocations:"; readelf -rW $@; rm -f $@; exit 1; fi

# Exports exactly the interposed entry points (marked TW_EXPORT).
$(BUILD)/libtimewarp.so: $(call gobj,$(PRELOAD_SRC) $(CONTROL_SRC)) $(RUNTIME_OBJ)
	$(CC) $(BASE) $(GUEST_SAN) -shared -Wl,-z,now -Wl,-z,relro -Wl,--no-undefined \
		-o $@ $^ -ldl -lpthread

# The unit tests link the runtime's pure and host-side parts, and its finder
# of the kernel's vDSO data.
TEST_RUNTIME := $(CLI_RUNTIME) $(call hobj,src/runtime/vvar_find.c)
# (an object only the tests' pattern rule names: kept, not an intermediate)
.SECONDARY: $(call hobj,src/runtime/vvar_find.c)
$(BUILD)/tests/%: tests/unit/%.c $(CONTROL_LIB) $(TEST_RUNTIME) $(HEADERS)
	@mkdir -p $(@D)
	$(CC) $(BASE) $(HOST_SAN) -o $@ $< $(TEST_RUNTIME) $(CONTROL_LIB) -lpthread

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

# tw-writer drives the control library itself (a change held stopped).
$(BUILD)/tests/tw-writer: tests/helpers/writer.c tests/unit/stepper.h $(CONTROL_LIB) $(HEADERS)
	@mkdir -p $(@D)
	$(CC) $(BASE) $(HOST_SAN) -Itests/unit -o $@ $< $(CONTROL_LIB) -lpthread

HELPERS := $(patsubst tests/helpers/%.c,$(BUILD)/tests/tw-%,$(wildcard tests/helpers/*.c))

# tw-image also statically linked, the ways static programs are built: glibc
# -static, -static-pie, and musl (when musl-gcc is there; its tests say SKIP
# otherwise).  No sanitizer: the runtime loads them as they are.
MUSL_CC := $(shell command -v musl-gcc 2>/dev/null)
STATIC_CFLAGS := -std=gnu11 -D_GNU_SOURCE -O2 $(WARN)
$(BUILD)/tests/tws-image-glibc: tests/helpers/image.c
	@mkdir -p $(@D)
	$(CC) $(STATIC_CFLAGS) -static -o $@ $<
$(BUILD)/tests/tws-image-pie: tests/helpers/image.c
	@mkdir -p $(@D)
	$(CC) $(STATIC_CFLAGS) -static-pie -o $@ $<
$(BUILD)/tests/tws-image-musl: tests/helpers/image.c
	@mkdir -p $(@D)
	$(MUSL_CC) $(STATIC_CFLAGS) -static -o $@ $<
HELPERS += $(BUILD)/tests/tws-image-glibc $(BUILD)/tests/tws-image-pie \
	$(if $(MUSL_CC),$(BUILD)/tests/tws-image-musl)

# A staged install beside the build, for the tests of the installed layout.
stage: all
	rm -rf $(BUILD)/stage
	$(MAKE) --no-print-directory install DESTDIR=$(abspath $(BUILD))/stage PREFIX=/usr >/dev/null

check: all $(UNITS) $(HELPERS) engine-check stage
	TW_BUILD=$(abspath $(BUILD)) TW_SAN=$(SAN) prove -f $(UNITS) tests/*.t

check-valgrind: all $(UNITS)
	prove -f tests/valgrind.sh :: $(BUILD)

# The sanitizers look for memory errors and undefined behaviour: the writers
# killed at each step (test_writers, slow when every instruction is
# instrumented and single-stepped) at fewer points than the plain build's.
check-sanitize:
	TW_KILL_POINTS=8 $(MAKE) BUILD=build/sanitize SAN=1 check

# Benchmarks (DESIGN section 6): bench/run builds its own helpers in
# bench/build, measures timewarp side by side with the host and the peers,
# prints the table and writes it to bench/results/.  Installs nothing: a
# missing peer or tool is reported.  QUICK=1: smoke run; BENCH_CPU=N: pin;
# BENCH_CLOCKSOURCES=all (as root): the read scenarios on each clock source
# the machine offers, the original one restored after.
bench: all
	TIMEWARP=$(abspath $(BUILD))/timewarp CC="$(CC)" bench/run \
		$(if $(filter-out 0,$(QUICK)),--quick) $(if $(BENCH_CPU),--cpu $(BENCH_CPU))

# A directory under PREFIX as timewarp.pc says it, so that pkg-config's
# --define-prefix can move it with the prefix.
in_prefix = $(patsubst $(PREFIX)/%,$${prefix}/%,$(1))

# The headers an installed program needs: timewarp.h and what it includes.
API_HEADERS = $(filter-out %.c,$(shell $(CC) -MM -MT x -Iinclude -Isrc/engine include/timewarp.h | \
	sed 's/^x://; s/\\$$//'))

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(PKGLIBDIR) $(DESTDIR)$(LIBDIR) \
		$(DESTDIR)$(INCLUDEDIR)/timewarp $(DESTDIR)$(PKGCONFIGDIR) \
		$(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man3 \
		$(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR)
	install -m 755 $(BUILD)/timewarp $(DESTDIR)$(BINDIR)/timewarp
	install -m 644 $(BUILD)/libtimewarp.so $(DESTDIR)$(PKGLIBDIR)/
	install -m 755 $(BUILD)/libtimewarp-rt.so $(DESTDIR)$(PKGLIBDIR)/
	install -m 644 $(CONTROL_LIB) $(DESTDIR)$(LIBDIR)/
	install -m 755 $(CONTROL_SO) $(DESTDIR)$(LIBDIR)/
	ln -sf $(notdir $(CONTROL_SO)) $(DESTDIR)$(LIBDIR)/$(CONTROL_SONAME)
	ln -sf $(CONTROL_SONAME) $(DESTDIR)$(LIBDIR)/libtimewarp-control.so
	install -m 644 $(API_HEADERS) $(DESTDIR)$(INCLUDEDIR)/timewarp/
	sed -e 's|@PREFIX@|$(PREFIX)|; s|@LIBDIR@|$(call in_prefix,$(LIBDIR))|' \
		-e 's|@INCLUDEDIR@|$(call in_prefix,$(INCLUDEDIR))|' \
		-e 's|@VERSION@|$(VERSION)|' timewarp.pc.in >$(DESTDIR)$(PKGCONFIGDIR)/timewarp.pc
	chmod 644 $(DESTDIR)$(PKGCONFIGDIR)/timewarp.pc
	install -m 644 man/timewarp.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 644 man/timewarp.3 $(DESTDIR)$(MANDIR)/man3/
	install -m 644 completion/timewarp.bash $(DESTDIR)$(BASHCOMPDIR)/timewarp
	install -m 644 completion/_timewarp $(DESTDIR)$(ZSHCOMPDIR)/_timewarp

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/timewarp $(DESTDIR)$(PKGLIBDIR)/libtimewarp.so \
		$(DESTDIR)$(PKGLIBDIR)/libtimewarp-rt.so \
		$(DESTDIR)$(LIBDIR)/libtimewarp-control.a $(DESTDIR)$(LIBDIR)/$(notdir $(CONTROL_SO)) \
		$(DESTDIR)$(LIBDIR)/$(CONTROL_SONAME) $(DESTDIR)$(LIBDIR)/libtimewarp-control.so \
		$(addprefix $(DESTDIR)$(INCLUDEDIR)/timewarp/,$(notdir $(API_HEADERS))) \
		$(DESTDIR)$(PKGCONFIGDIR)/timewarp.pc $(DESTDIR)$(MANDIR)/man1/timewarp.1 \
		$(DESTDIR)$(MANDIR)/man3/timewarp.3 $(DESTDIR)$(BASHCOMPDIR)/timewarp \
		$(DESTDIR)$(ZSHCOMPDIR)/_timewarp
	-rmdir $(DESTDIR)$(PKGLIBDIR) $(DESTDIR)$(INCLUDEDIR)/timewarp 2>/dev/null

# The Debian package, built by debhelper from a copy of the sources (so that
# dpkg-buildpackage writes nothing outside $(BUILD)): $(BUILD)/timewarp_VERSION_ARCH.deb.
# The package's build is a make of its own: none of this one's directories may
# reach it, neither through MAKEFLAGS (unset above) nor through the environment,
# where make puts the variables given on its command line.
DEB_ARCH = $(shell dpkg --print-architecture)
unexport BUILD SAN PREFIX BINDIR LIBDIR PKGLIBDIR INCLUDEDIR DATADIR MANDIR PKGCONFIGDIR \
	BASHCOMPDIR ZSHCOMPDIR DESTDIR
deb:
	rm -rf $(BUILD)/deb
	mkdir -p $(BUILD)/deb/timewarp-$(VERSION)
	if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then \
		git ls-files -z --cached --others --exclude-standard | \
			xargs -0 cp -P --parents -t $(BUILD)/deb/timewarp-$(VERSION); \
	else \
		tar -c --exclude=./build --exclude=./.git --exclude=./bench/build . | \
			tar -x -C $(BUILD)/deb/timewarp-$(VERSION); \
	fi
	cd $(BUILD)/deb/timewarp-$(VERSION) && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
		dpkg-buildpackage -b -us -uc
	mv $(BUILD)/deb/timewarp_$(VERSION)_$(DEB_ARCH).deb $(BUILD)/
	@echo "built $(BUILD)/timewarp_$(VERSION)_$(DEB_ARCH).deb"

clean:
	rm -rf build

FORCE:
.PHONY: all bench check check-sanitize check-valgrind deb engine-check install stage uninstall \
	clean FORCE
.DELETE_ON_ERROR:
