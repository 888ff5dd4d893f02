/* Relative timeouts handed to the kernel (poll, ppoll, select, pselect,
 * epoll_wait, epoll_pwait, epoll_pwait2, sigtimedwait, semtimedop): a duration
 * d is virtual time (DESIGN section 2).  The wait ends when the namespace's
 * MONOTONIC clock has gone d on from the call: d / R of host time, or d when
 * frozen, planned again when the namespace changes (the watcher's signal ends
 * the host wait early, see watch.c).  A zero timeout (a readiness check) and
 * none at all (wait for ever) go to libc untouched, as does semtimedop with
 * IPC_NOWAIT. */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/sem.h>
#include <time.h>

#include "clockmath.h"
#include "preload.h"
#include "waits.h"

/* The wrapped call, made with a host timeout of `ns` (>= 0); its result in r
 * and errno in e. */
struct call {
	int (*make)(struct call *c, int64_t ns);
	long r;
	int e;
	int timeout_errno; /* 0: a timeout returns 0; else -1 with this errno */
	const void *args;
};

static enum tw_try try_call(void *p, const struct tw_plan *pl)
{
	struct call *c = p;
	int64_t ns = pl->host_at - pl->host_now;

	c->r = c->make(c, ns > 0 ? ns : 0);
	c->e = errno;
	if (c->r < 0)
		return c->e == EINTR ? TW_TRY_INTR
		       : c->timeout_errno && c->e == c->timeout_errno ? TW_TRY_TIMEOUT : TW_TRY_DONE;
	return c->r == 0 && !c->timeout_errno ? TW_TRY_TIMEOUT : TW_TRY_DONE;
}

/* Makes call `c` with virtual timeout `d` ns (> 0); 0 if it was made, -1 if it
 * is not for timewarp (not a member): the caller makes it unchanged. */
static int timed(struct call *c, int64_t d, int64_t *left, int kick)
{
	const struct tw_member *m = tw_member_fast();
	int64_t now, deadline;

	if (!m->page || tw_virtual_ns(m, CLOCK_MONOTONIC, &now))
		return -1;
	deadline = tw_add_sat(now, d);
	tw_wait(CLOCK_MONOTONIC, deadline, CLOCK_MONOTONIC, kick, NULL, 0, try_call, c);
	if (left && !tw_virtual_ns(m, CLOCK_MONOTONIC, &now))
		*left = now < deadline ? deadline - now : 0;
	if (c->r < 0)
		errno = c->e;
	return 0;
}

static int64_t ts_ns(const struct timespec *t)
{
	return tw_ts_ns_sat((const struct tw_ts *)t);
}

static struct timespec ns_ts(int64_t ns)
{
	struct tw_ts t = tw_ns_ts(ns);

	return (struct timespec){ t.sec, t.nsec };
}

/* A timeout timewarp converts: > 0 and well formed (else the kernel's to
 * judge, or nothing to convert). */
static int positive_ts(const struct timespec *t)
{
	return t && t->tv_sec >= 0 && t->tv_nsec >= 0 && t->tv_nsec < 1000000000L &&
	       (t->tv_sec || t->tv_nsec);
}

/* Milliseconds, rounded up so a wait never ends early. */
static int ms_of(int64_t ns)
{
	return ns / 1000000 >= INT_MAX ? INT_MAX : (int)((ns + 999999) / 1000000);
}

/* How the watcher can end a wait made with signal mask `mask` (null: the
 * thread's own). */
static int kick_with(const sigset_t *mask)
{
	int k = tw_kick_signal();

	if (!mask)
		return TW_KICK_SIGNAL;
	return k && !sigismember(mask, k) ? TW_KICK_SIGNAL_OPEN : TW_KICK_NONE;
}

static void *next_poll, *next_ppoll, *next_select, *next_pselect, *next_epoll_wait,
	*next_epoll_pwait, *next_epoll_pwait2, *next_sigtimedwait, *next_semtimedop;

/* ---- poll, ppoll ---- */

struct poll_args {
	struct pollfd *fds;
	nfds_t n;
	const sigset_t *mask;
};

static int make_poll(struct call *c, int64_t ns)
{
	typedef int fn(struct pollfd *, nfds_t, int);
	const struct poll_args *a = c->args;

	return TW_NEXT(fn *, poll)(a->fds, a->n, ms_of(ns));
}

TW_EXPORT int poll(struct pollfd *fds, nfds_t n, int ms)
{
	typedef int fn(struct pollfd *, nfds_t, int);
	struct poll_args a = { fds, n, NULL };
	struct call c = { make_poll, 0, 0, 0, &a };

	if (ms <= 0 || timed(&c, (int64_t)ms * 1000000, NULL, TW_KICK_SIGNAL))
		return TW_NEXT(fn *, poll)(fds, n, ms);
	return (int)c.r;
}

static int make_ppoll(struct call *c, int64_t ns)
{
	typedef int fn(struct pollfd *, nfds_t, const struct timespec *, const sigset_t *);
	const struct poll_args *a = c->args;
	struct timespec t = ns_ts(ns);

	return TW_NEXT(fn *, ppoll)(a->fds, a->n, &t, a->mask);
}

TW_EXPORT int ppoll(struct pollfd *fds, nfds_t n, const struct timespec *tmo,
		    const sigset_t *mask)
{
	typedef int fn(struct pollfd *, nfds_t, const struct timespec *, const sigset_t *);
	struct poll_args a = { fds, n, mask };
	struct call c = { make_ppoll, 0, 0, 0, &a };

	if (!positive_ts(tmo) || timed(&c, ts_ns(tmo), NULL, kick_with(mask)))
		return TW_NEXT(fn *, ppoll)(fds, n, tmo, mask);
	return (int)c.r;
}

/* ---- select, pselect ---- */

struct select_args {
	int n;
	fd_set *r, *w, *e;
	fd_set rs, ws, es; /* the caller's sets, for each try */
	const sigset_t *mask;
};

static void select_sets(struct select_args *a)
{
	if (a->r)
		*a->r = a->rs;
	if (a->w)
		*a->w = a->ws;
	if (a->e)
		*a->e = a->es;
}

static int make_select(struct call *c, int64_t ns)
{
	typedef int fn(int, fd_set *, fd_set *, fd_set *, struct timeval *);
	struct select_args *a = (struct select_args *)c->args;
	struct timeval tv = { ns / 1000000000, (ns % 1000000000 + 999) / 1000 };

	if (tv.tv_usec == 1000000)
		tv.tv_sec++, tv.tv_usec = 0;
	select_sets(a);
	return TW_NEXT(fn *, select)(a->n, a->r, a->w, a->e, &tv);
}

static void save_sets(struct select_args *a)
{
	if (a->r)
		a->rs = *a->r;
	if (a->w)
		a->ws = *a->w;
	if (a->e)
		a->es = *a->e;
}

/* Linux writes the time left back into select's timeval: virtual, as the
 * caller gave it. */
TW_EXPORT int select(int n, fd_set *restrict r, fd_set *restrict w, fd_set *restrict e,
		     struct timeval *restrict tv)
{
	typedef int fn(int, fd_set *, fd_set *, fd_set *, struct timeval *);
	struct select_args a = { .n = n, .r = r, .w = w, .e = e };
	struct call c = { make_select, 0, 0, 0, &a };
	int64_t left;

	if (!tv || tv->tv_sec < 0 || tv->tv_usec < 0 || tv->tv_usec >= 1000000 ||
	    (!tv->tv_sec && !tv->tv_usec))
		return TW_NEXT(fn *, select)(n, r, w, e, tv);
	save_sets(&a);
	if (timed(&c, tw_ts_ns_sat(&(struct tw_ts){ tv->tv_sec, tv->tv_usec * 1000 }), &left,
		  TW_KICK_SIGNAL))
		return TW_NEXT(fn *, select)(n, r, w, e, tv);
	tv->tv_sec = left / 1000000000;
	tv->tv_usec = left % 1000000000 / 1000;
	return (int)c.r;
}

static int make_pselect(struct call *c, int64_t ns)
{
	typedef int fn(int, fd_set *, fd_set *, fd_set *, const struct timespec *,
		       const sigset_t *);
	struct select_args *a = (struct select_args *)c->args;
	struct timespec t = ns_ts(ns);

	select_sets(a);
	return TW_NEXT(fn *, pselect)(a->n, a->r, a->w, a->e, &t, a->mask);
}

TW_EXPORT int pselect(int n, fd_set *restrict r, fd_set *restrict w, fd_set *restrict e,
		      const struct timespec *restrict tmo, const sigset_t *restrict mask)
{
	typedef int fn(int, fd_set *, fd_set *, fd_set *, const struct timespec *,
		       const sigset_t *);
	struct select_args a = { .n = n, .r = r, .w = w, .e = e, .mask = mask };
	struct call c = { make_pselect, 0, 0, 0, &a };

	if (!positive_ts(tmo))
		return TW_NEXT(fn *, pselect)(n, r, w, e, tmo, mask);
	save_sets(&a);
	if (timed(&c, ts_ns(tmo), NULL, kick_with(mask)))
		return TW_NEXT(fn *, pselect)(n, r, w, e, tmo, mask);
	return (int)c.r;
}

/* ---- epoll ---- */

struct epoll_args {
	int fd;
	struct epoll_event *ev;
	int max;
	const sigset_t *mask;
};

static int make_epoll_wait(struct call *c, int64_t ns)
{
	typedef int fn(int, struct epoll_event *, int, int);
	const struct epoll_args *a = c->args;

	return TW_NEXT(fn *, epoll_wait)(a->fd, a->ev, a->max, ms_of(ns));
}

TW_EXPORT int epoll_wait(int fd, struct epoll_event *ev, int max, int ms)
{
	typedef int fn(int, struct epoll_event *, int, int);
	struct epoll_args a = { fd, ev, max, NULL };
	struct call c = { make_epoll_wait, 0, 0, 0, &a };

	if (ms <= 0 || timed(&c, (int64_t)ms * 1000000, NULL, TW_KICK_SIGNAL))
		return TW_NEXT(fn *, epoll_wait)(fd, ev, max, ms);
	return (int)c.r;
}

static int make_epoll_pwait(struct call *c, int64_t ns)
{
	typedef int fn(int, struct epoll_event *, int, int, const sigset_t *);
	const struct epoll_args *a = c->args;

	return TW_NEXT(fn *, epoll_pwait)(a->fd, a->ev, a->max, ms_of(ns), a->mask);
}

TW_EXPORT int epoll_pwait(int fd, struct epoll_event *ev, int max, int ms, const sigset_t *mask)
{
	typedef int fn(int, struct epoll_event *, int, int, const sigset_t *);
	struct epoll_args a = { fd, ev, max, mask };
	struct call c = { make_epoll_pwait, 0, 0, 0, &a };

	if (ms <= 0 || timed(&c, (int64_t)ms * 1000000, NULL, kick_with(mask)))
		return TW_NEXT(fn *, epoll_pwait)(fd, ev, max, ms, mask);
	return (int)c.r;
}

TW_EXPORT int epoll_pwait2(int fd, struct epoll_event *ev, int max, const struct timespec *tmo,
			   const sigset_t *mask);

static int make_epoll_pwait2(struct call *c, int64_t ns)
{
	typedef int fn(int, struct epoll_event *, int, const struct timespec *, const sigset_t *);
	const struct epoll_args *a = c->args;
	struct timespec t = ns_ts(ns);

	return TW_NEXT(fn *, epoll_pwait2)(a->fd, a->ev, a->max, &t, a->mask);
}

TW_EXPORT int epoll_pwait2(int fd, struct epoll_event *ev, int max, const struct timespec *tmo,
			   const sigset_t *mask)
{
	typedef int fn(int, struct epoll_event *, int, const struct timespec *, const sigset_t *);
	struct epoll_args a = { fd, ev, max, mask };
	struct call c = { make_epoll_pwait2, 0, 0, 0, &a };

	if (!positive_ts(tmo) || timed(&c, ts_ns(tmo), NULL, kick_with(mask)))
		return TW_NEXT(fn *, epoll_pwait2)(fd, ev, max, tmo, mask);
	return (int)c.r;
}

/* ---- sigtimedwait, semtimedop: -1 and EAGAIN when the time is up ---- */

struct sigwait_args {
	const sigset_t *set;
	siginfo_t *info;
};

static int make_sigtimedwait(struct call *c, int64_t ns)
{
	typedef int fn(const sigset_t *, siginfo_t *, const struct timespec *);
	const struct sigwait_args *a = c->args;
	struct timespec t = ns_ts(ns);

	return TW_NEXT(fn *, sigtimedwait)(a->set, a->info, &t);
}

TW_EXPORT int sigtimedwait(const sigset_t *restrict set, siginfo_t *restrict info,
			   const struct timespec *restrict tmo)
{
	typedef int fn(const sigset_t *, siginfo_t *, const struct timespec *);
	struct sigwait_args a = { set, info };
	struct call c = { make_sigtimedwait, 0, 0, EAGAIN, &a };

	/* a kick must not be what it returns: no kicks if it waits for that signal */
	if (!positive_ts(tmo) ||
	    timed(&c, ts_ns(tmo), NULL,
		  tw_kick_signal() && sigismember(set, tw_kick_signal()) ? TW_KICK_NONE
									 : TW_KICK_SIGNAL))
		return TW_NEXT(fn *, sigtimedwait)(set, info, tmo);
	return (int)c.r;
}

struct semop_args {
	int id;
	struct sembuf *ops;
	size_t n;
};

static int make_semtimedop(struct call *c, int64_t ns)
{
	typedef int fn(int, struct sembuf *, size_t, const struct timespec *);
	const struct semop_args *a = c->args;
	struct timespec t = ns_ts(ns);

	return TW_NEXT(fn *, semtimedop)(a->id, a->ops, a->n, &t);
}

/* IPC_NOWAIT: an answer at once, whatever the timeout */
static int no_wait(const struct sembuf *ops, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (ops[i].sem_flg & IPC_NOWAIT)
			return 1;
	return 0;
}

TW_EXPORT int semtimedop(int id, struct sembuf *ops, size_t n, const struct timespec *tmo)
{
	typedef int fn(int, struct sembuf *, size_t, const struct timespec *);
	struct semop_args a = { id, ops, n };
	struct call c = { make_semtimedop, 0, 0, EAGAIN, &a };

	if (!positive_ts(tmo) || no_wait(ops, n) || timed(&c, ts_ns(tmo), NULL, TW_KICK_SIGNAL))
		return TW_NEXT(fn *, semtimedop)(id, ops, n, tmo);
	return (int)c.r;
}
