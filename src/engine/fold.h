/* A rate folded into the kernel's scale of its counter (the TSC, or the
 * pvclock or Hyper-V counter: vvar.h): reads at a rate other than 0 and 1 as
 * fast as the host's.
 *
 * Between two updates of the kernel's data page a fine host clock is
 *
 *     host = sec*1e9 + (B + d*m) / 2^s      d = cycles - cycle_last
 *
 * below the nanosecond, and the virtual clock of a line (clockmath.h,
 * tw_rate_ts) the floor of V + R*(host - H).  With R = R' / 2^j (R' odd, or
 * j = 0) that is again the kernel's shape,
 *
 *     virtual = Ws*1e9 + ((N + d*M) >> (s + j))      M = R'*m
 *
 * with constants Ws and N that depend on the update and the namespace only.
 * So a process computes them once per kernel update (struct tw_fold, kept in
 * the process), and every read until the next one costs what the host's
 * costs: the counter, one subtraction, one multiply, one add, one shift.
 * That holds while the sum fits 64 bits (S = s + j from 1 to 33: rate 2, 10,
 * 1.5).  A rate with more fraction bits (0.1, 1.1), or S = 0, keeps N and M
 * shifted left to 64 bits below the nanosecond instead (S is at most 60, so
 * nothing is lost and N stays below 2^94): the answer is then the high word of
 * a 128-bit sum, with no shift left to make,
 *
 *     virtual ns = d*M_hi + hi64(N' + d*M_lo)
 *
 * (M_hi: the whole nanoseconds a cycle makes, 0 unless the virtual clock makes
 * a nanosecond or more a cycle), a multiply and an add-with-carry more.  The
 * answer is tw_rate_ts's for the same counter reading, to the nanosecond (the
 * unit tests check it).  Where a fold could not be exact (a product beyond 128
 * bits, the reading before the anchor or near the line's limits) tw_fold_make
 * declines and the reads go through tw_rate_ts.
 *
 * Freestanding, like the engine. */
#ifndef TW_FOLD_H
#define TW_FOLD_H

#include <stdint.h>
#include "clockmath.h"
#include "engine.h"
#include "vvar.h"

/* The fold of each fine clock id the kernel's page serves. */
static inline int tw_fold_slot(long clockid)
{
	return clockid == 11 ? 4 : clockid == 7 ? 3 : clockid == 4 ? 2 : (int)clockid;
}

/* n / d, or UINT64_MAX when the quotient does not fit 64 bits: one divq (the
 * engine has no libgcc for 128-bit division). */
static inline uint64_t tw_div128(unsigned __int128 n, uint64_t d)
{
	uint64_t hi = (uint64_t)(n >> 64), lo = (uint64_t)n, q, r;

	if (hi >= d)
		return UINT64_MAX;
	__asm__("divq %4" : "=a"(q), "=d"(r) : "a"(lo), "d"(hi), "rm"(d));
	return q;
}

/* The constants for line `line` (parameters b, rate, not 0 or 1) from the
 * kernel data in `v` (a fine clock's, tw_vvar_snap); everything but the
 * seqlock and the keys.  0, or 1 when it cannot be folded exactly. */
static inline int tw_fold_make(int line, struct tw_base b, uint64_t rate,
			       const struct tw_vvar_snap *v, struct tw_fold *f)
{
	const unsigned s = v->shift;
	unsigned k, j, S;
	int64_t a;
	__int128 p, ph, w;
	unsigned __int128 n, unit, m, q;
	uint64_t r1, carry, dmax, lim;

	if (rate == 0 || v->shift > 28 || v->sec >= (1ULL << 33) ||
	    v->nsec >= ((uint64_t)1 << 33) << v->shift)
		return 1;
	k = (unsigned)__builtin_ctzll(rate);
	k = k > 32 ? 32 : k;
	r1 = rate >> k; /* below 2^53 (TW_RATE_MAX) */
	j = 32 - k;
	S = s + j; /* at most 60 */
	a = (int64_t)v->sec * 1000000000LL - b.host; /* the anchor to this second */
	/* what tw_rate_ts leaves to tw_map_line it must leave too: its product
	 * R * a out of range, a reading before the anchor */
	p = (__int128)a * (__int128)rate;
	if (p >= (__int128)INT64_MAX * 4294967296 || p <= (__int128)INT64_MIN * 4294967296)
		return 1;
	if ((__int128)a * ((__int128)1 << s) + (__int128)v->nsec < 0)
		return 1;
	/* R'*a = ph * 2^j + pl, 0 <= pl < 2^j; W = V + ph = Ws*1e9 + Wn */
	p = (__int128)a * (__int128)r1;
	ph = p >> j;
	w = (__int128)b.virt + ph;
	if (w < 0 || w > INT64_MAX)
		return 1;
	/* N = Wn*2^S + pl*2^s + R'*B, below 2^114; whole seconds of it go to Ws
	 * (floor(N / (1e9*2^S)) = floor(floor(N / 2^S) / 1e9)) */
	unit = (unsigned __int128)1000000000 << S;
	n = ((unsigned __int128)((uint64_t)w % 1000000000ULL) << S) +
	    ((unsigned __int128)(p - ph * ((__int128)1 << j)) << s) +
	    (unsigned __int128)r1 * v->nsec;
	q = n >> S;
	if (q >> 64)
		return 1;
	carry = (uint64_t)q / 1000000000ULL;
	n -= (unsigned __int128)carry * unit;
	w = (__int128)((uint64_t)w / 1000000000ULL) + carry;
	m = (unsigned __int128)r1 * v->mult;
	if (m >> 64)
		return 1;
	/* the reads it serves: within the kernel's 64-bit branch (tw_vvar_split),
	 * their nanoseconds below 2^33 (tw_rate_ts's bound) and below 2e9 (one
	 * carry into the seconds), their seconds inside the line */
	dmax = v->max_cycles;
	lim = (((uint64_t)1 << 33) << s) - 1 - v->nsec;
	if (v->mult && lim / v->mult < dmax)
		dmax = lim / v->mult;
	if (m && tw_div128(2 * unit - 1 - n, (uint64_t)m) < dmax)
		dmax = tw_div128(2 * unit - 1 - n, (uint64_t)m);
	if (w + 1 >= (__int128)tw_line_max_sec(line))
		return 1;
	if (S > 0 && S <= 33) { /* 2e9 * 2^S < 2^64: the sums fit 64 bits */
		f->shift = S;
	} else { /* 64 - S more bits below the nanosecond: N' below 1e9 * 2^64 */
		n <<= 64 - S;
		m <<= 64 - S;
		f->shift = 0;
	}
	f->cycle_last = v->cycle_last;
	f->dmax = dmax;
	f->base_lo = (uint64_t)n;
	f->base_hi = (uint64_t)(n >> 64);
	f->mult_lo = (uint64_t)m;
	f->mult_hi = (uint64_t)(m >> 64);
	f->sec = (int64_t)w;
	return 0;
}

/* The virtual time `d` cycles past the fold's cycle_last (d <= dmax). */
static inline __attribute__((always_inline)) void tw_fold_at(const struct tw_fold *f, uint64_t d,
							     struct tw_ts *ts)
{
	int64_t sec = f->sec;
	uint64_t ns;

	if (__builtin_expect(f->shift != 0, 1)) {
		ns = (f->base_lo + d * f->mult_lo) >> f->shift;
	} else {
		unsigned __int128 p = (unsigned __int128)d * f->mult_lo;
		uint64_t lo;

		ns = (uint64_t)(p >> 64) + f->base_hi + d * f->mult_hi;
		/* the high word of N' + d*M_lo: the low words' carry */
		ns += __builtin_add_overflow((uint64_t)p, f->base_lo, &lo);
	}
	if (ns >= 1000000000ULL) {
		ns -= 1000000000ULL;
		sec++;
	}
	ts->sec = sec;
	ts->nsec = (int64_t)ns;
}

#endif
