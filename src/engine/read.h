/* The engine's hot path, inline so that each entry point (the preload library's
 * clock_gettime, the timewarp vDSO's __vdso_clock_gettime) is one function
 * around one call into the host vDSO.
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
 * before it and is a compiler barrier too (vvar.h). */
#ifndef TW_READ_H
#define TW_READ_H

#include "clockmath.h"
#include "engine.h"
#include "fold.h"
#include "vvar.h"

#define TW_LOAD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)

/* The head: which copy is in force (page.h). */
static inline uint32_t tw_head(const struct tw_page *pg)
{
	return __atomic_load_n(&pg->head, __ATOMIC_ACQUIRE);
}

static inline const struct tw_copy *tw_copy_of(const struct tw_page *pg, uint32_t h)
{
	return &pg->copy[TW_HEAD_COPY(h)];
}

/* Whether a publication came since head `h` was read: then what was read of
 * its copy may be torn, and the reader reads again. */
static inline int tw_head_moved(const struct tw_page *pg, uint32_t h)
{
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	return __atomic_load_n(&pg->head, __ATOMIC_RELAXED) != h;
}

/* A coarse reading lags the fine instant the page was last rebased at by up to
 * a tick; mapped with a new, higher rate (or a resume) that lag would step the
 * clock back.  Read within a second behind the anchor, it is the anchor.
 * (REALTIME_COARSE, MONOTONIC_COARSE) */
static inline void tw_coarse_floor(long clockid, struct tw_ts *ht, int64_t anchor_sec,
				   int64_t base_host)
{
	if (tw_coarse_clock(clockid) && ht->sec < anchor_sec) {
		int64_t hns = tw_ts_ns(ht);
		if (hns < base_host && hns > base_host - 1000000000LL)
			*ht = tw_ns_ts(base_host);
	}
}

/* Whether a time the fast paths made from the page's derived fields is not one
 * the line can give: past its range, or nanoseconds outside [0, 1e9) (a page
 * damaged after it was checked: the caller maps the line in full, which clamps,
 * so that no reader hands out a malformed time). */
static inline __attribute__((always_inline)) int tw_ts_wild(int line, int64_t sec, int64_t nsec)
{
	return ((uint64_t)sec >= tw_line_max_sec(line)) | ((uint64_t)nsec >= 1000000000ULL);
}

/* Rate 1: the offset alone, clamped into the line's range like tw_map_line;
 * 0, or 1 when out of range (the caller maps the line in full). */
static inline int tw_offset_ts(int line, const struct tw_ts *ht, int64_t off_sec,
			       int64_t off_nsec, struct tw_ts *ts)
{
	/* wrapping sums: a damaged offset makes a wild time, not an overflow */
	int64_t sec = (int64_t)((uint64_t)ht->sec + (uint64_t)off_sec);
	int64_t nsec = (int64_t)((uint64_t)ht->nsec + (uint64_t)off_nsec);

	if (nsec >= 1000000000LL) {
		nsec -= 1000000000LL;
		sec++;
	}
	if (__builtin_expect(tw_ts_wild(line, sec, nsec), 0))
		return 1;
	ts->sec = sec;
	ts->nsec = nsec;
	return 0;
}

/* The read through the host vDSO's entry points (or the system call): engine.c,
 * for any clock id, and one function per clock id the page serves. */
long tw_read_clock_call(const struct tw_page *pg, const struct tw_host *h, long clockid,
			struct tw_ts *ts);
#define TW_CALL_READER(id)                                                                 \
	long tw_read_call_##id(const struct tw_page *pg, const struct tw_host *h,             \
			       struct tw_ts *ts)
#define TW_CALL_READER_DECL(id) TW_CALL_READER(id);
TW_VVAR_CLOCKS(TW_CALL_READER_DECL)

/* A read at a rate other than 0 and 1, host time from the kernel's data page:
 * engine.c, one function per clock id, out of line, so that the common reads
 * below keep their registers.  0, or 1 as tw_read_clock_vvar. */
#define TW_RATE_READER(id)                                                                 \
	int tw_read_rate_##id(const struct tw_page *pg, const struct tw_host *h, struct tw_ts *ts)
#define TW_RATE_READER_DECL(id) TW_RATE_READER(id);
TW_VVAR_CLOCKS(TW_RATE_READER_DECL)

/* Whether a memo or fold `slot` (struct tw_memo, tw_fold: the same key) is
 * not being written and was made under the kernel data's count `vs`, page
 * `pg` and its head `s`; *sp: the slot's count, to read again after its
 * contents (engine.c writes the key with TW_SLOT_KEY). */
#define TW_SLOT_HOLDS(slot, vs, s, pg, sp)                                                 \
	(tw_seq_pair(&(slot)->seq, (vs), (sp)) && TW_LOAD((slot)->pseq) == (s) &&           \
	 TW_LOAD((slot)->page) == (pg))

/* A COARSE clock's memo `m` while it is the computation's answer (tw_memo):
 * made under the kernel data's current count and under the page's head `s`.
 * 0, or 1 when it is not. */
static inline __attribute__((always_inline)) int
tw_memo_get(const struct tw_memo *m, const struct tw_vvar_clock *vv, const struct tw_page *pg,
	    uint32_t s, int64_t *sec, int64_t *nsec)
{
	uint32_t ms, vs = __atomic_load_n(&vv->seq, __ATOMIC_ACQUIRE);

	if (!TW_SLOT_HOLDS(m, vs, s, pg, &ms))
		return 1;
	*sec = TW_LOAD(m->sec);
	*nsec = TW_LOAD(m->nsec);
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	return TW_LOAD(m->seq) != ms || TW_LOAD(vv->seq) != vs;
}

/* The read with host time from the kernel's data page (vvar.h): no call at all
 * on the common paths.  0, or 1 when the page cannot serve this read. */
static inline __attribute__((always_inline)) int
tw_read_clock_vvar(const struct tw_page *pg, const struct tw_host *h, int line, long clockid,
		   int (*rate_reader)(const struct tw_page *, const struct tw_host *,
				      struct tw_ts *),
		   struct tw_ts *ts)
{
	const struct tw_vvar_clock *vv = h->vvar;
	const int coarse = tw_coarse_clock(clockid);
	int64_t a, b, vsec, vnsec;
	const struct tw_fast *fp;
	struct tw_ts t;
	uint64_t rate;
	uint32_t s;

	for (;;) {
		s = tw_head(pg);
		fp = &tw_copy_of(pg, s)->fast[line];
		/* TW_RATE_PENDING goes to the rate reader, which leaves it to the
		 * full read (engine.c) */
		rate = TW_LOAD(tw_copy_of(pg, s)->rate);
		if (__builtin_expect(rate == TW_RATE_ONE, 1)) {
			/* the offset rides along in the host read (tw_vvar_read) */
			a = TW_LOAD(fp->off_sec);
			b = TW_LOAD(fp->off_nsec);
			vsec = coarse ? TW_LOAD(fp->virt_sec) : 0;
			vnsec = coarse ? TW_LOAD(fp->virt_nsec) : 0;
			if (__builtin_expect(tw_vvar_read(vv, clockid, a, b, &t), 0))
				return 1;
			if (__builtin_expect(tw_head_moved(pg, s), 0))
				continue;
			/* tw_coarse_floor, in virtual terms: at rate 1 a host
			 * reading less than a second behind the anchor is a virtual
			 * one less than a second behind the anchor's virtual time */
			if (coarse && __builtin_expect(t.sec <= vsec, 0) &&
			    (uint64_t)vsec - (uint64_t)t.sec <= 1 && (uint64_t)vnsec < 1000000000ULL) {
				int64_t lag = (vsec - t.sec) * 1000000000LL + vnsec - t.nsec;
				if (lag > 0 && lag < 1000000000LL) {
					t.sec = vsec;
					t.nsec = vnsec;
				}
			}
			/* out of the line's range: the full map clamps */
			if (__builtin_expect(tw_ts_wild(line, t.sec, t.nsec), 0))
				return 1;
			*ts = t;
			return 0;
		}
		if (rate != 0 && !coarse) {
			/* a fine clock at another rate: the fold, while it holds
			 * (fold.h), else the computation that makes it */
			const struct tw_fold *f;
			const struct tw_vvar_clock *vc = vv + (clockid == 4);
			struct tw_fold c;
			uint64_t d;
			uint32_t fs, vs;

			if (!h->fold)
				return rate_reader(pg, h, ts);
			f = h->fold + tw_fold_slot(clockid);
			vs = __atomic_load_n(&vc->seq, __ATOMIC_ACQUIRE);
			if (!TW_SLOT_HOLDS(f, vs, s, pg, &fs))
				return rate_reader(pg, h, ts);
			/* RDTSCP waits for the loads above (the counts), as in
			 * tw_vvar_now; the fold itself is read after it, inside
			 * its own count, as the kernel's vDSO reads its scale */
			d = tw_rdtscp() & ~(1ULL << 63);
			c.cycle_last = TW_LOAD(f->cycle_last);
			c.dmax = TW_LOAD(f->dmax);
			c.base_lo = TW_LOAD(f->base_lo);
			c.base_hi = TW_LOAD(f->base_hi);
			c.mult_lo = TW_LOAD(f->mult_lo);
			c.mult_hi = TW_LOAD(f->mult_hi);
			c.sec = TW_LOAD(f->sec);
			c.shift = TW_LOAD(f->shift);
			__atomic_thread_fence(__ATOMIC_ACQUIRE);
			/* the fold whole, and the kernel's data unchanged since
			 * the TSC was read */
			if (__builtin_expect(TW_LOAD(f->seq) != fs || TW_LOAD(vc->seq) != vs, 0))
				return rate_reader(pg, h, ts);
			d -= c.cycle_last;
			if (__builtin_expect(d > c.dmax, 0))
				return rate_reader(pg, h, ts);
			if (__builtin_expect(tw_head_moved(pg, s), 0))
				continue;
			tw_fold_at(&c, d, ts);
			return 0;
		}
		if (rate != 0) {
			/* a coarse clock at another rate: the memo, while it is
			 * the computation's answer (tw_memo) */
			if (!h->memo || tw_memo_get(h->memo + (clockid - 5), vv, pg, s, &a, &b))
				return rate_reader(pg, h, ts);
			if (__builtin_expect(tw_head_moved(pg, s), 0))
				continue;
			ts->sec = a;
			ts->nsec = b;
			return 0;
		}
		/* frozen: the anchor itself, no host time needed */
		a = TW_LOAD(fp->virt_sec);
		b = TW_LOAD(fp->virt_nsec);
		if (__builtin_expect(!tw_head_moved(pg, s), 1)) {
			if (__builtin_expect(tw_ts_wild(line, a, b), 0))
				return 1;
			ts->sec = a;
			ts->nsec = b;
			return 0;
		}
	}
}

/* A COARSE clock in straight code, no loop: the common reads (rate 1, frozen,
 * a memo that holds) with few values live, so that the function saves one
 * callee-saved register where the full read saved six (a COARSE read is a few
 * nanoseconds).  0, or 1 for anything else (a publication meanwhile, a pending
 * change, a reading within
 * a second of the anchor or out of the line's range, no memo): the caller then
 * makes the full read, which handles it all. */
static inline __attribute__((always_inline)) int
tw_read_coarse_quick(const struct tw_page *pg, const struct tw_host *h, int line, long clockid,
		     struct tw_ts *ts)
{
	const struct tw_vvar_clock *vv = h->vvar;
	const struct tw_fast *fp;
	uint64_t rate;
	int64_t sec, nsec;
	uint32_t s, vs;

	if (!vv)
		return 1;
	s = tw_head(pg);
	fp = &tw_copy_of(pg, s)->fast[line];
	rate = TW_LOAD(tw_copy_of(pg, s)->rate);
	if (__builtin_expect(rate == TW_RATE_ONE, 1)) {
		/* the host's coarse reading plus the offset (tw_vvar_read): the
		 * same sums in signed arithmetic, as off_sec is a line's offset
		 * in seconds (tw_ns_ts: below 2^34 in size), off_nsec and the
		 * kernel's coarse nanoseconds are below 1e9, so one carry is all
		 * there can be */
		if (!tw_seq_pair(&vv->seq, TW_VVAR_CLOCKMODE_TSC, &vs))
			return 1;
		sec = (int64_t)(TW_LOAD(vv->basetime[clockid].sec) + (uint64_t)TW_LOAD(fp->off_sec));
		nsec = (int64_t)(TW_LOAD(vv->basetime[clockid].nsec) + (uint64_t)TW_LOAD(fp->off_nsec));
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (TW_LOAD(vv->seq) != vs)
			return 1;
		if (nsec >= 1000000000LL) {
			nsec -= 1000000000LL;
			sec++;
		}
		/* within a second of the anchor (tw_coarse_floor) */
		if (sec <= TW_LOAD(fp->virt_sec))
			return 1;
	} else if (rate == 0) { /* frozen: the anchor */
		sec = TW_LOAD(fp->virt_sec);
		nsec = TW_LOAD(fp->virt_nsec);
	} else if (!h->memo || tw_memo_get(h->memo + (clockid - 5), vv, pg, s, &sec, &nsec)) {
		return 1;
	}
	if (tw_head_moved(pg, s) || tw_ts_wild(line, sec, nsec))
		return 1;
	ts->sec = sec;
	ts->nsec = nsec;
	return 0;
}

/* One clock, known at compile time: the clock table, the kind of read and the
 * page's offsets fold into straight code. */
#define TW_READ_CASE(id)                                                                   \
	case id:                                                                           \
		if (__builtin_expect(h->vvar != 0, 1) &&                                   \
		    __builtin_expect(!tw_read_clock_vvar(pg, h, tw_clock_line(id), id,           \
						     tw_read_rate_##id, ts),                       \
				     1))                                                   \
			return 0;                                                          \
		return tw_read_call_##id(pg, h, ts);

/* clock_gettime inside the namespace of `pg`, all inline: for an entry point
 * that has work left after the read (libc's: errno).  0 or -errno. */
static inline __attribute__((always_inline)) long tw_read_clock(const struct tw_page *pg,
								 const struct tw_host *h,
								 long clockid, struct tw_ts *ts)
{
	switch (clockid) {
		TW_VVAR_CLOCKS(TW_READ_CASE)
	}
	return tw_read_clock_call(pg, h, clockid, ts);
}

/* The same read as one function per clock id (engine.c), each with registers
 * of its own, and an entry point that only dispatches to them by tail call:
 * for the timewarp vDSO, whose entry point returns what the read returns. */
#define TW_CLOCK_READER(id)                                                                \
	long tw_read_##id(const struct tw_page *pg, const struct tw_host *h, struct tw_ts *ts)
#define TW_CLOCK_READER_DECL(id) TW_CLOCK_READER(id);
TW_VVAR_CLOCKS(TW_CLOCK_READER_DECL)

/* The COARSE clocks' entry for the timewarp vDSO: tw_read_coarse_quick, else
 * the full read (engine.c). */
long tw_read_quick_5(const struct tw_page *pg, const struct tw_host *h, struct tw_ts *ts);
long tw_read_quick_6(const struct tw_page *pg, const struct tw_host *h, struct tw_ts *ts);

#define TW_DISPATCH_CASE(id)                                                               \
	case id:                                                                           \
		if (id == 5)                                                               \
			return tw_read_quick_5(pg, h, ts);                                 \
		if (id == 6)                                                               \
			return tw_read_quick_6(pg, h, ts);                                 \
		return tw_read_##id(pg, h, ts);

static inline __attribute__((always_inline)) long
tw_read_clock_dispatch(const struct tw_page *pg, const struct tw_host *h, long clockid,
		       struct tw_ts *ts)
{
	switch (clockid) {
		TW_VVAR_CLOCKS(TW_DISPATCH_CASE)
	}
	return tw_read_clock_call(pg, h, clockid, ts);
}

#endif
