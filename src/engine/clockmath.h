/* Clock maths of DESIGN section 2: pure functions, no side effects, no libc.
 *
 *     virtual = V + R * (host - H)      per clock line, saturating
 *
 * Used by the engine on every read and by the control library for every change. */
#ifndef TW_CLOCKMATH_H
#define TW_CLOCKMATH_H

#include <stdint.h>
#include "engine.h"
#include "page.h"

#define TW_NSEC 1000000000LL
/* Virtual REALTIME stays within [1970-01-01, 2262-04-11T23:47:16.854775807Z]. */
#define TW_REALTIME_MAX INT64_MAX
/* Virtual MONOTONIC and BOOTTIME stay within [0, KTIME_SEC_MAX / 2] like the
 * kernel's time namespace offsets (KTIME_SEC_MAX = 9223372036 s). */
#define TW_MONO_MAX (4611686018LL * TW_NSEC)
/* Largest rate accepted: 1,000,000 (Q32.32). */
#define TW_RATE_MAX ((uint64_t)1000000 << 32)

/* What a change asks for; `what` says which fields are meaningful. */
enum {
	TW_CH_AT = 1u << 0,        /* REALTIME := at */
	TW_CH_OFFSET = 1u << 1,    /* REALTIME := reference REALTIME + offset */
	TW_CH_RATE = 1u << 2,      /* R := rate */
	TW_CH_FREEZE = 1u << 3,    /* R := 0, remembering R */
	TW_CH_RESUME = 1u << 4,    /* R := the rate before the freeze */
	TW_CH_ADVANCE = 1u << 5,   /* every line += advance (>= 0) */
	TW_CH_MONOTONIC = 1u << 6, /* MONOTONIC := reference MONOTONIC + monotonic */
	TW_CH_BOOTTIME = 1u << 7,  /* BOOTTIME := reference BOOTTIME + boottime */
	TW_CH_SETTIME = 1u << 8,   /* policy := settime */
	/* Frozen only: MONOTONIC, RAW and BOOTTIME move on together until line
	 * reach_line reads at least `reach` (a member's timed wait ran out). */
	TW_CH_REACH = 1u << 9,
};

struct tw_change {
	unsigned what;
	int creating;       /* a new namespace: MONOTONIC/BOOTTIME have no past yet */
	int64_t at;         /* ns since the epoch */
	int64_t offset;     /* ns */
	uint64_t rate;      /* Q32.32 */
	int64_t advance;    /* ns, >= 0 */
	int64_t monotonic;  /* ns */
	int64_t boottime;   /* ns */
	uint32_t settime;   /* enum tw_settime */
	uint32_t reach_line; /* enum tw_line: MONOTONIC, RAW or BOOTTIME */
	int64_t reach;      /* ns on reach_line */
};

/* Why tw_apply refused a change; nothing was changed then. */
enum tw_refusal {
	TW_OK = 0,
	TW_BAD_REALTIME,       /* REALTIME would leave [1970, 2262] */
	TW_BAD_MONOTONIC,      /* MONOTONIC would leave [0, KTIME_SEC_MAX/2] */
	TW_BAD_BOOTTIME,       /* BOOTTIME likewise */
	TW_BACK_MONOTONIC,     /* MONOTONIC would go backwards */
	TW_BACK_BOOTTIME,      /* BOOTTIME would go backwards */
	TW_BAD_ADVANCE,        /* --advance below zero */
	TW_BAD_RATE,           /* rate above TW_RATE_MAX */
};

static inline int64_t tw_add_sat(int64_t a, int64_t b)
{
	int64_t r;
	if (__builtin_add_overflow(a, b, &r))
		return b > 0 ? INT64_MAX : INT64_MIN;
	return r;
}

static inline int64_t tw_sub_sat(int64_t a, int64_t b)
{
	int64_t r;
	if (__builtin_sub_overflow(a, b, &r))
		return b < 0 ? INT64_MAX : INT64_MIN;
	return r;
}

/* d * rate / 2^32, rounded toward zero, saturating at the int64 limits.  One
 * 64x64->128 multiply: |d| < 2^64 and rate < 2^52 keep the product in 128 bits. */
static inline int64_t tw_scale(int64_t d, uint64_t rate)
{
	uint64_t mag = d < 0 ? (uint64_t)0 - (uint64_t)d : (uint64_t)d;
	unsigned __int128 prod = ((unsigned __int128)mag * rate) >> 32;
	if (d >= 0)
		return prod > (unsigned __int128)INT64_MAX ? INT64_MAX : (int64_t)prod;
	return prod > (unsigned __int128)INT64_MAX ? INT64_MIN : -(int64_t)prod;
}
/* The host time a virtual duration d >= 0 takes at rate R: d / R, rounded up so a
 * wait never ends early, saturating; when frozen (R = 0) the virtual time left
 * elapses at host speed (DESIGN section 2): d itself. */
static inline int64_t tw_unscale(int64_t d, uint64_t rate)
{
	uint64_t hi, lo, q, r;

	if (d <= 0 || rate == 0 || rate == TW_RATE_ONE)
		return d;
	/* (d << 32) / rate, as one 128-by-64 division; d < 2^63, so the dividend's
	 * high word is d >> 32 and the quotient fits while that is below rate */
	hi = (uint64_t)d >> 32;
	lo = (uint64_t)d << 32;
	if (hi >= rate)
		return INT64_MAX;
	__asm__("divq %4" : "=a"(q), "=d"(r) : "a"(lo), "d"(hi), "rm"(rate));
	if (r && q < UINT64_MAX)
		q++;
	return q > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)q;
}

int64_t tw_line_max(enum tw_line line);
/* One line's virtual value at host instant `host`, clamped into its range: the
 * engine's hot path, hence inline. */
static inline int64_t tw_map_line(enum tw_line line, struct tw_base b, uint64_t rate,
				  int64_t host)
{
	int64_t v = tw_add_sat(b.virt, tw_scale(tw_sub_sat(host, b.host), rate));
	int64_t max = line >= TW_LINE_MONOTONIC ? TW_MONO_MAX : TW_REALTIME_MAX;
	return v < 0 ? 0 : v > max ? max : v;
}
static inline int64_t tw_map(const struct tw_params *p, enum tw_line line, int64_t host)
{
	return tw_map_line(line, p->base[line], p->rate, host);
}
/* The first second a line may not reach (tw_map_line clamps below it). */
static inline uint64_t tw_line_max_sec(int line)
{
	return line >= TW_LINE_MONOTONIC ? TW_MONO_MAX / 1000000000LL
					 : TW_REALTIME_MAX / 1000000000LL;
}

/* Whether a time the fast paths made from the page's derived fields is not one
 * the line can give: past its range, or nanoseconds outside [0, 1e9) (a page
 * damaged after it was checked: the caller maps the line in full, which clamps,
 * so that no reader hands out a malformed time). */
static inline __attribute__((always_inline)) int tw_ts_wild(int line, int64_t sec, int64_t nsec)
{
	return ((uint64_t)sec >= tw_line_max_sec(line)) | ((uint64_t)nsec >= 1000000000ULL);
}

/* A line at a rate other than 0 and 1, from a host reading that the kernel's
 * vDSO data gives below the nanosecond: whole seconds `sec` (< 2^33),
 * nanoseconds past them `ns` (< 2^33, not necessarily below 1e9) and a
 * fraction of the next nanosecond, `frac` / 2^shift (frac < 2^shift,
 * shift <= 32).  The virtual time is the floor of the exact map of that
 * instant:
 *
 *     floor(V + R * (sec*1e9 + ns + frac/2^shift - H))
 *
 * With shift 0 it is tw_map_line's value at sec*1e9 + ns, split into seconds
 * and nanoseconds.  Keeping the fraction is what lets a read fold the rate
 * into the kernel's own scale (fold.h) and still give the same answer as
 * this function: the same instant, the same definition.
 *
 * The product with the rate is split,
 *
 *     R * (sec*1e9 - H) + R * (ns + frac/2^shift)
 *
 * so that the first term and its division into seconds depend only on `sec`.
 * 0, or 1 for what it leaves to tw_map_line (a host reading before the anchor,
 * where tw_scale rounds toward zero; a result at or past the line's limits). */
static inline int tw_rate_ts(int line, struct tw_base b, uint64_t rate, uint64_t sec,
			     uint64_t ns, uint64_t frac, unsigned shift, struct tw_ts *ts)
{
	int64_t d0, a_hi, w, w0;
	__int128 a;
	uint64_t a_lo, ws, wn, t, n, r1;
	int k;

	if (__builtin_expect(sec >= (1ULL << 33) || ns >= (1ULL << 33) || shift > 32, 0))
		return 1;
	/* sec < 2^33: the product cannot overflow; the difference can, with an
	 * anchor no writer makes (a damaged page): left to tw_map_line */
	if (__builtin_expect(__builtin_sub_overflow((int64_t)sec * 1000000000LL, b.host, &d0), 0))
		return 1;
	a = (__int128)d0 * (__int128)rate;
	if (__builtin_expect(a >= (__int128)INT64_MAX * 4294967296 ||
				     a <= (__int128)INT64_MIN * 4294967296, 0))
		return 1;
	a_hi = (int64_t)(a >> 32); /* floor: a = a_hi * 2^32 + a_lo, 0 <= a_lo < 2^32 */
	a_lo = (uint64_t)a & 0xffffffffULL;
	if (__builtin_add_overflow(b.virt, a_hi, &w))
		return 1;
	ws = (uint64_t)w / 1000000000ULL; /* used only when w >= 0 */
	wn = (uint64_t)w % 1000000000ULL;
	/* before the anchor tw_scale rounds toward zero, not down: left to it */
	if (__builtin_expect(__builtin_add_overflow(d0, (int64_t)ns, &w0) || w0 < 0, 0))
		return 1;
	/* t = floor((ns*R*2^shift + a_lo*2^shift + frac*R) / 2^(shift+32))
	 *   = (ns*R + a_lo + ((frac*R) >> shift)) >> 32     (floor of a floor).
	 * A rate with k trailing zero bits (2, 10, 0.5, and any below 2 with
	 * none) is R' = R >> k, and a_lo is a multiple of 2^k (a is), so then
	 * t = (ns*R' + (a_lo >> k) + ((frac*R') >> shift)) >> (32 - k) exactly:
	 * 64-bit products while ns < 2^30, frac < 2^28 and R' < 2^33. */
	k = __builtin_ctzll(rate); /* rate != 0 */
	k = k > 32 ? 32 : k;
	r1 = rate >> k;
	if (__builtin_expect(ns < (1ULL << 30) && frac < (1ULL << 28) && r1 < (1ULL << 33), 1))
		t = (ns * r1 + (a_lo >> k) + ((frac * r1) >> shift)) >> (32 - k);
	else
		t = (uint64_t)(((unsigned __int128)ns * rate + a_lo +
				(((unsigned __int128)frac * rate) >> shift)) >> 32);
	if (__builtin_expect(w < 0, 0)) {
		/* the anchor's second lies ahead of the reading's (the virtual
		 * anchor near 0): split the sum itself */
		if (__builtin_add_overflow(w, (int64_t)t, &w) || w < 0)
			return 1;
		ws = (uint64_t)w / 1000000000ULL;
		wn = (uint64_t)w % 1000000000ULL;
		t = 0;
	}
	n = wn + t;
	if (n >= 1000000000ULL) {
		if (n < 2000000000ULL) {
			n -= 1000000000ULL;
			ws++;
		} else {
			ws += n / 1000000000ULL;
			n %= 1000000000ULL;
		}
	}
	if (__builtin_expect(ws >= tw_line_max_sec(line), 0))
		return 1;
	ts->sec = (int64_t)ws;
	ts->nsec = (int64_t)n;
	return 0;
}

/* The line of a clock id, or -1 for clocks timewarp leaves alone (CPU-time
 * clocks, also the negative pid/tid/fd ids, and invalid ids).  Ids as in
 * <linux/time.h>: REALTIME 0, MONOTONIC 1, MONOTONIC_RAW 4, REALTIME_COARSE 5,
 * MONOTONIC_COARSE 6, BOOTTIME 7, REALTIME_ALARM 8, BOOTTIME_ALARM 9, TAI 11.
 * A table: it is on every read's path. */
static inline int tw_clock_line(long clockid)
{
	static const signed char line[12] = {
		TW_LINE_REALTIME, TW_LINE_MONOTONIC, -1, -1, TW_LINE_RAW, TW_LINE_REALTIME,
		TW_LINE_MONOTONIC, TW_LINE_BOOTTIME, TW_LINE_REALTIME, TW_LINE_BOOTTIME, -1,
		TW_LINE_TAI,
	};
	return (unsigned long)clockid < 12 ? line[clockid] : -1;
}

/* A namespace that starts where `ref` is (the caller's clocks: host, or an outer
 * namespace's virtual clocks), at host instant `host`, running at `rate`. */
void tw_params_init(struct tw_params *p, const int64_t host[TW_NLINES],
		    const int64_t ref[TW_NLINES], uint64_t rate);
/* A line's value at host instant `host` as a change at that instant keeps it:
 * at a rate other than 0 and 1 its value 1 ns later (clockmath.c). */
int64_t tw_map_kept(const struct tw_params *p, enum tw_line line, int64_t host);
/* Move the anchors to host instant `host` without changing any virtual clock
 * (tw_map_kept). */
void tw_rebase(struct tw_params *p, const int64_t host[TW_NLINES]);
/* Rebase at `host`, then apply `c`; `ref` are the caller's clocks at that instant
 * (for --offset, --monotonic, --boottime).  On refusal *p is untouched. */
enum tw_refusal tw_apply(struct tw_params *p, const struct tw_change *c,
			 const int64_t host[TW_NLINES], const int64_t ref[TW_NLINES]);

#endif
