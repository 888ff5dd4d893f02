/* Parsers for the command line's dates, durations and rates (include/timewarp.h).
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
#include <time.h>

#include "timewarp.h"

#define DAY_SEC 86400LL
/* Fraction digits kept exactly: 10^18 * 2^56 still fits in 128 bits. */
#define MAX_FRAC_DIGITS 18

static int fail(const char **why, const char *phrase, int err)
{
	if (why)
		*why = phrase;
	return err;
}

/* Not isdigit(): that depends on the locale. */
static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_space(char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

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
	for (; is_digit(*q); q++, idigits++) {
		if (d->ip > UINT64_MAX / 10 - 1)
			d->ip_big = 1; /* stop growing; the caller reports the range */
		else
			d->ip = d->ip * 10 + (uint64_t)(*q - '0');
	}
	if (*q == '.') {
		q++;
		if (!is_digit(*q))
			return DEC_BAD_POINT;
		for (; is_digit(*q); q++) {
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

/* ---- dates --------------------------------------------------------------- */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm);
 * our own so that zoned input never depends on timegm or TZ. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static int is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
	static const unsigned char mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	return m == 2 && is_leap(y) ? 29 : mdays[m - 1];
}

/* Exactly n digits; stops at the first non-digit, so never reads past a NUL. */
static int fixed_digits(const char **p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!is_digit((*p)[i]))
			return -1;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

/* ".DIGITS" (1-9 of them) as nanoseconds; *p is just past the '.'. */
static int frac_ns(const char **p, int64_t *ns, const char **why)
{
	struct decimal d;
	const char *q = *p - 1; /* parse_decimal wants the '.' */

	if (parse_decimal(&q, &d) || d.fdigits > 9)
		return fail(why, d.fdigits > 9 ? "more than 9 fraction digits" :
			    "not a date", -EINVAL);
	*ns = (int64_t)(d.fp * pow10_u64(9 - d.fdigits));
	*p = q;
	return 0;
}

static int store_instant(__int128 v, int64_t *ns, const char **why)
{
	if (v < 0)
		return fail(why, "before 1970-01-01", -ERANGE);
	if (v > INT64_MAX)
		return fail(why, "after 2262-04-11T23:47:16.854775807Z", -ERANGE);
	*ns = (int64_t)v;
	return 0;
}

/* @SECONDS[.fraction] */
static int parse_epoch(const char *p, int64_t *ns, const char **why)
{
	int64_t frac = 0;
	uint64_t sec = 0;
	int big = 0;

	if (!is_digit(*p))
		return fail(why, "not a date", -EINVAL);
	for (; is_digit(*p); p++) {
		if (sec > UINT64_MAX / 10 - 1)
			big = 1;
		else
			sec = sec * 10 + (uint64_t)(*p - '0');
	}
	if (*p == '.') {
		p++;
		if (frac_ns(&p, &frac, why))
			return -EINVAL;
	}
	if (*p)
		return fail(why, "not a date", -EINVAL);
	if (big)
		return store_instant((__int128)INT64_MAX + 1, ns, why);
	return store_instant((__int128)sec * TW_NSEC + frac, ns, why);
}

/*
 * Local wall time `u` (the fields read as if UTC) to seconds since the epoch.
 *
 * mktime guesses when a wall time is skipped or repeated, differently across
 * libcs and tm_isdst hints, so instead: collect the UTC offsets in force within a
 * day either side (any transition near `u` shows up as a second offset), and keep
 * each `u - offset` that localtime maps back to exactly these fields.  None: the
 * time was skipped.  Two: the repeated hour of a fall-back, and the earlier wins,
 * the order in which the clock showed it.
 */
static int resolve_local(int64_t u, const struct tm *want, int64_t *t)
{
	int64_t best = INT64_MAX;
	long offs[3];
	int noffs = 0;

	tzset(); /* localtime_r need not notice a changed TZ by itself */
	for (int64_t probe = u - DAY_SEC; probe <= u + DAY_SEC; probe += DAY_SEC) {
		time_t pt = (time_t)probe, ct;
		struct tm tm;
		int seen = 0;

		if (!localtime_r(&pt, &tm))
			continue;
		for (int i = 0; i < noffs; i++)
			seen |= offs[i] == tm.tm_gmtoff;
		if (seen)
			continue;
		offs[noffs++] = tm.tm_gmtoff;

		ct = (time_t)(u - tm.tm_gmtoff);
		if (!localtime_r(&ct, &tm))
			continue;
		if (tm.tm_year != want->tm_year || tm.tm_mon != want->tm_mon ||
		    tm.tm_mday != want->tm_mday || tm.tm_hour != want->tm_hour ||
		    tm.tm_min != want->tm_min || tm.tm_sec != want->tm_sec)
			continue;
		if ((int64_t)ct < best)
			best = (int64_t)ct;
	}
	if (best == INT64_MAX)
		return -1;
	*t = best;
	return 0;
}

/* Z, z, +hh:mm, +hhmm or +hh (and with '-'), as seconds east of UTC. */
static int parse_zone(const char **p, int64_t *off, const char **why)
{
	const char *q = *p;
	int neg, zh, zm = 0;

	if (*q == 'Z' || *q == 'z') {
		*off = 0;
		*p = q + 1;
		return 0;
	}
	neg = *q++ == '-';
	if (fixed_digits(&q, 2, &zh))
		return fail(why, "not a date", -EINVAL);
	if (*q == ':') {
		q++;
		if (fixed_digits(&q, 2, &zm))
			return fail(why, "not a date", -EINVAL);
	} else if (is_digit(*q) && fixed_digits(&q, 2, &zm)) {
		return fail(why, "not a date", -EINVAL);
	}
	if (zh > 23 || zm > 59)
		return fail(why, "zone offset out of range", -EINVAL);
	*off = (neg ? -1 : 1) * ((int64_t)zh * 3600 + zm * 60);
	*p = q;
	return 0;
}

int tw_parse_date(const char *s, int64_t *ns, const char **why)
{
	const char *p = s;
	int y, mo, d, h = 0, mi = 0, sec = 0, zoned = 0;
	int64_t frac = 0, zoff = 0, u, t;
	int r;

	if (!s || !*s)
		return fail(why, "empty", -EINVAL);
	if (*p == '@')
		return parse_epoch(p + 1, ns, why);

	/* Short-circuiting keeps every read before the terminating NUL. */
	if (fixed_digits(&p, 4, &y) || *p++ != '-' || fixed_digits(&p, 2, &mo) ||
	    *p++ != '-' || fixed_digits(&p, 2, &d))
		return fail(why, "not a date", -EINVAL);
	if (*p == ' ' || *p == 'T' || *p == 't') {
		p++;
		if (fixed_digits(&p, 2, &h) || *p++ != ':' || fixed_digits(&p, 2, &mi))
			return fail(why, "not a date", -EINVAL);
		if (*p == ':') {
			p++;
			if (fixed_digits(&p, 2, &sec))
				return fail(why, "not a date", -EINVAL);
			if (*p == '.') {
				p++;
				r = frac_ns(&p, &frac, why);
				if (r)
					return r;
			}
		}
	}
	if (*p == 'Z' || *p == 'z' || *p == '+' || *p == '-') {
		r = parse_zone(&p, &zoff, why);
		if (r)
			return r;
		zoned = 1;
	}
	if (*p)
		return fail(why, "not a date", -EINVAL);

	if (mo < 1 || mo > 12)
		return fail(why, "month out of range (01-12)", -EINVAL);
	if (d < 1 || d > days_in_month(y, mo))
		return fail(why, mo == 2 && d == 29 ? "February 29 in a year that is not a leap year" :
			    "day out of range for the month", -EINVAL);
	if (h > 23)
		return fail(why, "hour out of range (00-23)", -EINVAL);
	if (mi > 59)
		return fail(why, "minute out of range (00-59)", -EINVAL);
	if (sec == 60)
		return fail(why, "leap seconds are not supported", -EINVAL);
	if (sec > 59)
		return fail(why, "second out of range (00-59)", -EINVAL);

	/* Years 0000-9999 keep all of this far inside int64 and time_t. */
	u = days_from_civil(y, (unsigned)mo, (unsigned)d) * DAY_SEC + h * 3600LL + mi * 60LL + sec;
	if (zoned) {
		t = u - zoff;
	} else {
		struct tm want = {
			.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d,
			.tm_hour = h, .tm_min = mi, .tm_sec = sec,
		};

		if (resolve_local(u, &want, &t))
			return fail(why, "time skipped by a daylight saving change in this time zone",
				    -EINVAL);
	}
	return store_instant((__int128)t * TW_NSEC + frac, ns, why);
}

/* ---- durations ----------------------------------------------------------- */

#define UNITS_HINT "needs a unit (ns us ms s m h d w y)"

/* The unit at *p in nanoseconds, or 0 when there is none.  Two-letter units
 * first, so "1ms" is a millisecond and "1m5s" a minute and five seconds. */
static uint64_t parse_unit(const char **p)
{
	const char *q = *p;
	uint64_t sec;

	if (q[0] && q[1] == 's' && (q[0] == 'n' || q[0] == 'u' || q[0] == 'm')) {
		*p = q + 2;
		return q[0] == 'n' ? 1 : q[0] == 'u' ? 1000 : 1000000;
	}
	switch (q[0]) {
	case 's':
		sec = 1;
		break;
	case 'm':
		sec = 60;
		break;
	case 'h':
		sec = 3600;
		break;
	case 'd':
		sec = DAY_SEC;
		break;
	case 'w':
		sec = 7 * DAY_SEC;
		break;
	case 'y':
		sec = 365 * DAY_SEC;
		break;
	default:
		return 0;
	}
	*p = q + 1;
	return sec * TW_NSEC;
}

int tw_parse_duration(const char *s, int64_t *ns, const char **why)
{
	/* Magnitude in 128 bits, capped well above the int64 range. */
	const unsigned __int128 cap = (unsigned __int128)1 << 64;
	unsigned __int128 total = 0;
	const char *p = s;
	int neg = 0, big = 0;

	if (!s || !*s)
		return fail(why, "empty", -EINVAL);
	if (*p == '+' || *p == '-')
		neg = *p++ == '-';
	if (!*p)
		return fail(why, "needs a number", -EINVAL);

	while (*p) {
		struct decimal d;
		uint64_t unit;
		int r = parse_decimal(&p, &d);

		if (r == DEC_TOO_LONG)
			return fail(why, "more than 18 fraction digits", -EINVAL);
		if (r == DEC_BAD_POINT)
			return fail(why, "needs a digit after the decimal point", -EINVAL);
		if (r) {
			if (*p == '+' || *p == '-')
				return fail(why, "a sign is only allowed at the start", -EINVAL);
			if (is_space(*p))
				return fail(why, "spaces are not allowed", -EINVAL);
			if (is_alpha(*p))
				return fail(why, "needs a number before the unit", -EINVAL);
			return fail(why, "not a duration", -EINVAL);
		}

		unit = parse_unit(&p);
		/* A unit runs until a digit, '.' or the end: "1sec", "1min" are not ours. */
		if (is_alpha(*p))
			return fail(why, "unknown unit", -EINVAL);
		if (!unit)
			return fail(why, is_space(*p) ? "spaces are not allowed" : UNITS_HINT, -EINVAL);

		if (d.ip_big) {
			big = 1;
		} else if (!big) {
			total += (unsigned __int128)d.ip * unit + frac_times(&d, unit);
			if (total > cap)
				big = 1;
		}
	}
	if (big || total > (unsigned __int128)INT64_MAX + neg)
		return fail(why, "too large", -ERANGE);
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
		return fail(why, "empty", -EINVAL);
	if (*p == '-')
		return fail(why, "must not be negative", -EINVAL);
	r = parse_decimal(&p, &d);
	if (r == DEC_TOO_LONG)
		return fail(why, "more than 18 fraction digits", -EINVAL);
	if (r || *p)
		return fail(why, "not a decimal number", -EINVAL);

	/* Decide on the decimal itself, so 1000000.0000000001 is out though it rounds in. */
	if (d.ip_big || d.ip > max_int || (d.ip == max_int && d.fp))
		return fail(why, "above 1000000", -ERANGE);
	q = ((unsigned __int128)d.ip << 32) + frac_times(&d, (uint64_t)1 << 32);
	if (!q && d.fp)
		return fail(why, "too small to represent (below 2^-32)", -ERANGE);
	*rate = (uint64_t)q;
	return 0;
}
