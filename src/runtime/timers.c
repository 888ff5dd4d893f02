/* Timers under a virtual clock (DESIGN section 2): timer_settime and
 * timer_gettime, timerfd_settime and timerfd_gettime, setitimer and getitimer
 * (ITIMER_REAL), alarm.  Arming converts the virtual expiry to the host timer
 * on the same host clock (an absolute one to the host instant the namespace's
 * clock reaches it, a relative one and the interval to d / R of host time, d
 * when frozen); the times read back are virtual again.
 *
 * Every timer armed on a namespace clock has a record: its clock, how it was
 * armed, and the namespace as it was then.  After a change the watcher re-arms
 * each against the new clocks: its next expiry keeps its virtual instant (on
 * its own clock if armed absolute, on MONOTONIC if relative), so advancing
 * past it fires it, setting the clock back delays it, and a new rate rescales
 * what is left and the interval.  A TFD_TIMER_CANCEL_ON_SET timerfd whose
 * namespace's REALTIME was set is cancelled, as the kernel does on a host
 * clock set: made readable at once, and its next read() fails with ECANCELED
 * (the preload library's read; then it is armed again for its expiry).
 *
 * Records come in mapped chunks, as many as are armed at once.  Each is
 * changed under a lock of its own, by the thread arming its timer with every
 * signal but SIGSYS blocked (so that a signal handler that arms a timer while
 * it interrupts the same call, in the same thread, waits for nothing), or by
 * the watcher.  A fork leaves the child the parent's records, of timers it
 * does not have (POSIX timers and ITIMER_REAL are not inherited; timerfds are,
 * and stay the parent's to re-arm): each record says which process made it. */
#include <asm/unistd.h>
#include <errno.h>
#include <linux/fcntl.h>

#include "read.h"
#include "wait.h"

#define REALTIME_ID 0
#define MONOTONIC_ID 1
#define ABSTIME 1              /* TIMER_ABSTIME, TFD_TIMER_ABSTIME */
#define CANCEL_ON_SET 2        /* TFD_TIMER_CANCEL_ON_SET */
#define SET_TICKS 0x40085400UL /* TFD_IOC_SET_TICKS, _IOW('T', 0, u64) */

enum kind { T_NONE, T_FD, T_POSIX, T_ITIMER };

struct rec {
	uint32_t lock;
	int32_t pid; /* the process it belongs to; 0: free */
	int32_t kind; /* enum kind */
	int32_t id;
	int32_t clk;
	int32_t flags;     /* as armed: ABSTIME, CANCEL_ON_SET */
	int32_t armed;
	int32_t canceled;  /* cancelled by a set of REALTIME, read() not yet */
	int64_t interval;  /* virtual */
	int64_t cancel_at; /* its virtual expiry meanwhile */
	struct tw_params p; /* the namespace when last armed */
};

#define CHUNK_BYTES 16384UL
#define CHUNK_RECS ((CHUNK_BYTES - 64) / sizeof(struct rec))
struct chunk {
	struct chunk *next;
	char pad[56];
	struct rec rec[CHUNK_RECS];
};
_Static_assert(sizeof(struct chunk) <= CHUNK_BYTES, "a chunk of records in its pages");

struct itimerspec_k {
	struct tw_ts interval, value;
};
struct itimerval_k {
	struct tw_tv interval, value;
};

/* ---- records ------------------------------------------------------------- */

static void lock(struct rec *r)
{
	uint32_t free_ = 0;

	while (!__atomic_compare_exchange_n(&r->lock, &free_, 1, 0, __ATOMIC_ACQUIRE,
					    __ATOMIC_RELAXED)) {
		free_ = 0;
		tw_rt_syscall(__NR_sched_yield, 0, 0, 0, 0, 0, 0);
	}
}

static void unlock(struct rec *r)
{
	__atomic_store_n(&r->lock, 0, __ATOMIC_RELEASE);
}

/* The record of (kind, id), taken and locked, made if `make`; null if there is
 * none (or no memory for one). */
static struct rec *find(enum kind kind, int32_t id, int make)
{
	struct chunk **link = (struct chunk **)&tw_rt()->timers, *c;
	int32_t pid = tw_getpid();
	struct rec *spare = 0;

	for (;;) {
		for (c = __atomic_load_n(link, __ATOMIC_ACQUIRE); c;
		     c = __atomic_load_n(&c->next, __ATOMIC_ACQUIRE)) {
			for (unsigned long i = 0; i < CHUNK_RECS; i++) {
				struct rec *r = &c->rec[i];
				int32_t owner = __atomic_load_n(&r->pid, __ATOMIC_ACQUIRE);

				if (owner == pid && r->kind == (int32_t)kind && r->id == id) {
					lock(r);
					if (r->pid == pid && r->kind == (int32_t)kind && r->id == id)
						return r;
					unlock(r);
				} else if (owner != pid && !spare) {
					spare = r; /* free, or a fork's copy of the parent's */
				}
			}
			link = &c->next;
		}
		if (!make)
			return 0;
		if (spare) {
			int32_t owner = __atomic_load_n(&spare->pid, __ATOMIC_ACQUIRE);

			if (owner != pid &&
			    __atomic_compare_exchange_n(&spare->pid, &owner, pid, 0, __ATOMIC_ACQ_REL,
							__ATOMIC_RELAXED)) {
				lock(spare);
				spare->kind = (int32_t)kind;
				spare->id = id;
				spare->clk = -1;
				spare->armed = 0;
				/* a fork's copy may say cancelled: not this process's count */
				spare->canceled = 0;
				return spare;
			}
			spare = 0;
			link = (struct chunk **)&tw_rt()->timers;
			continue;
		}
		if (tw_chunk_append((void **)link, CHUNK_BYTES))
			return 0;
		link = (struct chunk **)&tw_rt()->timers;
	}
}

static void set_canceled(struct rec *r, int32_t canceled)
{
	if (r->canceled != canceled)
		__atomic_fetch_add(&tw_rt()->cancels, canceled ? 1 : -1, __ATOMIC_RELAXED);
	r->canceled = canceled;
}

static void forget(struct rec *r)
{
	set_canceled(r, 0);
	r->kind = T_NONE;
	r->armed = 0;
	__atomic_store_n(&r->pid, 0, __ATOMIC_RELEASE);
	unlock(r);
}

/* Every signal but SIGSYS blocked around a record's change (none of the
 * program's handlers runs in the thread meanwhile); the mask restored after. */
static uint64_t block_all(void)
{
	uint64_t set = ~TW_SIGSYS_BIT, old;

	tw_rt_syscall(__NR_rt_sigprocmask, 0, (long)&set, (long)&old, 8, 0, 0);
	return old;
}

static void unblock(uint64_t old)
{
	tw_rt_syscall(__NR_rt_sigprocmask, 2, (long)&old, 0, 8, 0, 0);
}

/* ---- conversions ------------------------------------------------------------ */

static int64_t ns_of(const struct tw_ts *t)
{
	return tw_ts_ns_sat(t);
}

static int valid(const struct itimerspec_k *v)
{
	return v->value.nsec >= 0 && v->value.nsec < TW_NSEC && v->interval.nsec >= 0 &&
	       v->interval.nsec < TW_NSEC && v->value.sec >= 0 && v->interval.sec >= 0;
}

/* A virtual itimerspec on clock `clk` as the host timer to arm. */
static long to_host(long clk, int absolute, const struct itimerspec_k *v, struct itimerspec_k *h,
		    const struct tw_params *p)
{
	struct tw_plan pl;
	long r;

	h->interval = tw_ns_ts(tw_unscale(ns_of(&v->interval), p->rate));
	if (!v->value.sec && !v->value.nsec) {
		h->value = v->value; /* disarm */
	} else if (!absolute) {
		h->value = tw_ns_ts(tw_unscale(ns_of(&v->value), p->rate));
		if (!h->value.sec && !h->value.nsec)
			h->value.nsec = 1; /* still armed */
	} else {
		if ((r = tw_plan(clk, ns_of(&v->value), clk, &pl)))
			return r;
		/* already due: the earliest host instant that still arms the timer */
		h->value = tw_ns_ts(pl.left <= 0 ? 1 : pl.host_at);
	}
	return 0;
}

/* What a host timer reports (time to the next expiry, interval) as virtual time. */
static void to_virtual(struct itimerspec_k *t)
{
	struct tw_params p;

	tw_read_params(tw_rt()->page, &p);
	t->value = tw_ns_ts(p.rate ? tw_scale(ns_of(&t->value), p.rate) : ns_of(&t->value));
	t->interval = tw_ns_ts(p.rate ? tw_scale(ns_of(&t->interval), p.rate) : ns_of(&t->interval));
}

/* ---- the host timers behind the records ------------------------------------- */

static long host_get(const struct rec *r, struct itimerspec_k *cur)
{
	struct itimerval_k v;
	long e;

	switch (r->kind) {
	case T_FD:
		return tw_rt_syscall(__NR_timerfd_gettime, r->id, (long)cur, 0, 0, 0, 0);
	case T_POSIX:
		return tw_rt_syscall(__NR_timer_gettime, r->id, (long)cur, 0, 0, 0, 0);
	default:
		if ((e = tw_rt_syscall(__NR_getitimer, 0, (long)&v, 0, 0, 0, 0)))
			return e;
		cur->interval = (struct tw_ts){ v.interval.sec, v.interval.usec * 1000 };
		cur->value = (struct tw_ts){ v.value.sec, v.value.usec * 1000 };
		return 0;
	}
}

/* microseconds rounded up: a timer never fires early */
static struct itimerval_k to_tv(const struct itimerspec_k *s)
{
	struct itimerval_k v = { { s->interval.sec, (s->interval.nsec + 999) / 1000 },
				 { s->value.sec, (s->value.nsec + 999) / 1000 } };

	if (v.interval.usec == 1000000)
		v.interval.sec++, v.interval.usec = 0;
	if (v.value.usec == 1000000)
		v.value.sec++, v.value.usec = 0;
	return v;
}

static long host_set(const struct rec *r, int flags, const struct itimerspec_k *h)
{
	struct itimerval_k v;

	switch (r->kind) {
	case T_FD:
		return tw_rt_syscall(__NR_timerfd_settime, r->id, flags, (long)h, 0, 0, 0);
	case T_POSIX:
		return tw_rt_syscall(__NR_timer_settime, r->id, flags, (long)h, 0, 0, 0);
	default:
		v = to_tv(h);
		return tw_rt_syscall(__NR_setitimer, 0, (long)&v, 0, 0, 0, 0);
	}
}

/* Field `key` ("clockid:", "ticks:") of timer file descriptor `fd`, as
 * /proc/self/fdinfo tells it; 0, or -1 if there is none. */
static int fdinfo(int fd, const char *key, int64_t *value)
{
	char path[48], buf[512], digits[24];
	const char *parts[] = { "/proc/self/fdinfo/", tw_utoa((unsigned long)fd, digits) };
	unsigned long klen = tw_strlen(key);
	long got;

	tw_cat(path, sizeof(path), parts, 2);
	if ((got = tw_read_file(path, buf, sizeof(buf))) <= 0)
		return -1;
	for (long i = 0; i + (long)klen < got; i++) {
		if (tw_strncmp(buf + i, key, klen))
			continue;
		int64_t v = 0;
		int neg = 0;
		const char *p = buf + i + klen;

		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '-')
			neg = 1, p++;
		while (*p >= '0' && *p <= '9')
			v = v * 10 + (*p++ - '0');
		*value = neg ? -v : v;
		return 0;
	}
	return -1;
}

/* Re-arms `r` for its next expiry at virtual `next` (on `line`, whose host
 * clock reads hnow; the timer's own clock reads tnow) under parameters `now`. */
static void arm_at(struct rec *r, enum tw_line line, int64_t next, const struct tw_params *now,
		   int64_t hnow, int64_t tnow)
{
	int64_t left = tw_sub_sat(next, tw_map(now, line, hnow));
	int64_t hrel = left > 0 ? tw_unscale(left, now->rate) : 1;
	int absolute = r->flags & ABSTIME;
	struct itimerspec_k h;
	int64_t ticks = 0;

	/* Setting a timerfd clears the expirations not yet read; the kernel can
	 * put them back (TFD_IOC_SET_TICKS).  Where it cannot, the timer keeps its
	 * plan rather than lose them. */
	if (r->kind == T_FD && !fdinfo(r->id, "ticks:", &ticks) && ticks > 0 &&
	    tw_rt_syscall(__NR_ioctl, r->id, (long)SET_TICKS, (long)&ticks, 0, 0, 0))
		return;
	h.interval = tw_ns_ts(tw_unscale(r->interval, now->rate));
	h.value = tw_ns_ts(absolute ? tw_add_sat(tnow, hrel) : hrel);
	if (!host_set(r, absolute ? r->flags : 0, &h))
		r->p = *now;
	if (ticks > 0)
		tw_rt_syscall(__NR_ioctl, r->id, (long)SET_TICKS, (long)&ticks, 0, 0, 0);
}

/* Whether REALTIME was set (stepped, not only given a new rate) between the
 * parameters `was` and `now`: a rate change rebases it where it was. */
static int realtime_set(const struct tw_params *was, const struct tw_params *now)
{
	return tw_map(was, TW_LINE_REALTIME, now->base[TW_LINE_REALTIME].host) !=
	       now->base[TW_LINE_REALTIME].virt;
}

static int cancels_on_set(const struct rec *r)
{
	return r->kind == T_FD && (r->flags & ABSTIME) && r->clk == REALTIME_ID &&
	       (r->flags & CANCEL_ON_SET);
}

/* One armed record, after a change (the watcher), locked. */
static void rearm(struct rec *r, const struct tw_params *now)
{
	long on = (r->flags & ABSTIME) ? r->clk : MONOTONIC_ID;
	enum tw_line line = (enum tw_line)tw_clock_line(on);
	struct itimerspec_k cur;
	int64_t hnow, tnow, rem, next;

	if (!r->armed || r->canceled)
		return;
	if (host_get(r, &cur) || (!cur.value.sec && !cur.value.nsec)) {
		r->armed = 0; /* closed, deleted, or a one-shot that fired */
		return;
	}
	if (tw_host_now(on, &hnow) || tw_host_now(r->clk, &tnow))
		return;
	rem = ns_of(&cur.value);
	next = tw_add_sat(tw_map(&r->p, line, hnow), r->p.rate ? tw_scale(rem, r->p.rate) : rem);
	if (cancels_on_set(r) && realtime_set(&r->p, now)) {
		struct itimerspec_k soon = { { 0, 0 }, { 0, 1 } };

		set_canceled(r, 1);
		r->cancel_at = next;
		host_set(r, ABSTIME, &soon); /* readable now */
		r->p = *now;
		return;
	}
	arm_at(r, line, next, now, hnow, tnow);
}

void tw_timers_rearm(void)
{
	int32_t pid = tw_getpid();
	struct tw_params now;

	tw_read_params(tw_rt()->page, &now);
	for (struct chunk *c = tw_rt()->timers; c; c = __atomic_load_n(&c->next, __ATOMIC_ACQUIRE))
		for (unsigned long i = 0; i < CHUNK_RECS; i++) {
			struct rec *r = &c->rec[i];

			if (__atomic_load_n(&r->pid, __ATOMIC_ACQUIRE) != pid || !r->armed)
				continue;
			lock(r);
			if (r->pid == pid)
				rearm(r, &now);
			unlock(r);
		}
}

int tw_timerfd_take_cancel(int fd)
{
	struct tw_params now;
	struct itimerspec_k cur;
	uint64_t old;
	struct rec *r;
	int64_t hnow;
	int taken = 0;

	/* every read() of the program asks: a load, almost always */
	if (!__atomic_load_n(&tw_rt()->cancels, __ATOMIC_RELAXED))
		return 0;
	old = block_all();
	if ((r = find(T_FD, fd, 0))) {
		/* still that timer: the program may have closed it unread and the
		 * number gone to another file */
		if (r->canceled && !host_get(r, &cur)) {
			set_canceled(r, 0);
			taken = 1;
			tw_read_params(tw_rt()->page, &now);
			if (!tw_host_now(REALTIME_ID, &hnow))
				arm_at(r, TW_LINE_REALTIME, r->cancel_at, &now, hnow, hnow);
		}
		unlock(r);
	}
	unblock(old);
	return taken;
}

/* ---- the calls ---------------------------------------------------------------- */

/* Arms timer (kind, id) on clock `clk` as the program asked, through `set`
 * (the real call, with the host values), and records it. */
static long arm(enum kind kind, int32_t id, long clk, long flags, const struct itimerspec_k *v,
		struct itimerspec_k *old)
{
	const struct tw_page *pg = tw_rt()->page;
	struct itimerspec_k h;
	struct tw_params p;
	uint64_t saved;
	struct rec *r;
	uint32_t head;
	long e;

	if (!valid(v))
		return -EINVAL;
	saved = block_all();
	if (!(r = find(kind, id, 1))) {
		unblock(saved);
		return -ENOMEM; /* a timer that cannot be recorded is not armed */
	}
	/* the head before the parameters: a change after it is one to act on */
	head = tw_head(pg);
	tw_read_params(pg, &p);
	if ((e = to_host(clk, flags & ABSTIME, v, &h, &p)))
		goto out;
	switch (kind) {
	case T_FD:
		e = tw_rt_syscall(__NR_timerfd_settime, id, flags, (long)&h, (long)old, 0, 0);
		break;
	case T_POSIX:
		e = tw_rt_syscall(__NR_timer_settime, id, flags, (long)&h, (long)old, 0, 0);
		break;
	default: {
		struct itimerval_k hv = to_tv(&h), ov;

		e = tw_rt_syscall(__NR_setitimer, 0, (long)&hv, old ? (long)&ov : 0, 0, 0, 0);
		if (!e && old) {
			old->interval = (struct tw_ts){ ov.interval.sec, ov.interval.usec * 1000 };
			old->value = (struct tw_ts){ ov.value.sec, ov.value.usec * 1000 };
		}
		break;
	}
	}
	if (!e) {
		r->clk = (int32_t)clk;
		r->flags = (int32_t)flags;
		r->armed = v->value.sec || v->value.nsec;
		set_canceled(r, 0);
		r->interval = ns_of(&v->interval);
		r->p = p;
		if (r->armed && !tw_watcher_start(head) && tw_head(pg) != head) {
			/* a change came while it was armed, perhaps before the
			 * watcher could see this record: re-armed here */
			struct tw_params now;

			tw_read_params(pg, &now);
			rearm(r, &now);
		}
	}
out:
	unlock(r);
	unblock(saved);
	if (!e && old)
		to_virtual(old);
	return e;
}

/* The clock of a timer (kind, id) as recorded, or -1. */
static long clock_of(enum kind kind, int32_t id)
{
	uint64_t saved = block_all();
	struct rec *r = find(kind, id, 0);
	long clk = -1;

	if (r) {
		clk = r->clk;
		unlock(r);
	}
	unblock(saved);
	return clk;
}

static void note_clock(enum kind kind, int32_t id, long clk)
{
	uint64_t saved = block_all();
	struct rec *r = find(kind, id, 1);

	if (r) {
		r->clk = (int32_t)clk;
		r->armed = 0;
		set_canceled(r, 0);
		unlock(r);
	}
	unblock(saved);
}

static void drop(enum kind kind, int32_t id)
{
	uint64_t saved = block_all();
	struct rec *r = find(kind, id, 0);

	if (r)
		forget(r);
	unblock(saved);
}

/* timer_create(clk, sevp, id*): the clock of each timer, by the kernel's id */
long tw_serve_timer_create(const struct tw_call *c)
{
	long r = tw_pass(c);

	if (!r && tw_clock_line(c->a[0]) >= 0)
		note_clock(T_POSIX, *(int32_t *)c->a[2], c->a[0]);
	return r;
}

long tw_serve_timer_delete(const struct tw_call *c)
{
	drop(T_POSIX, (int32_t)c->a[0]);
	return tw_pass(c);
}

long tw_serve_timer_settime(const struct tw_call *c)
{
	long clk = clock_of(T_POSIX, (int32_t)c->a[0]);

	if (clk < 0 || !c->a[2])
		return tw_pass(c);
	return arm(T_POSIX, (int32_t)c->a[0], clk, c->a[1] & ABSTIME,
		   (const struct itimerspec_k *)c->a[2], (struct itimerspec_k *)c->a[3]);
}

long tw_serve_timer_gettime(const struct tw_call *c)
{
	long r = tw_pass(c);

	if (!r && clock_of(T_POSIX, (int32_t)c->a[0]) >= 0)
		to_virtual((struct itimerspec_k *)c->a[1]);
	return r;
}

long tw_serve_timerfd_create(const struct tw_call *c)
{
	long fd = tw_pass(c);

	if (fd >= 0) {
		if (tw_clock_line(c->a[0]) >= 0)
			note_clock(T_FD, (int32_t)fd, c->a[0]);
		else
			drop(T_FD, (int32_t)fd); /* nothing left from the last one by that number */
	}
	return fd;
}

/* A timerfd's clock: as created here, else as the kernel tells it (one from
 * before the exec, or passed from another process). */
static long timerfd_clock(int32_t fd)
{
	long clk = clock_of(T_FD, fd);
	int64_t k;

	if (clk >= 0 || fdinfo(fd, "clockid:", &k))
		return clk;
	return (long)k;
}

long tw_serve_timerfd_settime(const struct tw_call *c)
{
	long clk = timerfd_clock((int32_t)c->a[0]);

	if (clk < 0 || tw_clock_line(clk) < 0 || !c->a[2])
		return tw_pass(c);
	return arm(T_FD, (int32_t)c->a[0], clk, c->a[1] & (ABSTIME | CANCEL_ON_SET),
		   (const struct itimerspec_k *)c->a[2], (struct itimerspec_k *)c->a[3]);
}

long tw_serve_timerfd_gettime(const struct tw_call *c)
{
	long r = tw_pass(c);

	if (!r && tw_clock_line(timerfd_clock((int32_t)c->a[0])) >= 0)
		to_virtual((struct itimerspec_k *)c->a[1]);
	return r;
}

/* setitimer(ITIMER_REAL, new, old): the filter traps ITIMER_REAL only (the
 * others count CPU time: the kernel's). */
long tw_serve_setitimer(const struct tw_call *c)
{
	const struct itimerval_k *nv = (const struct itimerval_k *)c->a[1];
	struct itimerval_k *ov = (struct itimerval_k *)c->a[2];
	struct itimerspec_k v, old;
	long r;

	if (c->a[0] != 0 || !nv)
		return tw_pass(c);
	if (nv->value.usec < 0 || nv->value.usec >= 1000000 || nv->interval.usec < 0 ||
	    nv->interval.usec >= 1000000)
		return -EINVAL;
	v.interval = (struct tw_ts){ nv->interval.sec, nv->interval.usec * 1000 };
	v.value = (struct tw_ts){ nv->value.sec, nv->value.usec * 1000 };
	r = arm(T_ITIMER, 0, REALTIME_ID, 0, &v, ov ? &old : 0);
	if (!r && ov)
		*ov = to_tv(&old);
	return r;
}

long tw_serve_getitimer(const struct tw_call *c)
{
	struct itimerval_k *cur = (struct itimerval_k *)c->a[1];
	struct itimerspec_k s;
	long r = tw_pass(c);

	if (!r && c->a[0] == 0) {
		s.interval = (struct tw_ts){ cur->interval.sec, cur->interval.usec * 1000 };
		s.value = (struct tw_ts){ cur->value.sec, cur->value.usec * 1000 };
		to_virtual(&s);
		*cur = to_tv(&s);
	}
	return r;
}

/* Through setitimer, so that a second at rate 10 is a tenth of one; it returns
 * the seconds left of the previous alarm as the kernel does (rounded to
 * nearest, and 1 rather than 0 while one is pending). */
long tw_serve_alarm(const struct tw_call *c)
{
	struct itimerspec_k v = { { 0, 0 }, { (int64_t)(unsigned)c->a[0], 0 } }, old;
	struct itimerval_k o;

	if (arm(T_ITIMER, 0, REALTIME_ID, 0, &v, &old))
		return 0;
	o = to_tv(&old);
	if ((!o.value.sec && o.value.usec) || o.value.usec >= 500000)
		o.value.sec++;
	return o.value.sec;
}
