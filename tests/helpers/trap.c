/* tw-trap: time system calls made past libc, as programs that make their own
 * do (Go's runtime, raw syscall(2), ctypes, foreign ABIs), and programs that
 * take SIGSYS, seccomp and alternate signal stacks for themselves.
 *
 *   tw-trap clocks
 *       one line per clock id: `ID RAW HOST`, RAW what a raw clock_gettime
 *       gives, HOST the host's answer made through the runtime's gate
 *       (host.h); each SECONDS.NANOSECONDS or an errno name.  Ids 0..11, some
 *       invalid ones, and CPU-time clocks named by pid and thread.
 *   tw-trap reads
 *       `gettimeofday RAW HOST`, `time RAW HOST`, `gettimeofday-tz`.
 *   tw-trap i386 | x32
 *       the time calls through the i386 entry point (int $0x80: clock_gettime
 *       265, clock_gettime64 403, gettimeofday 78, time 13) or with the x32
 *       bit: `NAME RESULT` (seconds, or an errno name), then `host SECONDS`.
 *   tw-trap futex REALTIME|MONOTONIC SECONDS
 *       a raw FUTEX_WAIT_BITSET until that clock's now + SECONDS, on a word
 *       nobody wakes: `ETIMEDOUT ELAPSED` (elapsed on the same clock, raw).
 *   tw-trap sigsys | block | seccomp | altstack [BYTES]
 *       the program's own SIGSYS handler; SIGSYS blocked; filters of its own;
 *       time calls from a handler on an alternate stack (16 KiB, or BYTES):
 *       `ok NAME ...` lines, `bad NAME ...` for what went wrong, then
 *       `now SECONDS` (raw REALTIME).
 *   tw-trap settime HOW SECONDS
 *       HOW: clock_settime, settimeofday (absolute: to SECONDS), adjtimex,
 *       clock_adjtime (ADJ_SETOFFSET: by SECONDS), made by raw system call:
 *       `ok` or the errno name, then `now SECONDS` (raw REALTIME).
 *   tw-trap loop SECONDS
 *       `now SECONDS` (raw REALTIME) every 0.2 s of (virtual) sleep for
 *       SECONDS of virtual time, a `ready` first.
 *
 * The settime subcommands refuse to run outside a timewarp namespace
 * (TIMEWARP_NS unset): a root user must not step the host's clock. */
#include <errno.h>
#include <linux/futex.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/timex.h>
#include <time.h>
#include <unistd.h>

#include "host.h"

#define X32_BIT 0x40000000L
#define SYS_SECCOMP_CODE 1 /* SYS_SECCOMP, which glibc names only for some builds */

static const char *ename(long e)
{
	switch (e) {
	case EINVAL: return "EINVAL";
	case EFAULT: return "EFAULT";
	case ENOSYS: return "ENOSYS";
	case EPERM: return "EPERM";
	case ETIMEDOUT: return "ETIMEDOUT";
	case EAGAIN: return "EAGAIN";
	case EINTR: return "EINTR";
	case EXDEV: return "EXDEV";
	}
	return "E?";
}

/* A kernel result (0 or -errno) with the time it wrote. */
static void show(const char *pre, long r, const struct timespec *ts)
{
	if (r < 0)
		printf("%s%s", pre, ename(-r));
	else
		printf("%s%lld.%09ld", pre, (long long)ts->tv_sec, ts->tv_nsec);
}

static long raw_gettime(long clk, struct timespec *ts)
{
	long r = syscall(SYS_clock_gettime, clk, ts);

	return r < 0 ? -errno : r;
}

static double raw_now(long clk)
{
	struct timespec ts;

	if (raw_gettime(clk, &ts))
		return -1;
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* (~id << 3) | type, as the kernel makes a clockid_t (32 bits) of a pid or
 * an fd */
static long cpuclock(long id, long type)
{
	return (int32_t)((~(uint32_t)id << 3) | (uint32_t)type);
}

/* The host's answer (0 or -errno), inside a member or not. */
static long host_call(long nr, long a, long b)
{
	long r = host_syscall(nr, a, b, 0, 0);

	return r == -1 && !host_mapped() ? -errno : r;
}

static int clocks(void)
{
	long pid = getpid(), tid = syscall(SYS_gettid);
	/* the kernel's MAKE_PROCESS_CPUCLOCK / MAKE_THREAD_CPUCLOCK (SCHED), and
	 * one for a process that cannot exist; a dynamic clock on a bad fd */
	long ids[] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 16, 1000, -1,
		       cpuclock(pid, 2), cpuclock(tid, 6), cpuclock(4194305 /* above PID_MAX_LIMIT */, 2),
		       cpuclock(999, 3) };

	for (unsigned i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		struct timespec v = { 0 }, h = { 0 };
		long r = raw_gettime(ids[i], &v);
		long hr = host_call(SYS_clock_gettime, ids[i], (long)&h);

		printf("%ld", ids[i]);
		show(" ", r, &v);
		show(" ", hr, &h);
		printf("\n");
	}
	/* no place to write the time: the kernel says EFAULT */
	/* memory elsewhere than the stack: a page of its own, one it may only
	 * read, one it may not touch, and none at all (the kernel: EFAULT) */
	{
		char *pg = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
				-1, 0);
		struct timespec req = { 0, 1000000 };
		long r;

		if (pg == MAP_FAILED)
			return perror("mmap"), 1;
		mprotect(pg + 4096, 4096, PROT_READ);
		mprotect(pg + 8192, 4096, PROT_NONE);
		r = raw_gettime(0, (struct timespec *)(void *)(pg + 64));
		show("mapped ", r, (struct timespec *)(void *)(pg + 64));
		/* half in the page it may write, half in the next */
		printf("\nacross %s\n", ename(-raw_gettime(0, (struct timespec *)(void *)(pg + 4096 - 8))));
		printf("readonly %s\n", ename(-raw_gettime(0, (struct timespec *)(void *)(pg + 4096))));
		printf("prot_none %s\n", ename(-raw_gettime(0, (struct timespec *)(void *)(pg + 8192))));
		printf("null %s\n", ename(-raw_gettime(0, NULL)));
		r = syscall(SYS_nanosleep, NULL, NULL);
		printf("nanosleep_null %s\n", r ? ename(errno) : "0");
		r = syscall(SYS_nanosleep, &req, pg + 8192);
		printf("nanosleep_bad_rem %s\n", r ? ename(errno) : "0");
		r = syscall(SYS_time, pg + 8192);
		printf("time_bad %s\n", r == -1 ? ename(errno) : "value");
	}
	return 0;
}

static int reads(void)
{
	struct timeval tv, htv;
	struct timezone tz;
	long t, ht, r;

	r = syscall(SYS_gettimeofday, &tv, NULL);
	host_syscall(SYS_gettimeofday, (long)&htv, 0, 0, 0);
	printf("gettimeofday %s%lld.%06ld %lld.%06ld\n", r ? "error " : "", (long long)tv.tv_sec,
	       (long)tv.tv_usec, (long long)htv.tv_sec, (long)htv.tv_usec);
	t = syscall(SYS_time, NULL);
	ht = host_syscall(SYS_time, 0, 0, 0, 0);
	printf("time %ld %ld\n", t, ht);
	r = syscall(SYS_time, &t);
	printf("time-ptr %ld %ld\n", r, t);
	r = syscall(SYS_gettimeofday, NULL, &tz);
	printf("gettimeofday-tz %ld\n", r);
	return 0;
}

/* An i386 system call from this 64-bit process: the kernel takes the
 * arguments in 32-bit registers, so they point below 4 GiB. */
static long int80(long nr, long a, long b)
{
	long r;

	__asm__ volatile("int $0x80" : "=a"(r) : "a"(nr), "b"(a), "c"(b) : "memory");
	return r;
}

static void say32(const char *name, long r, long sec)
{
	if (r < 0 && r > -4096)
		printf("%s %s\n", name, ename(-r));
	else
		printf("%s %ld\n", name, sec);
}

static int i386(void)
{
	/* below 4 GiB, where a 32-bit pointer reaches */
	int32_t *low = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT,
			    -1, 0);
	struct timespec h;
	long r;

	if (low == MAP_FAILED)
		return perror("mmap"), 1;
	memset(low, 0, 64);
	r = int80(265, 0, (long)low); /* clock_gettime, 32-bit timespec */
	say32("clock_gettime", r, low[0]);
	memset(low, 0, 64);
	r = int80(403, 0, (long)low); /* clock_gettime64 */
	say32("clock_gettime64", r, (long)*(int64_t *)low);
	memset(low, 0, 64);
	r = int80(78, (long)low, 0); /* gettimeofday, 32-bit timeval */
	say32("gettimeofday", r, low[0]);
	r = int80(13, 0, 0); /* time */
	say32("time", r, r);
	host_syscall(SYS_clock_gettime, CLOCK_REALTIME, (long)&h, 0, 0);
	printf("host %lld\n", (long long)h.tv_sec);
	return 0;
}

static int x32(void)
{
	struct timespec ts = { 0 }, h;
	struct timeval tv = { 0 };
	long r;

	/* x32's numbers for these are the x86-64 ones, with the bit */
	r = syscall(X32_BIT | SYS_clock_gettime, 0, &ts);
	say32("clock_gettime", r < 0 ? -errno : r, ts.tv_sec);
	r = syscall(X32_BIT | SYS_gettimeofday, &tv, NULL);
	say32("gettimeofday", r < 0 ? -errno : r, tv.tv_sec);
	r = syscall(X32_BIT | SYS_time, NULL);
	say32("time", r < 0 ? -errno : r, r);
	host_syscall(SYS_clock_gettime, CLOCK_REALTIME, (long)&h, 0, 0);
	printf("host %lld\n", (long long)h.tv_sec);
	return 0;
}

static int futex_wait(const char *clock, double s)
{
	int rt = !strcmp(clock, "REALTIME");
	long clk = rt ? CLOCK_REALTIME : CLOCK_MONOTONIC;
	static uint32_t word;
	struct timespec at;
	double t0;
	long r;

	raw_gettime(clk, &at);
	t0 = (double)at.tv_sec + at.tv_nsec / 1e9;
	at.tv_sec += (time_t)s;
	at.tv_nsec += (long)((s - (double)(time_t)s) * 1e9);
	if (at.tv_nsec >= 1000000000L)
		at.tv_sec++, at.tv_nsec -= 1000000000L;
	do
		r = syscall(SYS_futex, &word,
			    FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG | (rt ? FUTEX_CLOCK_REALTIME : 0),
			    0, &at, NULL, FUTEX_BITSET_MATCH_ANY);
	while (r == 0 || (r < 0 && (errno == EINTR || errno == EAGAIN))); /* spurious */
	printf("%s %.3f\n", ename(errno), raw_now(clk) - t0);
	return 0;
}

/* ---- SIGSYS of the program's own ---- */

static volatile sig_atomic_t got, got_code, got_nr;
static volatile long handler_time;

static void on_sigsys(int sig, siginfo_t *si, void *ctx)
{
	ucontext_t *uc = ctx;

	(void)sig;
	got++;
	got_code = si->si_code;
	got_nr = si->si_code == SYS_SECCOMP_CODE ? si->si_syscall : -1;
	/* a trap of the program's own filter: it emulates the call */
	if (si->si_code == SYS_SECCOMP_CODE)
		uc->uc_mcontext.gregs[REG_RAX] = 4242;
	/* a time call from inside the handler is served too */
	handler_time = syscall(SYS_time, NULL);
}

static void own_sigsys(void)
{
	struct sigaction sa = { 0 };

	sa.sa_sigaction = on_sigsys;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL))
		perror("sigaction");
}

static void check(int good, const char *name, const char *what)
{
	printf("%s %s %s\n", good ? "ok" : "bad", name, what);
}

static void now_line(void)
{
	printf("now %.3f\n", raw_now(CLOCK_REALTIME));
}

static int sigsys(void)
{
	struct sigaction old;

	own_sigsys();
	check(!sigaction(SIGSYS, NULL, &old) && old.sa_sigaction == on_sigsys, "sigaction",
	      "reports the program's own SIGSYS handler");
	kill(getpid(), SIGSYS);
	check(got == 1 && got_code == SI_USER, "kill", "its handler got the SIGSYS kill sent");
	syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), SIGSYS);
	check(got == 2 && got_code == SI_TKILL, "tgkill", "its handler got the SIGSYS tgkill sent");
	printf("handler-time %ld\n", handler_time);
	raise(SIGSYS);
	check(got == 3, "raise", "its handler got raise(SIGSYS)");
	/* and back to the default: nothing of the runtime's is lost */
	signal(SIGSYS, SIG_IGN);
	kill(getpid(), SIGSYS);
	check(got == 3, "ignored", "an ignored SIGSYS is ignored");
	signal(SIGSYS, SIG_DFL);
	now_line();
	return 0;
}

static int block(void)
{
	sigset_t set, cur;
	struct timespec ts;
	time_t t;

	sigemptyset(&set);
	sigaddset(&set, SIGSYS);
	check(!sigprocmask(SIG_BLOCK, &set, NULL), "sigprocmask", "SIG_BLOCK SIGSYS succeeds");
	t = syscall(SYS_time, NULL);
	printf("blocked-time %ld\n", (long)t);
	check(!pthread_sigmask(SIG_SETMASK, &set, NULL), "pthread_sigmask",
	      "SIG_SETMASK {SIGSYS} succeeds");
	raw_gettime(CLOCK_REALTIME, &ts);
	printf("blocked-clock %lld\n", (long long)ts.tv_sec);
	sigfillset(&set);
	check(!pthread_sigmask(SIG_BLOCK, &set, NULL), "fill", "blocking every signal succeeds");
	/* a wait with every signal blocked: served too */
	ts.tv_sec = 0;
	ts.tv_nsec = 100000000;
	check(!syscall(SYS_nanosleep, &ts, NULL), "nanosleep", "a raw nanosleep returns 0");
	sigprocmask(SIG_SETMASK, NULL, &cur);
	printf("mask-has-sigsys %d\n", sigismember(&cur, SIGSYS));
	now_line();
	return 0;
}

/* A filter of the program's own: ERRNO(EXDEV) for sysinfo, TRAP for getppid,
 * everything else allowed. */
static long install(int via_prctl)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_sysinfo, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EXDEV),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP | 7),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { sizeof(f) / sizeof(f[0]), f };

	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	if (via_prctl)
		return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog);
	return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
}

static int own_filter(void)
{
	struct timespec ts = { 0, 50000000 };
	long r;

	own_sigsys();
	check(!install(0), "seccomp", "seccomp(SET_MODE_FILTER) of its own succeeds");
	check(!install(1), "prctl", "prctl(PR_SET_SECCOMP) of its own succeeds");
	errno = 0;
	r = syscall(SYS_sysinfo, NULL);
	check(r == -1 && errno == EXDEV, "errno", "its SECCOMP_RET_ERRNO answers sysinfo with EXDEV");
	r = syscall(SYS_getppid);
	check(r == 4242 && got == 1 && got_nr == SYS_getppid, "trap",
	      "its SECCOMP_RET_TRAP reaches its own handler, which answers getppid");
	printf("handler-time %ld\n", handler_time);
	check(!syscall(SYS_nanosleep, &ts, NULL), "nanosleep", "a raw nanosleep returns 0");
	printf("libc-time %ld\n", (long)time(NULL));
	now_line();
	return 0;
}

/* ---- alternate signal stacks ---- */

static volatile double alt_clock;
static volatile long alt_sleep = -1, alt_time;
static volatile int alt_on;

static void on_usr1(int sig)
{
	struct timespec ts = { 0, 20000000 };
	stack_t ss;
	int here;

	(void)sig;
	sigaltstack(NULL, &ss);
	alt_on = (ss.ss_flags & SS_ONSTACK) && (char *)&here >= (char *)ss.ss_sp &&
		 (char *)&here < (char *)ss.ss_sp + ss.ss_size;
	alt_clock = raw_now(CLOCK_REALTIME);
	alt_time = syscall(SYS_time, NULL);
	alt_sleep = syscall(SYS_nanosleep, &ts, NULL);
}

static size_t alt_size;

static void *alt_thread(void *arg)
{
	stack_t ss = { .ss_sp = arg, .ss_size = alt_size };
	struct sigaction sa = { 0 };

	if (sigaltstack(&ss, NULL))
		perror("sigaltstack");
	sa.sa_handler = on_usr1;
	sa.sa_flags = SA_ONSTACK;
	sigaction(SIGUSR1, &sa, NULL);
	raise(SIGUSR1);
	return NULL;
}

/* An alternate stack of `size` bytes with a page below it that faults: one
 * that overflows ends the program rather than corrupting it. */
static int altstack_of(size_t size)
{
	size_t round = (size + 4095) & ~(size_t)4095;
	char *m = mmap(NULL, round + 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	pthread_t t;

	if (m == MAP_FAILED)
		return perror("mmap"), 1;
	mprotect(m, 4096, PROT_NONE);
	alt_size = size;
	/* on a thread of its own, as Go gives every thread its signal stack */
	pthread_create(&t, NULL, alt_thread, m + 4096 + round - size);
	pthread_join(t, NULL);
	check(alt_on, "onstack", "the handler ran on its alternate stack");
	check(alt_sleep == 0, "nanosleep", "a raw nanosleep from it returns 0");
	printf("alt-clock %.3f\nalt-time %ld\n", alt_clock, alt_time);
	now_line();
	return 0;
}

static int altstack(void)
{
	return altstack_of(16384);
}

/* ---- clock setting ---- */

static int settime(const char *how, double s)
{
	long r = -1;

	if (!getenv("TIMEWARP_NS"))
		return fprintf(stderr, "tw-trap: refusing to set the clock outside a namespace\n"), 2;
	if (!strcmp(how, "clock_settime")) {
		struct timespec ts = { (time_t)s, 0 };

		r = syscall(SYS_clock_settime, CLOCK_REALTIME, &ts);
	} else if (!strcmp(how, "settimeofday")) {
		struct timeval tv = { (time_t)s, 0 };

		r = syscall(SYS_settimeofday, &tv, NULL);
	} else if (!strcmp(how, "adjtimex") || !strcmp(how, "clock_adjtime")) {
		struct timex tx = { 0 };

		tx.modes = ADJ_SETOFFSET | ADJ_NANO;
		tx.time.tv_sec = (time_t)s;
		tx.time.tv_usec = 0;
		r = how[0] == 'a' ? syscall(SYS_adjtimex, &tx)
				  : syscall(SYS_clock_adjtime, CLOCK_REALTIME, &tx);
		if (r > 0) /* the clock state */
			r = 0;
	} else {
		return fprintf(stderr, "tw-trap: unknown settime '%s'\n", how), 2;
	}
	printf("%s\n", r ? ename(errno) : "ok");
	now_line();
	return 0;
}

static int loop(double s)
{
	struct timespec ts = { 0, 200000000 };
	double t0 = raw_now(CLOCK_MONOTONIC);

	printf("ready\n");
	fflush(stdout);
	while (raw_now(CLOCK_MONOTONIC) - t0 < s) {
		syscall(SYS_nanosleep, &ts, NULL);
		now_line();
		fflush(stdout);
	}
	return 0;
}

/* The subcommands that take no argument. */
static const struct {
	const char *name;
	int (*run)(void);
} plain[] = {
	{ "clocks", clocks }, { "reads", reads },   { "i386", i386 },	       { "x32", x32 },
	{ "sigsys", sigsys }, { "block", block },   { "seccomp", own_filter }, { "altstack", altstack },
};

int main(int argc, char **argv)
{
	const char *m = argc > 1 ? argv[1] : "";

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (unsigned i = 0; argc == 2 && i < sizeof(plain) / sizeof(plain[0]); i++)
		if (!strcmp(m, plain[i].name))
			return plain[i].run();
	if (!strcmp(m, "futex") && argc == 4)
		return futex_wait(argv[2], atof(argv[3]));
	if (!strcmp(m, "settime") && argc == 4)
		return settime(argv[2], atof(argv[3]));
	if (!strcmp(m, "loop") && argc == 3)
		return loop(atof(argv[2]));
	if (!strcmp(m, "altstack") && argc == 3)
		return altstack_of((size_t)atol(argv[2]));
	fprintf(stderr, "usage: tw-trap clocks|reads|i386|x32|sigsys|block|seccomp|altstack [BYTES]\n"
			"       tw-trap futex REALTIME|MONOTONIC SECONDS | settime HOW SECONDS | loop SECONDS\n");
	return 2;
}
