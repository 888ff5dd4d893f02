/* Relative timeouts handed to the kernel (poll, ppoll, select, pselect,
 * epoll_wait, epoll_pwait, epoll_pwait2, sigtimedwait, semtimedop): a duration
 * d is virtual time and takes d / R of host time (DESIGN section 2).  At rate 1,
 * and when frozen (the virtual time left elapses at host speed), d is the host
 * time already, and the call goes to libc untouched.
 *
 * These are planned once per call: a change of the namespace while they wait
 * takes effect at the caller's next call. */
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

/* The rate to divide durations by, or 0 when they need no change. */
static uint64_t divisor(void)
{
	const struct tw_member *m = tw_member_fast();
	struct tw_params p;

	if (!m->page)
		return 0;
	tw_read_params(m->page, &p);
	return p.rate == TW_RATE_ONE ? 0 : p.rate;
}

static struct timespec host_ts(const struct timespec *v, uint64_t rate)
{
	struct tw_ts h;

	if (v->tv_sec < 0 || v->tv_nsec < 0 || v->tv_nsec >= 1000000000L)
		return *v; /* the kernel's to refuse */
	h = tw_ns_ts(tw_unscale(tw_ts_ns((const struct tw_ts *)v), rate));
	return (struct timespec){ h.sec, h.nsec };
}

/* Milliseconds, rounded up so a wait never ends early; negative is "forever". */
static int host_ms(int ms, uint64_t rate)
{
	int64_t ns;

	if (ms <= 0)
		return ms;
	ns = tw_unscale((int64_t)ms * 1000000, rate);
	return ns / 1000000 >= INT_MAX ? INT_MAX : (int)((ns + 999999) / 1000000);
}


static void *next_poll, *next_ppoll, *next_select, *next_pselect, *next_epoll_wait,
	*next_epoll_pwait, *next_epoll_pwait2, *next_sigtimedwait, *next_semtimedop;

TW_EXPORT int poll(struct pollfd *fds, nfds_t n, int ms)
{
	typedef int fn(struct pollfd *, nfds_t, int);
	uint64_t rate = divisor();

	return TW_NEXT(fn *, poll)(fds, n, rate ? host_ms(ms, rate) : ms);
}

TW_EXPORT int ppoll(struct pollfd *fds, nfds_t n, const struct timespec *tmo,
		    const sigset_t *mask)
{
	typedef int fn(struct pollfd *, nfds_t, const struct timespec *, const sigset_t *);
	uint64_t rate = divisor();
	struct timespec h;

	if (!rate || !tmo)
		return TW_NEXT(fn *, ppoll)(fds, n, tmo, mask);
	h = host_ts(tmo, rate);
	return TW_NEXT(fn *, ppoll)(fds, n, &h, mask);
}

/* Linux writes the time left back into select's timeval: virtual, as the
 * caller gave it. */
TW_EXPORT int select(int n, fd_set *restrict r, fd_set *restrict w, fd_set *restrict e,
		     struct timeval *restrict tv)
{
	typedef int fn(int, fd_set *, fd_set *, fd_set *, struct timeval *);
	uint64_t rate = divisor();
	struct timeval h;
	int64_t ns;
	int ret;

	if (!rate || !tv || tv->tv_sec < 0 || tv->tv_usec < 0 || tv->tv_usec >= 1000000)
		return TW_NEXT(fn *, select)(n, r, w, e, tv);
	ns = tw_unscale((int64_t)tv->tv_sec * 1000000000 + tv->tv_usec * 1000, rate);
	h.tv_sec = ns / 1000000000;
	h.tv_usec = (ns % 1000000000 + 999) / 1000;
	ret = TW_NEXT(fn *, select)(n, r, w, e, &h);
	ns = tw_scale((int64_t)h.tv_sec * 1000000000 + h.tv_usec * 1000, rate);
	tv->tv_sec = ns / 1000000000;
	tv->tv_usec = ns % 1000000000 / 1000;
	return ret;
}

TW_EXPORT int pselect(int n, fd_set *restrict r, fd_set *restrict w, fd_set *restrict e,
		      const struct timespec *restrict tmo, const sigset_t *restrict mask)
{
	typedef int fn(int, fd_set *, fd_set *, fd_set *, const struct timespec *,
		       const sigset_t *);
	uint64_t rate = divisor();
	struct timespec h;

	if (!rate || !tmo)
		return TW_NEXT(fn *, pselect)(n, r, w, e, tmo, mask);
	h = host_ts(tmo, rate);
	return TW_NEXT(fn *, pselect)(n, r, w, e, &h, mask);
}

TW_EXPORT int epoll_wait(int fd, struct epoll_event *ev, int max, int ms)
{
	typedef int fn(int, struct epoll_event *, int, int);
	uint64_t rate = divisor();

	return TW_NEXT(fn *, epoll_wait)(fd, ev, max, rate ? host_ms(ms, rate) : ms);
}

TW_EXPORT int epoll_pwait(int fd, struct epoll_event *ev, int max, int ms, const sigset_t *mask)
{
	typedef int fn(int, struct epoll_event *, int, int, const sigset_t *);
	uint64_t rate = divisor();

	return TW_NEXT(fn *, epoll_pwait)(fd, ev, max, rate ? host_ms(ms, rate) : ms, mask);
}

TW_EXPORT int epoll_pwait2(int fd, struct epoll_event *ev, int max, const struct timespec *tmo,
			   const sigset_t *mask);
TW_EXPORT int epoll_pwait2(int fd, struct epoll_event *ev, int max, const struct timespec *tmo,
			   const sigset_t *mask)
{
	typedef int fn(int, struct epoll_event *, int, const struct timespec *, const sigset_t *);
	uint64_t rate = divisor();
	struct timespec h;

	if (!rate || !tmo)
		return TW_NEXT(fn *, epoll_pwait2)(fd, ev, max, tmo, mask);
	h = host_ts(tmo, rate);
	return TW_NEXT(fn *, epoll_pwait2)(fd, ev, max, &h, mask);
}

TW_EXPORT int sigtimedwait(const sigset_t *restrict set, siginfo_t *restrict info,
			   const struct timespec *restrict tmo)
{
	typedef int fn(const sigset_t *, siginfo_t *, const struct timespec *);
	uint64_t rate = divisor();
	struct timespec h;

	if (!rate || !tmo)
		return TW_NEXT(fn *, sigtimedwait)(set, info, tmo);
	h = host_ts(tmo, rate);
	return TW_NEXT(fn *, sigtimedwait)(set, info, &h);
}

TW_EXPORT int semtimedop(int id, struct sembuf *ops, size_t n, const struct timespec *tmo)
{
	typedef int fn(int, struct sembuf *, size_t, const struct timespec *);
	uint64_t rate = divisor();
	struct timespec h;

	if (!rate || !tmo)
		return TW_NEXT(fn *, semtimedop)(id, ops, n, tmo);
	h = host_ts(tmo, rate);
	return TW_NEXT(fn *, semtimedop)(id, ops, n, &h);
}
