#!/bin/bash
# Before the program's own code: a member's runtime is in place before any
# code of the program runs, so that time calls made by library constructors,
# by the executable's preinit functions, and by a sanitizer's start-up (which
# installs its signal handlers and blocks signals first thing) are served,
# never killed by a trap nobody handles and never answered with host time.
. "$(dirname "$0")/lib.sh"

have cc || { echo "1..0 # SKIP no C compiler"; exit 0; }
src=$TW_TMP/early
mkdir -p "$src"

# A library whose constructor reads REALTIME by raw system call, blocks every
# signal, and reads it again; and a program that needs it, with a preinit
# function doing the same.
cat >"$src/lib.c" <<'C'
#include <signal.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static long raw_now(void)
{
	struct timespec ts = { 0, 0 };

	syscall(SYS_clock_gettime, CLOCK_REALTIME, &ts);
	return (long)ts.tv_sec;
}

__attribute__((constructor)) static void early(void)
{
	sigset_t all;

	printf("constructor %ld\n", raw_now());
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, NULL);
	printf("constructor, every signal blocked %ld\n", raw_now());
	sigprocmask(SIG_UNBLOCK, &all, NULL);
}

long early_now(void)
{
	return raw_now();
}
C
cat >"$src/main.c" <<'C'
#include <stdio.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

long early_now(void);

static void preinit(void)
{
	struct timespec ts = { 0, 0 };

	syscall(SYS_clock_gettime, CLOCK_REALTIME, &ts);
	printf("preinit %ld\n", (long)ts.tv_sec);
}
__attribute__((section(".preinit_array"), used)) static void (*preinit_p)(void) = preinit;

int main(void)
{
	printf("main %ld\n", early_now());
	printf("time %ld\n", (long)time(NULL));
	return 0;
}
C
cc -O2 -shared -fPIC -o "$src/libearly.so" "$src/lib.c" &&
	cc -O2 -o "$src/early" "$src/main.c" -L"$src" -learly -Wl,-rpath,"$src" 2>"$src/build.log"
ok $? "the program and its library build"
chmod -R a+rX "$src"

want="preinit 2000000000
constructor 2000000000
constructor, every signal blocked 2000000000
main 2000000000
time 2000000000"
run_cmd "$TW" run --at @2000000000 --freeze -- "$src/early"
is "$status" 0 "a program whose preinit and library constructor make raw time calls: status 0"
is "$(printf '%s\n' "$out" | sort -k1,1 -s | sort)" "$(printf '%s\n' "$want" | sort)" \
	"and each of them read the namespace's REALTIME"

user=$(test_user)
if [ -n "$user" ]; then
	prefix=$(install_copy)
	chmod a+rx "$TW_TMP"
	is "$(as_user "$user" "$prefix/bin/timewarp" run --at @2000000000 --freeze -- "$src/early" | sort)" \
		"$(printf '%s\n' "$want" | sort)" "$user: the same"
else
	skip 1 "no ordinary user to run as"
fi

# A sanitized program: its runtime's start-up takes signals and blocks them
# before anything of the program runs.
cat >"$src/asan.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int main(void)
{
	char *p = malloc(16);
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(p, 16, "%ld", (long)ts.tv_sec);
	printf("%s\n", p);
	free(p);
	return 0;
}
C
if cc -fsanitize=address,undefined -o "$src/asan" "$src/asan.c" 2>"$src/asan.log" &&
	ASAN_OPTIONS=detect_leaks=1 "$src/asan" >/dev/null 2>&1; then
	run_cmd env ASAN_OPTIONS=verify_asan_link_order=0 "$TW" run --at @2000000000 --freeze -- "$src/asan"
	is "$status" 0 "an AddressSanitizer program: status 0 (its start-up and its exit run in the namespace)"
	is "$out" 2000000000 "and it reads the namespace's REALTIME"
else
	skip 2 "cannot build or run an AddressSanitizer program here ($(head -c 200 "$src/asan.log"))"
fi

done_testing
