/* Formatters for dates, durations, rates and refusals (include/timewarp.h).
 *
 * Each output is accepted back by the matching parser in parse.c and gives the
 * same value, so anything the CLI prints can be pasted into its next command.
 * Buffers are filled like snprintf: always terminated when n > 0, truncated if
 * short.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>

#include "timewarp.h"

#define DAY_NS (86400LL * TW_NSEC)

/* Proleptic Gregorian date of a day count since 1970-01-01 (H. Hinnant's
 * algorithm): no gmtime, so no time_t range or TZ questions. */
static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t era;
	unsigned doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

void tw_format_date(int64_t ns, char *buf, size_t n)
{
	/* Floor division, so instants before the epoch still print correctly. */
	int64_t days = ns / DAY_NS, rem = ns % DAY_NS, y;
	unsigned m, d;

	if (rem < 0) {
		rem += DAY_NS;
		days--;
	}
	civil_from_days(days, &y, &m, &d);
	snprintf(buf, n, "%04lld-%02u-%02uT%02lld:%02lld:%02lld.%09lldZ", (long long)y, m, d,
		 (long long)(rem / (3600 * TW_NSEC)), (long long)(rem / (60 * TW_NSEC) % 60),
		 (long long)(rem / TW_NSEC % 60), (long long)(rem % TW_NSEC));
}

/* Appends to a fixed scratch buffer that is sized for the longest output. */
struct out {
	char s[48];
	size_t len;
};

static __attribute__((format(printf, 2, 3))) void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vsnprintf(o->s + o->len, sizeof(o->s) - o->len, fmt, ap);
	va_end(ap);
	if (r > 0)
		o->len += (size_t)r < sizeof(o->s) - o->len ? (size_t)r : sizeof(o->s) - o->len - 1;
}

/* "+1d2h30m0.25s": no spaces, as tw_parse_duration takes it back. */
void tw_format_duration(int64_t ns, char *buf, size_t n)
{
	/* The magnitude in unsigned arithmetic: INT64_MIN has no positive twin. */
	uint64_t mag = ns < 0 ? 0 - (uint64_t)ns : (uint64_t)ns;
	uint64_t days = mag / DAY_NS, rem = mag % DAY_NS;
	uint64_t h = rem / (3600 * TW_NSEC), m = rem / (60 * TW_NSEC) % 60;
	uint64_t s = rem / TW_NSEC % 60, sub = rem % TW_NSEC;
	struct out o = { .len = 0 };

	if (!ns) {
		snprintf(buf, n, "0s");
		return;
	}
	put(&o, "%c", ns < 0 ? '-' : '+');
	if (days)
		put(&o, "%llud", (unsigned long long)days);
	if (h)
		put(&o, "%lluh", (unsigned long long)h);
	if (m)
		put(&o, "%llum", (unsigned long long)m);
	if (sub) {
		char frac[10];
		int k = 9;

		snprintf(frac, sizeof(frac), "%09llu", (unsigned long long)sub);
		while (frac[k - 1] == '0') /* sub != 0: some digit is not */
			k--;
		put(&o, "%llu.%.*ss", (unsigned long long)s, k, frac);
	} else if (s) {
		put(&o, "%llus", (unsigned long long)s);
	}
	snprintf(buf, n, "%s", o.s);
}

/* The fewest fraction digits (at most 10: 10^-10 < 2^-33, so ten always do) whose
 * value tw_parse_rate rounds back to this rate.  Both round halves up. */
void tw_format_rate(uint64_t rate, char *buf, size_t n)
{
	uint64_t ip = rate >> 32, f = rate & 0xffffffffu, pow = 1;

	for (int k = 0; k <= 10; k++, pow *= 10) {
		uint64_t c = (uint64_t)(((unsigned __int128)f * pow + (1u << 31)) >> 32);
		uint64_t back = (uint64_t)((((unsigned __int128)c << 32) + pow / 2) / pow);

		/* c == pow would carry into the integer part: never this rate. */
		if (c >= pow || back != f)
			continue;
		if (!k)
			snprintf(buf, n, "%llu", (unsigned long long)ip);
		else
			snprintf(buf, n, "%llu.%0*llu", (unsigned long long)ip, k,
				 (unsigned long long)c);
		return;
	}
	snprintf(buf, n, "?"); /* unreachable, see above */
}

const char *tw_refusal_str(enum tw_refusal r)
{
	switch (r) {
	case TW_OK:
		return "no refusal";
	case TW_BAD_REALTIME:
		return "REALTIME would leave [1970-01-01, 2262-04-11T23:47:16.854775807Z]";
	case TW_BAD_MONOTONIC:
		return "MONOTONIC would leave [0, 4611686018s] (about 146 years)";
	case TW_BAD_BOOTTIME:
		return "BOOTTIME would leave [0, 4611686018s] (about 146 years)";
	case TW_BACK_MONOTONIC:
		return "MONOTONIC would go backwards";
	case TW_BACK_BOOTTIME:
		return "BOOTTIME would go backwards";
	case TW_BAD_ADVANCE:
		return "advance below zero";
	case TW_BAD_RATE:
		return "rate above 1000000";
	}
	return "unknown refusal";
}
