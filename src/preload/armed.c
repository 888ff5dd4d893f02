/* The armed timers of a member (DESIGN section 2): each timerfd, POSIX timer
 * and ITIMER_REAL armed through timers.c is recorded with the namespace as it
 * was when armed.  After a change the watcher (watch.c) re-arms each against
 * the new clocks: its next expiry keeps its virtual instant (on its own clock
 * if armed absolute, on MONOTONIC if relative), so advancing past it fires it,
 * setting the clock back delays it, and a new rate rescales what is left and
 * the interval.  TFD_TIMER_CANCEL_ON_SET timerfds are cancelled when the
 * namespace's REALTIME is set: read() then fails with ECANCELED. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <unistd.h>

#ifndef TFD_IOC_SET_TICKS
#define TFD_IOC_SET_TICKS _IOW('T', 0, uint64_t)
#endif

#include "preload.h"
#include "timers.h"
#include "waits.h"

static void *next_timerfd_settime, *next_timerfd_gettime, *next_timer_settime,
	*next_timer_gettime, *next_setitimer, *next_getitimer;

/* Per timer file descriptor: cancelled by a set of REALTIME, for read(). */
static unsigned char fd_canceled[TW_TIMERFDS];

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

void tw_armed_lock(void)
{
	pthread_mutex_lock(&armed_lock);
}

void tw_armed_unlock(void)
{
	pthread_mutex_unlock(&armed_lock);
}

/* POSIX timers and ITIMER_REAL are not inherited by a child; timerfds are,
 * but the process that armed one re-arms it (twice would apply a change twice). */
static void forked_child(void)
{
	for (int i = 0; i < ARMED; i++)
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

void tw_armed_record(int kind, int fd, timer_t id, clockid_t clk, int flags, int absolute,
		   const struct itimerspec *v, const struct tw_params *p)
{
	static int atfork_done;
	struct armed *a = find(kind, fd, id);

	if (kind == T_FD && fd >= 0 && fd < TW_TIMERFDS)
		__atomic_store_n(&fd_canceled[fd], 0, __ATOMIC_RELEASE); /* armed anew */
	if (!v->it_value.tv_sec && !v->it_value.tv_nsec) {
		if (a)
			a->kind = T_FREE;
		return;
	}
	if (!a && !(a = find(T_FREE, 0, 0)))
		return; /* full: this one keeps the plan it was armed with */
	if (!atfork_done) {
		pthread_atfork(tw_armed_lock, tw_armed_unlock, forked_child);
		atfork_done = 1;
	}
	*a = (struct armed){ kind, fd, id, clk, flags, absolute, ns_of(&v->it_interval), *p, 0, 0 };
	tw_watch_start();
}

void tw_armed_forget(int kind, int fd, timer_t id)
{
	struct armed *a;

	tw_armed_lock();
	if ((a = find(kind, fd, id)))
		a->kind = T_FREE;
	tw_armed_unlock();
}

static int host_get(const struct armed *a, struct itimerspec *cur);
static int host_set(const struct armed *a, int flags, const struct itimerspec *h);

void tw_armed_new_fd(int fd)
{
	if (fd >= 0 && fd < TW_TIMERFDS)
		__atomic_store_n(&fd_canceled[fd], 0, __ATOMIC_RELEASE);
}

/* Arms `a` for its next expiry at virtual `next` (on `line`, whose host clock
 * reads hnow; the timer's own clock reads tnow) under parameters `now`. */
int tw_timerfd_info(int fd, const char *key, long long *value)
{
	char path[64], buf[512], *p;
	long n;
	int f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	if ((f = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	n = tw_syscall6(SYS_read, f, (long)buf, sizeof(buf) - 1, 0, 0, 0);
	close(f);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	if (!(p = strstr(buf, key)))
		return -1;
	*value = strtoll(p + strlen(key), NULL, 10);
	return 0;
}

/* Expirations of timerfd `fd` not yet read. */
static uint64_t fd_ticks(int fd)
{
	long long ticks;

	return tw_timerfd_info(fd, "ticks:", &ticks) || ticks < 0 ? 0 : (uint64_t)ticks;
}

static void arm_at(struct armed *a, enum tw_line line, int64_t next, const struct tw_params *now,
		   int64_t hnow, int64_t tnow)
{
	int64_t left = tw_sub_sat(next, tw_map(now, line, hnow));
	int64_t hrel = left > 0 ? tw_unscale(left, now->rate) : 1;
	struct itimerspec h;

	uint64_t ticks = 0;

	/* Setting a timerfd clears the expirations not yet read; the kernel can
	 * put them back (TFD_IOC_SET_TICKS).  Where it cannot, the timer keeps its
	 * plan rather than lose them. */
	if (a->kind == T_FD && (ticks = fd_ticks(a->fd)) &&
	    ioctl(a->fd, TFD_IOC_SET_TICKS, &ticks))
		return;
	h.it_interval = ts_of(tw_unscale(a->interval, now->rate));
	h.it_value = ts_of(a->absolute ? tw_add_sat(tnow, hrel) : hrel);
	if (!host_set(a, a->absolute ? a->flags : 0, &h))
		a->p = *now;
	if (ticks)
		ioctl(a->fd, TFD_IOC_SET_TICKS, &ticks);
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

	tw_armed_lock();
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
		if (cancels_on_set(a) && a->fd < TW_TIMERFDS && realtime_set(&a->p, &now)) {
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
	tw_armed_unlock();
}

/* read() of a cancelled timerfd: ECANCELED once, and the timer armed again. */
static int take_cancel(int fd)
{
	const struct tw_member *m = tw_member_fast();
	struct tw_params now;
	struct armed *a;
	int64_t hnow;
	int r = 0;

	tw_armed_lock();
	if (__atomic_load_n(&fd_canceled[fd], __ATOMIC_ACQUIRE)) {
		__atomic_store_n(&fd_canceled[fd], 0, __ATOMIC_RELEASE);
		/* still that timer: the program may have closed it unread and the
		 * number gone to another file */
		r = (a = find(T_FD, fd, 0)) && a->canceled && !host_get(a, &(struct itimerspec){ 0 });
		if (r) {
			a->canceled = 0;
			tw_read_params(m->page, &now);
			if (!tw_host_ns(m, CLOCK_REALTIME, &hnow))
				arm_at(a, TW_LINE_REALTIME, a->cancel_at, &now, hnow, hnow);
		}
	}
	tw_armed_unlock();
	return r;
}

/* A read of fd that found it cancelled, before or while it waited (the
 * expiry that woke it was the cancellation's). */
static int canceled_read(int fd)
{
	if ((unsigned)fd < TW_TIMERFDS && __atomic_load_n(&fd_canceled[fd], __ATOMIC_ACQUIRE) &&
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
