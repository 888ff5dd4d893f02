/* Clock reads made by system call (DESIGN section 5): the same answers as the
 * timewarp vDSO's, from the engine.
 *
 * The host vDSO makes some reads by system call itself (CPU-time clocks, a
 * clock source it cannot read in user space): the engine's own host reads
 * then arrive here from inside the host vDSO, and are the host's to make. */
#include <errno.h>

#include "serve.h"

static int from_host_vdso(const struct tw_call *c)
{
	const struct tw_rt *rt = tw_rt();

	return c->ip >= rt->host_vdso_lo && c->ip < rt->host_vdso_hi;
}

long tw_serve_clock_gettime(const struct tw_call *c)
{
	const struct tw_rt *rt = tw_rt();
	struct tw_ts ts;
	long r;

	if (from_host_vdso(c) || !rt->page)
		return tw_pass(c);
	if ((r = tw_gettime(rt->page, &rt->host, c->a[0], &ts)))
		return r;
	return tw_put_user(c, (void *)c->a[1], &ts, sizeof(ts));
}

long tw_serve_gettimeofday(const struct tw_call *c)
{
	const struct tw_rt *rt = tw_rt();
	struct tw_tv *tv = (struct tw_tv *)c->a[0];
	struct tw_ts ts;
	long r;

	if (from_host_vdso(c) || !rt->page)
		return tw_pass(c);
	/* the kernel's obsolete timezone: the host's */
	if (c->a[1] &&
	    (r = tw_rt_syscall(c->nr, 0, c->a[1], 0, 0, 0, 0)))
		return r;
	if (tv) {
		struct tw_tv mine;

		if ((r = tw_gettime(rt->page, &rt->host, 0 /* CLOCK_REALTIME */, &ts)))
			return r;
		mine.sec = ts.sec;
		mine.usec = ts.nsec / 1000;
		return tw_put_user(c, tv, &mine, sizeof(mine));
	}
	return 0;
}

/* Like the kernel's: the seconds of the coarse clock. */
long tw_serve_time(const struct tw_call *c)
{
	const struct tw_rt *rt = tw_rt();
	struct tw_ts ts;

	if (from_host_vdso(c) || !rt->page)
		return tw_pass(c);
	if (tw_gettime(rt->page, &rt->host, 5 /* CLOCK_REALTIME_COARSE */, &ts) &&
	    tw_gettime(rt->page, &rt->host, 0, &ts))
		return -EFAULT;
	if (c->a[0] && tw_put_user(c, (void *)c->a[0], &ts.sec, sizeof(ts.sec)))
		return -EFAULT;
	return ts.sec;
}
