/* Shared by the preload library's waits: plan.c (planning a wait on a virtual
 * clock, and the loop that waits through libc or the kernel), watch.c (the
 * watcher that re-evaluates waits and timers on a change), sleeps.c (sleeps on
 * the clock page's head (page.h)), deadlines.c (absolute deadlines handed to
 * libc), timeouts.c (relative timeouts handed to the kernel), timers.c. */
#ifndef TW_WAITS_H
#define TW_WAITS_H

#include <pthread.h>
#include <time.h>

#include "preload.h"

/* The namespace's clock `clk` now, ns; -errno. */
long tw_virtual_ns(const struct tw_member *m, clockid_t clk, int64_t *ns);
/* The host's clock `clk` now, ns; -errno. */
long tw_host_ns(const struct tw_member *m, clockid_t clk, int64_t *ns);

/* The plan for a wait until the namespace's clock reaches a deadline. */
struct tw_plan {
	uint32_t gen;     /* the namespace's generation it was made against */
	uint64_t rate;    /* the rate then (0: frozen) */
	int64_t vnow;     /* the namespace's clock then */
	int64_t left;     /* virtual time left, <= 0 when the deadline has passed */
	int64_t host_now; /* on the host clock asked for */
	int64_t host_at;  /* the host instant to wait for: now + left / R, or + left
			   * when frozen (the virtual time left elapses at host speed) */
};
long tw_plan(const struct tw_member *m, clockid_t clk, int64_t deadline, clockid_t host_clk,
	     struct tw_plan *pl);
/* A new plan `pl` after plan `was`: frozen both times with the clock where it
 * was (a change that did not move this clock, such as another waiter's
 * frozen expiry moving the monotonic clocks while this one waits on
 * REALTIME), the wait keeps its host instant rather than starting again. */
void tw_plan_keep(const struct tw_plan *was, struct tw_plan *pl);

/* A frozen wait ran its course with no change: the namespace's monotonic
 * clocks (MONOTONIC, RAW, BOOTTIME) move on to its deadline, if it is on one of
 * them, so a program that waits until its clock gets there gets there. */
void tw_frozen_expired(const struct tw_member *m, clockid_t clk, int64_t deadline);

/* How one try of a wrapped wait ended. */
enum tw_try { TW_TRY_DONE, TW_TRY_TIMEOUT, TW_TRY_INTR };
typedef enum tw_try tw_try_fn(void *ctx, const struct tw_plan *pl);

/* How the watcher ends a wait early after a change: not at all, by signal
 * (if the thread has it unblocked), by signal (the wait's own signal mask lets
 * it through), by broadcasting the condition variable. */
enum { TW_KICK_NONE, TW_KICK_SIGNAL, TW_KICK_SIGNAL_OPEN, TW_KICK_COND };

/* Waits through `try` until the namespace's clock `clk` reaches `deadline`,
 * planning on host clock `host_clk`: again after every change of the namespace
 * (the watcher kicks the wait, see watch.c) and after a host timeout that came
 * before the virtual deadline.  `once`: a kicked or early try ends the wait as
 * TW_TRY_DONE instead (a condition variable's spurious wake-up).  A deadline
 * already past still makes one try, which the host answers at once. */
enum tw_try tw_wait(clockid_t clk, int64_t deadline, clockid_t host_clk, int kick,
		    pthread_cond_t *cond, int once, tw_try_fn *try, void *ctx);

/* ---- watch.c ---- */
struct tw_watch {
	int slot; /* -1: not registered, no early end */
};
/* Registers the calling thread's wait for kicks, starting the watcher. */
void tw_watch(struct tw_watch *w, int kind, pthread_cond_t *cond);
/* The wait has planned against generation `gen`. */
void tw_watch_planned(struct tw_watch *w, uint32_t gen);
void tw_unwatch(struct tw_watch *w);
void tw_unwatch_cleanup(void *w);
/* Whether the watcher's signal reached this thread since the last call. */
int tw_kicked(void);
/* Starts the watcher if it is not running (armed timers need it). */
void tw_watch_start(void);
/* The kick signal; 0 if none. */
int tw_kick_signal(void);

/* ---- timers.c ---- */
/* Re-arms every armed timer against the namespace's clocks now (the watcher,
 * after a change). */
void tw_timers_rearm(void);

/* Sleeps until the namespace's clock `clk` reaches `deadline` (ns), planning
 * again after every change of the namespace; 0, or -EINTR for a signal. */
long tw_sleep_until(const struct tw_member *m, clockid_t clk, int64_t deadline);

#endif
