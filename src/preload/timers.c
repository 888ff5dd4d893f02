/* Timers under a virtual clock (DESIGN section 2): timerfd_settime and
 * timerfd_gettime, timer_settime and timer_gettime, setitimer and getitimer
 * (ITIMER_REAL), alarm.  Arming converts the virtual expiry to the host timer on
 * the same host clock (an absolute one to the host instant the namespace's clock
 * reaches it, a relative one and the interval to d / R of host time, d when
 * frozen); the times read back are virtual again.
 *
 * Armed timers are recorded with the namespace as it was when they were armed;
 * after a change the watcher (watch.c) re-arms each against the new clocks:
 * its next expiry keeps its virtual instant (on its own clock if armed
 * absolute, on MONOTONIC if relative), so advancing past it fires it, setting
 * the clock back delays it, and a new rate rescales what is left and the
 * interval.  TFD_TIMER_CANCEL_ON_SET keeps the kernel's meaning (a step of the
 * host's REALTIME). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "clockmath.h"
#include "preload.h"
#include "read.h"
#include "waits.h"

static void *next_timerfd_settime, *next_timerfd_gettime,
	*next_timer_create, *next_timer_settime, *next_timer_gettime, *next_setitimer,
	*next_getitimer, *next_timer_delete;

static int64_t ns_of(const struct timespec *t)
{
	return tw_ts_ns((const struct tw_ts *)t);
}

static struct timespec ts_of(int64_t ns)
{
	struct tw_ts t = tw_ns_ts(ns);

	return (struct timespec){ t.sec, t.nsec };
}

/* The namespace's parameters, or 0 when this process is not a member. */
static int params(struct tw_params *p)
{
	const struct tw_member *m = tw_member_fast();

	if (!m->page)
		return 0;
	tw_read_params(m->page, p);
	return 1;
}

/* A virtual itimerspec on clock `clk` as the host timer to arm, planned with
 * the namespace as *p is. */
static int to_host(clockid_t clk, int absolute, const struct itimerspec *v, struct itimerspec *h,
		   struct tw_params *p_out)
{
	const struct tw_member *m = tw_member_fast();
	struct tw_params p;
	struct tw_plan pl;

	if (!params(&p) || tw_clock_line(clk) < 0 || v->it_value.tv_nsec < 0 ||
	    v->it_value.tv_nsec >= 1000000000L || v->it_interval.tv_nsec < 0 ||
	    v->it_interval.tv_nsec >= 1000000000L)
		return 0;
	h->it_interval = ts_of(tw_unscale(ns_of(&v->it_interval), p.rate));
	if (!v->it_value.tv_sec && !v->it_value.tv_nsec) {
		h->it_value = v->it_value; /* disarm */
	} else if (!absolute) {
		h->it_value = ts_of(tw_unscale(ns_of(&v->it_value), p.rate));
	} else {
		if (tw_plan(m, clk, ns_of(&v->it_value), clk, &pl))
			return 0;
		/* already due: the earliest host instant that still arms the timer */
		h->it_value = ts_of(pl.left <= 0 ? 1 : pl.host_at);
	}
	*p_out = p;
	return 1;
}

/* What a host timer reports (time to the next expiry, interval) as virtual time. */
static void to_virtual(struct itimerspec *t)
{
	struct tw_params p;

	if (!params(&p))
		return;
	t->it_value = ts_of(p.rate ? tw_scale(ns_of(&t->it_value), p.rate) : ns_of(&t->it_value));
	t->it_interval = ts_of(p.rate ? tw_scale(ns_of(&t->it_interval), p.rate)
				      : ns_of(&t->it_interval));
}

/* ---- armed timers, re-armed after a change --------------------------------- */

enum { T_FREE, T_FD, T_POSIX, T_ITIMER };

#define TIMERFDS 4096 /* timer file descriptors known by number, below this */
/* Per timer file descriptor: cancelled by a set of REALTIME, for read(). */
static unsigned char fd_canceled[TIMERFDS];

#define ARMED 64
static struct armed {
	int kind;
	int fd;             /* T_FD */
	timer_t id;         /* T_POSIX */
	clockid_t clk;      /* the timer's clock */
	int flags;          /* as armed: TFD_TIMER_ABSTIME, TIMER_ABSTIME, ... */
	int absolute;
	int64_t interval;   /* virtual */
	struct tw_params p; /* the namespace when it was last armed */
	int canceled;       /* TFD_TIMER_CANCEL_ON_SET: REALTIME was set, read() not yet */
	int64_t cancel_at;  /* its virtual expiry meanwhile */
} armed[ARMED];
static pthread_mutex_t armed_lock = PTHREAD_MUTEX_INITIALIZER;

static void lock_armed(void)
{
	pthread_mutex_lock(&armed_lock);
}

static void unlock_armed(void)
{
	pthread_mutex_unlock(&armed_lock);
}

/* POSIX timers and ITIMER_REAL are not inherited by a child; timerfds are. */
static void forked_child(void)
{
	for (int i = 0; i < ARMED; i++)
		if (armed[i].kind != T_FD)
			armed[i].kind = T_FREE;
	pthread_mutex_init(&armed_lock, NULL);
}

static struct armed *find(int kind, int fd, timer_t id)
{
	for (int i = 0; i < ARMED; i++)
		if (armed[i].kind == kind && (kind != T_FD || armed[i].fd == fd) &&
		    (kind != T_POSIX || armed[i].id == id))
			return &armed[i];
	return NULL;
}

/* Records (or forgets, when disarmed) the timer just armed with virtual `v`
 * under namespace parameters `p`.  Called with armed_lock held. */
static void record(int kind, int fd, timer_t id, clockid_t clk, int flags, int absolute,
		   const struct itimerspec *v, const struct tw_params *p)
{
	static int atfork_done;
	struct armed *a = find(kind, fd, id);

	if (kind == T_FD && fd >= 0 && fd < TIMERFDS)
		__atomic_store_n(&fd_canceled[fd], 0, __ATOMIC_RELEASE); /* armed anew */
	if (!v->it_value.tv_sec && !v->it_value.tv_nsec) {
		if (a)
			a->kind = T_FREE;
		return;
	}
	if (!a && !(a = find(T_FREE, 0, 0)))
		return; /* full: this one keeps the plan it was armed with */
	if (!atfork_done) {
		pthread_atfork(lock_armed, unlock_armed, forked_child);
		atfork_done = 1;
	}
	*a = (struct armed){ kind, fd, id, clk, flags, absolute, ns_of(&v->it_interval), *p, 0, 0 };
	tw_watch_start();
}

static void forget(int kind, int fd, timer_t id)
{
	struct armed *a;

	lock_armed();
	if ((a = find(kind, fd, id)))
		a->kind = T_FREE;
	unlock_armed();
}

static int host_get(const struct armed *a, struct itimerspec *cur);
static int host_set(const struct armed *a, int flags, const struct itimerspec *h);

/* Arms `a` for its next expiry at virtual `next` (on `line`, whose host clock
 * reads hnow; the timer's own clock reads tnow) under parameters `now`. */
static void arm_at(struct armed *a, enum tw_line line, int64_t next, const struct tw_params *now,
		   int64_t hnow, int64_t tnow)
{
	int64_t left = tw_sub_sat(next, tw_map(now, line, hnow));
	int64_t hrel = left > 0 ? tw_unscale(left, now->rate) : 1;
	struct itimerspec h;

	h.it_interval = ts_of(tw_unscale(a->interval, now->rate));
	h.it_value = ts_of(a->absolute ? tw_add_sat(tnow, hrel) : hrel);
	if (!host_set(a, a->absolute ? a->flags : 0, &h))
		a->p = *now;
}

/* Whether REALTIME was set (stepped, not only given a new rate) between the
 * parameters `was` and `now`: a rate change rebases it where it was. */
static int realtime_set(const struct tw_params *was, const struct tw_params *now)
{
	return tw_map(was, TW_LINE_REALTIME, now->base[TW_LINE_REALTIME].host) !=
	       now->base[TW_LINE_REALTIME].virt;
}

static int cancels_on_set(const struct armed *a)
{
	return a->kind == T_FD && a->absolute && a->clk == CLOCK_REALTIME &&
	       (a->flags & TFD_TIMER_CANCEL_ON_SET);
}

/* The watcher, after a change: each armed timer's next expiry keeps its virtual
 * instant, found from the host time left under the parameters it was armed
 * with, and is planned again under the new ones.  A TFD_TIMER_CANCEL_ON_SET
 * timerfd whose REALTIME was set is cancelled instead, as the kernel does on a
 * host clock set: made readable at once, and its next read() fails with
 * ECANCELED (then it is armed again for its expiry). */
void tw_timers_rearm(void)
{
	const struct tw_member *m = tw_member_fast();
	struct tw_params now;

	lock_armed();
	tw_read_params(m->page, &now);
	for (int i = 0; i < ARMED; i++) {
		struct armed *a = &armed[i];
		clockid_t on = a->absolute ? a->clk : CLOCK_MONOTONIC;
		int64_t hnow, tnow, rem, next;
		struct itimerspec cur;
		enum tw_line line;

		if (a->kind == T_FREE || a->canceled)
			continue;
		if (host_get(a, &cur) || (!cur.it_value.tv_sec && !cur.it_value.tv_nsec)) {
			a->kind = T_FREE; /* closed, deleted, or a one-shot that fired */
			continue;
		}
		line = (enum tw_line)tw_clock_line(on);
		if (tw_host_ns(m, on, &hnow) || tw_host_ns(m, a->clk, &tnow))
			continue;
		rem = ns_of(&cur.it_value);
		next = tw_add_sat(tw_map(&a->p, line, hnow), a->p.rate ? tw_scale(rem, a->p.rate) : rem);
		if (cancels_on_set(a) && a->fd < TIMERFDS && realtime_set(&a->p, &now)) {
			struct itimerspec soon = { { 0, 0 }, { 0, 1 } };

			a->canceled = 1;
			a->cancel_at = next;
			__atomic_store_n(&fd_canceled[a->fd], 1, __ATOMIC_RELEASE);
			host_set(a, TFD_TIMER_ABSTIME, &soon); /* readable now */
			a->p = now;
			continue;
		}
		arm_at(a, line, next, &now, hnow, tnow);
	}
	unlock_armed();
}

/* read() of a cancelled timerfd: ECANCELED once, and the timer armed again. */
static int take_cancel(int fd)
{
	const struct tw_member *m = tw_member_fast();
	struct tw_params now;
	struct armed *a;
	int64_t hnow;
	int r = 0;

	lock_armed();
	if (__atomic_load_n(&fd_canceled[fd], __ATOMIC_ACQUIRE)) {
		__atomic_store_n(&fd_canceled[fd], 0, __ATOMIC_RELEASE);
		r = 1;
		if ((a = find(T_FD, fd, 0)) && a->canceled) {
			a->canceled = 0;
			tw_read_params(m->page, &now);
			if (!tw_host_ns(m, CLOCK_REALTIME, &hnow))
				arm_at(a, TW_LINE_REALTIME, a->cancel_at, &now, hnow, hnow);
		}
	}
	unlock_armed();
	return r;
}

/* A read of fd that found it cancelled, before or while it waited (the
 * expiry that woke it was the cancellation's). */
static int canceled_read(int fd)
{
	if ((unsigned)fd < TIMERFDS && __atomic_load_n(&fd_canceled[fd], __ATOMIC_ACQUIRE) &&
	    take_cancel(fd)) {
		errno = ECANCELED;
		return 1;
	}
	return 0;
}

static void *next_read, *next___read_chk;

TW_EXPORT ssize_t read(int fd, void *buf, size_t n)
{
	typedef ssize_t fn(int, void *, size_t);
	ssize_t r;

	if (canceled_read(fd))
		return -1;
	r = TW_NEXT(fn *, read)(fd, buf, n);
	return canceled_read(fd) ? -1 : r;
}

/* read() as _FORTIFY_SOURCE compiles it */
TW_EXPORT ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen);
TW_EXPORT ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen)
{
	typedef ssize_t fn(int, void *, size_t, size_t);
	ssize_t r;

	if (canceled_read(fd))
		return -1;
	r = TW_NEXT(fn *, __read_chk)(fd, buf, n, buflen);
	return canceled_read(fd) ? -1 : r;
}

/* ---- timerfd --------------------------------------------------------------- */

/* The clock of each timer file descriptor created here (+1), by number. */
static clockid_t fd_clock[TIMERFDS];
static void *next_timerfd_create;

TW_EXPORT int timerfd_create(clockid_t clk, int flags)
{
	typedef int fn(clockid_t, int);
	int fd = TW_NEXT(fn *, timerfd_create)(clk, flags);

	if (fd >= 0 && fd < TIMERFDS)
		__atomic_store_n(&fd_clock[fd], clk + 1, __ATOMIC_RELAXED);
	return fd;
}

/* The clock of a timer file descriptor: as created here, else as the kernel
 * tells it (a descriptor from elsewhere, or a number beyond the table). */
static clockid_t timerfd_clock(int fd)
{
	char path[64], buf[512], *p;
	ssize_t n;
	int f;

	if (fd >= 0 && fd < TIMERFDS && __atomic_load_n(&fd_clock[fd], __ATOMIC_RELAXED))
		return __atomic_load_n(&fd_clock[fd], __ATOMIC_RELAXED) - 1;
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	if ((f = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	n = read(f, buf, sizeof(buf) - 1);
	close(f);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	p = strstr(buf, "clockid:");
	return p ? (clockid_t)strtol(p + 8, NULL, 10) : -1;
}

TW_EXPORT int timerfd_settime(int fd, int flags, const struct itimerspec *new,
			      struct itimerspec *old)
{
	typedef int fn(int, int, const struct itimerspec *, struct itimerspec *);
	clockid_t clk;
	struct itimerspec h;
	struct tw_params p;
	int r;

	if (!tw_member_fast()->page || !new)
		return TW_NEXT(fn *, timerfd_settime)(fd, flags, new, old);
	clk = timerfd_clock(fd);
	lock_armed();
	if (!to_host(clk, flags & TFD_TIMER_ABSTIME, new, &h, &p)) {
		unlock_armed();
		return TW_NEXT(fn *, timerfd_settime)(fd, flags, new, old);
	}
	r = TW_NEXT(fn *, timerfd_settime)(fd, flags, &h, old);
	if (!r)
		record(T_FD, fd, 0, clk, flags, flags & TFD_TIMER_ABSTIME, new, &p);
	unlock_armed();
	if (!r && old)
		to_virtual(old);
	return r;
}

TW_EXPORT int timerfd_gettime(int fd, struct itimerspec *cur)
{
	typedef int fn(int, struct itimerspec *);
	int r = TW_NEXT(fn *, timerfd_gettime)(fd, cur);

	if (!r && tw_clock_line(timerfd_clock(fd)) >= 0)
		to_virtual(cur);
	return r;
}

/* ---- POSIX timers -------------------------------------------------------- */

/* The clock of each POSIX timer, by glibc's timer id, as created here. */
#define TIMERS 256
static struct {
	timer_t id;
	clockid_t clk;
} timers[TIMERS];

static clockid_t timer_clock(timer_t id)
{
	for (int i = 0; i < TIMERS; i++)
		if (timers[i].clk && timers[i].id == id)
			return timers[i].clk - 1;
	return -1;
}

TW_EXPORT int timer_create(clockid_t clk, struct sigevent *restrict sev, timer_t *restrict id)
{
	typedef int fn(clockid_t, struct sigevent *, timer_t *);
	int r = TW_NEXT(fn *, timer_create)(clk, sev, id);

	if (!r && tw_clock_line(clk) >= 0)
		for (int i = 0; i < TIMERS; i++) {
			clockid_t free_slot = 0;
			if (__atomic_compare_exchange_n(&timers[i].clk, &free_slot, clk + 1, 0,
							__ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
				timers[i].id = *id; /* nobody else knows this id yet */
				break;
			}
		}
	return r;
}

TW_EXPORT int timer_delete(timer_t id)
{
	typedef int fn(timer_t);

	for (int i = 0; i < TIMERS; i++)
		if (timers[i].clk && timers[i].id == id)
			timers[i].clk = 0;
	forget(T_POSIX, 0, id);
	return TW_NEXT(fn *, timer_delete)(id);
}

TW_EXPORT int timer_settime(timer_t id, int flags, const struct itimerspec *restrict new,
			    struct itimerspec *restrict old)
{
	typedef int fn(timer_t, int, const struct itimerspec *, struct itimerspec *);
	clockid_t clk = timer_clock(id);
	struct itimerspec h;
	struct tw_params p;
	int r;

	if (!new)
		return TW_NEXT(fn *, timer_settime)(id, flags, new, old);
	lock_armed();
	if (!to_host(clk, flags & TIMER_ABSTIME, new, &h, &p)) {
		unlock_armed();
		return TW_NEXT(fn *, timer_settime)(id, flags, new, old);
	}
	r = TW_NEXT(fn *, timer_settime)(id, flags, &h, old);
	if (!r)
		record(T_POSIX, 0, id, clk, flags, flags & TIMER_ABSTIME, new, &p);
	unlock_armed();
	if (!r && old)
		to_virtual(old);
	return r;
}

TW_EXPORT int timer_gettime(timer_t id, struct itimerspec *cur)
{
	typedef int fn(timer_t, struct itimerspec *);
	int r = TW_NEXT(fn *, timer_gettime)(id, cur);

	if (!r && timer_clock(id) >= 0)
		to_virtual(cur);
	return r;
}

/* ---- setitimer, getitimer, alarm (ITIMER_REAL) --------------------------- */

static struct itimerspec from_tv(const struct itimerval *v)
{
	return (struct itimerspec){ { v->it_interval.tv_sec, v->it_interval.tv_usec * 1000 },
				    { v->it_value.tv_sec, v->it_value.tv_usec * 1000 } };
}

/* microseconds rounded up: a timer never fires early */
static struct itimerval to_tv(const struct itimerspec *s)
{
	struct itimerval v = { { s->it_interval.tv_sec, (s->it_interval.tv_nsec + 999) / 1000 },
			       { s->it_value.tv_sec, (s->it_value.tv_nsec + 999) / 1000 } };

	if (v.it_interval.tv_usec == 1000000)
		v.it_interval.tv_sec++, v.it_interval.tv_usec = 0;
	if (v.it_value.tv_usec == 1000000)
		v.it_value.tv_sec++, v.it_value.tv_usec = 0;
	return v;
}

/* ITIMER_VIRTUAL and ITIMER_PROF count CPU time: the kernel's. */
TW_EXPORT int setitimer(__itimer_which_t which, const struct itimerval *restrict new,
			struct itimerval *restrict old)
{
	typedef int fn(__itimer_which_t, const struct itimerval *, struct itimerval *);
	struct itimerspec vs, hs;
	struct tw_params p;
	struct itimerval h;
	int r;

	if (which != ITIMER_REAL || !new || new->it_value.tv_usec < 0 ||
	    new->it_value.tv_usec >= 1000000 || new->it_interval.tv_usec < 0 ||
	    new->it_interval.tv_usec >= 1000000)
		return TW_NEXT(fn *, setitimer)(which, new, old);
	vs = from_tv(new);
	lock_armed();
	if (!to_host(CLOCK_REALTIME, 0, &vs, &hs, &p)) {
		unlock_armed();
		return TW_NEXT(fn *, setitimer)(which, new, old);
	}
	h = to_tv(&hs);
	r = TW_NEXT(fn *, setitimer)(which, &h, old);
	if (!r)
		record(T_ITIMER, 0, 0, CLOCK_REALTIME, 0, 0, &vs, &p);
	unlock_armed();
	if (!r && old) {
		vs = from_tv(old);
		to_virtual(&vs);
		*old = to_tv(&vs);
	}
	return r;
}

TW_EXPORT int getitimer(__itimer_which_t which, struct itimerval *cur)
{
	typedef int fn(__itimer_which_t, struct itimerval *);
	int r = TW_NEXT(fn *, getitimer)(which, cur);
	struct itimerspec s;

	if (!r && which == ITIMER_REAL && tw_member_fast()->page) {
		s = from_tv(cur);
		to_virtual(&s);
		*cur = to_tv(&s);
	}
	return r;
}

/* Through setitimer, so that a second at rate 10 is a tenth of one. */
TW_EXPORT unsigned int alarm(unsigned int seconds)
{
	struct itimerval v = { { 0, 0 }, { seconds, 0 } }, old;

	if (setitimer(ITIMER_REAL, &v, &old) < 0)
		return 0;
	/* the seconds left of the previous alarm, rounded to nearest as glibc does,
	 * but never 0 while one is pending */
	return (unsigned int)old.it_value.tv_sec +
	       (old.it_value.tv_usec >= 500000 || (!old.it_value.tv_sec && old.it_value.tv_usec > 0));
}

/* ---- the host timers behind the records ---------------------------------- */

static int host_get(const struct armed *a, struct itimerspec *cur)
{
	typedef int fd_get(int, struct itimerspec *);
	typedef int posix_get(timer_t, struct itimerspec *);
	typedef int it_get(__itimer_which_t, struct itimerval *);
	struct itimerval v;

	switch (a->kind) {
	case T_FD:
		return TW_NEXT(fd_get *, timerfd_gettime)(a->fd, cur);
	case T_POSIX:
		return TW_NEXT(posix_get *, timer_gettime)(a->id, cur);
	default:
		if (TW_NEXT(it_get *, getitimer)(ITIMER_REAL, &v))
			return -1;
		*cur = from_tv(&v);
		return 0;
	}
}

static int host_set(const struct armed *a, int flags, const struct itimerspec *h)
{
	typedef int fd_set_(int, int, const struct itimerspec *, struct itimerspec *);
	typedef int posix_set(timer_t, int, const struct itimerspec *, struct itimerspec *);
	typedef int it_set(__itimer_which_t, const struct itimerval *, struct itimerval *);
	struct itimerval v;

	switch (a->kind) {
	case T_FD:
		return TW_NEXT(fd_set_ *, timerfd_settime)(a->fd, flags, h, NULL);
	case T_POSIX:
		return TW_NEXT(posix_set *, timer_settime)(a->id, flags, h, NULL);
	default:
		v = to_tv(h);
		return TW_NEXT(it_set *, setitimer)(ITIMER_REAL, &v, NULL);
	}
}
