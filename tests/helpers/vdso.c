/* tw-vdso: reads the clocks the way Go's runtime does, through the vDSO that
 * AT_SYSINFO_EHDR names, looked up by symbol (LINUX_2.6), never through libc.
 *
 *     tw-vdso            one line per clock id 0..11 and 99: "ID SEC.NSEC" or
 *                        "ID -ERRNO"; then gettimeofday, time, getres and getcpu
 *     tw-vdso which      "host" or "timewarp": which image AT_SYSINFO_EHDR names
 *     tw-vdso source     how the timewarp vDSO reads host time: "data page" (the
 *                        kernel's vDSO data, read directly) or "vdso calls"
 *     tw-vdso bracket RT MONO BOOT
 *                        for each clock the vDSO serves, whether its reading lies
 *                        between two readings of the host clock (host.h)
 *                        shifted by its class's offset (seconds): "ID ok", or
 *                        "ID off by NS" (a namespace at rate 1, offsets exact)
 *     tw-vdso watch MS [MONO]
 *                        reads the clocks for MS ms of host time, through the
 *                        vDSO and through libc's clock_gettime in turn, and
 *                        reports: "reads N"; "backwards N worst NS" (MONOTONIC,
 *                        MONOTONIC_RAW, BOOTTIME and MONOTONIC_COARSE, each
 *                        against its own last reading); "coarse-lag S" (the
 *                        most a COARSE clock lagged its fine twin, seconds);
 *                        "rate R" (virtual MONOTONIC over host MONOTONIC, start
 *                        to end); "modes M..." (the kernel data's clock modes
 *                        the timewarp vDSO found on its reads); with MONO (a
 *                        namespace at rate 1, MONOTONIC shifted by MONO
 *                        seconds) "misses N": MONOTONIC readings outside two
 *                        system-call readings of the host's, shifted */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <sys/auxv.h>
#include <time.h>

#include "host.h"
#include "vdso_lookup.h"
#include "vvar.h"
#include "../../src/vdso/vdso.h"

static long long ns_of(const struct timespec *ts)
{
	return ts->tv_sec * 1000000000LL + ts->tv_nsec;
}

/* "-3.25" seconds as nanoseconds, exactly (no floating point on the way). */
static long long ns_arg(const char *s)
{
	int neg = *s == '-';
	char *end;
	long long sec = strtoll(s + (neg || *s == '+'), &end, 10) * 1000000000LL, frac = 0;

	if (*end == '.') {
		for (int i = 1, scale = 100000000; i <= 9 && end[i] >= '0' && end[i] <= '9';
		     i++, scale /= 10)
			frac += (end[i] - '0') * (long long)scale;
	}
	return neg ? -(sec + frac) : sec + frac;
}

static int bracket(long (*cg)(long, struct timespec *), char **off)
{
	static const struct { long id; int cls; } clocks[] = {
		{ 0, 0 }, { 5, 0 }, { 11, 0 }, { 1, 1 }, { 4, 1 }, { 6, 1 }, { 7, 2 },
	};
	struct timespec a, v, b;
	int bad = 0;

	/* past the first tick: a coarse clock read within a tick of the
	 * namespace's start is held at its start (the coarse floor) */
	host_syscall(SYS_clock_gettime, CLOCK_MONOTONIC, (long)&a, 0, 0);
	do
		host_syscall(SYS_clock_gettime, CLOCK_MONOTONIC, (long)&b, 0, 0);
	while (ns_of(&b) - ns_of(&a) < 50000000LL);
	for (unsigned i = 0; i < sizeof(clocks) / sizeof(clocks[0]); i++) {
		long long shift = ns_arg(off[clocks[i].cls]), lo, hi, got;
		int tries = 0;

		do { /* a preemption between the readings proves nothing: again */
			host_syscall(SYS_clock_gettime, clocks[i].id, (long)&a, 0, 0);
			if (cg(clocks[i].id, &v))
				return 1;
			host_syscall(SYS_clock_gettime, clocks[i].id, (long)&b, 0, 0);
		} while (ns_of(&b) - ns_of(&a) > 1000000 && ++tries < 100);
		lo = ns_of(&a) + shift;
		hi = ns_of(&b) + shift;
		got = ns_of(&v);
		if (got >= lo && got <= hi)
			printf("%ld ok\n", clocks[i].id);
		else
			printf("%ld off by %lld\n", clocks[i].id, got < lo ? got - lo : got - hi), bad = 1;
	}
	return bad;
}

/* The host's clock `id` (host.h: a member's own system calls are the
 * namespace's). */
static long long sys_ns(long id)
{
	struct timespec ts;

	host_syscall(SYS_clock_gettime, id, (long)&ts, 0, 0);
	return ns_of(&ts);
}

static int watch(long (*cg)(long, struct timespec *), const struct tw_vdso_data *d, long ms,
		 const char *mono)
{
	static const long fine[] = { 1, 4, 7, 6 }; /* never backwards */
	long long last[4] = { 0 }, worst = 0, lag = 0, misses = 0, reads = 0, back = 0;
	long long off = mono ? ns_arg(mono) : 0, h0 = sys_ns(1), v0 = 0, h1, v1 = 0;
	unsigned modes = 0;
	struct timespec a, b;

	for (unsigned n = 0;; n++) {
		/* the vDSO on even rounds, libc (the preload library's) on odd */
		int (*libc)(clockid_t, struct timespec *) = clock_gettime;
		long long now[4], lo, hi;

		for (int i = 0; i < 4; i++) {
			if (n & 1 ? libc((clockid_t)fine[i], &a) : cg(fine[i], &a))
				return 1;
			now[i] = ns_of(&a);
			if (now[i] < last[i]) {
				back++;
				if (last[i] - now[i] > worst)
					worst = last[i] - now[i];
			}
			last[i] = now[i];
		}
		if (!v0)
			v0 = now[0];
		v1 = now[0];
		if (now[0] - now[3] > lag) /* MONOTONIC ahead of its COARSE twin */
			lag = now[0] - now[3];
		if (cg(5, &a) || cg(0, &b))
			return 1;
		if (ns_of(&b) - ns_of(&a) > lag)
			lag = ns_of(&b) - ns_of(&a);
		if (mono) {
			lo = sys_ns(1) + off;
			if (cg(1, &a))
				return 1;
			hi = sys_ns(1) + off;
			misses += ns_of(&a) < lo || ns_of(&a) > hi;
		}
		if (d && d->host.vvar) {
			int32_t m = __atomic_load_n(&d->host.vvar->clock_mode, __ATOMIC_RELAXED);
			if (m >= 0 && m < 32)
				modes |= 1u << m;
		}
		reads += 4;
		if (n % 64 == 0 && (h1 = sys_ns(1)) - h0 >= ms * 1000000LL)
			break;
	}
	printf("reads %lld\nbackwards %lld worst %lld\ncoarse-lag %.6f\nrate %.4f\n", reads, back,
	       worst, lag / 1e9, (double)(v1 - v0) / (double)(h1 - h0));
	if (mono)
		printf("misses %lld\n", misses);
	printf("modes");
	for (int m = 0; m < 32; m++)
		if (modes & (1u << m))
			printf(" %d", m);
	printf("\n");
	return 0;
}

int main(int argc, char **argv)
{
	void *base = (void *)getauxval(AT_SYSINFO_EHDR);
	long (*cg)(long, struct timespec *);
	long (*gtod)(struct timeval *, void *);
	long (*tm)(long *);
	long (*res)(long, struct timespec *);
	long (*cpu)(unsigned *, unsigned *, void *);
	struct timespec ts;
	struct timeval tv;
	unsigned c = 0, n = 0;
	long r;

	if (!base) {
		puts("no vDSO");
		return 1;
	}
	if (argc > 1 && !strcmp(argv[1], "which")) {
		puts(tw_vdso_sym(base, "__tw_vdso_data", NULL) ? "timewarp" : "host");
		return 0;
	}
	if (argc > 1 && !strcmp(argv[1], "source")) {
		const struct tw_vdso_data *d = tw_vdso_sym(base, TW_VDSO_DATA_SYMBOL, NULL);

		if (!d || d->magic != TW_VDSO_DATA_MAGIC) {
			puts("not the timewarp vDSO");
			return 1;
		}
		puts(d->host.vvar ? "data page" : "vdso calls");
		return 0;
	}
	cg = (long (*)(long, struct timespec *))tw_vdso_sym(base, "__vdso_clock_gettime", "LINUX_2.6");
	gtod = (long (*)(struct timeval *, void *))tw_vdso_sym(base, "__vdso_gettimeofday", "LINUX_2.6");
	tm = (long (*)(long *))tw_vdso_sym(base, "__vdso_time", "LINUX_2.6");
	res = (long (*)(long, struct timespec *))tw_vdso_sym(base, "__vdso_clock_getres", "LINUX_2.6");
	cpu = (long (*)(unsigned *, unsigned *, void *))tw_vdso_sym(base, "__vdso_getcpu", "LINUX_2.6");
	if (!cg || !gtod || !tm || !res || !cpu) {
		puts("a vDSO symbol is missing");
		return 1;
	}
	if (argc > 4 && !strcmp(argv[1], "bracket"))
		return bracket(cg, argv + 2);
	if (argc > 2 && !strcmp(argv[1], "watch")) {
		const struct tw_vdso_data *d = tw_vdso_sym(base, TW_VDSO_DATA_SYMBOL, NULL);

		if (d && d->magic != TW_VDSO_DATA_MAGIC)
			d = NULL;
		return watch(cg, d, strtol(argv[2], NULL, 10), argc > 3 ? argv[3] : NULL);
	}
	for (long id = 0; id <= 12; id++) {
		long clk = id == 12 ? 99 : id;
		if ((r = cg(clk, &ts)))
			printf("%ld %ld\n", clk, r);
		else
			printf("%ld %lld.%09ld\n", clk, (long long)ts.tv_sec, ts.tv_nsec);
	}
	r = gtod(&tv, NULL);
	printf("gettimeofday %ld %lld.%06ld\n", r, (long long)tv.tv_sec, (long)tv.tv_usec);
	printf("time %ld\n", tm(NULL));
	r = res(1, &ts);
	printf("getres %ld %lld.%09ld\n", r, (long long)ts.tv_sec, ts.tv_nsec);
	r = cpu(&c, &n, NULL);
	printf("getcpu %ld %u\n", r, c);
	return 0;
}
