/* Absolute deadlines handed to libc (pthread_cond_timedwait and clockwait,
 * sem_timedwait and clockwait, the mutex, rwlock and join variants, the message
 * queues): the virtual deadline becomes the host instant, on the same host
 * clock, at which the namespace's clock will reach it (d / R of host time from
 * now, or d when frozen).  A deadline already past stays past, so the call
 * returns at once with the host's result.
 *
 * After a change of the namespace the watcher (watch.c) kicks these waits and
 * they plan again: condition variables by a broadcast (a spurious wake-up),
 * semaphores by its signal.  glibc's timed mutex, rwlock and join waits, and
 * the kernel's message queue waits (the handler is SA_RESTART), restart by
 * themselves after a signal, so those keep their plan until a host timeout,
 * then plan again: a change that brings their deadline nearer takes effect late. */
#include <errno.h>
#include <mqueue.h>
#include <pthread.h>
#include <semaphore.h>
#include <time.h>

#include "preload.h"
#include "read.h"
#include "waits.h"

/* One try at the wrapped call with deadline `abs`: 0 or an error number. */
typedef int attempt_fn(void *ctx, const struct timespec *abs);

struct host_try {
	attempt_fn *attempt;
	void *ctx;
	int r; /* the last try's answer */
};

static enum tw_try host_try(void *p, const struct tw_plan *pl)
{
	struct host_try *h = p;
	struct tw_ts at = tw_ns_ts(pl->host_at);

	h->r = h->attempt(h->ctx, (const struct timespec *)&at);
	return h->r == ETIMEDOUT ? TW_TRY_TIMEOUT : h->r == EINTR ? TW_TRY_INTR : TW_TRY_DONE;
}

/* A virtual deadline timewarp converts: a member's, on a clock it serves, and
 * well formed (a malformed one is libc's to judge). */
static int converted(clockid_t clk, const struct timespec *vabs)
{
	return tw_member_fast()->page && tw_clock_line(clk) >= 0 && vabs && vabs->tv_nsec >= 0 &&
	       vabs->tv_nsec < 1000000000L;
}

/* Runs `attempt` against the host deadline on the same host clock at which the
 * namespace's clock `clk` reaches `vabs`, planned again after a change (when the
 * watcher can `kick` the wait) or a host timeout before the virtual deadline. */
static int until_deadline(clockid_t clk, const struct timespec *vabs, int kick,
			  attempt_fn *attempt, void *ctx)
{
	struct host_try h = { attempt, ctx, 0 };

	if (!converted(clk, vabs))
		return attempt(ctx, vabs);
	tw_wait(clk, tw_ts_ns_sat((const struct tw_ts *)vabs), clk, kick, NULL, 0, host_try, &h);
	return h.r;
}

/* glibc keeps a condition variable's clock in bit 1 of __wrefs (nptl's
 * __PTHREAD_COND_CLOCK_MONOTONIC_MASK), set from its attribute at init. */
static clockid_t cond_clock(const pthread_cond_t *c)
{
	return (__atomic_load_n(&c->__data.__wrefs, __ATOMIC_RELAXED) & 2) ? CLOCK_MONOTONIC
									       : CLOCK_REALTIME;
}

/* libc's own definition of `name`, found once. */

/* The semaphores and message queues answer -1 and errno. */
static int errno_of(long r)
{
	return r < 0 ? errno : 0;
}

static int as_errno(int e)
{
	if (!e)
		return 0;
	errno = e;
	return -1;
}

/* ---- condition variables ------------------------------------------------- */

/* A condition variable may wake early: a change of the namespace wakes it (the
 * watcher broadcasts it), and a host timeout before the virtual deadline is
 * reported as a wake-up; the caller's loop checks and waits again. */
static int cond_wait(pthread_cond_t *c, clockid_t clk, const struct timespec *abs,
		     attempt_fn *attempt, void *ctx)
{
	struct host_try h = { attempt, ctx, 0 };

	if (!converted(clk, abs))
		return attempt(ctx, abs);
	if (tw_wait(clk, tw_ts_ns_sat((const struct tw_ts *)abs), clk, TW_KICK_COND, c, 1, host_try,
		    &h) == TW_TRY_DONE && h.r == ETIMEDOUT)
		return 0;
	return h.r;
}

struct cond_ctx {
	pthread_cond_t *c;
	pthread_mutex_t *mx;
	clockid_t clk; /* -1: pthread_cond_timedwait */
};

static void *next_pthread_cond_timedwait, *next_pthread_cond_clockwait;

static int cond_attempt(void *p, const struct timespec *abs)
{
	struct cond_ctx *x = p;
	typedef int timed(pthread_cond_t *, pthread_mutex_t *, const struct timespec *);
	typedef int clocked(pthread_cond_t *, pthread_mutex_t *, clockid_t, const struct timespec *);

	if (x->clk < 0)
		return TW_NEXT(timed *, pthread_cond_timedwait)(x->c, x->mx, abs);
	return TW_NEXT(clocked *, pthread_cond_clockwait)(x->c, x->mx, x->clk, abs);
}

TW_EXPORT int pthread_cond_timedwait(pthread_cond_t *restrict c, pthread_mutex_t *restrict mx,
				     const struct timespec *restrict abs)
{
	struct cond_ctx x = { c, mx, -1 };

	return cond_wait(c, cond_clock(c), abs, cond_attempt, &x);
}

TW_EXPORT int pthread_cond_clockwait(pthread_cond_t *restrict c, pthread_mutex_t *restrict mx,
				     clockid_t clk, const struct timespec *restrict abs)
{
	struct cond_ctx x = { c, mx, clk };

	return cond_wait(c, clk, abs, cond_attempt, &x);
}

/* ---- semaphores ---------------------------------------------------------- */

struct sem_ctx {
	sem_t *s;
	clockid_t clk; /* -1: sem_timedwait */
};

static void *next_sem_timedwait, *next_sem_clockwait;

static int sem_attempt(void *p, const struct timespec *abs)
{
	struct sem_ctx *x = p;
	typedef int timed(sem_t *, const struct timespec *);
	typedef int clocked(sem_t *, clockid_t, const struct timespec *);

	if (x->clk < 0)
		return errno_of(TW_NEXT(timed *, sem_timedwait)(x->s, abs));
	return errno_of(TW_NEXT(clocked *, sem_clockwait)(x->s, x->clk, abs));
}

/* A semaphore that can be taken at once is taken, without planning a wait,
 * once the arguments have passed glibc's own checks (a clock it waits on, a
 * well-formed deadline), which come first there too. */
static int taken(sem_t *s, clockid_t clk, const struct timespec *abs)
{
	int e = errno;

	if ((clk != CLOCK_REALTIME && clk != CLOCK_MONOTONIC) || !abs || abs->tv_nsec < 0 ||
	    abs->tv_nsec >= 1000000000L)
		return 0;
	if (!sem_trywait(s))
		return 1;
	errno = e;
	return 0;
}

TW_EXPORT int sem_timedwait(sem_t *restrict s, const struct timespec *restrict abs)
{
	struct sem_ctx x = { s, -1 };

	if (taken(s, CLOCK_REALTIME, abs))
		return 0;

	return as_errno(until_deadline(CLOCK_REALTIME, abs, TW_KICK_SIGNAL, sem_attempt, &x));
}

TW_EXPORT int sem_clockwait(sem_t *restrict s, clockid_t clk, const struct timespec *restrict abs)
{
	struct sem_ctx x = { s, clk };

	if (taken(s, clk, abs))
		return 0;

	return as_errno(until_deadline(clk, abs, TW_KICK_SIGNAL, sem_attempt, &x));
}

/* ---- mutexes and rwlocks --------------------------------------------------- */

enum lock_kind { MUTEX, RDLOCK, WRLOCK };

struct lock_ctx {
	void *lock;
	enum lock_kind kind;
	clockid_t clk; /* -1: the timed (REALTIME) variant */
};

static void *next_pthread_mutex_timedlock, *next_pthread_mutex_clocklock;
static void *next_pthread_rwlock_timedrdlock, *next_pthread_rwlock_clockrdlock;
static void *next_pthread_rwlock_timedwrlock, *next_pthread_rwlock_clockwrlock;

static int lock_attempt(void *p, const struct timespec *abs)
{
	struct lock_ctx *x = p;
	typedef int timed(void *, const struct timespec *);
	typedef int clocked(void *, clockid_t, const struct timespec *);

	switch (x->kind) {
	case MUTEX:
		if (x->clk < 0)
			return TW_NEXT(timed *, pthread_mutex_timedlock)(x->lock, abs);
		return TW_NEXT(clocked *, pthread_mutex_clocklock)(x->lock, x->clk, abs);
	case RDLOCK:
		if (x->clk < 0)
			return TW_NEXT(timed *, pthread_rwlock_timedrdlock)(x->lock, abs);
		return TW_NEXT(clocked *, pthread_rwlock_clockrdlock)(x->lock, x->clk, abs);
	default:
		if (x->clk < 0)
			return TW_NEXT(timed *, pthread_rwlock_timedwrlock)(x->lock, abs);
		return TW_NEXT(clocked *, pthread_rwlock_clockwrlock)(x->lock, x->clk, abs);
	}
}

static int lock_until(void *lock, enum lock_kind kind, clockid_t clk, const struct timespec *abs)
{
	struct lock_ctx x = { lock, kind, clk };

	return until_deadline(clk < 0 ? CLOCK_REALTIME : clk, abs, TW_KICK_NONE, lock_attempt, &x);
}

TW_EXPORT int pthread_mutex_timedlock(pthread_mutex_t *restrict mx,
				      const struct timespec *restrict abs)
{
	return lock_until(mx, MUTEX, -1, abs);
}

TW_EXPORT int pthread_mutex_clocklock(pthread_mutex_t *restrict mx, clockid_t clk,
				      const struct timespec *restrict abs)
{
	return lock_until(mx, MUTEX, clk, abs);
}

TW_EXPORT int pthread_rwlock_timedrdlock(pthread_rwlock_t *restrict rw,
					 const struct timespec *restrict abs)
{
	return lock_until(rw, RDLOCK, -1, abs);
}

TW_EXPORT int pthread_rwlock_clockrdlock(pthread_rwlock_t *restrict rw, clockid_t clk,
					 const struct timespec *restrict abs)
{
	return lock_until(rw, RDLOCK, clk, abs);
}

TW_EXPORT int pthread_rwlock_timedwrlock(pthread_rwlock_t *restrict rw,
					 const struct timespec *restrict abs)
{
	return lock_until(rw, WRLOCK, -1, abs);
}

TW_EXPORT int pthread_rwlock_clockwrlock(pthread_rwlock_t *restrict rw, clockid_t clk,
					 const struct timespec *restrict abs)
{
	return lock_until(rw, WRLOCK, clk, abs);
}

/* ---- joins --------------------------------------------------------------- */

struct join_ctx {
	pthread_t t;
	void **ret;
	clockid_t clk; /* -1: pthread_timedjoin_np */
};

static void *next_pthread_timedjoin_np, *next_pthread_clockjoin_np;

static int join_attempt(void *p, const struct timespec *abs)
{
	struct join_ctx *x = p;
	typedef int timed(pthread_t, void **, const struct timespec *);
	typedef int clocked(pthread_t, void **, clockid_t, const struct timespec *);

	if (x->clk < 0)
		return TW_NEXT(timed *, pthread_timedjoin_np)(x->t, x->ret, abs);
	return TW_NEXT(clocked *, pthread_clockjoin_np)(x->t, x->ret, x->clk, abs);
}

TW_EXPORT int pthread_timedjoin_np(pthread_t t, void **ret, const struct timespec *abs)
{
	struct join_ctx x = { t, ret, -1 };

	return until_deadline(CLOCK_REALTIME, abs, TW_KICK_NONE, join_attempt, &x);
}

TW_EXPORT int pthread_clockjoin_np(pthread_t t, void **ret, clockid_t clk,
				   const struct timespec *abs)
{
	struct join_ctx x = { t, ret, clk };

	return until_deadline(clk, abs, TW_KICK_NONE, join_attempt, &x);
}

/* ---- message queues ------------------------------------------------------ */

struct mq_ctx {
	mqd_t q;
	char *msg;
	size_t len;
	unsigned prio, *prio_out;
	int receive;
	ssize_t got;
};

static void *next_mq_timedsend, *next_mq_timedreceive;

static int mq_attempt(void *p, const struct timespec *abs)
{
	struct mq_ctx *x = p;
	typedef int send(mqd_t, const char *, size_t, unsigned, const struct timespec *);
	typedef ssize_t receive(mqd_t, char *, size_t, unsigned *, const struct timespec *);

	if (!x->receive)
		return errno_of(TW_NEXT(send *, mq_timedsend)(x->q, x->msg, x->len, x->prio, abs));
	x->got = TW_NEXT(receive *, mq_timedreceive)(x->q, x->msg, x->len, x->prio_out, abs);
	return errno_of(x->got);
}

TW_EXPORT int mq_timedsend(mqd_t q, const char *msg, size_t len, unsigned prio,
			   const struct timespec *abs)
{
	struct mq_ctx x = { q, (char *)msg, len, prio, NULL, 0, 0 };

	return as_errno(until_deadline(CLOCK_REALTIME, abs, TW_KICK_NONE, mq_attempt, &x));
}

TW_EXPORT ssize_t mq_timedreceive(mqd_t q, char *restrict msg, size_t len,
				  unsigned *restrict prio, const struct timespec *restrict abs)
{
	struct mq_ctx x = { q, msg, len, 0, prio, 1, -1 };
	int e = until_deadline(CLOCK_REALTIME, abs, TW_KICK_NONE, mq_attempt, &x);

	return e ? as_errno(e) : x.got;
}
