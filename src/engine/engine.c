/* The engine: virtual clocks from host clocks and the clock page (the hot
 * read path and the seqlock's reader side are in read.h). */
#include <errno.h>
#include <stddef.h>
#include <asm/unistd.h>

#include "clockmath.h"
#include "engine.h"
#include "fold.h"
#include "read.h"
#include "vdso_lookup.h"
#include "vvar.h"

long tw_syscall6(long nr, long a, long b, long c, long d, long e, long f)
{
	long ret;
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = f;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}

void tw_host_init(struct tw_host *h, const void *vdso)
{
	h->clock_gettime = (long (*)(long, struct tw_ts *))tw_vdso_sym(
		vdso, "__vdso_clock_gettime", "LINUX_2.6");
	h->clock_getres = (long (*)(long, struct tw_ts *))tw_vdso_sym(
		vdso, "__vdso_clock_getres", "LINUX_2.6");
	h->vvar = 0; /* until tw_vvar_use proves the data page */
	h->memo = 0;
	h->fold = 0;
	h->syscall = 0;
}

long tw_host_gettime(const struct tw_host *h, long clockid, struct tw_ts *ts)
{
	/* The vDSO returns 0 or -errno and makes the system call itself for clocks
	 * it does not serve. */
	if (h->vvar && tw_clock_line(clockid) >= 0 && !tw_vvar_gettime(h->vvar, clockid, ts))
		return 0;
	if (h->clock_gettime)
		return h->clock_gettime(clockid, ts);
	return tw_host_syscall(h, __NR_clock_gettime, clockid, (long)ts, 0, 0, 0, 0);
}

/* The host clock read for each line (the COARSE and ALARM variants are read by
 * tw_gettime with their own id and mapped through their class's line). */
static const long line_clock[TW_NLINES] = {
	[TW_LINE_REALTIME] = 0,  /* CLOCK_REALTIME */
	[TW_LINE_TAI] = 11,      /* CLOCK_TAI */
	[TW_LINE_MONOTONIC] = 1, /* CLOCK_MONOTONIC */
	[TW_LINE_RAW] = 4,       /* CLOCK_MONOTONIC_RAW */
	[TW_LINE_BOOTTIME] = 7,  /* CLOCK_BOOTTIME */
};

long tw_host_lines(const struct tw_host *h, int64_t now[TW_NLINES])
{
	int64_t tai;

	for (int i = 0; i < TW_NLINES; i++) {
		struct tw_ts ts;
		long r = tw_host_gettime(h, line_clock[i], &ts);
		if (r)
			return r;
		now[i] = tw_ts_ns(&ts);
	}
	/* TAI and REALTIME were read a moment apart, but their difference is a
	 * whole number of seconds: keep it exact, so TAI minus REALTIME inside a
	 * namespace is the host's to the nanosecond. */
	tai = now[TW_LINE_TAI] - now[TW_LINE_REALTIME];
	tai = (tai + (tai >= 0 ? 500000000LL : -500000000LL)) / 1000000000LL * 1000000000LL;
	now[TW_LINE_TAI] = now[TW_LINE_REALTIME] + tai;
	return 0;
}

#define STORE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)

long tw_gettime(const struct tw_page *pg, const struct tw_host *h, long clockid,
		struct tw_ts *ts)
{
	return tw_read_clock_dispatch(pg, h, clockid, ts);
}

/* Writes a memo or fold under its own seqlock: one writer at a time, and one
 * that finds it taken leaves it (the next read computes again).  `body` runs
 * between the odd and the even count. */
#define MEMO_WRITE(seqp, body)                                                             \
	do {                                                                               \
		uint32_t ms_ = TW_LOAD(*(seqp));                                           \
		if (!(ms_ & 1) && __atomic_compare_exchange_n((seqp), &ms_, ms_ + 1, 0,    \
							     __ATOMIC_ACQ_REL,             \
							     __ATOMIC_RELAXED)) {          \
			__atomic_thread_fence(__ATOMIC_RELEASE); /* odd before the data */ \
			body;                                                              \
			__atomic_store_n((seqp), ms_ + 2, __ATOMIC_RELEASE);               \
		}                                                                          \
	} while (0)

/* The key of a memo or fold (TW_SLOT_HOLDS, read.h), inside MEMO_WRITE. */
#define TW_SLOT_KEY(slot, vs, s, pg)                                                       \
	do {                                                                               \
		STORE((slot)->vseq, (vs));                                                 \
		STORE((slot)->pseq, (s));                                                  \
		STORE((slot)->page, (pg));                                                 \
	} while (0)

/* The read at a rate other than 0 and 1 that computes in full and makes the
 * fold or memo the next reads use: once per kernel update, so one copy for
 * every clock id. */
static __attribute__((noinline)) int
read_rate(const struct tw_page *pg, const struct tw_host *h, int line, long clockid,
	  struct tw_ts *ts)
{
	struct tw_vvar_snap v;
	struct tw_base b;
	uint64_t rate, sec, ns, frac;
	unsigned shift;
	uint32_t s;

	do {
		const struct tw_copy *c;

		s = tw_head(pg);
		c = tw_copy_of(pg, s);
		rate = TW_LOAD(c->rate);
		b.virt = TW_LOAD(c->p.base[line].virt);
		b.host = TW_LOAD(c->p.base[line].host);
		if (__builtin_expect(tw_vvar_snap(h->vvar, clockid, &v), 0))
			return 1;
	} while (__builtin_expect(tw_head_moved(pg, s), 0));
	/* rate 1 or 0 by now (a change in between), or a pending change: left to
	 * the call path like the ranges tw_rate_ts leaves alone and a coarse
	 * reading behind the anchor (its floor) */
	if (__builtin_expect(rate == 0 || rate == TW_RATE_ONE || rate == TW_RATE_PENDING, 0))
		return 1;
	tw_vvar_split(&v, clockid, &sec, &ns, &frac, &shift);
	if (tw_rate_ts(line, b, rate, sec, ns, frac, shift, ts))
		return 1;
	if (tw_coarse_clock(clockid) && h->memo) {
		struct tw_memo *m = h->memo + (clockid - 5);

		MEMO_WRITE(&m->seq, {
			TW_SLOT_KEY(m, v.seq, s, pg);
			STORE(m->sec, ts->sec);
			STORE(m->nsec, ts->nsec);
		});
	} else if (!tw_coarse_clock(clockid) && h->fold) {
		struct tw_fold *f = h->fold + tw_fold_slot(clockid), n;

		if (!tw_fold_make(line, b, rate, &v, &n))
			MEMO_WRITE(&f->seq, {
				TW_SLOT_KEY(f, v.seq, s, pg);
				STORE(f->shift, n.shift);
				STORE(f->cycle_last, n.cycle_last);
				STORE(f->dmax, n.dmax);
				STORE(f->base_lo, n.base_lo);
				STORE(f->base_hi, n.base_hi);
				STORE(f->mult_lo, n.mult_lo);
				STORE(f->mult_hi, n.mult_hi);
				STORE(f->sec, n.sec);
			});
	}
	return 0;
}


/* The read through the host vDSO's entry points (or the system call), and of a
 * pending copy whatever the host read. */
static inline __attribute__((always_inline)) long
read_call(const struct tw_page *pg, const struct tw_host *h, long clockid, struct tw_ts *ts)
{
	int line = tw_clock_line(clockid);
	const struct tw_copy *c;
	struct tw_fast f;
	struct tw_base b;
	uint64_t rate;
	uint32_t s;
	long r;

	if (line < 0)
		return tw_host_gettime(h, clockid, ts);
	/* The host time goes straight into the caller's buffer and is turned into
	 * virtual time there: fewer values live across the host call. */
	for (;;) {
		s = tw_head(pg);
		c = tw_copy_of(pg, s);
		rate = TW_LOAD(c->rate);
		if (rate == 0 && ((TW_VVAR_SERVED >> clockid) & 1)) {
			/* frozen: the anchor itself, no host time needed (for the
			 * clocks every host serves; the ALARM ones may fail) */
			f.virt_sec = TW_LOAD(c->fast[line].virt_sec);
			f.virt_nsec = TW_LOAD(c->fast[line].virt_nsec);
			if (tw_head_moved(pg, s))
				continue;
			if (__builtin_expect(!tw_ts_wild(line, f.virt_sec, f.virt_nsec), 1)) {
				ts->sec = f.virt_sec;
				ts->nsec = f.virt_nsec;
				return 0;
			}
			/* a damaged anchor: the map in full, below */
		}
		r = h->clock_gettime ? h->clock_gettime(clockid, ts)
				     : tw_host_syscall(h, __NR_clock_gettime, clockid, (long)ts, 0,
						       0, 0, 0);
		if (__builtin_expect(r != 0, 0))
			return r;
		if (__builtin_expect(rate == TW_RATE_PENDING, 0)) {
			/* the line in force at this host reading: the one before the
			 * change until its switch, the new one from then on */
			if (tw_ts_ns(ts) < TW_LOAD(c->switch_host[line])) {
				b.host = TW_LOAD(c->prev[line].host);
				b.virt = TW_LOAD(c->prev[line].virt);
				rate = TW_LOAD(c->prev_rate);
			} else {
				b.host = TW_LOAD(c->p.base[line].host);
				b.virt = TW_LOAD(c->p.base[line].virt);
				rate = TW_LOAD(c->p.rate);
			}
			if (tw_head_moved(pg, s))
				continue;
			/* the map in full: the fast fields are the new line's */
			tw_coarse_floor(clockid, ts, tw_ns_ts(b.host).sec + 2, b.host);
			*ts = tw_ns_ts(tw_map_line((enum tw_line)line, b, rate, tw_ts_ns(ts)));
			return 0;
		}
		f.off_sec = TW_LOAD(c->fast[line].off_sec);
		f.off_nsec = TW_LOAD(c->fast[line].off_nsec);
		f.anchor_sec = TW_LOAD(c->fast[line].anchor_sec);
		f.virt_sec = TW_LOAD(c->fast[line].virt_sec);
		f.virt_nsec = TW_LOAD(c->fast[line].virt_nsec);
		b.host = TW_LOAD(c->p.base[line].host);
		b.virt = TW_LOAD(c->p.base[line].virt);
		if (__builtin_expect(!tw_head_moved(pg, s), 1))
			break;
	}
	tw_coarse_floor(clockid, ts, f.anchor_sec, b.host);
	if (rate == TW_RATE_ONE && !tw_offset_ts(line, ts, f.off_sec, f.off_nsec, ts))
		return 0;
	if (rate == 0 && !tw_ts_wild(line, f.virt_sec, f.virt_nsec)) { /* frozen: the anchor */
		ts->sec = f.virt_sec;
		ts->nsec = f.virt_nsec;
		return 0;
	}
	*ts = tw_ns_ts(tw_map_line((enum tw_line)line, b, rate, tw_ts_ns(ts)));
	return 0;
}

long tw_read_clock_call(const struct tw_page *pg, const struct tw_host *h, long clockid,
			struct tw_ts *ts)
{
	return read_call(pg, h, clockid, ts);
}

/* The readers of each clock id the page serves (read.h). */
#define READERS(id)                                                                       \
	TW_RATE_READER(id)                                                                 \
	{                                                                                  \
		return read_rate(pg, h, tw_clock_line(id), id, ts);                        \
	}                                                                                  \
	TW_CALL_READER(id)                                                                 \
	{                                                                                  \
		return read_call(pg, h, id, ts);                                           \
	}                                                                                  \
	TW_CLOCK_READER(id)                                                                \
	{                                                                                  \
		if (__builtin_expect(h->vvar != 0, 1) &&                                   \
		    __builtin_expect(!tw_read_clock_vvar(pg, h, tw_clock_line(id), id,           \
						     tw_read_rate_##id, ts),                       \
				     1))                                                   \
			return 0;                                                          \
		return tw_read_call_##id(pg, h, ts);                                       \
	}
TW_VVAR_CLOCKS(READERS)

#define QUICK_READER(id)                                                                  \
	long tw_read_quick_##id(const struct tw_page *pg, const struct tw_host *h,            \
				struct tw_ts *ts)                                              \
	{                                                                                  \
		if (__builtin_expect(!tw_read_coarse_quick(pg, h, tw_clock_line(id), id, ts), 1)) \
			return 0;                                                          \
		return tw_read_##id(pg, h, ts);                                            \
	}
QUICK_READER(5)
QUICK_READER(6)
