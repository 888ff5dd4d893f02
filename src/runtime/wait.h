/* Waits served on a program's behalf under the namespace's clocks (DESIGN
 * section 2, "Waiting under a virtual clock"): what wait.c (the loop every
 * served wait runs), plan.c (a wait's host deadline), kick.c (ending a wait
 * early when the namespace changes) and watcher.c (the thread that notices
 * changes) share with the calls that wait: sleep.c, futex.c, poll.c. */
#ifndef TW_WAIT_H
#define TW_WAIT_H

#include "serve.h"

/* The plan for a wait until the namespace's clock reaches a deadline. */
struct tw_plan {
	uint32_t head;    /* the page's head it was made against */
	uint64_t rate;    /* the rate then (0: frozen) */
	int64_t vnow;     /* the namespace's clock then */
	int64_t left;     /* virtual time left, <= 0 when the deadline has passed */
	int64_t host_now; /* on the host clock asked for */
	int64_t host_at;  /* the host instant to wait for: now + left / R, or + left
			   * when frozen (the virtual time left elapses at host speed) */
};

/* plan.c */
long tw_virtual_now(long clk, int64_t *ns);
long tw_host_now(long clk, int64_t *ns);
/* The plan for clock `clk` to reach `deadline`, on host clock `host_clk`. */
long tw_plan(long clk, int64_t deadline, long host_clk, struct tw_plan *pl);
/* A new plan `pl` after plan `was`: frozen both times with the clock where it
 * was (a change that did not move this clock, such as another waiter's frozen
 * expiry moving the monotonic clocks while this one waits on REALTIME), the
 * wait keeps its host instant rather than starting again. */
void tw_plan_keep(const struct tw_plan *was, struct tw_plan *pl);
/* A frozen wait ran its course with no change: the namespace's monotonic
 * clocks (MONOTONIC, RAW, BOOTTIME) move on to its deadline, if it is on one of
 * them, so that a program that waits until its clock gets there gets there. */
void tw_frozen_expired(long clk, int64_t deadline);

/* kick.c: a served wait that a change can end early. */
struct tw_slot;
/* The calling thread's slot for a wait planned against head `head`, starting
 * the watcher if need be; null when no slot can be had (then the wait keeps
 * its plan until its host timeout, as a wait no kick can reach does). */
struct tw_slot *tw_slot_take(uint32_t head);
/* The wait has planned again, against head `head`. */
void tw_slot_planned(struct tw_slot *s, uint32_t head);
/* Whether the watcher kicked the wait since it last planned; the kick, if
 * any, is consumed (delivered and swallowed, never the program's). */
int tw_slot_kicked(struct tw_slot *s);
void tw_slot_give(struct tw_slot *s);
/* For the watcher: kicks every wait planned against another head than `head`
 * and not kicked since; returns the most kicks any of them has had, or -1
 * when none waits. `fresh`: a new change (the counts start again). */
int tw_kick_waits(uint32_t head, int fresh);

/* watcher.c: starts the watcher of this process if it is not running; `head`:
 * the head the caller planned or armed against (a change since then is one
 * the new watcher acts on). */
long tw_watcher_start(uint32_t head);
/* timers.c: re-arms every armed timer against the namespace's clocks now
 * (the watcher, after a change). */
void tw_timers_rearm(void);

/* How one try of a served wait ended. */
enum tw_try { TW_TRY_DONE, TW_TRY_TIMEOUT, TW_TRY_INTR };

/* How a change reaches the wait's system call: not at all (the plan holds
 * until its host timeout), by a kick (a SIGSYS the watcher queues for the
 * thread), with SIGSYS blocked up to the call and let through by the call's
 * own signal mask (ppoll, pselect6, epoll_pwait: no kick can come between the
 * check and the call), or woken by the page's head (a futex wait). */
enum tw_kick { TW_KICK_NONE, TW_KICK_SIGNAL, TW_KICK_MASK, TW_KICK_HEAD };

/* A served wait: until the namespace's clock `clk` reaches `deadline`, each
 * try the real call with the plan's host time (try returns how it ended and
 * leaves its result in `result`). */
struct tw_timed {
	long clk;
	int64_t deadline;
	long host_clk;
	enum tw_kick kick;
	/* for TW_KICK_MASK: the mask the program's call asked for, or the thread's
	 * own; the try passes it, without SIGSYS */
	uint64_t mask;
	enum tw_try (*try)(struct tw_timed *t, const struct tw_plan *pl);
	void *ctx;
	long result;
	const struct tw_call *call;
};
/* Waits through `try` until the deadline, planning again after every change
 * of the namespace and after a host timeout that came before the virtual
 * deadline; a try interrupted by the program's own signal ends the wait.
 * Returns how the last try ended. */
enum tw_try tw_timed_wait(struct tw_timed *t);

/* A timespec the kernel would take: 0 <= nsec < 1e9 and sec >= 0. */
static inline int tw_ts_ok(const struct tw_ts *ts)
{
	return ts->sec >= 0 && ts->nsec >= 0 && ts->nsec < 1000000000LL;
}

#define TW_SIGSYS_BIT (1ULL << 30) /* SIGSYS (31) in a sigset */

#endif
