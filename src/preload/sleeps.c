/* Sleeps under a virtual clock (DESIGN section 2, "Waiting under a virtual
 * clock"): nanosleep, clock_nanosleep, usleep, sleep, thrd_sleep.
 *
 * A sleep is a wait on the clock page's head (page.h), with a host timeout
 * planned from the virtual time left: d / R of host time, or d itself when
 * frozen.  `timewarp set` (or a settimeofday inside) bumps the word and wakes
 * every sleeper, which plans again against the new clocks: advancing past a
 * deadline ends the sleep at once, setting the clock back lengthens it. */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <threads.h>
#include <time.h>
#include <unistd.h>

#include "preload.h"
#include "read.h"
#include "waits.h"

long tw_sleep_until(const struct tw_member *m, clockid_t clk, int64_t deadline)
{
	struct tw_plan was = { .rate = 1 };

	for (;;) {
		struct tw_plan pl;
		struct tw_ts abs;
		long r;

		if ((r = tw_plan(m, clk, deadline, CLOCK_MONOTONIC, &pl)))
			return r;
		tw_plan_keep(&was, &pl);
		was = pl;
		if (pl.left <= 0)
			return 0;
		abs = tw_ns_ts(pl.host_at);
		r = tw_syscall6(SYS_futex, (long)&m->page->head, FUTEX_WAIT_BITSET, pl.gen,
				(long)&abs, 0, FUTEX_BITSET_MATCH_ANY);
		/* The plan ran out with no change: done.  Frozen, the virtual time
		 * left has elapsed at host speed, and the clocks catch up with it. */
		if (r == -ETIMEDOUT) {
			if (pl.rate == 0)
				tw_frozen_expired(m, clk, deadline);
			return 0;
		}
		if (r == -EINTR)
			return -EINTR;
		/* woken by a change (or spuriously): plan again */
	}
}

static int valid_ts(const struct timespec *ts)
{
	return ts->tv_sec >= 0 && ts->tv_nsec >= 0 && ts->tv_nsec < 1000000000L;
}

TW_EXPORT int clock_nanosleep(clockid_t clk, int flags, const struct timespec *req,
			      struct timespec *rem)
{
	const struct tw_member *m = tw_member_fast();
	int64_t now, deadline;
	long r;

	if (!m->page || tw_clock_line(clk) < 0) /* CPU-time clocks, invalid ids: the kernel's */
		return (int)-tw_syscall6(SYS_clock_nanosleep, clk, flags, (long)req, (long)rem, 0, 0);
	if (!valid_ts(req))
		return EINVAL;
	if ((r = tw_virtual_ns(m, clk, &now)))
		return (int)-r;
	deadline = (flags & TIMER_ABSTIME) ? tw_ts_ns_sat((const struct tw_ts *)req)
					    : tw_add_sat(now, tw_ts_ns_sat((const struct tw_ts *)req));
	r = tw_sleep_until(m, clk, deadline);
	if (r == -EINTR && !(flags & TIMER_ABSTIME) && rem) {
		/* what is left is virtual time */
		if (tw_virtual_ns(m, clk, &now) || now > deadline)
			now = deadline;
		*(struct tw_ts *)rem = tw_ns_ts(deadline - now);
	}
	return (int)-r;
}

TW_EXPORT int nanosleep(const struct timespec *req, struct timespec *rem)
{
	int r = clock_nanosleep(CLOCK_MONOTONIC, 0, req, rem);

	if (r) {
		errno = r;
		return -1;
	}
	return 0;
}

TW_EXPORT int __nanosleep(const struct timespec *req, struct timespec *rem);
TW_EXPORT int __nanosleep(const struct timespec *req, struct timespec *rem)
{
	return nanosleep(req, rem);
}

TW_EXPORT int usleep(useconds_t usec)
{
	struct timespec ts = { usec / 1000000, (long)(usec % 1000000) * 1000 };

	return nanosleep(&ts, NULL);
}

/* As glibc's: the seconds left when a signal ended it, rounded to nearest. */
TW_EXPORT unsigned int sleep(unsigned int seconds)
{
	struct timespec ts = { seconds, 0 }, rem = { 0, 0 };

	if (nanosleep(&ts, &rem) == 0)
		return 0;
	return (unsigned int)rem.tv_sec + (rem.tv_nsec >= 500000000L);
}

/* C11: 0, -1 when a signal ended it, another negative value on error. */
TW_EXPORT int thrd_sleep(const struct timespec *req, struct timespec *rem)
{
	int r = clock_nanosleep(CLOCK_REALTIME, 0, req, rem);

	return r == 0 ? 0 : r == EINTR ? -1 : -2;
}
