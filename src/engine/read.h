/* The engine's hot path: clock_gettime inside a namespace, inline so that each
 * entry point (the preload library's clock_gettime, the timewarp vDSO's
 * __vdso_clock_gettime) is one function around the read.
 *
 * A read takes one of a few short paths, each straight code that either
 * answers or gives up (returns 1); what they give up, the full read
 * (tw_read_full, engine.c) does, for every case:
 *
 *     tw_read_clock            the clock id: a served clock, or the host's
 *       no data page           -> tw_call_realtime, ... (hostcall.h): the
 *                                 host vDSO's entry point, or the system call
 *       rate 1                 -> read_at_offset: the host's reading with the
 *                                 offset added inside the kernel's own sum
 *       frozen                 -> read_frozen: the anchor, no host time
 *       another rate, fine     -> read_fold: the rate folded into the
 *                                 kernel's scale (fold.h)
 *       another rate, COARSE   -> read_memo: the last answer, while it holds
 *
 * The host reading comes from the kernel's data page (vvar.h), whatever its
 * clock source: TSC, pvclock or Hyper-V page.
 *
 * The clock page's reader side (page.h).  A reader's critical section spans its
 * *host clock read* as well as the parameter loads:
 *
 *     h = head ; c = copy h names ; host = read host clock ; params = c ;
 *     read again if head != h
 *
 * A writer never changes a copy that a head names: it fills a copy nobody reads
 * and publishes it by changing the head.  A reader that finds the head moved may
 * have read a copy being refilled, so it reads again; one that finds it unmoved
 * read a whole copy.  It never waits: a writer stopped or killed anywhere leaves
 * the head naming a whole copy.  Pairing a host reading with the copy it was
 * made under is what keeps the clocks from going back across a change: see
 * clockpage.c for how writers anchor changes so that no reading under the old
 * copy is ahead of the new one.  The host read is an opaque call (a compiler
 * barrier), or the kernel data page's read, whose RDTSCP waits for the loads
 * before it and is a compiler barrier too (tsc.h). */
#ifndef TW_READ_H
#define TW_READ_H

#include "clockmath.h"
#include "engine.h"
#include "fold.h"
#include "hostcall.h"
#include "memokey.h"
#include "vvar.h"

#define TW_LOAD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)

/* The head: which copy is in force (page.h). */
static inline __attribute__((always_inline)) uint32_t tw_head(const struct tw_page *pg)
{
	return __atomic_load_n(&pg->head, __ATOMIC_ACQUIRE);
}

static inline __attribute__((always_inline)) const struct tw_copy *
tw_copy_of(const struct tw_page *pg, uint32_t h)
{
	return &pg->copy[TW_HEAD_COPY(h)];
}

/* Whether a publication came since head `h` was read: then what was read of
 * its copy may be torn, and the reader reads again. */
static inline __attribute__((always_inline)) int tw_head_moved(const struct tw_page *pg,
								 uint32_t h)
{
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	return __atomic_load_n(&pg->head, __ATOMIC_RELAXED) != h;
}

/* The full read: every case, the host time from the kernel's data page where
 * it serves the clock, else from tw_read_call (engine.c). */
long tw_read_full(const struct tw_page *pg, const struct tw_host *h, long clockid,
		  struct tw_ts *ts);
/* The read through the host vDSO's entry points, or the system call where
 * there is no vDSO (hostcall.c). */
long tw_read_call(const struct tw_page *pg, const struct tw_host *h, long clockid,
		  struct tw_ts *ts);

/* Rate 1: the host's reading plus the line's offset (tw_vvar_add).  A
 * COARSE reading less than a second past the anchor's second may lag behind
 * the anchor, and is left to the full read, which holds it there (in the
 * fast path, the code for it cost COARSE reads 8% in bench/ab; it is needed
 * in the first second after a change only). */
static inline __attribute__((always_inline)) int
read_at_offset(const struct tw_page *pg, const struct tw_vvar_clock *vv, uint32_t s, int line,
	       long clockid, struct tw_ts *ts)
{
	const struct tw_fast *f = &tw_copy_of(pg, s)->fast[line];
	struct tw_ts t;
	int64_t virt_sec;

	if (tw_vvar_add(vv, clockid, TW_LOAD(f->off_sec), TW_LOAD(f->off_nsec), &t))
		return 1;
	virt_sec = tw_coarse_clock(clockid) ? TW_LOAD(f->virt_sec) : 0;
	if (tw_head_moved(pg, s))
		return 1;
	if (tw_coarse_clock(clockid) && __builtin_expect(t.sec <= virt_sec, 0))
		return 1;
	/* out of the line's range (or a damaged offset): the full read clamps */
	if (__builtin_expect(tw_ts_wild(line, t.sec, t.nsec), 0))
		return 1;
	*ts = t;
	return 0;
}

/* Frozen: the anchor itself, no host time needed. */
static inline __attribute__((always_inline)) int
read_frozen(const struct tw_page *pg, uint32_t s, int line, struct tw_ts *ts)
{
	const struct tw_fast *f = &tw_copy_of(pg, s)->fast[line];
	int64_t sec = TW_LOAD(f->virt_sec), nsec = TW_LOAD(f->virt_nsec);

	if (tw_head_moved(pg, s) || __builtin_expect(tw_ts_wild(line, sec, nsec), 0))
		return 1;
	ts->sec = sec;
	ts->nsec = nsec;
	return 0;
}

/* A fine clock at another rate: its fold, while it holds (fold.h).  No fold
 * is ever made under a pending copy's head, so a pending change goes to the
 * full read from here. */
static inline __attribute__((always_inline)) int
read_fold(const struct tw_page *pg, const struct tw_host *h, uint32_t s, long clockid,
	  struct tw_ts *ts)
{
	const struct tw_vvar_clock *vc = tw_vvar_of(h->vvar, clockid);
	const struct tw_fold *f;
	struct tw_fold c;
	uint64_t pair, cycles;
	uint32_t fs;

	if (!h->fold)
		return 1;
	f = h->fold + tw_fold_slot(clockid);
	pair = tw_vvar_seq_mode(vc);
	if (!tw_memokey_holds(&f->key, (uint32_t)pair, s, pg, &fs) ||
	    tw_vvar_cycles(h->vvar, pair, &cycles))
		return 1;
	/* the fold is read after the counter, inside its own count, as the
	 * kernel's vDSO reads its scale */
	c.cycle_last = TW_LOAD(f->cycle_last);
	c.dmax = TW_LOAD(f->dmax);
	c.base_lo = TW_LOAD(f->base_lo);
	c.base_hi = TW_LOAD(f->base_hi);
	c.mult_lo = TW_LOAD(f->mult_lo);
	c.mult_hi = TW_LOAD(f->mult_hi);
	c.sec = TW_LOAD(f->sec);
	c.shift = TW_LOAD(f->shift);
	/* the fold whole, the kernel's data unchanged since the counter was read */
	if (!tw_memokey_still(&f->key, fs) || TW_LOAD(vc->seq) != (uint32_t)pair)
		return 1;
	cycles -= c.cycle_last;
	if (__builtin_expect(cycles > c.dmax, 0) || tw_head_moved(pg, s))
		return 1;
	tw_fold_at(&c, cycles, ts);
	return 0;
}

/* A COARSE clock at another rate: its memo, while it is the computation's
 * answer (struct tw_memo). */
static inline __attribute__((always_inline)) int
read_memo(const struct tw_page *pg, const struct tw_host *h, uint32_t s, long clockid,
	  struct tw_ts *ts)
{
	const struct tw_memo *m;
	int64_t sec, nsec;
	uint32_t ms, vs;

	if (!h->memo)
		return 1;
	m = h->memo + (clockid - 5);
	vs = __atomic_load_n(&h->vvar->seq, __ATOMIC_ACQUIRE);
	if (!tw_memokey_holds(&m->key, vs, s, pg, &ms))
		return 1;
	sec = TW_LOAD(m->sec);
	nsec = TW_LOAD(m->nsec);
	if (!tw_memokey_still(&m->key, ms) || TW_LOAD(h->vvar->seq) != vs || tw_head_moved(pg, s))
		return 1;
	ts->sec = sec;
	ts->nsec = nsec;
	return 0;
}

/* A clock the kernel's data page serves (REALTIME, MONOTONIC, MONOTONIC_RAW,
 * the two COARSE, BOOTTIME, TAI), on line `line`; `call`: its reader through
 * the host vDSO (hostcall.h). */
static inline __attribute__((always_inline)) long
tw_read_served(const struct tw_page *pg, const struct tw_host *h, int line, long clockid,
	       tw_call_fn *call, struct tw_ts *ts)
{
	const struct tw_vvar_clock *vv = h->vvar;
	uint64_t rate;
	uint32_t s;

	if (__builtin_expect(!vv, 0))
		return call(pg, h, ts);
	/* A namespace no change has reached yet reads copy 0 (writers then
	 * take the first copy not in force: 1, 0, 1...).  Fetching its line
	 * while the head is being read spares a fine read with cold caches one
	 * memory access after another (not a COARSE one: a few nanoseconds, it
	 * would pay 6% for it). */
	s = tw_head(pg);
	if (!tw_coarse_clock(clockid))
		__builtin_prefetch(&pg->copy[0].fast[line]);
	rate = TW_LOAD(tw_copy_of(pg, s)->rate);
	if (__builtin_expect(rate == TW_RATE_ONE, 1)) {
		if (__builtin_expect(!read_at_offset(pg, vv, s, line, clockid, ts), 1))
			return 0;
	} else if (rate == 0) {
		if (!read_frozen(pg, s, line, ts))
			return 0;
	} else if (tw_coarse_clock(clockid)) {
		if (!read_memo(pg, h, s, clockid, ts))
			return 0;
	} else if (!read_fold(pg, h, s, clockid, ts)) {
		return 0;
	}
	return tw_read_full(pg, h, clockid, ts);
}

/* clock_gettime inside the namespace of `pg`, all inline: for an entry point
 * that has work left after the read (libc's: errno).  0 or -errno. */
static inline __attribute__((always_inline)) long tw_read_clock(const struct tw_page *pg,
								 const struct tw_host *h,
								 long clockid, struct tw_ts *ts)
{
	/* in the order of how often programs read them (tw_read_clock_dispatch) */
	if (__builtin_expect(clockid == 0, 1)) /* CLOCK_REALTIME */
		return tw_read_served(pg, h, TW_LINE_REALTIME, 0, tw_call_realtime, ts);
	if (clockid == 1) /* CLOCK_MONOTONIC */
		return tw_read_served(pg, h, TW_LINE_MONOTONIC, 1, tw_call_monotonic, ts);
	if (clockid == 6) /* CLOCK_MONOTONIC_COARSE */
		return tw_read_served(pg, h, TW_LINE_MONOTONIC, 6, tw_call_monotonic_coarse, ts);
	if (clockid == 5) /* CLOCK_REALTIME_COARSE */
		return tw_read_served(pg, h, TW_LINE_REALTIME, 5, tw_call_realtime_coarse, ts);
	if (clockid == 7) /* CLOCK_BOOTTIME */
		return tw_read_served(pg, h, TW_LINE_BOOTTIME, 7, tw_call_boottime, ts);
	if (clockid == 4) /* CLOCK_MONOTONIC_RAW */
		return tw_read_served(pg, h, TW_LINE_RAW, 4, tw_call_monotonic_raw, ts);
	if (clockid == 11) /* CLOCK_TAI */
		return tw_read_served(pg, h, TW_LINE_TAI, 11, tw_call_tai, ts);
	return tw_read_call(pg, h, clockid, ts);
}

/* The same read as one function per served clock (engine.c), each with
 * registers of its own, and an entry point that only dispatches to them by
 * tail call: for the timewarp vDSO, whose entry point returns what the read
 * returns. */
long tw_read_realtime(const struct tw_page *pg, const struct tw_host *h, struct tw_ts *ts);
long tw_read_monotonic(const struct tw_page *pg, const struct tw_host *h, struct tw_ts *ts);
long tw_read_monotonic_raw(const struct tw_page *pg, const struct tw_host *h, struct tw_ts *ts);
long tw_read_realtime_coarse(const struct tw_page *pg, const struct tw_host *h, struct tw_ts *ts);
long tw_read_monotonic_coarse(const struct tw_page *pg, const struct tw_host *h, struct tw_ts *ts);
long tw_read_boottime(const struct tw_page *pg, const struct tw_host *h, struct tw_ts *ts);
long tw_read_tai(const struct tw_page *pg, const struct tw_host *h, struct tw_ts *ts);

static inline __attribute__((always_inline)) long
tw_read_clock_dispatch(const struct tw_page *pg, const struct tw_host *h, long clockid,
		       struct tw_ts *ts)
{
	/* Tests in the order of how often programs read the clocks, not a
	 * jump table (-fno-jump-tables): a read with cold caches would fetch
	 * the table too.  No data page: straight to the host vDSO's readers. */
	if (__builtin_expect(!h->vvar, 0)) {
		if (clockid == 0)
			return tw_call_realtime(pg, h, ts);
		if (clockid == 1)
			return tw_call_monotonic(pg, h, ts);
		if (clockid == 6)
			return tw_call_monotonic_coarse(pg, h, ts);
		if (clockid == 5)
			return tw_call_realtime_coarse(pg, h, ts);
		if (clockid == 7)
			return tw_call_boottime(pg, h, ts);
		if (clockid == 4)
			return tw_call_monotonic_raw(pg, h, ts);
		if (clockid == 11)
			return tw_call_tai(pg, h, ts);
		return tw_read_call(pg, h, clockid, ts);
	}
	if (__builtin_expect(clockid == 0, 1))
		return tw_read_realtime(pg, h, ts);
	if (clockid == 1)
		return tw_read_monotonic(pg, h, ts);
	if (clockid == 6)
		return tw_read_monotonic_coarse(pg, h, ts);
	if (clockid == 5)
		return tw_read_realtime_coarse(pg, h, ts);
	if (clockid == 7)
		return tw_read_boottime(pg, h, ts);
	if (clockid == 4)
		return tw_read_monotonic_raw(pg, h, ts);
	if (clockid == 11)
		return tw_read_tai(pg, h, ts);
	return tw_read_call(pg, h, clockid, ts);
}

#endif
