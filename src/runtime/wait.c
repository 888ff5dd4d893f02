/* The loop of every served wait (DESIGN section 2, "Waiting under a virtual
 * clock"): plan the host time to wait, make the real call with it, and plan
 * again when the namespace changed meanwhile (a kick, or the head's futex
 * woke the call), or when the host time ran out before the virtual deadline
 * (the clocks were slowed or set back); frozen, a wait that runs its course
 * moves the monotonic clocks on to its deadline (tw_frozen_expired).
 *
 * The real call is the program's own kind of call (or one with the same
 * restart rules), so a signal handler of the program's interrupts it exactly
 * as it would have interrupted the program's: the wait then ends with what
 * the call returned.  For calls that take a signal mask (ppoll, pselect6,
 * epoll_pwait, and the sleeps, made as ppoll with no descriptors) every signal
 * is blocked from the planning to the call and the call's own mask opens them
 * atomically: a kick or a signal of the program's that comes meanwhile
 * interrupts the call rather than being taken before it. */
#include <asm/unistd.h>

#include "read.h"
#include "wait.h"

static void sigmask(long how, uint64_t set, uint64_t *old)
{
	tw_rt_syscall(__NR_rt_sigprocmask, how, (long)&set, (long)old, 8, 0, 0);
}

enum tw_try tw_timed_wait(struct tw_timed *t)
{
	const struct tw_page *pg = tw_rt()->page;
	struct tw_plan pl, was = { .rate = 1 };
	struct tw_slot *slot = 0;
	const int kickable = t->kick == TW_KICK_SIGNAL || t->kick == TW_KICK_MASK;
	enum tw_try r;

	for (;;) {
		uint64_t saved = 0;
		int changed, kicked;
		int64_t vnow;

		if (tw_plan(t->clk, t->deadline, t->host_clk, &pl)) {
			/* no clock to plan with (never on a working system): wait
			 * the virtual deadline as host time rather than not at all */
			pl.head = tw_head(pg);
			pl.rate = TW_RATE_ONE;
			pl.left = 0;
			pl.host_now = pl.host_at = t->deadline;
		}
		tw_plan_keep(&was, &pl);
		was = pl;
		/* a deadline already past is one try, which the host answers at
		 * once: no slot (nor its cost) */
		if (pl.left > 0 && !slot && kickable) {
			slot = tw_slot_take(pl.head);
			/* a change between the plan and the slot: plan again */
			if (slot && tw_head(pg) != pl.head)
				continue;
		}
		tw_slot_planned(slot, pl.head);
		if (t->kick == TW_KICK_MASK)
			sigmask(0 /* SIG_BLOCK */, ~0ULL, &saved);
		if (tw_slot_kicked(slot) || (slot && tw_head(pg) != pl.head)) {
			if (t->kick == TW_KICK_MASK)
				sigmask(2 /* SIG_SETMASK */, saved, 0);
			continue;
		}
		r = t->try(t, &pl);
		if (t->kick == TW_KICK_MASK)
			sigmask(2 /* SIG_SETMASK */, saved, 0); /* a pending kick is taken here */
		changed = tw_head(pg) != pl.head;
		kicked = tw_slot_kicked(slot);
		if (r == TW_TRY_DONE || (r == TW_TRY_INTR && !kicked) ||
		    (r == TW_TRY_TIMEOUT && pl.left <= 0))
			break;
		if (r == TW_TRY_TIMEOUT && !changed && pl.rate == 0) {
			/* the slot given back first: the change this wait makes is
			 * no reason for the watcher to kick it */
			tw_slot_give(slot);
			slot = 0;
			tw_frozen_expired(t->clk, t->deadline);
			break;
		}
		/* kicked, or timed out on a plan the namespace has left behind, or
		 * early (slowed, set back): plan again, unless the deadline is there */
		if (r == TW_TRY_TIMEOUT && !changed && !tw_virtual_now(t->clk, &vnow) &&
		    vnow >= t->deadline)
			break;
	}
	tw_slot_give(slot);
	return r;
}
