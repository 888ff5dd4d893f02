/* clockperf: the measuring half of timewarp's benchmark harness (bench/run is
 * the other).  Every interval is timed with the TSC, which no virtual clock
 * touches; its frequency is calibrated once on the host (`clockperf tsc-hz`,
 * outside any namespace, where the clocks do not lie) and passed in with
 * --tsc-hz.  Output is one measurement a line, "WHAT KEY... VALUE", for the
 * driver to parse.
 *
 *   clockperf tsc-hz
 *   clockperf throughput --tsc-hz HZ --window S     calls/s per clock and path
 *   clockperf cold --tsc-hz HZ --samples N          one read after flushing caches
 *   clockperf mem                                   resident set and mappings
 *   clockperf spawn --tsc-hz HZ --runs N -- CMD...  start-up time of CMD
 *   clockperf sleep --tsc-hz HZ --ms D --count N    host time of nanosleep(D)
 *   clockperf timer --tsc-hz HZ --ms D --count N    a periodic timerfd every D ms
 *   clockperf waitcost --tsc-hz HZ --window S       ns per wait that returns at once
 *   clockperf syscalls --tsc-hz HZ --window S [--floors]
 *                                                   ns per raw system call: one
 *                                                   timewarp lets through, and
 *                                                   time calls it traps; or the
 *                                                   floors of any seccomp filter
 *   clockperf wake --tsc-hz HZ --timewarp PATH --name NS --timeout-ms T [--count N]
 *                  [--members M]                    wake latency after `timewarp set`
 *                                                   of M waiting processes
 *   clockperf wake --host --tsc-hz HZ --timeout-ms T [--count N] [--members M]
 *                                                   the same for the host's FUTEX_WAKE
 *   clockperf sleeper [--count N] [--members M] [--futex]   (the waiters `wake` starts)
 *   clockperf waker                                 (the host's FUTEX_WAKE)
 *
 * Paths: "libc" is clock_gettime as a program calls it (through the PLT, so
 * an LD_PRELOAD library interposes); "vdso" is __vdso_clock_gettime looked up
 * in the image at AT_SYSINFO_EHDR by the small ELF reader below, as Go's
 * runtime does. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/auxv.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <ucontext.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "blocked.h"
#include "vdso_lookup.h"

extern char **environ;

typedef int (*cgt_fn)(clockid_t, struct timespec *);

static double tsc_hz;

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("clockperf: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

/* ---- the TSC (tsc_start, tsc_stop: bench.h) ---------------------------- */

static int64_t raw_ns(void)
{
	struct timespec ts;

	/* a raw syscall: the host clock, whatever library is preloaded */
	syscall(SYS_clock_gettime, CLOCK_MONOTONIC_RAW, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Ticks per second against the host's CLOCK_MONOTONIC_RAW (raw syscall, so
 * nothing interposed), median of five 100 ms windows.  Meant to run outside
 * any namespace. */
static int cmd_tsc_hz(void)
{
	double hz[5];

	for (int i = 0; i < 5; i++) {
		int64_t n0 = raw_ns(), n1;
		uint64_t t0 = tsc_start(), t1;

		do
			n1 = raw_ns();
		while (n1 - n0 < 100000000);
		t1 = tsc_stop();
		hz[i] = (double)(t1 - t0) * 1e9 / (double)(n1 - n0);
	}
	qsort(hz, 5, sizeof(hz[0]), cmp_double);
	printf("%.0f\n", hz[2]);
	return 0;
}

/* ---- the vDSO ---------------------------------------------------------- */

/* NAME (version LINUX_2.6) in the image AT_SYSINFO_EHDR names, looked up with
 * timewarp's own freestanding lookup (src/engine/vdso_lookup.c), as Go does. */
static void *vdso_sym(const char *name)
{
	return tw_vdso_sym((const void *)getauxval(AT_SYSINFO_EHDR), name, "LINUX_2.6");
}

/* ---- scenario 1: throughput ------------------------------------------- */

static volatile long sink;

/* Calls in a window of `budget` ticks, the TSC read after every 16 calls. */
#define WINDOW(CALL)                                                           \
	do {                                                                   \
		struct timespec ts = { 0, 0 };                                 \
		uint64_t t0 = tsc_start(), t = t0, end = t0 + budget, n = 0;   \
		long acc = 0;                                                  \
		do {                                                           \
			for (int i_ = 0; i_ < 16; i_++) {                      \
				CALL;                                          \
				acc += ts.tv_nsec;                             \
			}                                                      \
			n += 16;                                               \
			t = tsc_stop();                                        \
		} while (t < end);                                             \
		sink = acc;                                                    \
		*calls = n;                                                    \
		*ticks = t - t0;                                               \
	} while (0)

static void window_libc(clockid_t c, uint64_t budget, uint64_t *calls, uint64_t *ticks)
{
	WINDOW(clock_gettime(c, &ts));
}

static void window_vdso(cgt_fn f, clockid_t c, uint64_t budget, uint64_t *calls, uint64_t *ticks)
{
	WINDOW(f(c, &ts));
}

static int64_t ts_ns(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
}

/* Does the direct vDSO call tell the same time as libc's clock_gettime (which
 * a preload library serves)?  Same within 50 ms, bracketed by two libc reads. */
static void check_vdso(cgt_fn f)
{
	for (size_t k = 0; k < NCLOCKS; k++) {
		struct timespec a, b, c;
		int64_t lo, hi, v, diff;

		clock_gettime(clocks[k].id, &a);
		f(clocks[k].id, &b);
		clock_gettime(clocks[k].id, &c);
		lo = ts_ns(&a) - 50000000;
		hi = ts_ns(&c) + 50000000;
		v = ts_ns(&b);
		diff = v - ts_ns(&a);
		printf("agree %s %d %" PRId64 "\n", clocks[k].name, v >= lo && v <= hi, diff);
	}
}

static int cmd_throughput(double window)
{
	cgt_fn vdso = (cgt_fn)vdso_sym("__vdso_clock_gettime");
	uint64_t budget = (uint64_t)(window * tsc_hz), calls, ticks;

	if (vdso)
		check_vdso(vdso);
	for (int path = 0; path < 2; path++) {
		for (size_t k = 0; k < NCLOCKS; k++) {
			clockid_t c = clocks[k].id;

			if (path && !vdso) {
				printf("tp vdso %s NA\n", clocks[k].name);
				continue;
			}
			/* warm up: caches, branch predictors, the core's clock speed */
			if (path)
				window_vdso(vdso, c, budget / 10, &calls, &ticks);
			else
				window_libc(c, budget / 10, &calls, &ticks);
			if (path)
				window_vdso(vdso, c, budget, &calls, &ticks);
			else
				window_libc(c, budget, &calls, &ticks);
			printf("tp %s %s %.0f\n", path ? "vdso" : "libc", clocks[k].name,
			       (double)calls * tsc_hz / (double)ticks);
		}
	}
	return 0;
}

/* ---- scenario 2: one read with cold caches ---------------------------- */

struct range {
	uintptr_t lo, hi;
};

static struct range flush_ranges[64];
static int nflush;
static sigjmp_buf probe_jmp;

static void probe_fault(int sig)
{
	(void)sig;
	siglongjmp(probe_jmp, 1);
}

/* Whether the byte at p can be read (a fault says no). */
static int readable(uintptr_t p)
{
	if (sigsetjmp(probe_jmp, 1))
		return 0;
	(void)*(volatile const char *)p;
	return 1;
}

/* Adds the readable pages of [lo, hi) that can be touched (a vvar mapping
 * may hold pages that fault, such as a paravirtual clock page not in use). */
static void add_flushable(uintptr_t lo, uintptr_t hi)
{
	struct sigaction sa = { .sa_handler = probe_fault }, old_segv, old_bus;
	long pg = sysconf(_SC_PAGESIZE);

	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_NODEFER;
	sigaction(SIGSEGV, &sa, &old_segv);
	sigaction(SIGBUS, &sa, &old_bus);
	for (uintptr_t p = lo; p < hi && nflush < 64; p += (uintptr_t)pg) {
		if (!readable(p))
			continue;
		if (nflush && flush_ranges[nflush - 1].hi == p)
			flush_ranges[nflush - 1].hi = p + (uintptr_t)pg;
		else
			flush_ranges[nflush++] = (struct range){ p, p + (uintptr_t)pg };
	}
	sigaction(SIGSEGV, &old_segv, NULL);
	sigaction(SIGBUS, &old_bus, NULL);
}

/* What one clock read touches besides the caller: the vDSO image and its
 * data pages, the image at AT_SYSINFO_EHDR wherever it is, a clock page
 * (".../~pages/..."), the preload libraries (timewarp's or libfaketime) and
 * the page of libc that holds clock_gettime. */
static void collect_ranges(void)
{
	uintptr_t ehdr = (uintptr_t)getauxval(AT_SYSINFO_EHDR), libc_cgt = 0;
	long pg = sysconf(_SC_PAGESIZE);
	void *libc = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);
	FILE *f = fopen("/proc/self/maps", "r");
	char line[4096];

	if (libc) {
		libc_cgt = (uintptr_t)dlsym(libc, "clock_gettime");
		dlclose(libc);
	}
	if (!f)
		die("cannot read /proc/self/maps: %s", strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		char perms[8] = "", *path;
		int off = 0;

		if (sscanf(line, "%lx-%lx %7s %*s %*s %*s %n", &lo, &hi, perms, &off) < 3)
			continue;
		if (perms[0] != 'r')
			continue;
		path = line + off;
		path[strcspn(path, "\n")] = 0;
		if (!strcmp(path, "[vdso]") || !strncmp(path, "[vvar", 5) ||
		    (ehdr >= lo && ehdr < hi) || strstr(path, "/~pages/") ||
		    strstr(path, "libtimewarp") || strstr(path, "libfaketime"))
			add_flushable(lo, hi);
		else if (libc_cgt >= lo && libc_cgt < hi) {
			uintptr_t p = libc_cgt & ~(uintptr_t)(pg - 1);

			add_flushable(p, p + (uintptr_t)pg < hi ? p + 2 * (uintptr_t)pg : hi);
		}
	}
	fclose(f);
}

static void flush_all(void)
{
	for (int i = 0; i < nflush; i++)
		for (uintptr_t p = flush_ranges[i].lo; p < flush_ranges[i].hi; p += 64)
			__asm__ volatile("clflush (%0)" : : "r"(p) : "memory");
	__asm__ volatile("mfence" : : : "memory");
}

static int cmd_cold(int samples)
{
	cgt_fn vdso = (cgt_fn)vdso_sym("__vdso_clock_gettime");
	enum { LIBC_RT, LIBC_MONO, VDSO_RT, OVERHEAD, NKIND };
	static const char *const label[NKIND] = {
		"libc REALTIME", "libc MONOTONIC", "vdso REALTIME", "overhead -"
	};
	uint64_t *t[NKIND];
	size_t bytes = 0;

	if (vdso)
		check_vdso(vdso);
	collect_ranges();
	for (int i = 0; i < nflush; i++)
		bytes += flush_ranges[i].hi - flush_ranges[i].lo;
	for (int k = 0; k < NKIND; k++)
		if (!(t[k] = calloc((size_t)samples, sizeof(uint64_t))))
			die("out of memory");
	for (int s = 0; s < samples; s++) {
		for (int k = 0; k < NKIND; k++) {
			struct timespec ts;
			uint64_t t0, t1;

			if (k == VDSO_RT && !vdso)
				continue;
			flush_all();
			t0 = tsc_start();
			switch (k) {
			case LIBC_RT: clock_gettime(CLOCK_REALTIME, &ts); break;
			case LIBC_MONO: clock_gettime(CLOCK_MONOTONIC, &ts); break;
			case VDSO_RT: vdso(CLOCK_REALTIME, &ts); break;
			default: ts.tv_nsec = 0; break;
			}
			t1 = tsc_stop();
			sink = ts.tv_nsec;
			t[k][s] = t1 - t0;
		}
	}
	for (int k = 0; k < NKIND; k++) {
		if (k == VDSO_RT && !vdso) {
			printf("cold %s NA\n", label[k]);
			continue;
		}
		qsort(t[k], (size_t)samples, sizeof(uint64_t), cmp_u64);
		printf("cold %s %" PRIu64 "\n", label[k], t[k][samples / 2]);
	}
	printf("flushed %zu\n", bytes);
	return 0;
}

/* ---- scenario 5: memory ----------------------------------------------- */

static int cmd_mem(void)
{
	cgt_fn vdso = (cgt_fn)vdso_sym("__vdso_clock_gettime");
	char line[4096];
	FILE *f;

	/* read every clock both ways first, so whatever is set up lazily is */
	for (size_t k = 0; k < NCLOCKS; k++) {
		struct timespec ts;

		clock_gettime(clocks[k].id, &ts);
		if (vdso)
			vdso(clocks[k].id, &ts);
	}
	if (!(f = fopen("/proc/self/status", "r")))
		die("cannot read /proc/self/status: %s", strerror(errno));
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmRSS:", 6))
			printf("rss_kb %ld\n", strtol(line + 6, NULL, 10));
	fclose(f);
	/* what this process alone has written: its own anonymous and copied pages
	 * (the resident set also counts shared library pages the kernel maps
	 * around each fault) */
	if ((f = fopen("/proc/self/smaps_rollup", "r"))) {
		while (fgets(line, sizeof(line), f))
			if (!strncmp(line, "Private_Dirty:", 14))
				printf("dirty_kb %ld\n", strtol(line + 14, NULL, 10));
		fclose(f);
	}
	if (!(f = fopen("/proc/self/maps", "r")))
		die("cannot read /proc/self/maps: %s", strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		char perms[8] = "";
		int off = 0;
		char *path;

		if (sscanf(line, "%lx-%lx %7s %*s %*s %*s %n", &lo, &hi, perms, &off) < 3)
			continue;
		path = line + off;
		path[strcspn(path, "\n")] = 0;
		printf("map %s %lu %s\n", perms, (hi - lo) / 1024, *path ? path : "[anon]");
	}
	fclose(f);
	return 0;
}

/* ---- scenario 4: start-up --------------------------------------------- */

/* Starts argv with stdout on out_fd (unless -1) and fd3 as its descriptor 3
 * (unless -1); in a process group of its own when `group`, so that it can be
 * killed with everything it forked. */
static pid_t spawn(char **argv, int out_fd, int fd3, int group)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	pid_t pid;
	int err;

	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&at);
	if (out_fd >= 0)
		posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
	if (fd3 >= 0)
		posix_spawn_file_actions_adddup2(&fa, fd3, 3);
	if (group) {
		posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP);
		posix_spawnattr_setpgroup(&at, 0);
	}
	err = posix_spawnp(&pid, argv[0], &fa, &at, argv, environ);
	posix_spawnattr_destroy(&at);
	posix_spawn_file_actions_destroy(&fa);
	if (err)
		die("cannot start %s: %s", argv[0], strerror(err));
	return pid;
}

static pid_t start(char **argv, int out_fd)
{
	return spawn(argv, out_fd, -1, 0);
}

static int finish(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			die("waitpid: %s", strerror(errno));
	return st;
}

static int cmd_spawn(int runs, char **argv)
{
	double *us = calloc((size_t)runs, sizeof(double));

	if (!us)
		die("out of memory");
	for (int i = 0; i < runs; i++) {
		uint64_t t0 = tsc_start();
		int st = finish(start(argv, -1));

		us[i] = (double)(tsc_stop() - t0) * 1e6 / tsc_hz;
		if (!WIFEXITED(st) || WEXITSTATUS(st))
			die("%s failed (status 0x%x)", argv[0], st);
	}
	qsort(us, (size_t)runs, sizeof(double), cmp_double);
	printf("spawn %.1f %.1f %.1f\n", us[runs / 2], us[0], us[runs - 1]);
	return 0;
}

/* ---- scenario 6: waits ------------------------------------------------ */

static int cmd_sleep(double ms, int count)
{
	struct timespec d = { (time_t)(ms / 1000), (long)((ms - 1000 * (double)(time_t)(ms / 1000)) * 1e6) };
	double *took = calloc((size_t)count, sizeof(double));

	if (!took)
		die("out of memory");
	for (int i = 0; i < count; i++) {
		uint64_t t0 = tsc_start();

		nanosleep(&d, NULL);
		took[i] = (double)(tsc_stop() - t0) * 1e3 / tsc_hz;
	}
	qsort(took, (size_t)count, sizeof(double), cmp_double);
	printf("sleep %.3f %.3f %.3f\n", took[count / 2], took[0], took[count - 1]);
	return 0;
}

/* A periodic timerfd on CLOCK_MONOTONIC every D ms (virtual), read until it
 * has expired N times; under rate R an expiry should come every D / R ms of
 * host time.  Reports, in host ms: the interval the kernel's timer was armed
 * with ("timer_armed"); the host time per expiry from the first read to the
 * last ("timer_per"); the median lateness of a read behind the host instant of
 * the expiry it saw ("timer_late"), the kernel's schedule taken from the
 * timer's /proc/self/fdinfo just after the first read (the kernel's own
 * it_value and it_interval: timewarp serves timerfd_gettime, even a raw one,
 * in virtual time), so that nothing the arming call does after arming
 * counts; and the expiries a read found more than one of
 * ("timer_overruns"). */
static int kernel_timer(int fd, struct itimerspec *h)
{
	char path[64], buf[512], *v, *i;
	long long vs, vn, is, in;
	ssize_t n;
	int f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	if ((f = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	n = read(f, buf, sizeof(buf) - 1);
	close(f);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	if (!(v = strstr(buf, "it_value: (")) || !(i = strstr(buf, "it_interval: (")) ||
	    sscanf(v, "it_value: (%lld, %lld)", &vs, &vn) != 2 ||
	    sscanf(i, "it_interval: (%lld, %lld)", &is, &in) != 2)
		return -1;
	h->it_value.tv_sec = (time_t)vs;
	h->it_value.tv_nsec = (long)vn;
	h->it_interval.tv_sec = (time_t)is;
	h->it_interval.tv_nsec = (long)in;
	return 0;
}

static int cmd_timer(double ms, int count)
{
	int64_t ns = (int64_t)(ms * 1e6);
	struct itimerspec it = { { (time_t)(ns / 1000000000), (long)(ns % 1000000000) },
				 { (time_t)(ns / 1000000000), (long)(ns % 1000000000) } }, h = { { 0, 0 }, { 0, 0 } };
	double *late = calloc((size_t)count + 1, sizeof(double)), next = 0, step = 0;
	uint64_t *at = calloc((size_t)count + 1, sizeof(uint64_t)), *exp = calloc((size_t)count + 1, sizeof(uint64_t));
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC), reads = 0;
	uint64_t total = 0;

	if (!late || !at || !exp)
		die("out of memory");
	if (fd < 0)
		die("timerfd_create: %s", strerror(errno));
	if (timerfd_settime(fd, 0, &it, NULL))
		die("timerfd_settime: %s", strerror(errno));
	while (total < (uint64_t)count) {
		uint64_t n;

		if (read(fd, &n, sizeof(n)) != (ssize_t)sizeof(n)) {
			if (errno == EINTR)
				continue;
			die("read from a timerfd: %s", strerror(errno));
		}
		at[reads] = tsc_stop();
		exp[reads++] = total += n;
		if (reads == 1) {
			uint64_t t0 = tsc_start(), t1;

			if (kernel_timer(fd, &h))
				die("cannot read the kernel's timer from /proc/self/fdinfo/%d", fd);
			t1 = tsc_stop();
			/* the host instant, in ticks, of expiry total + 1 */
			next = (double)(t0 + t1) / 2 + (double)ts_ns(&h.it_value) * tsc_hz / 1e9;
			step = (double)ts_ns(&h.it_interval) * tsc_hz / 1e9;
		}
	}
	close(fd);
	for (int i = 0; i < reads; i++) {
		double due = next + ((double)exp[i] - (double)exp[0] - 1) * step;

		late[i] = ((double)at[i] - due) * 1e3 / tsc_hz;
	}
	qsort(late, (size_t)reads, sizeof(double), cmp_double);
	printf("timer_armed %.4f\n", (double)ts_ns(&h.it_interval) / 1e6);
	if (total > exp[0])
		printf("timer_per %.4f\n", (double)(at[reads - 1] - at[0]) * 1e3 / tsc_hz /
					      (double)(total - exp[0]));
	printf("timer_late %.4f\n", late[reads / 2]);
	printf("timer_overruns %" PRIu64 "\n", total - (uint64_t)reads);
	return 0;
}

/* Waits that return at once, each as a program calls it (through the PLT, so
 * a preload library interposes): the cost of the call itself. */
enum { W_POLL, W_EPOLL, W_COND, W_SEM, W_NANOSLEEP, W_TIMERFD, NWAIT };
static const char *const wait_name[NWAIT] = {
	"poll", "epoll_wait", "pthread_cond_timedwait", "sem_timedwait", "clock_nanosleep",
	"timerfd_settime",
};

struct wait_env {
	int ep, tfd;
	pthread_mutex_t mx;
	pthread_cond_t cv;
	sem_t sem;
	struct timespec rt_past, rt_future, mono_past;
	struct itimerspec arm;
	struct epoll_event ev;
};

/* One call of wait k; whether it answered as a wait that returns at once does. */
static inline int wait_once(struct wait_env *e, int k)
{
	switch (k) {
	case W_POLL: /* no descriptors, no timeout */
		return poll(NULL, 0, 0) == 0;
	case W_EPOLL: /* an empty epoll set, no timeout */
		return epoll_wait(e->ep, &e->ev, 1, 0) == 0;
	case W_COND: /* an absolute REALTIME deadline already past */
		return pthread_cond_timedwait(&e->cv, &e->mx, &e->rt_past) == ETIMEDOUT;
	case W_SEM: /* a posted semaphore (its deadline an hour ahead) */
		sem_post(&e->sem);
		return sem_timedwait(&e->sem, &e->rt_future) == 0;
	case W_NANOSLEEP: /* an absolute MONOTONIC deadline already past */
		return clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &e->mono_past, NULL) == 0;
	default: /* arming a timerfd an hour ahead (not a wait: for the record) */
		return timerfd_settime(e->tfd, 0, &e->arm, NULL) == 0;
	}
}

/* Calls of wait k in a window of `budget` ticks, the TSC read after every 16. */
static void wait_window(struct wait_env *e, int k, uint64_t budget, uint64_t *calls,
			uint64_t *ticks)
{
	uint64_t t0 = tsc_start(), t = t0, end = t0 + budget, n = 0;
	int ok = 1;

	do {
		for (int i = 0; i < 16; i++)
			ok &= wait_once(e, k);
		n += 16;
		t = tsc_stop();
	} while (t < end);
	if (!ok)
		die("%s did not return at once as expected", wait_name[k]);
	*calls = n;
	*ticks = t - t0;
}

/* "wcall NAME NS": ns per call, after a warm-up of a tenth of the window. */
static int cmd_waitcost(double window)
{
	uint64_t budget = (uint64_t)(window * tsc_hz), calls, ticks;
	struct wait_env e = { .arm = { { 0, 0 }, { 3600, 0 } } };
	struct timespec now;

	if ((e.ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
		die("epoll_create1: %s", strerror(errno));
	if ((e.tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC)) < 0)
		die("timerfd_create: %s", strerror(errno));
	pthread_mutex_init(&e.mx, NULL);
	pthread_cond_init(&e.cv, NULL); /* REALTIME */
	sem_init(&e.sem, 0, 0);
	clock_gettime(CLOCK_REALTIME, &now); /* virtual under a preload library */
	e.rt_past = e.rt_future = now;
	e.rt_past.tv_sec -= 1;
	e.rt_future.tv_sec += 3600;
	clock_gettime(CLOCK_MONOTONIC, &e.mono_past);
	e.mono_past.tv_sec -= 1;
	pthread_mutex_lock(&e.mx); /* held around every pthread_cond_timedwait */
	for (int k = 0; k < NWAIT; k++) {
		wait_window(&e, k, budget / 10, &calls, &ticks);
		wait_window(&e, k, budget, &calls, &ticks);
		printf("wcall %s %.1f\n", wait_name[k], (double)ticks * 1e9 / tsc_hz / (double)calls);
	}
	pthread_mutex_unlock(&e.mx);
	return 0;
}

/* Raw system calls, by syscall(2) as a program that bypasses libc makes them
 * (Go's runtime, a JIT, inline assembly): getppid, which a member's seccomp
 * filter lets through (its cost is the filter's), and time calls, which it
 * traps to the runtime in a member.  "scall NAME NS": ns per call, after a
 * warm-up of a tenth of the window. */
enum { SC_GETPPID, SC_CGT_MONO, SC_CGT_REAL, SC_GTOD, SC_TIME, NSC };
static const char *const sc_name[NSC] = {
	"getppid", "clock_gettime_monotonic", "clock_gettime_realtime", "gettimeofday", "time",
};

static inline long sc_once(int k, struct timespec *ts, struct timeval *tv)
{
	switch (k) {
	case SC_GETPPID:
		return syscall(SYS_getppid);
	case SC_CGT_MONO:
		return syscall(SYS_clock_gettime, CLOCK_MONOTONIC, ts);
	case SC_CGT_REAL:
		return syscall(SYS_clock_gettime, CLOCK_REALTIME, ts);
	case SC_GTOD:
		return syscall(SYS_gettimeofday, tv, NULL);
	default:
		return syscall(SYS_time, NULL);
	}
}

static void sc_window(int k, uint64_t budget, uint64_t *calls, uint64_t *ticks)
{
	struct timespec ts = { 0, 0 };
	struct timeval tv = { 0, 0 };
	uint64_t t0 = tsc_start(), t = t0, end = t0 + budget, n = 0;
	long acc = 0;

	do {
		for (int i = 0; i < 16; i++)
			acc += sc_once(k, &ts, &tv);
		n += 16;
		t = tsc_stop();
	} while (t < end);
	sink = acc + ts.tv_nsec + tv.tv_usec;
	*calls = n;
	*ticks = t - t0;
}

/* The floors any seccomp-based tool starts from, measured in a process of
 * their own (a filter cannot be removed): every call under a filter of one
 * instruction that allows everything (the kernel's cost of having a filter at
 * all), then getppid trapped by a second filter to a SIGSYS handler that does
 * nothing but set the result (the kernel's cost of a trap: signal delivery
 * and sigreturn). */
static void floor_handler(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)si;
	((ucontext_t *)uc)->uc_mcontext.gregs[REG_RAX] = 1;
}

static void floor_filter(int trap_getppid)
{
	struct sock_filter allow[] = { BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW) };
	struct sock_filter trap[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { 1, allow };

	if (trap_getppid) {
		struct sigaction sa = { .sa_sigaction = floor_handler,
					.sa_flags = SA_SIGINFO | SA_NODEFER };

		if (sigaction(SIGSYS, &sa, NULL))
			die("sigaction: %s", strerror(errno));
		prog = (struct sock_fprog){ 4, trap };
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog))
		die("seccomp: %s", strerror(errno));
}

static int cmd_syscalls(double window, int floors)
{
	uint64_t budget = (uint64_t)(window * tsc_hz), calls, ticks;
	struct timespec ts;

	if (floors) {
		floor_filter(0);
		for (int k = 0; k < NSC; k++) {
			sc_window(k, budget / 10, &calls, &ticks);
			sc_window(k, budget, &calls, &ticks);
			printf("scall %s %.1f\n", sc_name[k],
			       (double)ticks * 1e9 / tsc_hz / (double)calls);
		}
		floor_filter(1);
		sc_window(SC_GETPPID, budget / 10, &calls, &ticks);
		sc_window(SC_GETPPID, budget, &calls, &ticks);
		printf("scall trap %.1f\n", (double)ticks * 1e9 / tsc_hz / (double)calls);
		return 0;
	}

	/* whether a raw read tells libc's time (a member serves both; a peer
	 * that interposes libc alone does not) */
	if (syscall(SYS_clock_gettime, CLOCK_REALTIME, &ts))
		die("clock_gettime by system call: %s", strerror(errno));
	printf("agree raw_realtime %d %ld\n", labs(ts.tv_sec - time(NULL)) <= 2,
	       (long)(ts.tv_sec - time(NULL)));
	for (int k = 0; k < NSC; k++) {
		sc_window(k, budget / 10, &calls, &ticks);
		sc_window(k, budget, &calls, &ticks);
		printf("scall %s %.1f\n", sc_name[k], (double)ticks * 1e9 / tsc_hz / (double)calls);
	}
	return 0;
}

/* ---- wake latency after `timewarp set` ----------------------------------- */

/* For scale, the host's own way of waking a crowd at once: waiters in
 * FUTEX_WAIT on a shared word (a memfd at descriptor 3), woken by one
 * FUTEX_WAKE from a process just started (`clockperf waker`), as `timewarp
 * set` is.  Null: the waiters wait on the namespace's clock. */
static uint32_t *herd_word;

static void map_herd_word(void)
{
	herd_word = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, 3, 0);
	if (herd_word == MAP_FAILED)
		die("mmap of descriptor 3: %s", strerror(errno));
}

static int cmd_waker(void)
{
	map_herd_word();
	__atomic_add_fetch(herd_word, 1, __ATOMIC_RELEASE);
	syscall(SYS_futex, herd_word, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
	return 0;
}

/* What each waiter waits for: an absolute REALTIME an hour ahead, or a change
 * of the herd's word. */
static void wake_wait(const struct timespec *until, uint32_t word)
{
	int r;

	if (herd_word) {
		while (__atomic_load_n(herd_word, __ATOMIC_ACQUIRE) == word)
			syscall(SYS_futex, herd_word, FUTEX_WAIT, word, NULL, NULL, 0);
		return;
	}
	do
		r = clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, until, NULL);
	while (r == EINTR);
}

/* One waiter, `count` times: wait (wake_wait); say when it is about to wait
 * ("ready PID ROUND") and the TSC as the wait returns ("woke PID ROUND TSC").
 * A line is one write, shorter than PIPE_BUF, so that many waiters' lines on
 * one pipe never mix. */
static void sleeper(int count)
{
	for (int i = 0; i < count; i++) {
		struct timespec until;
		uint32_t word = herd_word ? __atomic_load_n(herd_word, __ATOMIC_ACQUIRE) : 0;
		char line[96];
		uint64_t woke;
		int n;

		clock_gettime(CLOCK_REALTIME, &until); /* virtual under timewarp */
		until.tv_sec += 3600;
		n = snprintf(line, sizeof(line), "ready %d %d\n", (int)getpid(), i);
		if (write(1, line, (size_t)n) != n)
			_exit(1);
		wake_wait(&until, word);
		woke = tsc_stop();
		n = snprintf(line, sizeof(line), "woke %d %d %" PRIu64 "\n", (int)getpid(), i, woke);
		if (write(1, line, (size_t)n) != n)
			_exit(1);
	}
}

/* `members` waiters, each a process of its own (forked, so members of the
 * namespace as this one is); 0 once they have all exited 0. */
static int cmd_sleeper(int count, int members, int herd)
{
	pid_t parent = getpid();
	int st, status = 0;

	if (herd)
		map_herd_word();
	for (int i = 0; i < members; i++) {
		pid_t pid = fork();

		if (pid < 0)
			die("fork: %s", strerror(errno));
		if (!pid) {
			/* not left waiting an hour when the driver gives up (it
			 * kills the whole process group too) */
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (getppid() != parent)
				_exit(1);
			sleeper(count);
			_exit(0);
		}
	}
	for (;;) {
		if (wait(&st) < 0) {
			if (errno == EINTR)
				continue;
			return status;
		}
		if (!WIFEXITED(st) || WEXITSTATUS(st))
			status = 1;
	}
}

/* The driver's view of a crowd of waiters: what they said on the pipe. */
struct crowd {
	int fd, members, count;
	char buf[8192];
	size_t len;
	int *ready;     /* per round: how many said "ready" */
	pid_t *pid;     /* the waiters, from their first "ready" */
	int npid;
	int round;      /* the round whose "woke" lines are due */
	uint64_t *woke; /* this round's wake-up TSCs */
	int nwoke;
};

/* One line from a waiter: 0, or -1 when it is not one they write. */
static int crowd_line(struct crowd *c, const char *line)
{
	int pid, round;
	uint64_t tsc;

	if (sscanf(line, "ready %d %d", &pid, &round) == 2 && round >= 0 && round < c->count) {
		if (round == 0 && c->npid < c->members)
			c->pid[c->npid++] = pid;
		c->ready[round]++;
		return 0;
	}
	if (sscanf(line, "woke %d %d %" SCNu64, &pid, &round, &tsc) == 3 && round == c->round &&
	    c->nwoke < c->members) {
		c->woke[c->nwoke++] = tsc;
		return 0;
	}
	return -1;
}

static int all_ready(const struct crowd *c)
{
	return c->ready[c->round] == c->members;
}

static int all_woke(const struct crowd *c)
{
	return c->nwoke == c->members;
}

/* Reads the waiters' lines until done(c) or the host's MONOTONIC_RAW passes
 * `deadline`: 0, or -1 (time out, they are gone, or they said nonsense). */
static int pump(struct crowd *c, int (*done)(const struct crowd *), int64_t deadline)
{
	while (!done(c)) {
		struct pollfd p = { c->fd, POLLIN, 0 };
		int64_t left = deadline - raw_ns();
		char *s, *nl;
		ssize_t n;

		if (left < 0 || poll(&p, 1, (int)(left / 1000000) + 1) <= 0)
			return -1;
		if ((n = read(c->fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len)) <= 0)
			return -1;
		c->len += (size_t)n;
		c->buf[c->len] = 0;
		for (s = c->buf; (nl = strchr(s, '\n')); s = nl + 1) {
			*nl = 0;
			if (crowd_line(c, s))
				return -1;
		}
		c->len -= (size_t)(s - c->buf);
		memmove(c->buf, s, c->len);
		if (c->len == sizeof(c->buf) - 1)
			return -1; /* no line is that long */
	}
	return 0;
}

/* Lets every waiter block: each blocked in its wait, or asleep plus a margin
 * where /proc does not tell in what. */
static void let_block(const struct crowd *c)
{
	int64_t until = raw_ns() + 200000000 + (int64_t)c->members * 1000000;
	int how = 2;

	for (int i = 0; i < c->npid; i++) {
		int b;

		while (!(b = blocked(c->pid[i])) && raw_ns() < until)
			usleep(100);
		if (b < how)
			how = b;
	}
	if (how != 2)
		usleep(how ? 2000 : 20000);
}

static double us_between(uint64_t from, uint64_t to)
{
	return ((double)to - (double)from) * 1e6 / tsc_hz;
}

/* Outside: starts `members` waiters in namespace NAME, each a process; `count`
 * times, lets them all block, advances NAME by two hours with `timewarp set`
 * and reads when each woke.  Prints, per waiter and round, "wake MEMBERS
 * US_AFTER_SET_START US_AFTER_SET_EXIT"; per round "wakeround MEMBERS
 * US_LAST_AFTER_SET_START US_TRUE" (the last waiter to wake, and for scale how
 * long starting and waiting for `true` took just before); or "wake timeout
 * MEMBERS WOKEN" (and no more).  With no `tw`, the host's herd instead: the
 * waiters on the host in FUTEX_WAIT, `clockperf waker` for `timewarp set`. */
static int cmd_wake(const char *tw, const char *name, int timeout_ms, int count, int members)
{
	char self[PATH_MAX], nbuf[32], mbuf[32];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	struct crowd c = { .members = members, .count = count };
	int fds[2], failed = 0, herd = -1;
	pid_t group;

	if (n < 0)
		die("readlink /proc/self/exe: %s", strerror(errno));
	self[n] = 0;
	c.ready = calloc((size_t)count, sizeof(*c.ready));
	c.pid = calloc((size_t)members, sizeof(*c.pid));
	c.woke = calloc((size_t)members, sizeof(*c.woke));
	if (!c.ready || !c.pid || !c.woke)
		die("out of memory");
	snprintf(nbuf, sizeof(nbuf), "%d", count);
	snprintf(mbuf, sizeof(mbuf), "%d", members);
	if (pipe2(fds, O_CLOEXEC))
		die("pipe: %s", strerror(errno));
	if (tw) {
		char *argv[] = { (char *)tw, "join", (char *)name, "--", self, "sleeper",
				 "--count", nbuf, "--members", mbuf, NULL };

		group = spawn(argv, fds[1], -1, 1);
	} else {
		char *argv[] = { self, "sleeper", "--futex", "--count", nbuf, "--members", mbuf, NULL };

		if ((herd = memfd_create("clockperf-herd", MFD_CLOEXEC)) < 0 || ftruncate(herd, 4096))
			die("memfd: %s", strerror(errno));
		name = "(host)";
		group = spawn(argv, fds[1], herd, 1);
	}
	close(fds[1]);
	c.fd = fds[0];
	for (c.round = 0; c.round < count; c.round++) {
		char *set_argv[] = { (char *)tw, "set", "-q", (char *)name, "--advance", "2h", NULL };
		char *waker_argv[] = { self, "waker", NULL };
		char **argv = tw ? set_argv : waker_argv;
		char *true_argv[] = { "true", NULL };
		uint64_t t0, t1, last = 0, true_ticks;
		int st;

		/* forking a thousand members takes a while on a busy machine */
		if (pump(&c, all_ready, raw_ns() + 10000000000LL + (int64_t)members * 10000000)) {
			failed = 1;
			fprintf(stderr, "clockperf: %d of %d waiters got ready in namespace %s\n",
				c.ready[c.round], members, name);
			break;
		}
		let_block(&c);
		t0 = tsc_start();
		finish(start(true_argv, -1));
		true_ticks = tsc_stop() - t0;
		c.nwoke = 0;
		t0 = tsc_start();
		st = finish(spawn(argv, -1, herd, 0));
		t1 = tsc_stop();
		if (!WIFEXITED(st) || WEXITSTATUS(st)) {
			failed = 1;
			fprintf(stderr, "clockperf: %s %s failed\n", argv[0], argv[1]);
			break;
		}
		if (pump(&c, all_woke, raw_ns() + (int64_t)timeout_ms * 1000000)) {
			printf("wake timeout %d %d\n", members, c.nwoke);
			break;
		}
		for (int i = 0; i < members; i++) {
			printf("wake %d %.1f %.1f\n", members, us_between(t0, c.woke[i]),
			       us_between(t1, c.woke[i]));
			if (c.woke[i] > last)
				last = c.woke[i];
		}
		printf("wakeround %d %.1f %.1f\n", members, us_between(t0, last),
		       (double)true_ticks * 1e6 / tsc_hz);
		fflush(stdout);
	}
	if (c.round < count)
		kill(-group, SIGKILL); /* the waiters too */
	finish(group);
	close(fds[0]);
	if (herd >= 0)
		close(herd);
	free(c.ready);
	free(c.pid);
	free(c.woke);
	return failed;
}

/* ---- options ---------------------------------------------------------- */

static void usage(void)
{
	fputs("usage: clockperf tsc-hz | throughput | cold | mem | spawn | sleep | timer | waitcost\n"
	      "                 | syscalls | wake | sleeper | waker\n"
	      "  options: --tsc-hz HZ --window S --samples N --runs N --ms D --count N\n"
	      "           --timewarp PATH --name NS --timeout-ms T --members M --host --futex\n"
	      "           --floors [-- CMD...]\n"
	      "(see the comment at the top of bench/clockperf.c)\n",
	      stderr);
	exit(2);
}

static double number(const char *opt, const char *s, double min)
{
	char *end;
	double v;

	if (!s)
		die("%s needs a value", opt);
	v = strtod(s, &end);
	if (*end || end == s || !(v >= min))
		die("%s: bad value %s", opt, s);
	return v;
}

int main(int argc, char **argv)
{
	double window = 0.25, ms = 10;
	int samples = 1001, runs = 50, count = 20, timeout_ms = 1000, count_given = 0, members = 1;
	int host = 0, herd = 0, floors = 0, i;
	const char *cmd, *tw = NULL, *name = NULL;
	char **rest = NULL;

	if (argc < 2)
		usage();
	cmd = argv[1];
	for (i = 2; i < argc; i++) {
		const char *o = argv[i], *v = argv[i + 1];

		if (!strcmp(o, "--")) {
			rest = argv + i + 1;
			break;
		}
		/* flags: no value */
		if (!strcmp(o, "--host") || !strcmp(o, "--futex") || !strcmp(o, "--floors")) {
			host |= !strcmp(o, "--host");
			herd |= !strcmp(o, "--futex");
			floors |= !strcmp(o, "--floors");
			continue;
		}
		if (!strcmp(o, "--tsc-hz")) tsc_hz = number(o, v, 1e6);
		else if (!strcmp(o, "--window")) window = number(o, v, 1e-4);
		else if (!strcmp(o, "--samples")) samples = (int)number(o, v, 1);
		else if (!strcmp(o, "--runs")) runs = (int)number(o, v, 1);
		else if (!strcmp(o, "--ms")) ms = number(o, v, 0);
		else if (!strcmp(o, "--count")) count = (int)number(o, v, 1), count_given = 1;
		else if (!strcmp(o, "--timeout-ms")) timeout_ms = (int)number(o, v, 1);
		else if (!strcmp(o, "--members")) members = (int)number(o, v, 1);
		else if (!strcmp(o, "--timewarp") && v) tw = v;
		else if (!strcmp(o, "--name") && v) name = v;
		else
			usage();
		i++;
	}
	if (!strcmp(cmd, "tsc-hz"))
		return cmd_tsc_hz();
	if (!strcmp(cmd, "mem"))
		return cmd_mem();
	if (!strcmp(cmd, "sleeper"))
		return cmd_sleeper(count_given ? count : 1, members, herd);
	if (!strcmp(cmd, "waker"))
		return cmd_waker();
	if (!tsc_hz)
		die("%s needs --tsc-hz (from `clockperf tsc-hz` run on the host)", cmd);
	if (!strcmp(cmd, "throughput"))
		return cmd_throughput(window);
	if (!strcmp(cmd, "cold"))
		return cmd_cold(samples);
	if (!strcmp(cmd, "sleep"))
		return cmd_sleep(ms, count);
	if (!strcmp(cmd, "timer"))
		return cmd_timer(ms, count);
	if (!strcmp(cmd, "waitcost"))
		return cmd_waitcost(window);
	if (!strcmp(cmd, "syscalls"))
		return cmd_syscalls(window, floors);
	if (!strcmp(cmd, "spawn")) {
		if (!rest || !*rest)
			usage();
		return cmd_spawn(runs, rest);
	}
	if (!strcmp(cmd, "wake")) {
		if (!host && (!tw || !name))
			usage();
		return cmd_wake(host ? NULL : tw, name, timeout_ms, count_given ? count : 1, members);
	}
	usage();
}
