/* Readiness waits with a timeout: poll, ppoll, select, pselect6, epoll_wait,
 * epoll_pwait, epoll_pwait2.  A timeout is a duration of virtual time (DESIGN
 * section 2): the wait ends when the namespace's MONOTONIC clock has gone that
 * far from the call, planned again when the namespace changes.  Each is made
 * as its form that takes a signal mask (poll as ppoll, select as pselect6,
 * epoll_wait as epoll_pwait), with the mask the program asked for, or its own,
 * and never SIGSYS: a kick cannot come between the planning and the call
 * (wait.c), and the call behaves as the program's would have.  A zero timeout
 * or none at all is the kernel's (the filter lets them through), and so is a
 * wait with no timeout that the filter trapped for its mask alone: made with
 * SIGSYS taken out of the mask.  Where Linux writes the time left back
 * (select, ppoll, pselect6), it writes virtual time. */
#include <asm/unistd.h>
#include <errno.h>

#include "wait.h"

#define MONOTONIC_ID 1

/* ---- the shared loop ---- */

struct ready {
	long nr;              /* the masked system call made */
	long a[4];            /* its first arguments */
	unsigned long *sets[3]; /* select: the fd sets the kernel rewrites */
	unsigned long words;  /* ... their length in words */
	unsigned long *saved; /* ... the caller's, for each try */
};

static void sets_restore(const struct ready *r)
{
	for (int i = 0; i < 3; i++)
		if (r->sets[i])
			tw_memcpy(r->sets[i], r->saved + (unsigned long)i * r->words, r->words * 8);
}

static enum tw_try ready_try(struct tw_timed *t, const struct tw_plan *pl)
{
	const struct ready *r = t->ctx;
	int64_t left = pl->host_at > pl->host_now ? pl->host_at - pl->host_now : 0;
	struct tw_ts ts = tw_ns_ts(left);
	/* pselect6's sixth argument: the mask and its size */
	struct {
		const uint64_t *mask;
		uint64_t size;
	} sm = { &t->mask, 8 };
	long res;

	if (r->saved)
		sets_restore(r);
	switch (r->nr) {
	case __NR_epoll_pwait: { /* milliseconds, rounded up: never early */
		int64_t ms = (left + 999999) / 1000000;

		res = tw_rt_syscall(r->nr, r->a[0], r->a[1], r->a[2],
				    ms > 0x7fffffff ? 0x7fffffff : ms, (long)&t->mask, 8);
		break;
	}
	case __NR_epoll_pwait2:
		res = tw_rt_syscall(r->nr, r->a[0], r->a[1], r->a[2], (long)&ts, (long)&t->mask, 8);
		break;
	case __NR_pselect6:
		res = tw_rt_syscall(r->nr, r->a[0], r->a[1], r->a[2], r->a[3], (long)&ts, (long)&sm);
		break;
	default: /* ppoll */
		res = tw_rt_syscall(r->nr, r->a[0], r->a[1], (long)&ts, (long)&t->mask, 8, 0);
		break;
	}
	t->result = res;
	return res == 0 ? TW_TRY_TIMEOUT : res == -EINTR ? TW_TRY_INTR : TW_TRY_DONE;
}

/* Waits `timeout` ns of virtual time (> 0) for `r`; the call's result, and the
 * virtual time left in *left if wanted. */
static long ready_wait(const struct tw_call *c, struct ready *r, const uint64_t *mask,
		       int64_t timeout, int64_t *left)
{
	struct tw_timed t = { 0 };
	int64_t now;
	long e;

	if ((e = tw_virtual_now(MONOTONIC_ID, &now)))
		return e;
	t.clk = t.host_clk = MONOTONIC_ID;
	t.deadline = tw_add_sat(now, timeout);
	t.kick = TW_KICK_MASK;
	t.mask = (mask ? *mask : c->uc->sigmask) & ~TW_SIGSYS_BIT;
	t.try = ready_try;
	t.ctx = r;
	t.call = c;
	tw_timed_wait(&t);
	if (left) {
		if (tw_virtual_now(MONOTONIC_ID, &now) || now > t.deadline)
			now = t.deadline;
		*left = t.deadline - now;
	}
	return t.result;
}

/* A timeout the program gave: > 0 and well formed (else nothing to convert:
 * the kernel's to judge, or no wait). */
static int positive(const struct tw_ts *ts)
{
	return ts && tw_ts_ok(ts) && (ts->sec || ts->nsec);
}

/* ---- poll, ppoll ---- */

long tw_serve_poll(const struct tw_call *c)
{
	struct ready r = { .nr = __NR_ppoll, .a = { c->a[0], c->a[1] } };
	int ms = (int)c->a[2];

	if (ms <= 0) /* not trapped by the filter; as it is */
		return tw_pass(c);
	return ready_wait(c, &r, 0, (int64_t)ms * 1000000, 0);
}

/* A mask the program passed, without SIGSYS; -EINVAL for a size the kernel
 * would refuse. */
static long own_mask(long ptr, long size, uint64_t *m)
{
	if (!ptr)
		return 0;
	if (size != 8)
		return -EINVAL;
	*m = *(const uint64_t *)ptr & ~TW_SIGSYS_BIT;
	return 1;
}

long tw_serve_ppoll(const struct tw_call *c)
{
	struct ready r = { .nr = __NR_ppoll, .a = { c->a[0], c->a[1] } };
	struct tw_ts *tmo = (struct tw_ts *)c->a[2];
	uint64_t m;
	long has = own_mask(c->a[3], c->a[4], &m), res;
	int64_t left;

	if (has < 0)
		return has;
	if (!positive(tmo)) /* no time to convert: trapped for its mask */
		return tw_rt_syscall(__NR_ppoll, c->a[0], c->a[1], (long)tmo, has ? (long)&m : 0, 8,
				     0);
	res = ready_wait(c, &r, has ? &m : 0, tw_ts_ns_sat(tmo), &left);
	*tmo = tw_ns_ts(left);
	return res;
}

/* ---- select, pselect6 ---- */

/* The fd sets saved for each try; on the stack up to 1024 descriptors (as
 * FD_SETSIZE), else mapped.  0, or -ENOMEM. */
static long sets_save(struct ready *r, long n, unsigned long *buf, unsigned long buf_words,
		      long *mapped)
{
	*mapped = 0;
	r->words = ((unsigned long)n + 63) / 64;
	r->sets[0] = (unsigned long *)r->a[1];
	r->sets[1] = (unsigned long *)r->a[2];
	r->sets[2] = (unsigned long *)r->a[3];
	if (3 * r->words <= buf_words) {
		r->saved = buf;
	} else {
		*mapped = tw_rt_syscall(__NR_mmap, 0, (long)(3 * r->words * 8), 3, 0x22, -1, 0);
		if (*mapped < 0 && *mapped > -4096)
			return -ENOMEM;
		r->saved = (unsigned long *)*mapped;
	}
	for (int i = 0; i < 3; i++)
		if (r->sets[i])
			tw_memcpy(r->saved + (unsigned long)i * r->words, r->sets[i], r->words * 8);
	return 0;
}

static long select_wait(const struct tw_call *c, const uint64_t *mask, int64_t timeout,
			int64_t *left)
{
	unsigned long buf[3 * 16];
	struct ready r = { .nr = __NR_pselect6, .a = { c->a[0], c->a[1], c->a[2], c->a[3] } };
	long mapped, res;

	if (c->a[0] < 0)
		return -EINVAL;
	if ((res = sets_save(&r, c->a[0], buf, sizeof(buf) / sizeof(buf[0]), &mapped)))
		return res;
	res = ready_wait(c, &r, mask, timeout, left);
	if (mapped)
		tw_rt_syscall(__NR_munmap, mapped, (long)(3 * r.words * 8), 0, 0, 0, 0);
	return res;
}

long tw_serve_select(const struct tw_call *c)
{
	struct tw_tv *tv = (struct tw_tv *)c->a[4];
	int64_t left, timeout;
	long res;

	if (!tv || tv->sec < 0 || tv->usec < 0 || tv->usec >= 1000000 || (!tv->sec && !tv->usec))
		return tw_pass(c);
	if (__builtin_mul_overflow(tv->sec, TW_NSEC, &timeout) ||
	    __builtin_add_overflow(timeout, tv->usec * 1000, &timeout))
		timeout = INT64_MAX;
	res = select_wait(c, 0, timeout, &left);
	/* Linux writes the time left back: virtual, as the caller gave it */
	tv->sec = left / TW_NSEC;
	tv->usec = left % TW_NSEC / 1000;
	return res;
}

long tw_serve_pselect6(const struct tw_call *c)
{
	struct tw_ts *tmo = (struct tw_ts *)c->a[4];
	const struct {
		const uint64_t *mask;
		uint64_t size;
	} *sm = (const void *)c->a[5];
	uint64_t m;
	long has = sm ? own_mask((long)sm->mask, (long)sm->size, &m) : 0, res;
	int64_t left;

	if (has < 0)
		return has;
	if (!positive(tmo)) { /* trapped for its mask: made with SIGSYS out of it */
		struct {
			const uint64_t *mask;
			uint64_t size;
		} mine = { &m, 8 };

		return tw_rt_syscall(__NR_pselect6, c->a[0], c->a[1], c->a[2], c->a[3], (long)tmo,
				     has ? (long)&mine : (long)sm);
	}
	res = select_wait(c, has ? &m : 0, tw_ts_ns_sat(tmo), &left);
	*tmo = tw_ns_ts(left);
	return res;
}

/* ---- epoll ---- */

long tw_serve_epoll_wait(const struct tw_call *c)
{
	struct ready r = { .nr = __NR_epoll_pwait, .a = { c->a[0], c->a[1], c->a[2] } };
	int ms = (int)c->a[3];

	if (ms <= 0)
		return tw_pass(c);
	return ready_wait(c, &r, 0, (int64_t)ms * 1000000, 0);
}

long tw_serve_epoll_pwait(const struct tw_call *c)
{
	struct ready r = { .nr = __NR_epoll_pwait, .a = { c->a[0], c->a[1], c->a[2] } };
	int ms = (int)c->a[3];
	uint64_t m;
	long has = own_mask(c->a[4], c->a[5], &m);

	if (has < 0)
		return has;
	if (ms <= 0)
		return tw_rt_syscall(__NR_epoll_pwait, c->a[0], c->a[1], c->a[2], c->a[3],
				     has ? (long)&m : 0, 8);
	return ready_wait(c, &r, has ? &m : 0, (int64_t)ms * 1000000, 0);
}

long tw_serve_epoll_pwait2(const struct tw_call *c)
{
	struct ready r = { .nr = __NR_epoll_pwait2, .a = { c->a[0], c->a[1], c->a[2] } };
	const struct tw_ts *tmo = (const struct tw_ts *)c->a[3];
	uint64_t m;
	long has = own_mask(c->a[4], c->a[5], &m);

	if (has < 0)
		return has;
	if (!positive(tmo))
		return tw_rt_syscall(__NR_epoll_pwait2, c->a[0], c->a[1], c->a[2], (long)tmo,
				     has ? (long)&m : 0, 8);
	return ready_wait(c, &r, has ? &m : 0, tw_ts_ns_sat(tmo), 0);
}
