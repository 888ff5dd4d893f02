/* The other waits with a timeout or a deadline: rt_sigtimedwait, semtimedop,
 * mq_timedsend, mq_timedreceive, io_getevents, io_pgetevents, recvmmsg.
 * Their timeouts are durations of virtual time (on MONOTONIC), the message
 * queues' deadlines instants of the namespace's REALTIME.  None of them takes
 * a signal mask for the wait, so a change's kick is a plain one (a kick that
 * comes just before the call is sent again: kick.c); a rt_sigtimedwait that
 * waits for SIGSYS itself gets none (the kick would be what it returns) and
 * keeps its plan until its host timeout. */
#include <asm/unistd.h>
#include <errno.h>

#include "wait.h"

#define REALTIME_ID 0
#define MONOTONIC_ID 1

struct timed_call {
	long nr;
	long a[6];
	int timeout_arg;  /* which argument is the timeout */
	long timed_out;   /* the result a timeout gives: 0, -EAGAIN or -ETIMEDOUT */
	int absolute;     /* the timeout is a REALTIME deadline (the queues) */
};

static enum tw_try timed_try(struct tw_timed *t, const struct tw_plan *pl)
{
	const struct timed_call *k = t->ctx;
	long a[6];
	struct tw_ts ts;

	tw_memcpy(a, k->a, sizeof(a));
	ts = tw_ns_ts(k->absolute ? pl->host_at
				  : (pl->host_at > pl->host_now ? pl->host_at - pl->host_now : 0));
	a[k->timeout_arg] = (long)&ts;
	t->result = tw_rt_syscall(k->nr, a[0], a[1], a[2], a[3], a[4], a[5]);
	if (t->result == k->timed_out)
		return TW_TRY_TIMEOUT;
	return t->result == -EINTR ? TW_TRY_INTR : TW_TRY_DONE;
}

static long timed_wait(const struct tw_call *c, struct timed_call *k, enum tw_kick kick)
{
	const struct tw_ts *tmo = (const struct tw_ts *)c->a[k->timeout_arg];
	struct tw_timed t = { 0 };
	int64_t now;
	long r;

	if (!tmo)
		return tw_pass(c);
	if (!tw_ts_ok(tmo))
		return -EINVAL;
	tw_memcpy(k->a, c->a, sizeof(k->a));
	k->nr = c->nr;
	t.clk = t.host_clk = k->absolute ? REALTIME_ID : MONOTONIC_ID;
	if (k->absolute) {
		t.deadline = tw_ts_ns_sat(tmo);
	} else {
		if ((r = tw_virtual_now(MONOTONIC_ID, &now)))
			return r;
		t.deadline = tw_add_sat(now, tw_ts_ns_sat(tmo));
	}
	t.kick = kick;
	t.try = timed_try;
	t.ctx = k;
	t.call = c;
	tw_timed_wait(&t);
	return t.result;
}

long tw_serve_rt_sigtimedwait(const struct tw_call *c)
{
	struct timed_call k = { .timeout_arg = 2, .timed_out = -EAGAIN };
	const uint64_t *set = (const uint64_t *)c->a[0];

	if (c->a[3] != 8)
		return -EINVAL;
	return timed_wait(c, &k, set && (*set & TW_SIGSYS_BIT) ? TW_KICK_NONE : TW_KICK_SIGNAL);
}

long tw_serve_semtimedop(const struct tw_call *c)
{
	struct timed_call k = { .timeout_arg = 3, .timed_out = -EAGAIN };

	return timed_wait(c, &k, TW_KICK_SIGNAL);
}

long tw_serve_mq_timed(const struct tw_call *c)
{
	struct timed_call k = { .timeout_arg = 4, .timed_out = -ETIMEDOUT, .absolute = 1 };

	return timed_wait(c, &k, TW_KICK_SIGNAL);
}

/* io_getevents(ctx, min, nr, events, timeout), and io_pgetevents with a sixth
 * argument: a signal mask the runtime takes SIGSYS out of */
long tw_serve_io_getevents(const struct tw_call *c)
{
	struct timed_call k = { .timeout_arg = 4, .timed_out = 0 };
	struct {
		const uint64_t *mask;
		uint64_t size;
	} mine, *usig = (void *)c->a[5];
	uint64_t m;
	struct tw_call own = *c;

	if (c->nr == __NR_io_pgetevents && usig && usig->mask) {
		if (usig->size != 8)
			return -EINVAL;
		m = *usig->mask & ~TW_SIGSYS_BIT;
		mine.mask = &m;
		mine.size = 8;
		own.a[5] = (long)&mine;
	}
	if (!c->a[4]) /* trapped for its mask alone */
		return tw_pass(&own);
	return timed_wait(&own, &k, TW_KICK_SIGNAL);
}

/* recvmmsg's timeout is looked at only as datagrams arrive (recvmmsg(2),
 * BUGS): converted once, as the kernel applies it. */
long tw_serve_recvmmsg(const struct tw_call *c)
{
	struct tw_ts *tmo = (struct tw_ts *)c->a[4], host;
	struct tw_params p;
	long r;

	if (!tmo || !tw_ts_ok(tmo))
		return tw_pass(c);
	tw_read_params(tw_rt()->page, &p);
	host = tw_ns_ts(tw_unscale(tw_ts_ns_sat(tmo), p.rate));
	r = tw_rt_syscall(c->nr, c->a[0], c->a[1], c->a[2], c->a[3], (long)&host, 0);
	/* the time left, as virtual time */
	*tmo = tw_ns_ts(p.rate ? tw_scale(tw_ts_ns_sat(&host), p.rate) : tw_ts_ns_sat(&host));
	return r;
}
