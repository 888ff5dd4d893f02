/* Clock setting (DESIGN section 2): inside a namespace settimeofday & co change
 * the namespace's REALTIME, never the host's, for any user, root included
 * (--settime virtual); with --settime deny they fail with EPERM.  Clocks other
 * than REALTIME cannot be set (EINVAL, as in the kernel); read-only adjtimex
 * works and reports virtual time; other adjtimex modes fail with EPERM.
 *
 * The change goes through the control library, like `timewarp set`: it opens the
 * clock page for writing, which the file's permissions allow only to its owner
 * (and root). */
#include <errno.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/timex.h>
#include <time.h>

#include "control.h"
#include "preload.h"
#include "timewarp.h"

/* Dynamic POSIX clocks (PTP and the like) are named by a file descriptor; they
 * are devices, not the host clock, and go to the kernel unchanged. */
static int is_fd_clock(clockid_t clk)
{
	return clk < 0 && (clk & 7) == 3;
}

/* Change the namespace's REALTIME: to `ns` (absolute), or by `ns` (relative). */
static long set_realtime(int64_t ns, int relative)
{
	const struct tw_member *m = tw_member();
	struct tw_change c = { 0 };
	enum tw_refusal why;
	struct tw_ns *self;
	long r;

	/* the callers have checked the policy (denied() below) */
	if ((r = tw_ns_open_path(m->page_path, &self)))
		return r == -EACCES ? -EPERM : r;
	if (relative) {
		/* relative to the namespace's own REALTIME at the instant of change */
		c.what = TW_CH_OFFSET;
		c.offset = ns;
	} else {
		c.what = TW_CH_AT;
		c.at = ns;
	}
	r = tw_ns_change(self, &c, relative ? self : NULL, &why);
	tw_ns_close(self);
	if (r == -EACCES)
		return -EPERM; /* a member running as another user */
	return r == -ERANGE ? -EINVAL : r;
}

/* A settable REALTIME value, as the kernel's timespec64_valid_settod checks. */
static long set_realtime_ts(int64_t sec, int64_t nsec)
{
	if (sec < 0 || nsec < 0 || nsec >= TW_NSEC || sec > TW_REALTIME_MAX / TW_NSEC - 1)
		return -EINVAL;
	return set_realtime(sec * TW_NSEC + nsec, 0);
}

static int denied(void)
{
	struct tw_params p;

	tw_read_params(tw_member()->page, &p);
	return p.settime == TW_SETTIME_DENY;
}

TW_EXPORT int clock_settime(clockid_t clk, const struct timespec *ts)
{
	if (!tw_member()->page || is_fd_clock(clk))
		return tw_ret(tw_syscall6(SYS_clock_settime, clk, (long)ts, 0, 0, 0, 0));
	if (clk != CLOCK_REALTIME)
		return tw_ret(-EINVAL);
	if (denied())
		return tw_ret(-EPERM);
	return tw_ret(set_realtime_ts(ts->tv_sec, ts->tv_nsec));
}

/* The timezone argument only ever set the kernel's obsolete sys_tz; inside a
 * namespace it is ignored rather than changing the host's. */
TW_EXPORT int settimeofday(const struct timeval *tv, const struct timezone *tz)
{
	if (!tw_member()->page)
		return tw_ret(tw_syscall6(SYS_settimeofday, (long)tv, (long)tz, 0, 0, 0, 0));
	if (!tv)
		return 0;
	if (denied())
		return tw_ret(-EPERM);
	if (tv->tv_usec < 0 || tv->tv_usec >= 1000000)
		return tw_ret(-EINVAL);
	return tw_ret(set_realtime_ts(tv->tv_sec, (int64_t)tv->tv_usec * 1000));
}

/* Removed from glibc's headers in 2.31; old binaries still call it. */
TW_EXPORT int stime(const time_t *t);
TW_EXPORT int stime(const time_t *t)
{
	struct timeval tv = { .tv_sec = *t };

	return settimeofday(&tv, NULL);
}

/* sec seconds and frac units of 1/`per_sec` as ns; -EINVAL when out of range. */
static long delta_ns(int64_t sec, int64_t frac, int64_t per_sec, int64_t *ns)
{
	int64_t a;

	if (frac <= -per_sec || frac >= per_sec || __builtin_mul_overflow(sec, TW_NSEC, &a) ||
	    __builtin_add_overflow(a, frac * (TW_NSEC / per_sec), ns))
		return -EINVAL;
	return 0;
}

/* A namespace has no slewing: adjtime's correction is applied at once, and no
 * correction is ever outstanding. */
TW_EXPORT int adjtime(const struct timeval *delta, struct timeval *olddelta)
{
	int (*next)(const struct timeval *, struct timeval *);
	int64_t ns;
	long r;

	if (!tw_member()->page) {
		next = (int (*)(const struct timeval *, struct timeval *))tw_next("adjtime");
		return next ? next(delta, olddelta) : tw_ret(-ENOSYS);
	}
	if (delta) {
		if (denied())
			return tw_ret(-EPERM);
		if ((r = delta_ns(delta->tv_sec, delta->tv_usec, 1000000, &ns)) ||
		    (r = set_realtime(ns, 1)))
			return tw_ret(r);
	}
	if (olddelta)
		olddelta->tv_sec = olddelta->tv_usec = 0;
	return 0;
}

/* Read-only: the host's NTP state with the namespace's REALTIME in it. */
static long timex_read(struct timex *tx)
{
	struct tw_ts ts;
	long state = tw_syscall6(SYS_adjtimex, (long)tx, 0, 0, 0, 0, 0), r;

	if (state < 0)
		return state;
	if ((r = tw_gettime(tw_member()->page, &tw_member()->host, CLOCK_REALTIME, &ts)))
		return r;
	tx->time.tv_sec = ts.sec;
	tx->time.tv_usec = (tx->status & STA_NANO) ? ts.nsec : ts.nsec / 1000;
	return state;
}

/* adjtimex on the namespace's REALTIME: returns the clock state or -errno. */
static long timex_realtime(struct timex *tx)
{
	unsigned modes = tx->modes;
	int64_t ns;
	long r;

	if (modes == 0 || modes == ADJ_OFFSET_SS_READ)
		return timex_read(tx);
	/* only a step; every other mode tunes the host's clock discipline */
	if (!(modes & ADJ_SETOFFSET) || (modes & ~(unsigned)(ADJ_SETOFFSET | ADJ_NANO)))
		return -EPERM;
	if (denied())
		return -EPERM;
	if ((r = delta_ns(tx->time.tv_sec, tx->time.tv_usec,
			  (modes & ADJ_NANO) ? TW_NSEC : 1000000, &ns)) ||
	    (r = set_realtime(ns, 1)))
		return r;
	tx->modes = 0;
	return timex_read(tx);
}

static int timex_ret(long r)
{
	return r < 0 ? tw_ret(r) : (int)r;
}

TW_EXPORT int adjtimex(struct timex *tx)
{
	if (!tw_member()->page)
		return timex_ret(tw_syscall6(SYS_adjtimex, (long)tx, 0, 0, 0, 0, 0));
	return timex_ret(timex_realtime(tx));
}

TW_EXPORT int ntp_adjtime(struct timex *tx)
{
	return adjtimex(tx);
}

TW_EXPORT int clock_adjtime(clockid_t clk, struct timex *tx)
{
	if (!tw_member()->page || clk != CLOCK_REALTIME)
		/* other clocks: the kernel refuses them, or they are devices */
		return timex_ret(tw_syscall6(SYS_clock_adjtime, clk, (long)tx, 0, 0, 0, 0));
	return timex_ret(timex_realtime(tx));
}
