/* Dates for --at (include/timewarp.h): the forms people type for date -d,
 * faketime and ISO 8601, as nanoseconds since the epoch.
 *
 *     2038-01-19T03:14:07Z         2030-01-01 00:00:00 UTC    2030-01-01 00:00 +02:00
 *     2030-1-1                     20300101                   @2000000000.5
 *     Jan 1 2030                   1 January 2030, 12:00      Tue Jan  1 00:00:00 UTC 2030
 *     @2030-01-01 00:00:00 (faketime's "start at")
 *
 * A date without a zone is local time (TZ).  Relative dates ("tomorrow", "next
 * monday") depend on when they are read, so they are refused with a pointer to
 * offsets instead of being guessed.
 *
 * Exact integer arithmetic; the only outside state is the time zone.  Syntax
 * errors win over range errors, as in parse.c.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "lex.h"
#include "timewarp.h"

#define DAY_SEC 86400LL

#define NOT_A_DATE "not a date"
#define BEFORE_1970 "before 1970-01-01, where a namespace's REALTIME begins"

/* A date as written, before it is checked and resolved. */
struct when {
	int y, mo, d, h, mi, s;
	int64_t frac;  /* nanoseconds */
	int zoned;
	int64_t zoff;  /* seconds east of UTC */
	int wday;      /* 0 Sunday .. 6 Saturday; -1 when not given */
};

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

/* Exactly n digits, whatever follows; stops at the first non-digit, so never
 * reads past a NUL. */
static int fixed_digits(const char **p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!tw_is_digit((*p)[i]))
			return -1;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

/* Between min and max digits, and no digit after them. */
static int some_digits(const char **p, int min, int max, int *out)
{
	int n = 0, v = 0;

	while (n <= max && tw_is_digit((*p)[n]))
		v = v * 10 + ((*p)[n++] - '0');
	if (n < min || n > max)
		return -1;
	*p += n;
	*out = v;
	return 0;
}

/* ".DIGITS" (1-9 of them) as nanoseconds; *p is just past the '.'. */
static int frac_ns(const char **p, int64_t *ns, const char **why)
{
	const char *q = *p;
	int64_t v = 0;
	int n = 0;

	for (; tw_is_digit(*q); q++, n++) {
		if (n == 9)
			return tw_fail(why, "more than 9 fraction digits", -EINVAL);
		v = v * 10 + (*q - '0');
	}
	if (!n)
		return tw_fail(why, NOT_A_DATE, -EINVAL);
	for (; n < 9; n++)
		v *= 10;
	*ns = v;
	*p = q;
	return 0;
}

static int store_instant(__int128 v, int64_t *ns, const char **why)
{
	if (v < 0)
		return tw_fail(why, BEFORE_1970, -ERANGE);
	if (v > INT64_MAX)
		return tw_fail(why, "after 2262-04-11T23:47:16.854775807Z", -ERANGE);
	*ns = (int64_t)v;
	return 0;
}

/* @SECONDS[.fraction]; p is past the '@'.  A '-' is read so that "@-5" can be
 * told apart from nonsense: it is a date before the epoch. */
static int parse_epoch(const char *p, int64_t *ns, const char **why)
{
	int64_t frac = 0;
	uint64_t sec = 0;
	int big = 0, neg = *p == '-';

	p += neg;
	if (!tw_is_digit(*p))
		return tw_fail(why, NOT_A_DATE, -EINVAL);
	for (; tw_is_digit(*p); p++) {
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
		return tw_fail(why, NOT_A_DATE, -EINVAL);
	if (neg && (sec || frac))
		return tw_fail(why, BEFORE_1970, -ERANGE);
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

/* The checked fields as an instant. */
static int resolve(const struct when *w, int64_t *ns, const char **why)
{
	int64_t days, u, t;

	if (w->mo < 1 || w->mo > 12)
		return tw_fail(why, "month out of range (1-12)", -EINVAL);
	if (w->d < 1 || w->d > days_in_month(w->y, w->mo))
		return tw_fail(why, w->mo == 2 && w->d == 29 ?
			       "February 29 in a year that is not a leap year" :
			       "day out of range for the month", -EINVAL);
	if (w->h > 23)
		return tw_fail(why, "hour out of range (00-23)", -EINVAL);
	if (w->mi > 59)
		return tw_fail(why, "minute out of range (00-59)", -EINVAL);
	if (w->s == 60)
		return tw_fail(why, "leap seconds are not supported", -EINVAL);
	if (w->s > 59)
		return tw_fail(why, "second out of range (00-59)", -EINVAL);

	/* Years 0000-9999 keep all of this far inside int64 and time_t. */
	days = days_from_civil(w->y, (unsigned)w->mo, (unsigned)w->d);
	/* 1970-01-01 was a Thursday */
	if (w->wday >= 0 && ((days % 7 + 7 + 4) % 7) != w->wday)
		return tw_fail(why, "the day of the week does not match the date", -EINVAL);
	u = days * DAY_SEC + w->h * 3600LL + w->mi * 60LL + w->s;
	if (w->zoned) {
		t = u - w->zoff;
	} else {
		struct tm want = {
			.tm_year = w->y - 1900, .tm_mon = w->mo - 1, .tm_mday = w->d,
			.tm_hour = w->h, .tm_min = w->mi, .tm_sec = w->s,
		};

		if (resolve_local(u, &want, &t))
			return tw_fail(why, "time skipped by a daylight saving change in this time zone",
				       -EINVAL);
	}
	return store_instant((__int128)t * TW_NSEC + w->frac, ns, why);
}

/* hh:mm[:ss[.frac]] */
static int read_time(const char **p, struct when *w, const char **why)
{
	const char *q = *p;

	if (fixed_digits(&q, 2, &w->h) || *q++ != ':' || fixed_digits(&q, 2, &w->mi))
		return tw_fail(why, NOT_A_DATE, -EINVAL);
	if (*q == ':') {
		q++;
		if (fixed_digits(&q, 2, &w->s))
			return tw_fail(why, NOT_A_DATE, -EINVAL);
		if (*q == '.') {
			int r;

			q++;
			if ((r = frac_ns(&q, &w->frac, why)))
				return r;
		}
	}
	*p = q;
	return 0;
}

/* The three letters of `word` (lower case) at p, in any case, and no letter after. */
static int word_is(const char *p, const char *word)
{
	for (int i = 0; i < 3; i++)
		if (tw_lower(p[i]) != word[i])
			return 0;
	return !tw_is_alpha(p[3]);
}

/* A zone at *p: Z, UTC, GMT (any case) or an offset +hh:mm, +hhmm, +hh (or
 * with '-').  0 when there is none there, 1 with *p past it, or an error. */
static int read_zone(const char **p, struct when *w, const char **why)
{
	const char *q = *p;
	int neg, zh = 0, zm = 0;

	if (word_is(q, "utc") || word_is(q, "gmt")) {
		q += 3;
	} else if ((*q == 'Z' || *q == 'z') && !tw_is_alpha(q[1])) {
		q++;
	} else if (*q == '+' || *q == '-') {
		neg = *q++ == '-';
		if (fixed_digits(&q, 2, &zh))
			return tw_fail(why, NOT_A_DATE, -EINVAL);
		if (*q == ':') {
			q++;
			if (fixed_digits(&q, 2, &zm))
				return tw_fail(why, NOT_A_DATE, -EINVAL);
		} else if (tw_is_digit(*q) && fixed_digits(&q, 2, &zm)) {
			return tw_fail(why, NOT_A_DATE, -EINVAL);
		}
		if (zh > 23 || zm > 59)
			return tw_fail(why, "zone offset out of range", -EINVAL);
		if (neg)
			zh = -zh, zm = -zm;
	} else {
		return 0;
	}
	w->zoned = 1;
	w->zoff = (int64_t)zh * 3600 + zm * 60;
	*p = q;
	return 1;
}

/* Why the text at p (what was left over) is not part of a date. */
static int leftover(const char *p, const char **why)
{
	size_t n = 0;
	int upper = 1;

	for (; tw_is_alpha(p[n]); n++)
		upper &= p[n] >= 'A' && p[n] <= 'Z';
	/* CET, EST, PDT: abbreviations mean different zones in different places */
	if (n >= 2 && n <= 5 && upper && !p[n])
		return tw_fail(why, "unknown zone name: give UTC, Z or an offset such as +02:00",
			       -EINVAL);
	return tw_fail(why, NOT_A_DATE, -EINVAL);
}

/* YYYY-M[M]-D[D] or YYYYMMDD, then [T| ]hh:mm[:ss[.frac]], then a zone,
 * directly or after a space. */
static int parse_numeric(const char *p, int compact, struct when *w, const char **why)
{
	int r;

	if (compact) {
		if (fixed_digits(&p, 4, &w->y) || fixed_digits(&p, 2, &w->mo) ||
		    fixed_digits(&p, 2, &w->d))
			return tw_fail(why, NOT_A_DATE, -EINVAL);
	} else if (fixed_digits(&p, 4, &w->y) || *p++ != '-' || some_digits(&p, 1, 2, &w->mo) ||
		   *p++ != '-' || some_digits(&p, 1, 2, &w->d)) {
		return tw_fail(why, NOT_A_DATE, -EINVAL);
	}
	if ((*p == ' ' || *p == 'T' || *p == 't') && tw_is_digit(p[1])) {
		p++;
		if ((r = read_time(&p, w, why)))
			return r;
	}
	if ((r = read_zone(&p, w, why)) < 0)
		return r;
	if (!r && *p == ' ') {
		p++;
		if ((r = read_zone(&p, w, why)) < 0)
			return r;
		if (!r)
			return leftover(p, why);
	}
	if (*p)
		return leftover(p, why);
	return 0;
}

static const char *const month_names[12] = {
	"january", "february", "march", "april", "may", "june", "july", "august",
	"september", "october", "november", "december",
};
static const char *const day_names[7] = {
	"sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
};
/* Words that make a date relative to when it is read. */
static const char *const relative_words[] = {
	"now", "today", "tomorrow", "yesterday", "next", "last", "this", "ago",
};

/* Index of the name `tok` (lower case) stands for, in full or by its first
 * three letters ("sept" too), or -1. */
static int name_index(const char *tok, const char *const *names, int n)
{
	size_t len = strlen(tok);

	for (int i = 0; i < n; i++)
		if (!strcmp(tok, names[i]) || (len == 3 && !strncmp(tok, names[i], 3)) ||
		    (len == 4 && !strcmp(tok, "sept") && names == month_names && i == 8))
			return i;
	return -1;
}

/* One word of a date written with names: a month, a day of the week, a zone, or
 * a word that makes it relative. */
static int read_word(const char *tok, size_t len, struct when *w, int *have_mo,
		     const char **why)
{
	char low[16];
	int i;

	if (len >= sizeof(low))
		return tw_fail(why, NOT_A_DATE, -EINVAL);
	for (size_t k = 0; k < len; k++)
		low[k] = tw_lower(tok[k]);
	low[len] = 0;
	if (len > 1 && low[len - 1] == '.') /* "Jan." */
		low[--len] = 0;
	for (size_t k = 0; k < sizeof(relative_words) / sizeof(relative_words[0]); k++)
		if (!strcmp(low, relative_words[k]))
			return tw_fail(why, "a relative date: give a calendar date, or an offset "
				       "from now such as +1d", -EINVAL);
	if ((i = name_index(low, month_names, 12)) >= 0) {
		if (*have_mo)
			return tw_fail(why, "two months given", -EINVAL);
		*have_mo = 1;
		w->mo = i + 1;
		return 0;
	}
	if ((i = name_index(low, day_names, 7)) >= 0) {
		if (w->wday >= 0)
			return tw_fail(why, "two days of the week given", -EINVAL);
		w->wday = i;
		return 0;
	}
	return -1; /* not a word of ours: the caller tries a zone */
}

/* Jan 1 2030, 1 January 2030 12:00, Tue Jan  1 00:00:00 UTC 2030 (date's own
 * output), Wed, 01 Jan 2030 00:00:00 +0000 (RFC 2822): words and numbers in any
 * order, told apart by their shape; commas and runs of spaces separate them. */
static int parse_words(const char *p, struct when *w, const char **why)
{
	int have_mo = 0, have_d = 0, have_y = 0, have_t = 0, r;

	while (*p) {
		const char *end = p, *q = p;

		if (*p == ' ' || *p == ',') {
			p++;
			continue;
		}
		while (*end && *end != ' ' && *end != ',')
			end++;
		if (tw_is_digit(*p) && memchr(p, ':', (size_t)(end - p))) {
			if (have_t)
				return tw_fail(why, "two times of day given", -EINVAL);
			if ((r = read_time(&q, w, why)))
				return r;
			have_t = 1;
		} else if (tw_is_digit(*p)) {
			int v, y = end - p == 4;

			if (y ? fixed_digits(&q, 4, &v) : some_digits(&q, 1, 2, &v))
				return tw_fail(why, NOT_A_DATE, -EINVAL);
			if (y ? have_y++ : have_d++)
				return tw_fail(why, y ? "two years given" : "two days of the month given",
					       -EINVAL);
			*(y ? &w->y : &w->d) = v;
		} else if (tw_is_alpha(*p) && (r = read_word(p, (size_t)(end - p), w, &have_mo, why)) != -1) {
			if (r)
				return r;
			q = end;
		} else {
			int was_zoned = w->zoned;

			if ((r = read_zone(&q, w, why)) < 0)
				return r;
			if (r && was_zoned)
				return tw_fail(why, "two zones given", -EINVAL);
			if (!r) {
				char tok[16];
				size_t len = (size_t)(end - p) < sizeof(tok) ? (size_t)(end - p) :
					     sizeof(tok) - 1;

				memcpy(tok, p, len);
				tok[len] = 0;
				return leftover(tok, why);
			}
		}
		if (q != end)
			return tw_fail(why, NOT_A_DATE, -EINVAL);
		p = end;
	}
	if (!have_mo || !have_d || !have_y)
		return tw_fail(why, "a date needs a month, a day and a year", -EINVAL);
	return 0;
}

int tw_parse_date(const char *s, int64_t *ns, const char **why)
{
	struct when w = { .wday = -1 };
	const char *p = s;
	size_t digits = 0;
	int r;

	if (why)
		*why = "";
	if (!s || !*s)
		return tw_fail(why, "empty", -EINVAL);
	if (*p == '@') {
		const char *d = ++p;

		/* faketime's "@2030-01-01 00:00:00" starts its clock at a date */
		if (fixed_digits(&d, 4, &r) || *d != '-')
			return parse_epoch(p, ns, why);
	}
	while (tw_is_digit(p[digits]))
		digits++;
	if (*p == '+' || *p == '-')
		return tw_fail(why, "a time relative to now, not a date", -EINVAL);
	if (digits == 8 || (digits == 4 && p[4] == '-'))
		r = parse_numeric(p, digits == 8, &w, why);
	else if (digits == 0 && !tw_is_alpha(*p) && *p != ' ')
		r = tw_fail(why, NOT_A_DATE, -EINVAL);
	else
		r = parse_words(p, &w, why);
	return r ? r : resolve(&w, ns, why);
}
