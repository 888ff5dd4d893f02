/* Timers under a virtual clock (DESIGN section 2): timerfd_settime and
 * timerfd_gettime, timer_settime and timer_gettime, setitimer and getitimer
 * (ITIMER_REAL), alarm.  Arming converts the virtual expiry to the host timer on
 * the same host clock (an absolute one to the host instant the namespace's clock
 * reaches it, a relative one and the interval to d / R of host time, d when
 * frozen); the times read back are virtual again.
 *
 * Each timer armed here is recorded (armed.c), so that it is re-armed after a
 * change of the namespace. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "clockmath.h"
#include "preload.h"
#include "read.h"
#include "timers.h"
#include "waits.h"

static void *next_timerfd_settime, *next_timerfd_gettime,
	*next_timer_create, *next_timer_settime, *next_timer_gettime, *next_setitimer,
	*next_getitimer, *next_timer_delete;

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

/* ---- timerfd --------------------------------------------------------------- */

/* The clock of each timer file descriptor created here (+1), by number. */
static clockid_t fd_clock[TW_TIMERFDS];
static void *next_timerfd_create;

TW_EXPORT int timerfd_create(clockid_t clk, int flags)
{
	typedef int fn(clockid_t, int);
	int fd = TW_NEXT(fn *, timerfd_create)(clk, flags);

	if (fd >= 0 && fd < TW_TIMERFDS) {
		__atomic_store_n(&fd_clock[fd], clk + 1, __ATOMIC_RELAXED);
		tw_armed_new_fd(fd);
	}
	return fd;
}

/* The clock of a timer file descriptor: as created here, else as the kernel
 * tells it (a descriptor from elsewhere, or a number beyond the table). */
static clockid_t timerfd_clock(int fd)
{
	long long clk;

	if (fd >= 0 && fd < TW_TIMERFDS && __atomic_load_n(&fd_clock[fd], __ATOMIC_RELAXED))
		return __atomic_load_n(&fd_clock[fd], __ATOMIC_RELAXED) - 1;
	return tw_timerfd_info(fd, "clockid:", &clk) ? -1 : (clockid_t)clk;
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
	tw_armed_lock();
	if (!to_host(clk, flags & TFD_TIMER_ABSTIME, new, &h, &p)) {
		tw_armed_unlock();
		return TW_NEXT(fn *, timerfd_settime)(fd, flags, new, old);
	}
	r = TW_NEXT(fn *, timerfd_settime)(fd, flags, &h, old);
	if (!r)
		tw_armed_record(T_FD, fd, 0, clk, flags, flags & TFD_TIMER_ABSTIME, new, &p);
	tw_armed_unlock();
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

#define CLAIMED (-100) /* a slot being filled in */
static int atfork_done;

static clockid_t timer_clock(timer_t id)
{
	for (int i = 0; i < TIMERS; i++) {
		clockid_t c = __atomic_load_n(&timers[i].clk, __ATOMIC_ACQUIRE);
		if (c > 0 && timers[i].id == id)
			return c - 1;
	}
	return -1;
}

/* A child has none of its parent's POSIX timers (and reuses their ids). */
static void forget_timers(void)
{
	memset(timers, 0, sizeof(timers));
}

TW_EXPORT int timer_create(clockid_t clk, struct sigevent *restrict sev, timer_t *restrict id)
{
	typedef int fn(clockid_t, struct sigevent *, timer_t *);
	int r = TW_NEXT(fn *, timer_create)(clk, sev, id);

	if (!r && tw_clock_line(clk) >= 0) {
		if (!__atomic_exchange_n(&atfork_done, 1, __ATOMIC_ACQ_REL))
			pthread_atfork(NULL, NULL, forget_timers);
		for (int i = 0; i < TIMERS; i++) {
			clockid_t free_slot = 0;
			/* claimed with a clock no lookup matches, then the id, then
			 * the clock: a lookup never pairs this id with another's clock */
			if (__atomic_compare_exchange_n(&timers[i].clk, &free_slot, CLAIMED, 0,
							__ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
				timers[i].id = *id;
				__atomic_store_n(&timers[i].clk, clk + 1, __ATOMIC_RELEASE);
				break;
			}
		}
	}
	return r;
}

TW_EXPORT int timer_delete(timer_t id)
{
	typedef int fn(timer_t);

	for (int i = 0; i < TIMERS; i++)
		if (__atomic_load_n(&timers[i].clk, __ATOMIC_ACQUIRE) > 0 && timers[i].id == id)
			__atomic_store_n(&timers[i].clk, 0, __ATOMIC_RELEASE);
	tw_armed_forget(T_POSIX, 0, id);
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
	tw_armed_lock();
	if (!to_host(clk, flags & TIMER_ABSTIME, new, &h, &p)) {
		tw_armed_unlock();
		return TW_NEXT(fn *, timer_settime)(id, flags, new, old);
	}
	r = TW_NEXT(fn *, timer_settime)(id, flags, &h, old);
	if (!r)
		tw_armed_record(T_POSIX, 0, id, clk, flags, flags & TIMER_ABSTIME, new, &p);
	tw_armed_unlock();
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
	tw_armed_lock();
	if (!to_host(CLOCK_REALTIME, 0, &vs, &hs, &p)) {
		tw_armed_unlock();
		return TW_NEXT(fn *, setitimer)(which, new, old);
	}
	h = to_tv(&hs);
	r = TW_NEXT(fn *, setitimer)(which, &h, old);
	if (!r)
		tw_armed_record(T_ITIMER, 0, 0, CLOCK_REALTIME, 0, 0, &vs, &p);
	tw_armed_unlock();
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

