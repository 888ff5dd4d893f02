/* The engine's hot path, inline so that each entry point (the preload library's
 * clock_gettime, the timewarp vDSO's __vdso_clock_gettime) is one function
 * around one call into the host vDSO.
 *
 * Seqlock, reader side.  A reader's critical section spans its *host clock read*
 * as well as the parameter loads:
 *
 *     s = seq (even) ; host = read host clock ; params = page ; retry if seq != s
 *
 * A writer makes seq odd, reads the host instant h0 it rebases at, writes the new
 * parameters and makes seq even.  If a reader paired a host reading taken after h0
 * with the old parameters, its host read came after the writer made seq odd, so
 * its second load of seq sees the change and it retries.  Without that, a rate
 * change from 10 to 1 would let one reader extrapolate the old rate past h0 and
 * the next reader see MONOTONIC go backwards.  The host read is an opaque call (a
 * compiler barrier); the vDSO orders its own TSC read with lfence. */
#ifndef TW_READ_H
#define TW_READ_H

#include "clockmath.h"
#include "engine.h"

#define TW_LOAD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)

static inline uint32_t tw_seq_begin(const struct tw_page *pg)
{
	uint32_t s;
	while ((s = __atomic_load_n(&pg->seq, __ATOMIC_ACQUIRE)) & 1)
		__builtin_ia32_pause();
	return s;
}

static inline int tw_seq_retry(const struct tw_page *pg, uint32_t s)
{
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	return __atomic_load_n(&pg->seq, __ATOMIC_RELAXED) != s;
}

static inline __attribute__((always_inline)) long tw_read_clock(const struct tw_page *pg,
								 const struct tw_host *h,
								 long clockid, struct tw_ts *ts)
{
	int line = tw_clock_line(clockid);
	struct tw_fast f;
	struct tw_base b;
	uint64_t rate;
	int64_t hns;
	uint32_t s;
	long r;

	if (line < 0)
		return tw_host_gettime(h, clockid, ts);
	/* The host time goes straight into the caller's buffer and is turned into
	 * virtual time there: fewer values live across the host call. */
	do {
		s = tw_seq_begin(pg);
		r = h->clock_gettime ? h->clock_gettime(clockid, ts) : tw_host_gettime(h, clockid, ts);
		if (__builtin_expect(r != 0, 0))
			return r;
		rate = TW_LOAD(pg->p.rate);
		f.off_sec = TW_LOAD(pg->fast[line].off_sec);
		f.off_nsec = TW_LOAD(pg->fast[line].off_nsec);
		f.anchor_sec = TW_LOAD(pg->fast[line].anchor_sec);
		f.virt_sec = TW_LOAD(pg->fast[line].virt_sec);
		f.virt_nsec = TW_LOAD(pg->fast[line].virt_nsec);
		b.host = TW_LOAD(pg->p.base[line].host);
		b.virt = TW_LOAD(pg->p.base[line].virt);
	} while (__builtin_expect(tw_seq_retry(pg, s), 0));

	/* A coarse reading lags the fine instant the page was last rebased at by up
	 * to a tick; mapped with a new, higher rate (or a resume) that lag would
	 * step the clock back.  Read within a second behind the anchor, it is the
	 * anchor.  (REALTIME_COARSE, MONOTONIC_COARSE) */
	if ((clockid == 5 || clockid == 6) && ts->sec < f.anchor_sec) {
		hns = tw_ts_ns(ts);
		if (hns < b.host && hns > b.host - 1000000000LL)
			*ts = tw_ns_ts(b.host);
	}
	if (__builtin_expect(rate == TW_RATE_ONE, 1)) {
		/* the offset alone; clamped into the line's range like tw_map_line */
		int64_t max_sec = line >= TW_LINE_MONOTONIC ? TW_MONO_MAX / 1000000000LL
							    : TW_REALTIME_MAX / 1000000000LL;
		int64_t sec = ts->sec + f.off_sec, nsec = ts->nsec + f.off_nsec;
		if (nsec >= 1000000000LL) {
			nsec -= 1000000000LL;
			sec++;
		}
		if (__builtin_expect(sec >= 0 && sec < max_sec, 1)) {
			ts->sec = sec;
			ts->nsec = nsec;
			return 0;
		}
	}
	if (rate == 0) { /* frozen: the anchor itself, already within range */
		ts->sec = f.virt_sec;
		ts->nsec = f.virt_nsec;
		return 0;
	}
	*ts = tw_ns_ts(tw_map_line((enum tw_line)line, b, rate, tw_ts_ns(ts)));
	return 0;
}

#endif
