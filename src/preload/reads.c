/* Clock reads (DESIGN section 5), each entry point on its own: libc calls its
 * internals directly, so hooking clock_gettime alone would not change time(). */
#include <errno.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/timex.h>
#include <time.h>

#include "preload.h"
#include "read.h"

_Static_assert(sizeof(struct timespec) == sizeof(struct tw_ts), "timespec is the kernel's");
_Static_assert(sizeof(struct timeval) == sizeof(struct tw_tv), "timeval is the kernel's");

/* clock_gettime of the namespace, or of the host for a process outside one. */
static inline __attribute__((always_inline)) long now(clockid_t clk, struct tw_ts *ts)
{
	const struct tw_member *m = tw_member_fast();

	if (__builtin_expect(m->page != NULL, 1))
		return tw_read_clock(m->page, &m->host, clk, ts);
	return tw_host_gettime(&m->host, clk, ts);
}

TW_EXPORT int clock_gettime(clockid_t clk, struct timespec *ts)
{
	long r = now(clk, (struct tw_ts *)ts);

	return __builtin_expect(r == 0, 1) ? 0 : tw_ret(r);
}

/* glibc's private alias, used by some of its own callers across libraries */
TW_EXPORT int __clock_gettime(clockid_t clk, struct timespec *ts);
TW_EXPORT int __clock_gettime(clockid_t clk, struct timespec *ts)
{
	return tw_ret(now(clk, (struct tw_ts *)ts));
}

/* <sys/time.h> declares tv nonnull, yet gettimeofday(NULL, &tz) is a call
 * the kernel accepts: hence the own declaration. */
TW_EXPORT int tw_gettimeofday(struct timeval *tv, void *tz) __asm__("gettimeofday");
TW_EXPORT int tw_gettimeofday(struct timeval *tv, void *tz)
{
	struct tw_ts ts;
	long r;

	if (tz) { /* the kernel's obsolete timezone: the host's, unchanged */
		r = tw_syscall6(SYS_gettimeofday, 0, (long)tz, 0, 0, 0, 0);
		if (r)
			return tw_ret(r);
	}
	if (!tv)
		return 0;
	if ((r = now(CLOCK_REALTIME, &ts)))
		return tw_ret(r);
	tv->tv_sec = ts.sec;
	tv->tv_usec = ts.nsec / 1000;
	return 0;
}

/* The host's time() reads the coarse clock (the vDSO's xtime seconds); so does
 * this one, so it never runs ahead of what clock_gettime(REALTIME_COARSE) says. */
TW_EXPORT time_t time(time_t *t)
{
	struct tw_ts ts;

	if (now(CLOCK_REALTIME_COARSE, &ts))
		now(CLOCK_REALTIME, &ts);
	if (t)
		*t = ts.sec;
	return ts.sec;
}

TW_EXPORT int timespec_get(struct timespec *ts, int base)
{
	int (*next)(struct timespec *, int);

	if (base == TIME_UTC)
		return now(CLOCK_REALTIME, (struct tw_ts *)ts) ? 0 : base;
	/* other bases are libc's to accept or refuse */
	next = (int (*)(struct timespec *, int))tw_next("timespec_get");
	return next ? next(ts, base) : 0;
}

/* <sys/timeb.h> is gone from glibc's headers; the symbol and its ABI remain. */
struct tw_timeb {
	time_t time;
	unsigned short millitm;
	short timezone;
	short dstflag;
};

TW_EXPORT int ftime(struct tw_timeb *tb);
TW_EXPORT int ftime(struct tw_timeb *tb)
{
	struct tw_ts ts;
	long r = now(CLOCK_REALTIME, &ts);

	if (r)
		return tw_ret(r);
	tb->time = ts.sec;
	tb->millitm = (unsigned short)(ts.nsec / 1000000);
	tb->timezone = 0; /* as glibc: the kernel timezone is not reported */
	tb->dstflag = 0;
	return 0;
}

/* The host's NTP state with the namespace's REALTIME in it.  <sys/timex.h>
 * redirects the name ntp_gettime to ntp_gettimex, hence the asm names. */
static int ntp_read(struct ntptimeval *ntv, int with_tai)
{
	struct timex tx = { 0 };
	struct tw_ts ts;
	long state = tw_syscall6(SYS_adjtimex, (long)&tx, 0, 0, 0, 0, 0), r;

	if (state < 0)
		return tw_ret(state);
	if ((r = now(CLOCK_REALTIME, &ts)))
		return tw_ret(r);
	ntv->time.tv_sec = ts.sec;
	ntv->time.tv_usec = (tx.status & STA_NANO) ? ts.nsec : ts.nsec / 1000;
	ntv->maxerror = tx.maxerror;
	ntv->esterror = tx.esterror;
	if (with_tai) {
		ntv->tai = tx.tai;
		ntv->__glibc_reserved1 = ntv->__glibc_reserved2 = 0;
		ntv->__glibc_reserved3 = ntv->__glibc_reserved4 = 0;
	}
	return (int)state;
}

TW_EXPORT int tw_ntp_gettime(struct ntptimeval *ntv) __asm__("ntp_gettime");
TW_EXPORT int tw_ntp_gettime(struct ntptimeval *ntv)
{
	return ntp_read(ntv, 0);
}

TW_EXPORT int tw_ntp_gettimex(struct ntptimeval *ntv) __asm__("ntp_gettimex");
TW_EXPORT int tw_ntp_gettimex(struct ntptimeval *ntv)
{
	return ntp_read(ntv, 1);
}
