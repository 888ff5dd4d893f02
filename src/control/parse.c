/* Parsers for the command line's durations and rates (include/timewarp.h); dates
 * are date.c's.
 *
 * Exact integer arithmetic throughout: products that can exceed 64 bits are done
 * in 128 bits and every accumulation is capped, so no input can overflow.  The
 * only outside state is the time zone, for dates given without one.
 *
 * Syntax errors win over range errors: "99999999999999999999sx" is -EINVAL, not
 * -ERANGE, so an out-of-range flag is only acted on once the whole string parsed.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "lex.h"
#include "timewarp.h"

#define DAY_SEC 86400LL
/* Fraction digits kept exactly: 10^18 * 2^56 still fits in 128 bits. */
#define MAX_FRAC_DIGITS 18

static uint64_t pow10_u64(int k)
{
	uint64_t p = 1;

	while (k-- > 0)
		p *= 10;
	return p;
}

/* ---- decimals ------------------------------------------------------------ */

/* A decimal number as written: integer part and up to MAX_FRAC_DIGITS fraction
 * digits, kept as integers so conversions can round exactly once. */
struct decimal {
	uint64_t ip;  /* integer part, capped near UINT64_MAX / 10 */
	int ip_big;   /* the integer part did not fit */
	uint64_t fp;  /* fraction digits as an integer: "0.25" -> 25 */
	int fdigits;  /* how many fraction digits: "0.25" -> 2 */
};

enum {
	DEC_NONE = -1,      /* no digits at all */
	DEC_BAD_POINT = -2, /* a '.' with no digit after it */
	DEC_TOO_LONG = -3,  /* more than MAX_FRAC_DIGITS fraction digits */
};

/* DIGITS[.DIGITS] or .DIGITS; no sign, no exponent.  Advances *p past it. */
static int parse_decimal(const char **p, struct decimal *d)
{
	const char *q = *p;
	int idigits = 0;

	d->ip = 0;
	d->ip_big = 0;
	d->fp = 0;
	d->fdigits = 0;
	for (; tw_is_digit(*q); q++, idigits++) {
		if (d->ip > UINT64_MAX / 10 - 1)
			d->ip_big = 1; /* stop growing; the caller reports the range */
		else
			d->ip = d->ip * 10 + (uint64_t)(*q - '0');
	}
	if (*q == '.') {
		q++;
		if (!tw_is_digit(*q))
			return DEC_BAD_POINT;
		for (; tw_is_digit(*q); q++) {
			if (d->fdigits == MAX_FRAC_DIGITS)
				return DEC_TOO_LONG;
			d->fp = d->fp * 10 + (uint64_t)(*q - '0');
			d->fdigits++;
		}
	} else if (!idigits) {
		return DEC_NONE;
	}
	*p = q;
	return 0;
}

/* round(fraction * mult), halves away from zero: fp < 10^18 and mult < 2^56 keep
 * the product below 2^116. */
static unsigned __int128 frac_times(const struct decimal *d, uint64_t mult)
{
	uint64_t pow = pow10_u64(d->fdigits);

	return ((unsigned __int128)d->fp * mult + pow / 2) / pow;
}

/* ---- durations ----------------------------------------------------------- */

#define UNITS "ns us ms s m h d w y"

/* Longest names first, so "1ms" is a millisecond and "1m5s" a minute and five
 * seconds. */
static const struct {
	char name[3];
	uint64_t ns;
} units[] = {
	{ "ns", 1 }, { "us", 1000 }, { "ms", 1000000 }, { "s", TW_NSEC }, { "m", 60 * TW_NSEC },
	{ "h", 3600 * TW_NSEC }, { "d", DAY_SEC * TW_NSEC }, { "w", 7 * DAY_SEC * TW_NSEC },
	{ "y", 365 * DAY_SEC * TW_NSEC },
};

/* The index in units[] of the unit at *p, or -1 when there is none. */
static int parse_unit(const char **p)
{
	for (int i = 0; i < (int)(sizeof(units) / sizeof(units[0])); i++) {
		size_t len = units[i].name[1] ? 2 : 1;

		if (!strncmp(*p, units[i].name, len)) {
			*p += len;
			return i;
		}
	}
	return -1;
}

int tw_parse_duration(const char *s, int64_t *ns, const char **why)
{
	/* Magnitude in 128 bits, capped well above the int64 range. */
	const unsigned __int128 cap = (unsigned __int128)1 << 64;
	unsigned __int128 total = 0;
	const char *p = s;
	int neg = 0, big = 0;
	unsigned seen = 0; /* units[] given so far, by index */

	if (!s || !*s)
		return tw_fail(why, "empty", -EINVAL);
	if (*p == '+' || *p == '-')
		neg = *p++ == '-';
	if (!*p)
		return tw_fail(why, "needs a number", -EINVAL);

	while (*p) {
		struct decimal d;
		uint64_t unit;
		int r = parse_decimal(&p, &d), u;

		if (r == DEC_TOO_LONG)
			return tw_fail(why, "more than 18 fraction digits", -EINVAL);
		if (r == DEC_BAD_POINT)
			return tw_fail(why, "needs a digit after the decimal point", -EINVAL);
		if (r) {
			if (*p == '+' || *p == '-')
				return tw_fail(why, "a sign is only allowed at the start", -EINVAL);
			if (tw_is_space(*p))
				return tw_fail(why, "spaces are not allowed", -EINVAL);
			if (tw_is_alpha(*p))
				return tw_fail(why, "needs a number before the unit", -EINVAL);
			return tw_fail(why, "not a duration", -EINVAL);
		}

		u = parse_unit(&p);
		/* A unit runs until a digit, '.' or the end: "1sec", "1min" are not ours. */
		if (tw_is_alpha(*p))
			return tw_fail(why, "unknown unit (units: " UNITS ")", -EINVAL);
		if (u < 0)
			return tw_fail(why, tw_is_space(*p) ? "spaces are not allowed" :
				       "needs a unit (" UNITS ")", -EINVAL);
		/* "1d1d" is more often a slip than a wish for 2d */
		if (seen & 1u << u)
			return tw_fail(why, "a unit given twice (write each unit once, as in 1d12h)",
				       -EINVAL);
		seen |= 1u << u;
		unit = units[u].ns;

		if (d.ip_big) {
			big = 1;
		} else if (!big) {
			total += (unsigned __int128)d.ip * unit + frac_times(&d, unit);
			if (total > cap)
				big = 1;
		}
	}
	if (big || total > (unsigned __int128)INT64_MAX + neg)
		return tw_fail(why, "too large", -ERANGE);
	/* -2^63 has no positive counterpart: negate in unsigned arithmetic. */
	*ns = neg ? (int64_t)(0 - (uint64_t)total) : (int64_t)total;
	return 0;
}

/* ---- rates --------------------------------------------------------------- */

int tw_parse_rate(const char *s, uint64_t *rate, const char **why)
{
	const uint64_t max_int = TW_RATE_MAX >> 32;
	const char *p = s;
	struct decimal d;
	unsigned __int128 q;
	int r;

	if (!s || !*s)
		return tw_fail(why, "empty", -EINVAL);
	if (*p == '-')
		return tw_fail(why, "must not be negative", -EINVAL);
	r = parse_decimal(&p, &d);
	if (r == DEC_TOO_LONG)
		return tw_fail(why, "more than 18 fraction digits", -EINVAL);
	if (r || *p)
		return tw_fail(why, "not a decimal number", -EINVAL);

	/* Decide on the decimal itself, so 1000000.0000000001 is out though it rounds in. */
	if (d.ip_big || d.ip > max_int || (d.ip == max_int && d.fp))
		return tw_fail(why, "above 1000000", -ERANGE);
	q = ((unsigned __int128)d.ip << 32) + frac_times(&d, (uint64_t)1 << 32);
	if (!q && d.fp)
		return tw_fail(why, "too small to represent (below 2^-32)", -ERANGE);
	*rate = (uint64_t)q;
	return 0;
}
