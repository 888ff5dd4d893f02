/* The timewarp vDSO's entry points (see vdso.h).  They keep the kernel vDSO's
 * calling convention: 0 or -errno. */
#include <asm/unistd.h>
#include <errno.h>

#include "engine.h"
#include "read.h"
#include "vdso.h"

/* In .data, not .bss: the image is used as its file bytes, like the kernel's. */
__attribute__((visibility("hidden"), section(".data"))) struct tw_vdso_data tw_vdso_data = {
	.magic = 1,
};
/* The preload library finds the data by this exported name (TW_VDSO_DATA_SYMBOL);
 * the code reaches it through the hidden name, PC-relative, with no relocation. */
extern struct tw_vdso_data __tw_vdso_data
	__attribute__((alias("tw_vdso_data"), visibility("default")));

#define D tw_vdso_data

long __vdso_clock_gettime(long clk, struct tw_ts *ts);
long __vdso_gettimeofday(struct tw_tv *tv, void *tz);
long __vdso_time(long *t);
long __vdso_clock_getres(long clk, struct tw_ts *res);
long __vdso_getcpu(unsigned *cpu, unsigned *node, void *cache);

/* The one copy of the read; the other entry points call it by this local
 * name (a call to an exported name would need a relocation). */
static long read_clock(long clk, struct tw_ts *ts)
{
	return tw_read_clock_dispatch(D.page, &D.host, clk, ts);
}
long __vdso_clock_gettime(long clk, struct tw_ts *ts) __attribute__((alias("read_clock")));

long __vdso_gettimeofday(struct tw_tv *tv, void *tz)
{
	struct tw_ts ts;
	long r;

	if (tz) { /* the kernel's obsolete timezone: the host's */
		r = D.gettimeofday ? D.gettimeofday(0, tz)
				   : tw_host_syscall(&D.host, __NR_gettimeofday, 0, (long)tz, 0, 0, 0, 0);
		if (r)
			return r;
	}
	if (tv) {
		if ((r = read_clock(0 /* CLOCK_REALTIME */, &ts)))
			return r;
		tv->sec = ts.sec;
		tv->usec = ts.nsec / 1000;
	}
	return 0;
}

/* Like the kernel's, the seconds of the coarse clock. */
long __vdso_time(long *t)
{
	struct tw_ts ts;

	if (read_clock(5 /* CLOCK_REALTIME_COARSE */, &ts))
		read_clock(0, &ts);
	if (t)
		*t = ts.sec;
	return ts.sec;
}

/* Resolutions are the host's: a virtual clock ticks as finely as its host. */
long __vdso_clock_getres(long clk, struct tw_ts *res)
{
	if (D.host.clock_getres)
		return D.host.clock_getres(clk, res);
	return tw_host_syscall(&D.host, __NR_clock_getres, clk, (long)res, 0, 0, 0, 0);
}

long __vdso_getcpu(unsigned *cpu, unsigned *node, void *cache)
{
	if (D.getcpu)
		return D.getcpu(cpu, node, cache);
	return tw_host_syscall(&D.host, __NR_getcpu, (long)cpu, (long)node, (long)cache, 0, 0, 0);
}

/* The plain names the kernel's vDSO also exports. */
long clock_gettime(long clk, struct tw_ts *ts) __attribute__((alias("read_clock")));
long gettimeofday(struct tw_tv *tv, void *tz) __attribute__((alias("__vdso_gettimeofday")));
long time(long *t) __attribute__((alias("__vdso_time")));
long clock_getres(long clk, struct tw_ts *res) __attribute__((alias("__vdso_clock_getres")));
long getcpu(unsigned *cpu, unsigned *node, void *cache) __attribute__((alias("__vdso_getcpu")));
