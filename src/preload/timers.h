/* Shared by timers.c (the interposed timer entry points) and armed.c (the
 * armed timers, re-armed after every change of the namespace). */
#ifndef TW_TIMERS_H
#define TW_TIMERS_H

#include <sys/time.h>
#include <time.h>

#include "clockmath.h"

/* What a record is of: a timer file descriptor, a POSIX timer, ITIMER_REAL. */
enum { T_FREE, T_FD, T_POSIX, T_ITIMER };

/* Timer file descriptors are known by number below this. */
#define TW_TIMERFDS 4096

/* Held around arming a timer and recording it, so the watcher's re-arming
 * sees either neither or both. */
void tw_armed_lock(void);
void tw_armed_unlock(void);
/* Records (or forgets, when `v` disarms it) the timer just armed with virtual
 * `v` on clock `clk` with `flags`, under namespace parameters `p`.  With
 * tw_armed_lock held. */
void tw_armed_record(int kind, int fd, timer_t id, clockid_t clk, int flags, int absolute,
		     const struct itimerspec *v, const struct tw_params *p);
void tw_armed_forget(int kind, int fd, timer_t id);
/* Field `key` ("clockid:", "ticks:") of timer file descriptor `fd`, as
 * /proc/self/fdinfo tells it; 0, or -1 if there is none.  Read by system
 * call: this library's read() may take the armed timers' lock. */
int tw_timerfd_info(int fd, const char *key, long long *value);
/* A new timer file descriptor `fd`: nothing left from the last one by that number. */
void tw_armed_new_fd(int fd);

static inline int64_t ns_of(const struct timespec *t)
{
	return tw_ts_ns_sat((const struct tw_ts *)t);
}

static inline struct timespec ts_of(int64_t ns)
{
	struct tw_ts t = tw_ns_ts(ns);

	return (struct timespec){ t.sec, t.nsec };
}

static inline struct itimerspec from_tv(const struct itimerval *v)
{
	return (struct itimerspec){ { v->it_interval.tv_sec, v->it_interval.tv_usec * 1000 },
				    { v->it_value.tv_sec, v->it_value.tv_usec * 1000 } };
}

/* microseconds rounded up: a timer never fires early */
static inline struct itimerval to_tv(const struct itimerspec *s)
{
	struct itimerval v = { { s->it_interval.tv_sec, (s->it_interval.tv_nsec + 999) / 1000 },
			       { s->it_value.tv_sec, (s->it_value.tv_nsec + 999) / 1000 } };

	if (v.it_interval.tv_usec == 1000000)
		v.it_interval.tv_sec++, v.it_interval.tv_usec = 0;
	if (v.it_value.tv_usec == 1000000)
		v.it_value.tv_sec++, v.it_value.tv_usec = 0;
	return v;
}

#endif
