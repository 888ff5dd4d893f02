/* Futex waits with a timeout or a deadline: what every condition variable,
 * semaphore and timed lock of libc, and every sleep of Go's runtime, ends in.
 *
 * FUTEX_WAIT (a relative timeout) and FUTEX_WAIT_BITSET (an absolute deadline,
 * on MONOTONIC or, with FUTEX_CLOCK_REALTIME, REALTIME) wait with futex_waitv
 * on two words at once: the program's, and the page's head, so that a change
 * of the namespace wakes the wait with no kick.  A wait a change woke returns
 * 0, a spurious wake-up, which every futex caller takes (libc and Go check
 * their condition and wait again, with the deadline they had, planned anew);
 * waiting again here could lose a wake that came in between.  futex_waitv has
 * no bitset: a FUTEX_WAIT_BITSET with a narrower bitset may wake more often,
 * spuriously, never less.  Where the kernel has no futex_waitv (before 5.16)
 * the wait is made on the program's word alone in steps of 10 ms of host time,
 * planned again between steps.
 *
 * The priority-inheritance locks with a timeout (FUTEX_LOCK_PI, LOCK_PI2) take
 * the lock or time out; they are made in steps of 50 ms of host time, planned
 * again between steps.  FUTEX_WAIT_REQUEUE_PI gets its deadline converted
 * once.  Every other operation goes to the kernel as it is. */
#include <asm/unistd.h>
#include <errno.h>
#include <linux/futex.h>

#include "wait.h"

#define CMD(op) ((op) & FUTEX_CMD_MASK)
/* futex_waitv's flags (FUTEX2_SIZE_U32, FUTEX2_PRIVATE: Linux 6.7's names for
 * what 5.16 defined) */
#define WAITV_U32 0x02
#define WAITV_PRIVATE 128
#define REALTIME_ID 0
#define MONOTONIC_ID 1
#define FALLBACK_STEP_NS (10 * 1000000LL)
#define PI_STEP_NS (50 * 1000000LL)

struct futex_ctx {
	uint32_t *word;
	uint32_t val;
	long op;
	long realtime;
};

static int64_t min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

static enum tw_try classify(struct tw_timed *t, long r)
{
	t->result = r;
	if (r == -ETIMEDOUT)
		return TW_TRY_TIMEOUT;
	if (r == -EINTR)
		return TW_TRY_INTR;
	return TW_TRY_DONE;
}

static enum tw_try wait_try(struct tw_timed *t, const struct tw_plan *pl)
{
	const struct futex_ctx *f = t->ctx;
	struct futex_waitv w[2] = {
		{ .val = f->val, .uaddr = (uint64_t)f->word,
		  .flags = WAITV_U32 | ((f->op & FUTEX_PRIVATE_FLAG) ? WAITV_PRIVATE : 0) },
		{ .val = pl->head, .uaddr = (uint64_t)&tw_rt()->page->head,
		  .flags = WAITV_U32 },
	};
	struct tw_ts at = tw_ns_ts(pl->host_at);
	long r = tw_rt_syscall(__NR_futex_waitv, (long)w, 2, 0, (long)&at,
			       f->realtime ? REALTIME_ID : MONOTONIC_ID, 0);

	if (r == 1) /* the head: the namespace changed, a spurious wake-up */
		r = 0;
	if (r == -EAGAIN && __atomic_load_n(f->word, __ATOMIC_RELAXED) == f->val) {
		/* the head moved after the plan, not the program's word */
		t->result = 0;
		return TW_TRY_TIMEOUT;
	}
	if (r != -ENOSYS)
		return classify(t, r);
	/* no futex_waitv: the program's word alone, a step at a time */
	{
		struct tw_ts step = tw_ns_ts(min64(pl->host_at - pl->host_now, FALLBACK_STEP_NS));

		if (step.sec < 0)
			step = (struct tw_ts){ 0, 0 };
		r = tw_rt_syscall(__NR_futex, (long)f->word,
				  FUTEX_WAIT | (f->op & FUTEX_PRIVATE_FLAG), f->val, (long)&step, 0, 0);
		return classify(t, r);
	}
}

static enum tw_try pi_try(struct tw_timed *t, const struct tw_plan *pl)
{
	const struct futex_ctx *f = t->ctx;
	struct tw_ts at = tw_ns_ts(min64(pl->host_at, pl->host_now + PI_STEP_NS));

	return classify(t, tw_rt_syscall(__NR_futex, (long)f->word, f->op, f->val, (long)&at, 0,
					  0));
}

long tw_serve_futex(const struct tw_call *c)
{
	struct futex_ctx f = { (uint32_t *)c->a[0], (uint32_t)c->a[2], c->a[1],
			       c->a[1] & FUTEX_CLOCK_REALTIME };
	struct tw_ts tmo_, *tmo = &tmo_;
	struct tw_timed t = { 0 };
	int64_t now;
	long cmd = CMD(c->a[1]), r;

	if (!c->a[3])
		return tw_pass(c);
	if (cmd != FUTEX_WAIT && cmd != FUTEX_WAIT_BITSET && cmd != FUTEX_LOCK_PI &&
	    cmd != FUTEX_LOCK_PI2 && cmd != FUTEX_WAIT_REQUEUE_PI)
		return tw_pass(c);
	if ((r = tw_get_user(c, tmo, (const void *)c->a[3], sizeof(*tmo))))
		return r;
	if (!tw_ts_ok(tmo))
		return -EINVAL;
	t.ctx = &f;
	t.call = c;
	t.kick = TW_KICK_HEAD;
	switch (cmd) {
	case FUTEX_WAIT:
	case FUTEX_WAIT_BITSET:
		if (cmd == FUTEX_WAIT_BITSET && !c->a[5])
			return -EINVAL;
		t.clk = t.host_clk = f.realtime ? REALTIME_ID : MONOTONIC_ID;
		if ((r = tw_virtual_now(t.clk, &now)))
			return r;
		t.deadline = cmd == FUTEX_WAIT ? tw_add_sat(now, tw_ts_ns_sat(tmo))
					       : tw_ts_ns_sat(tmo);
		t.try = wait_try;
		break;
	case FUTEX_LOCK_PI:
	case FUTEX_LOCK_PI2:
		/* LOCK_PI's deadline is on REALTIME; LOCK_PI2's as the flag says */
		f.realtime = cmd == FUTEX_LOCK_PI || f.realtime;
		t.clk = t.host_clk = f.realtime ? REALTIME_ID : MONOTONIC_ID;
		t.deadline = tw_ts_ns_sat(tmo);
		t.try = pi_try;
		break;
	case FUTEX_WAIT_REQUEUE_PI: {
		struct tw_plan pl;
		struct tw_ts at;

		t.clk = f.realtime ? REALTIME_ID : MONOTONIC_ID;
		if ((r = tw_plan(t.clk, tw_ts_ns_sat(tmo), t.clk, &pl)))
			return r;
		at = tw_ns_ts(pl.host_at);
		return tw_rt_syscall(__NR_futex, c->a[0], c->a[1], c->a[2], (long)&at, c->a[4],
				     c->a[5]);
	}
	default:
		return tw_pass(c);
	}
	switch (tw_timed_wait(&t)) {
	case TW_TRY_TIMEOUT:
		return t.result == -ETIMEDOUT || t.result == 0 ? -ETIMEDOUT : t.result;
	default:
		return t.result;
	}
}
