/* Host time from the kernel's vDSO data page ([vvar]), without calling the
 * host vDSO.
 *
 * The host vDSO reads the TSC and scales it with the parameters the kernel's
 * timekeeping publishes in its data page.  Done here, inline in the engine's
 * entry points, the same arithmetic gives the same nanosecond as the host's
 * __vdso_clock_gettime, minus one indirect call and its frame: that call is
 * most of what a namespace read costs above the host's.
 *
 * The layout is the kernel's private business, so it is used only when
 * recognised and proven: tw_vvar_use (vvar.c) checks the header fields and
 * brackets a reading of every served clock between two host vDSO calls, and
 * leaves the host vDSO in charge otherwise.  Recognised: x86-64 Linux 6.15 and
 * later (struct vdso_clock, two of them at the page start: high resolution and
 * coarse clocks, then MONOTONIC_RAW), TSC clock source, read with RDTSCP.  A
 * reading is refused (the caller asks the host vDSO) whenever the clock source
 * is not the TSC: a switch to HPET, a kernel time namespace's page (clock
 * mode INT_MAX).  Freestanding, like the engine. */
#ifndef TW_VVAR_H
#define TW_VVAR_H

#include <stdint.h>
#include "engine.h"

#define TW_VVAR_CLOCKMODE_TSC 1
#define TW_VVAR_NBASES 12 /* CLOCK_TAI + 1 */

/* The kernel's struct vdso_clock (include/vdso/datapage.h), with the
 * overflow-protection field x86 selects. */
struct tw_vvar_clock {
	uint32_t seq;
	int32_t clock_mode;
	uint64_t cycle_last;
	uint64_t max_cycles;
	uint64_t mask;
	uint32_t mult;
	uint32_t shift;
	struct {
		uint64_t sec;
		uint64_t nsec; /* high-resolution clocks: shifted left by `shift` */
	} basetime[TW_VVAR_NBASES];
};
_Static_assert(sizeof(struct tw_vvar_clock) == 232, "the kernel's struct vdso_clock");
_Static_assert(__builtin_offsetof(struct tw_vvar_clock, clock_mode) == 4 &&
		       _Alignof(struct tw_vvar_clock) == 8,
	       "tw_seq_pair reads seq and clock_mode");

/* Checks the page at `vvar` (the first page of the [vvar] mapping) against the
 * host vDSO in `h`; on success h->vvar points at it and tw_vvar_gettime serves
 * the host reads.  0 or -errno (-ENOTSUP: not a layout this engine knows). */
long tw_vvar_use(struct tw_host *h, const void *vvar);

static inline uint64_t tw_rdtscp(void)
{
	uint32_t lo, hi, aux;

	/* RDTSCP waits for the loads before it (the sequence counts), as the
	 * kernel's rdtsc_ordered() does with the same instruction; "memory" keeps
	 * the compiler from moving loads across it either way */
	__asm__ volatile("rdtscp" : "=a"(lo), "=d"(hi), "=c"(aux) : : "memory");
	return ((uint64_t)hi << 32) | lo;
}

/* The data's sequence count once it is even, read with the clock mode in one
 * load (tw_seq_pair).  0, or 1 when the clock source is not the TSC. */
static inline __attribute__((always_inline)) int tw_vvar_begin(const struct tw_vvar_clock *vc,
							       uint32_t *seq)
{
	while (__builtin_expect(!tw_seq_pair(&vc->seq, TW_VVAR_CLOCKMODE_TSC, seq), 0)) {
		if (__atomic_load_n(&vc->clock_mode, __ATOMIC_RELAXED) != TW_VVAR_CLOCKMODE_TSC)
			return 1;
		__builtin_ia32_pause();
	}
	return 0;
}

/* The clocks the page serves, X(id) for each: REALTIME, MONOTONIC,
 * MONOTONIC_RAW, the two COARSE, BOOTTIME and TAI (not the ALARM clocks, nor
 * CPU time).  The engine has a reader of its own for each (read.h). */
#define TW_VVAR_CLOCKS(X) X(0) X(1) X(4) X(5) X(6) X(7) X(11)
#define TW_VVAR_BIT(id) | (1u << (id))
#define TW_VVAR_SERVED (0u TW_VVAR_CLOCKS(TW_VVAR_BIT))

/* REALTIME_COARSE and MONOTONIC_COARSE: their base time is the time. */
static inline int tw_coarse_clock(long clockid)
{
	return clockid == 5 || clockid == 6;
}

/* Host clock `clockid` (0 <= clockid < 12, as the engine's clock table
 * guarantees) plus (add_sec, add_nsec), 0 <= add_nsec < 1e9, as whole seconds
 * and nanoseconds past them (possibly more than 1e9: the kernel's vDSO
 * normalises after its loop, tw_vvar_read does), and the data's sequence count
 * they were read under.  The addend (a namespace's
 * offset) joins the kernel's own base before the TSC product is added, so that
 * it costs the read no latency.  0, or 1 when the page cannot serve the clock
 * (now or ever). */
static inline __attribute__((always_inline)) int
tw_vvar_now(const struct tw_vvar_clock *vc, long clockid, int64_t add_sec, int64_t add_nsec,
	    uint64_t *sec_out, uint64_t *ns_out, uint32_t *seq_out)
{
	const int coarse = tw_coarse_clock(clockid);
	uint64_t sec, ns;
	uint32_t seq;

	if (!((TW_VVAR_SERVED >> clockid) & 1))
		return 1;
	if (clockid == 4) /* MONOTONIC_RAW has a vdso_clock of its own */
		vc++;
	for (;;) {
		if (__builtin_expect(tw_vvar_begin(vc, &seq), 0))
			return 1;
		sec = __atomic_load_n(&vc->basetime[clockid].sec, __ATOMIC_RELAXED) + add_sec;
		ns = __atomic_load_n(&vc->basetime[clockid].nsec, __ATOMIC_RELAXED);
		if (coarse) { /* the base is the time */
			ns += add_nsec;
		} else { /* scale the TSC */
			/* bit 63 is the kernel's "invalid" marker, never set by a TSC */
			uint64_t delta = (tw_rdtscp() & ~(1ULL << 63)) -
					 __atomic_load_n(&vc->cycle_last, __ATOMIC_RELAXED);
			uint32_t mult = __atomic_load_n(&vc->mult, __ATOMIC_RELAXED);
			uint32_t shift = __atomic_load_n(&vc->shift, __ATOMIC_RELAXED);

			/* below 2^58 (shift <= 28, checked by tw_vvar_use): the sum
			 * stays inside the margin the kernel keeps under 2^64 */
			ns += (uint64_t)add_nsec << shift;
			if (__builtin_expect(delta <= __atomic_load_n(&vc->max_cycles,
								      __ATOMIC_RELAXED),
					     1))
				ns = (delta * mult + ns) >> shift;
			else if (delta & (1ULL << 62)) /* the TSC behind cycle_last: none */
				ns >>= shift;
			else /* long since the last update: in 128 bits */
				ns = (uint64_t)(((unsigned __int128)delta * mult + ns) >> shift);
		}
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__builtin_expect(__atomic_load_n(&vc->seq, __ATOMIC_RELAXED) == seq, 1))
			break;
	}
	*sec_out = sec;
	*ns_out = ns;
	*seq_out = seq;
	return 0;
}

static inline __attribute__((always_inline)) int
tw_vvar_read(const struct tw_vvar_clock *vc, long clockid, int64_t add_sec, int64_t add_nsec,
	     struct tw_ts *ts)
{
	uint64_t sec, ns;
	uint32_t seq;

	if (tw_vvar_now(vc, clockid, add_sec, add_nsec, &sec, &ns, &seq))
		return 1;
	/* the kernel's vDSO loops here; a division bounds the work whatever the
	 * addend (a clock page written by someone else may carry anything) */
	if (__builtin_expect(ns >= 1000000000ULL, 0)) {
		if (ns < 2000000000ULL) {
			ns -= 1000000000ULL;
			sec++;
		} else {
			sec += ns / 1000000000ULL;
			ns %= 1000000000ULL;
		}
	}
	ts->sec = (int64_t)sec;
	ts->nsec = (int64_t)ns;
	return 0;
}

/* Everything one reading of the page used, for the reads that go beyond the
 * common ones (fold.h keeps the kernel's scale for the reads to come). */
struct tw_vvar_snap {
	uint32_t seq; /* the clock's data's sequence count */
	uint32_t mult, shift;
	uint64_t cycle_last, max_cycles;
	uint64_t sec, nsec; /* the clock's base (nsec shifted for the fine clocks) */
	uint64_t delta;     /* TSC cycles past cycle_last (fine clocks) */
};

/* A reading of clock `clockid` as tw_vvar_now makes it, with what it was made
 * of.  0, or 1 as tw_vvar_now. */
static inline int tw_vvar_snap(const struct tw_vvar_clock *vc, long clockid,
			       struct tw_vvar_snap *v)
{
	if (!((TW_VVAR_SERVED >> clockid) & 1))
		return 1;
	if (clockid == 4)
		vc++;
	for (;;) {
		if (tw_vvar_begin(vc, &v->seq))
			return 1;
		v->sec = __atomic_load_n(&vc->basetime[clockid].sec, __ATOMIC_RELAXED);
		v->nsec = __atomic_load_n(&vc->basetime[clockid].nsec, __ATOMIC_RELAXED);
		v->cycle_last = __atomic_load_n(&vc->cycle_last, __ATOMIC_RELAXED);
		v->max_cycles = __atomic_load_n(&vc->max_cycles, __ATOMIC_RELAXED);
		v->mult = __atomic_load_n(&vc->mult, __ATOMIC_RELAXED);
		v->shift = __atomic_load_n(&vc->shift, __ATOMIC_RELAXED);
		v->delta = tw_coarse_clock(clockid)
				   ? 0
				   : (tw_rdtscp() & ~(1ULL << 63)) - v->cycle_last;
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&vc->seq, __ATOMIC_RELAXED) == v->seq)
			return 0;
	}
}

/* The instant of a snapshot, below the nanosecond: whole seconds, nanoseconds
 * past them (tw_vvar_now's `ns`) and frac / 2^shift of the next one.  The
 * coarse clocks' base is whole nanoseconds (shift 0). */
static inline void tw_vvar_split(const struct tw_vvar_snap *v, long clockid, uint64_t *sec,
				 uint64_t *ns, uint64_t *frac, unsigned *shift)
{
	unsigned __int128 x;

	*sec = v->sec;
	if (tw_coarse_clock(clockid)) {
		*ns = v->nsec;
		*frac = 0;
		*shift = 0;
		return;
	}
	if (v->delta <= v->max_cycles) /* the kernel's sum, in its 64 bits */
		x = v->delta * v->mult + v->nsec;
	else if (v->delta & (1ULL << 62)) /* the TSC behind cycle_last */
		x = v->nsec;
	else
		x = (unsigned __int128)v->delta * v->mult + v->nsec;
	*ns = (uint64_t)(x >> v->shift);
	*frac = (uint64_t)x & ((1ULL << v->shift) - 1);
	*shift = v->shift;
}

/* Host clock `clockid`, as the host vDSO returns it. */
static inline __attribute__((always_inline)) int
tw_vvar_gettime(const struct tw_vvar_clock *vc, long clockid, struct tw_ts *ts)
{
	return tw_vvar_read(vc, clockid, 0, 0, ts);
}

#endif
