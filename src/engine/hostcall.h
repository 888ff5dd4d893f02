/* Host time through the host vDSO's entry point (hostcall.c says where this
 * path is taken).  Each clock the kernel's data page serves has a reader of
 * its own on this path (tw_call_realtime, ...), with the clock id and line
 * folded in and registers of its own, apart from the data page's readers.
 * Freestanding, like the engine. */
#ifndef TW_HOSTCALL_H
#define TW_HOSTCALL_H

#include "clockmath.h"
#include "engine.h"
#include "vvar.h"

/* What the common case below leaves (hostcall.c): the host reading in *ts
 * (none for a frozen copy and a clock the data page serves) mapped through
 * the copy head `s` names, whatever its rate; read again if the head has moved
 * since.  0 or -errno. */
long tw_call_map(const struct tw_page *pg, const struct tw_host *h, uint32_t s, int line,
		 long clockid, struct tw_ts *ts);

/* The read, straight code.  The host's reading goes straight into the
 * caller's buffer and is turned into virtual time there, so that only the
 * page, the host, the head and the buffer are kept across the host's call; at
 * rate 1 the offset is added here, the rest is tw_call_map's. */
static inline __attribute__((always_inline)) long
tw_call(const struct tw_page *pg, const struct tw_host *h, int line, long clockid,
	struct tw_ts *ts)
{
	uint32_t s = __atomic_load_n(&pg->head, __ATOMIC_ACQUIRE);
	const struct tw_copy *c;
	int64_t sec, nsec, off_sec, off_nsec, anchor_sec;
	long r;

	/* frozen: the anchor itself, no host time needed (for the clocks every
	 * host serves; the ALARM ones may fail, and then fail here too) */
	if (tw_vvar_serves(clockid) &&
	    __builtin_expect(__atomic_load_n(&pg->copy[TW_HEAD_COPY(s)].rate, __ATOMIC_RELAXED) == 0,
			     0)) {
		/* no reading: a defined one, for a copy refilled meanwhile (its
		 * map is thrown away when the head has moved) */
		ts->sec = 0;
		ts->nsec = 0;
		return tw_call_map(pg, h, s, line, clockid, ts);
	}
	r = tw_host_call(h, clockid, ts);
	if (__builtin_expect(r != 0, 0))
		return r;
	/* the copy's address made again after the call rather than kept across
	 * it: one register less to save */
	__asm__("" : "+r"(s));
	c = &pg->copy[TW_HEAD_COPY(s)];
	if (__builtin_expect(__atomic_load_n(&c->rate, __ATOMIC_RELAXED) != TW_RATE_ONE, 0))
		return tw_call_map(pg, h, s, line, clockid, ts);
	off_sec = __atomic_load_n(&c->fast[line].off_sec, __ATOMIC_RELAXED);
	off_nsec = __atomic_load_n(&c->fast[line].off_nsec, __ATOMIC_RELAXED);
	anchor_sec = tw_coarse_clock(clockid)
			     ? __atomic_load_n(&c->fast[line].anchor_sec, __ATOMIC_RELAXED)
			     : 0;
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	/* a publication meanwhile, or a COARSE reading that may lag behind the
	 * anchor: tw_call_map */
	if (__builtin_expect(__atomic_load_n(&pg->head, __ATOMIC_RELAXED) != s, 0) ||
	    (tw_coarse_clock(clockid) && __builtin_expect(ts->sec < anchor_sec, 0)))
		return tw_call_map(pg, h, s, line, clockid, ts);
	/* wrapping sums: a damaged offset makes a wild time, not an overflow */
	sec = (int64_t)((uint64_t)ts->sec + (uint64_t)off_sec);
	/* An offset of whole seconds (--offset in whole seconds; MONOTONIC and
	 * BOOTTIME when only REALTIME was moved: 0) leaves the host's
	 * nanoseconds as they are: reading them back from the buffer the host
	 * has just written, adding and storing them again measured 4% of a read
	 * (bench/ab). */
	nsec = 0;
	if (__builtin_expect(off_nsec != 0, 0)) {
		nsec = (int64_t)((uint64_t)ts->nsec + (uint64_t)off_nsec);
		if (nsec >= 1000000000LL) {
			nsec -= 1000000000LL;
			sec = (int64_t)((uint64_t)sec + 1);
		}
	}
	/* out of the line's range (or a damaged offset): tw_call_map clamps */
	if (__builtin_expect(tw_ts_wild(line, sec, nsec), 0))
		return tw_call_map(pg, h, s, line, clockid, ts);
	if (__builtin_expect(off_nsec != 0, 0))
		ts->nsec = nsec;
	ts->sec = sec;
	return 0;
}

/* The reader of each served clock on this path (hostcall.c). */
typedef long tw_call_fn(const struct tw_page *pg, const struct tw_host *h, struct tw_ts *ts);
tw_call_fn tw_call_realtime, tw_call_monotonic, tw_call_monotonic_raw, tw_call_realtime_coarse,
	tw_call_monotonic_coarse, tw_call_boottime, tw_call_tai;

#endif
