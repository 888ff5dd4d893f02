/* Sleeps under a virtual clock: nanosleep and clock_nanosleep (and so sleep,
 * usleep, thrd_sleep and every runtime's sleep, Go's included).  A sleep until
 * the namespace's clock reaches its deadline, planned on the host's MONOTONIC
 * clock, made as ppoll with no descriptors: it ends with EINTR after any
 * signal handler, as nanosleep does (SA_RESTART or not), and takes a signal
 * mask, so that a change's kick cannot come between its planning and its
 * start (wait.c).  The time left that an interrupted relative sleep reports
 * is virtual. */
#include <asm/unistd.h>
#include <errno.h>

#include "wait.h"

#define TIMER_ABSTIME_FLAG 1

static enum tw_try sleep_try(struct tw_timed *t, const struct tw_plan *pl)
{
	struct tw_ts left = tw_ns_ts(pl->host_at > pl->host_now ? pl->host_at - pl->host_now : 0);

	t->result = tw_rt_syscall(__NR_ppoll, 0, 0, (long)&left, (long)&t->mask, 8, 0);
	return t->result == -EINTR ? TW_TRY_INTR : TW_TRY_TIMEOUT;
}

/* clock_nanosleep(clk, flags, req, rem) */
static long sleep_on(const struct tw_call *c, long clk, long flags, const struct tw_ts *user_req,
		     struct tw_ts *rem)
{
	struct tw_timed t = { 0 };
	struct tw_ts req_, *req = &req_;
	int64_t now;
	long r;

	if (tw_clock_line(clk) < 0) /* CPU-time clocks, invalid ids: the kernel's */
		return tw_pass(c);
	if ((r = tw_get_user(c, req, user_req, sizeof(*req))))
		return r;
	if (!tw_ts_ok(req))
		return -EINVAL;
	/* a duration is elapsed time whatever the clock named (libc's nanosleep
	 * names REALTIME): the namespace's MONOTONIC, which a frozen sleep that
	 * runs out moves on (BOOTTIME keeps its own: it counts a suspend) */
	if (!(flags & TIMER_ABSTIME_FLAG) && tw_clock_line(clk) < TW_LINE_MONOTONIC)
		clk = 1;
	if ((r = tw_virtual_now(clk, &now)))
		return r;
	t.clk = clk;
	t.deadline = (flags & TIMER_ABSTIME_FLAG) ? tw_ts_ns_sat(req)
						  : tw_add_sat(now, tw_ts_ns_sat(req));
	t.host_clk = 1; /* CLOCK_MONOTONIC: ppoll's */
	t.kick = TW_KICK_MASK;
	t.mask = c->uc->sigmask & ~TW_SIGSYS_BIT;
	t.try = sleep_try;
	t.call = c;
	if (tw_timed_wait(&t) != TW_TRY_INTR)
		return 0;
	if (!(flags & TIMER_ABSTIME_FLAG) && rem) {
		struct tw_ts left;

		/* what is left is virtual time */
		if (tw_virtual_now(clk, &now) || now > t.deadline)
			now = t.deadline;
		left = tw_ns_ts(t.deadline - now);
		if (tw_put_user(c, rem, &left, sizeof(left)))
			return -EFAULT;
	}
	return -EINTR;
}

long tw_serve_clock_nanosleep(const struct tw_call *c)
{
	return sleep_on(c, c->a[0], c->a[1], (const struct tw_ts *)c->a[2], (struct tw_ts *)c->a[3]);
}

long tw_serve_nanosleep(const struct tw_call *c)
{
	return sleep_on(c, 1 /* CLOCK_MONOTONIC */, 0, (const struct tw_ts *)c->a[0],
			(struct tw_ts *)c->a[1]);
}
