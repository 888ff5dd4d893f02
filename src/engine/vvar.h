/* Host time from the kernel's vDSO data page ([vvar]), without calling the
 * host vDSO.
 *
 * The host vDSO reads a counter and scales it with the parameters the kernel's
 * timekeeping publishes in its data page:
 *
 *     ns = sec*1e9 + ((cycles - cycle_last) * mult + base) >> shift
 *
 * Done here, inline in the engine's entry points, the same arithmetic gives the
 * same nanosecond as the host's __vdso_clock_gettime, minus one indirect call
 * and its frame: that call is most of what a namespace read costs above the
 * host's.  The counter depends on the kernel's clock source, named by the
 * data's clock mode: the TSC (tsc.h), a KVM or Xen pvclock record (pvclock.h)
 * or Hyper-V's reference TSC page (hyperv.h), each read as the kernel's vDSO
 * reads it.  The COARSE clocks need no counter at all: their base is the time,
 * whatever the clock source (HPET and acpi_pm too, whose mode is "none").
 *
 * The layout is the kernel's private business, so it is used only when
 * recognised and proven: tw_vvar_use (vvar.c) checks the header fields and
 * brackets a reading of every clock it can serve between two host vDSO calls,
 * and leaves the host vDSO in charge otherwise.  Recognised: x86-64 Linux 6.15
 * and later (struct vdso_clock, two of them at the page start: high resolution
 * and coarse clocks, then MONOTONIC_RAW), with [vvar] four pages long and
 * [vvar_vclock] (the pvclock record, then the Hyper-V page) right after it.  A
 * reading is refused (the caller asks the host vDSO) whenever its counter is
 * not there: clock mode "none", an unstable pvclock or Hyper-V page, a kernel
 * time namespace's page (clock mode INT_MAX, sequence count odd for good).
 *
 * Freestanding, like the engine. */
#ifndef TW_VVAR_H
#define TW_VVAR_H

#include <stdint.h>
#include "engine.h"
#include "hyperv.h"
#include "pvclock.h"
#include "tsc.h"

/* The kernel's VDSO_CLOCKMODE_* (x86). */
#define TW_VVAR_CLOCKMODE_NONE 0
#define TW_VVAR_CLOCKMODE_TSC 1
#define TW_VVAR_CLOCKMODE_PVCLOCK 2
#define TW_VVAR_CLOCKMODE_HVCLOCK 3
#define TW_VVAR_CLOCKMODE_TIMENS 0x7fffffff

#define TW_VVAR_NBASES 12 /* CLOCK_TAI + 1 */
/* [vvar]'s length; [vvar_vclock] follows it: the pvclock page, the Hyper-V page */
#define TW_VVAR_BYTES (4 * 4096)
#define TW_VCLOCK_BYTES (2 * 4096)

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
	       "seq and clock_mode are read in one load");

/* Checks the page at `vvar` (the first page of the [vvar] mapping; `vclock`:
 * the [vvar_vclock] mapping, or null) against the host vDSO in `h`; on success
 * h->vvar points at it and the engine reads host time from it.  0 or -errno
 * (-ENOTSUP: not a layout this engine knows). */
long tw_vvar_use(struct tw_host *h, const void *vvar, const void *vclock);

/* The clocks the page serves: REALTIME, MONOTONIC, MONOTONIC_RAW, the two
 * COARSE, BOOTTIME and TAI (not the ALARM clocks, nor CPU time). */
#define TW_VVAR_SERVED                                                                     \
	((1u << 0) | (1u << 1) | (1u << 4) | (1u << 5) | (1u << 6) | (1u << 7) | (1u << 11))

static inline int tw_vvar_serves(long clockid)
{
	return (unsigned long)clockid < 32 && ((TW_VVAR_SERVED >> clockid) & 1);
}

/* REALTIME_COARSE and MONOTONIC_COARSE: their base is the time. */
static inline int tw_coarse_clock(long clockid)
{
	return clockid == 5 || clockid == 6;
}

/* The data of clock `clockid`: MONOTONIC_RAW has a vdso_clock of its own. */
static inline const struct tw_vvar_clock *tw_vvar_of(const struct tw_vvar_clock *vv, long clockid)
{
	return vv + (clockid == 4);
}

/* The sequence count and the clock mode, in one load (x86-64 is
 * little-endian: the count is the low word). */
static inline uint64_t tw_vvar_seq_mode(const struct tw_vvar_clock *vc)
{
	return __atomic_load_n((const uint64_t *)(const void *)&vc->seq, __ATOMIC_ACQUIRE);
}

/* The counter of the clock mode in `pair` (the data's count and clock mode,
 * tw_vvar_seq_mode), read after the count (RDTSCP waits for it).  0, or 1
 * while an update is under way (count odd) or when there is no counter to
 * read (mode "none", an unstable vclock page). */
static inline __attribute__((always_inline)) int
tw_vvar_cycles(const struct tw_vvar_clock *vv, uint64_t pair, uint64_t *cycles)
{
	const uint32_t mode = (uint32_t)(pair >> 32);

	/* count even and mode TSC, in one compare */
	if (__builtin_expect((pair & 0xffffffff00000001ULL) ==
				     (uint64_t)TW_VVAR_CLOCKMODE_TSC << 32, 1)) {
		*cycles = tw_tsc_cycles();
		return 0;
	}
	if (pair & 1)
		return 1;
	/* A vclock page is mapped only while its clock source can be in force:
	 * nothing may load from it before the mode says so (the kernel's vDSO
	 * keeps a compiler barrier here too). */
	__asm__ volatile("" ::: "memory");
	if (mode == TW_VVAR_CLOCKMODE_PVCLOCK)
		return tw_pvclock_cycles(
			(const struct tw_pvclock *)(const void *)((const char *)vv + TW_VVAR_BYTES),
			cycles);
	if (mode == TW_VVAR_CLOCKMODE_HVCLOCK)
		return tw_hyperv_cycles((const struct tw_hyperv_page *)(const void *)(
						(const char *)vv + TW_VVAR_BYTES + 4096),
					cycles);
	return 1;
}

/* The kernel's scaling of `cycles` past cycle_last onto `base` (the clock's
 * nanoseconds shifted left by `shift`, plus whatever rides along), in 64
 * bits: 0, or 1 when the cycles are beyond max_cycles (the counter behind
 * cycle_last, or long after it), which the caller leaves to tw_vvar_split. */
static inline __attribute__((always_inline)) int
tw_vvar_scale(uint64_t cycles, uint64_t cycle_last, uint64_t max_cycles, uint32_t mult,
	      uint32_t shift, uint64_t base, uint64_t *ns)
{
	uint64_t delta = cycles - cycle_last;

	if (__builtin_expect(delta > max_cycles, 0))
		return 1;
	*ns = (delta * mult + base) >> shift;
	return 0;
}

/* The read the common case takes: host clock `clockid` (a served one) plus
 * (add_sec, add_nsec), 0 <= add_nsec < 1e9, straight code with no loop.  The
 * addend (a namespace's offset) joins the kernel's own base before the
 * counter's product is added, so that it costs the read no latency.  0, or 1
 * for anything out of the ordinary (an update under way or meanwhile, no
 * counter, cycles beyond max_cycles, a sum of 2e9 ns or more): tw_vvar_snap
 * then reads it. */
static inline __attribute__((always_inline)) int
tw_vvar_add(const struct tw_vvar_clock *vv, long clockid, int64_t add_sec, int64_t add_nsec,
	    struct tw_ts *ts)
{
	const struct tw_vvar_clock *vc = tw_vvar_of(vv, clockid);
	uint64_t pair = tw_vvar_seq_mode(vc), sec, ns, cycles;
	uint32_t seq = (uint32_t)pair;

	sec = __atomic_load_n(&vc->basetime[clockid].sec, __ATOMIC_RELAXED) + (uint64_t)add_sec;
	ns = __atomic_load_n(&vc->basetime[clockid].nsec, __ATOMIC_RELAXED);
	if (tw_coarse_clock(clockid)) {
		if (__builtin_expect(seq & 1, 0))
			return 1;
		ns += (uint64_t)add_nsec;
	} else {
		/* shift <= 28 (tw_vvar_use): the addend stays below 2^58, inside
		 * the margin the kernel keeps under 2^64 */
		uint32_t shift = __atomic_load_n(&vc->shift, __ATOMIC_RELAXED);

		if (tw_vvar_cycles(vv, pair, &cycles) ||
		    tw_vvar_scale(cycles, __atomic_load_n(&vc->cycle_last, __ATOMIC_RELAXED),
				  __atomic_load_n(&vc->max_cycles, __ATOMIC_RELAXED),
				  __atomic_load_n(&vc->mult, __ATOMIC_RELAXED), shift,
				  ns + ((uint64_t)add_nsec << shift), &ns))
			return 1;
	}
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	if (__builtin_expect(__atomic_load_n(&vc->seq, __ATOMIC_RELAXED) != seq, 0))
		return 1;
	if (__builtin_expect(ns >= 1000000000ULL, 0)) {
		if (__builtin_expect(ns >= 2000000000ULL, 0))
			return 1;
		ns -= 1000000000ULL;
		sec++;
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
	uint64_t cycles;    /* the counter (fine clocks) */
};

/* A reading of clock `clockid` with what it was made of, waiting out the
 * kernel's updates as its vDSO does.  0, or 1 when the page cannot serve it:
 * not a served clock, no counter for a fine clock, a kernel time namespace's
 * page. */
static inline int tw_vvar_snap(const struct tw_vvar_clock *vv, long clockid,
			       struct tw_vvar_snap *v)
{
	const struct tw_vvar_clock *vc = tw_vvar_of(vv, clockid);

	if (!tw_vvar_serves(clockid))
		return 1;
	for (;;) {
		uint64_t pair = tw_vvar_seq_mode(vc);

		v->seq = (uint32_t)pair;
		if (v->seq & 1) { /* an update under way, or a time namespace's page */
			if ((uint32_t)(pair >> 32) == TW_VVAR_CLOCKMODE_TIMENS)
				return 1;
			__builtin_ia32_pause();
			continue;
		}
		v->sec = __atomic_load_n(&vc->basetime[clockid].sec, __ATOMIC_RELAXED);
		v->nsec = __atomic_load_n(&vc->basetime[clockid].nsec, __ATOMIC_RELAXED);
		v->cycle_last = __atomic_load_n(&vc->cycle_last, __ATOMIC_RELAXED);
		v->max_cycles = __atomic_load_n(&vc->max_cycles, __ATOMIC_RELAXED);
		v->mult = __atomic_load_n(&vc->mult, __ATOMIC_RELAXED);
		v->shift = __atomic_load_n(&vc->shift, __ATOMIC_RELAXED);
		v->cycles = 0;
		if (!tw_coarse_clock(clockid) && tw_vvar_cycles(vv, pair, &v->cycles))
			return 1;
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&vc->seq, __ATOMIC_RELAXED) == v->seq)
			return 0;
	}
}

/* The instant of a snapshot, below the nanosecond: whole seconds, nanoseconds
 * past them (possibly 1e9 or more: the kernel's vDSO normalises after its
 * loop) and frac / 2^shift of the next one.  The coarse clocks' base is whole
 * nanoseconds (shift 0). */
static inline void tw_vvar_split(const struct tw_vvar_snap *v, long clockid, uint64_t *sec,
				 uint64_t *ns, uint64_t *frac, unsigned *shift)
{
	uint64_t delta = v->cycles - v->cycle_last;
	unsigned __int128 x;

	*sec = v->sec;
	if (tw_coarse_clock(clockid)) {
		*ns = v->nsec;
		*frac = 0;
		*shift = 0;
		return;
	}
	if (delta <= v->max_cycles) /* the kernel's sum, in its 64 bits */
		x = delta * v->mult + v->nsec;
	else if (delta & (1ULL << 62)) /* the counter behind cycle_last */
		x = v->nsec;
	else /* long since the last update: in 128 bits */
		x = (unsigned __int128)delta * v->mult + v->nsec;
	*ns = (uint64_t)(x >> v->shift);
	*frac = (uint64_t)x & ((1ULL << v->shift) - 1);
	*shift = v->shift;
}

/* Host clock `clockid`, as the host vDSO returns it.  0, or 1 as
 * tw_vvar_snap. */
static inline int tw_vvar_gettime(const struct tw_vvar_clock *vv, long clockid, struct tw_ts *ts)
{
	struct tw_vvar_snap v;
	uint64_t sec, ns, frac;
	unsigned shift;

	if (tw_vvar_snap(vv, clockid, &v))
		return 1;
	tw_vvar_split(&v, clockid, &sec, &ns, &frac, &shift);
	/* the kernel's vDSO loops here; a division bounds the work */
	ts->sec = (int64_t)(sec + ns / 1000000000ULL);
	ts->nsec = (int64_t)(ns % 1000000000ULL);
	return 0;
}

#endif
