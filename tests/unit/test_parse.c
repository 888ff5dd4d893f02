/* Unit tests for the parsers and formatters of src/control (parse.c, format.c). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "timewarp.h"
#include "tap.h"

#define S TW_NSEC
#define UNTOUCHED 0x5a5a5a5a5a5aLL

static const char *errname(int r)
{
	return r == 0 ? "0" : r == -EINVAL ? "-EINVAL" : r == -ERANGE ? "-ERANGE" : "other";
}

/* ---- helpers: each checks the result, and on failure that *out was left alone
 * and a reason was given ---- */

static void date_ok(const char *s, int64_t want)
{
	int64_t got = UNTOUCHED;
	const char *why = NULL;
	int r = tw_parse_date(s, &got, &why);

	if (!tap_ok(r == 0 && got == want, "date \"%s\" = %lld", s, (long long)want))
		tap_diag("r=%s got=%lld why=%s", errname(r), (long long)got, why ? why : "-");
}

static void date_bad(const char *s, int err)
{
	int64_t got = UNTOUCHED;
	const char *why = NULL;
	int r = tw_parse_date(s, &got, &why);

	if (!tap_ok(r == err && got == UNTOUCHED && why && *why, "date \"%s\" is %s (%s)", s,
		    errname(err), why ? why : "-"))
		tap_diag("r=%s got=%lld", errname(r), (long long)got);
}

/* The reason a parser gives for refusing s mentions `want`. */
static void why_has(int (*parse)(const char *, int64_t *, const char **), const char *s,
		    const char *want)
{
	int64_t got;
	const char *why = NULL;
	int r = parse(s, &got, &why);

	if (!tap_ok(r < 0 && why && strstr(why, want), "\"%s\" is refused saying \"%s\"", s, want))
		tap_diag("r=%s why=%s", errname(r), why ? why : "-");
}

static void dur_ok(const char *s, int64_t want)
{
	int64_t got = UNTOUCHED;
	const char *why = NULL;
	int r = tw_parse_duration(s, &got, &why);

	if (!tap_ok(r == 0 && got == want, "duration \"%s\" = %lld ns", s, (long long)want))
		tap_diag("r=%s got=%lld why=%s", errname(r), (long long)got, why ? why : "-");
}

static void dur_bad(const char *s, int err)
{
	int64_t got = UNTOUCHED;
	const char *why = NULL;
	int r = tw_parse_duration(s, &got, &why);

	if (!tap_ok(r == err && got == UNTOUCHED && why && *why, "duration \"%s\" is %s (%s)", s,
		    errname(err), why ? why : "-"))
		tap_diag("r=%s got=%lld", errname(r), (long long)got);
}

static void rate_ok(const char *s, uint64_t want)
{
	uint64_t got = UNTOUCHED;
	const char *why = NULL;
	int r = tw_parse_rate(s, &got, &why);

	if (!tap_ok(r == 0 && got == want, "rate \"%s\" = %llu", s, (unsigned long long)want))
		tap_diag("r=%s got=%llu why=%s", errname(r), (unsigned long long)got,
			 why ? why : "-");
}

static void rate_bad(const char *s, int err)
{
	uint64_t got = UNTOUCHED;
	const char *why = NULL;
	int r = tw_parse_rate(s, &got, &why);

	if (!tap_ok(r == err && got == UNTOUCHED && why && *why, "rate \"%s\" is %s (%s)", s,
		    errname(err), why ? why : "-"))
		tap_diag("r=%s got=%llu", errname(r), (unsigned long long)got);
}

static void with_tz(const char *tz)
{
	setenv("TZ", tz, 1);
	tzset();
}

static int have_zone(const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", name);
	return access(path, R_OK) == 0;
}

/* Deterministic pseudo-random numbers for the round trips (xorshift64). */
static uint64_t next_rand(uint64_t *st)
{
	*st ^= *st << 13;
	*st ^= *st >> 7;
	*st ^= *st << 17;
	return *st;
}

/* ---- dates ---------------------------------------------------------------- */

static void test_dates_utc(void)
{
	date_ok("1970-01-01T00:00:00Z", 0);
	date_ok("1970-01-01T00:00:00.000000001Z", 1);
	date_ok("2038-01-19T03:14:07Z", 2147483647LL * S);
	date_ok("2038-01-19t03:14:07z", 2147483647LL * S);
	date_ok("2038-01-19 03:14:07Z", 2147483647LL * S);
	date_ok("2038-01-19T03:14Z", 2147483640LL * S);
	date_ok("2038-01-19Z", 2147472000LL * S);
	date_ok("2024-02-29T00:00:00Z", 1709164800LL * S);
	date_ok("2000-02-29T00:00:00Z", 951782400LL * S);
	date_ok("1999-12-31T23:59:59.5Z", 946684799LL * S + 500000000);
	date_ok("1999-12-31T23:59:59.123456789Z", 946684799LL * S + 123456789);
	date_ok("1999-12-31T23:59:59.000001Z", 946684799LL * S + 1000);
	date_ok("2262-04-11T23:47:16.854775807Z", INT64_MAX);
	date_ok("2262-04-11T23:47:16.854775807+00:00", INT64_MAX);

	/* zones: local = UTC + offset */
	date_ok("2024-01-01T12:00:00+02:00", 1704103200LL * S);
	date_ok("2024-01-01T12:00:00-05:30", 1704130200LL * S);
	date_ok("2024-01-01T12:00:00+0530", 1704090600LL * S);
	date_ok("2024-01-01T12:00:00+05", 1704092400LL * S);
	date_ok("2024-01-01T12:00:00-00:00", 1704110400LL * S);
	date_ok("2024-01-01T12:00+23:59", (1704110400LL - 23 * 3600 - 59 * 60) * S);
	date_ok("1970-01-01T01:00:00+01:00", 0);

	/* @SECONDS */
	date_ok("@0", 0);
	date_ok("@2147483647", 2147483647LL * S);
	date_ok("@1.5", 1500000000);
	date_ok("@1.000000001", 1000000001);
	date_ok("@9223372036.854775807", INT64_MAX);
	date_ok("@0009", 9 * S);

	/* range ends */
	date_bad("1969-12-31T23:59:59Z", -ERANGE);
	date_bad("1969-12-31T23:59:59.999999999Z", -ERANGE);
	date_bad("1970-01-01T00:59:59+01:00", -ERANGE);
	date_bad("2262-04-11T23:47:16.854775808Z", -ERANGE);
	date_bad("2262-04-11T23:47:17Z", -ERANGE);
	date_bad("9999-12-31T23:59:59Z", -ERANGE);
	date_bad("0000-01-01T00:00:00Z", -ERANGE);
	date_bad("@9223372036.854775808", -ERANGE);
	date_bad("@9223372037", -ERANGE);
	date_bad("@99999999999999999999999999999", -ERANGE);

	/* not real dates */
	date_bad("2023-02-29T00:00:00Z", -EINVAL);
	date_bad("2100-02-29T00:00:00Z", -EINVAL);
	date_bad("1900-02-29T00:00:00Z", -EINVAL); /* invalid before out of range */
	date_bad("2024-02-30T00:00:00Z", -EINVAL);
	date_bad("2024-04-31T00:00:00Z", -EINVAL);
	date_bad("2024-00-10T00:00:00Z", -EINVAL);
	date_bad("2024-13-10T00:00:00Z", -EINVAL);
	date_bad("2024-01-00T00:00:00Z", -EINVAL);
	date_bad("2024-01-32T00:00:00Z", -EINVAL);
	date_bad("2024-01-01T24:00:00Z", -EINVAL);
	date_bad("2024-01-01T23:60:00Z", -EINVAL);
	date_bad("2016-12-31T23:59:60Z", -EINVAL);
	date_bad("2024-01-01T12:00:00+24:00", -EINVAL);
	date_bad("2024-01-01T12:00:00+01:60", -EINVAL);

	/* not dates at all */
	date_bad("", -EINVAL);
	date_bad(" 2024-01-01", -EINVAL);
	date_bad("2024-01-01 ", -EINVAL);
	date_bad("2024-01-01T", -EINVAL);
	date_bad("2024-01-01T12", -EINVAL);
	date_bad("2024-01-01T12:00:00.", -EINVAL);
	date_bad("2024-01-01T12:00:00.1234567890Z", -EINVAL);
	date_bad("2024-01-01T12:00.5Z", -EINVAL);
	date_bad("24-01-01", -EINVAL);
	date_bad("12024-01-01", -EINVAL);
	date_bad("2024/01/01", -EINVAL);
	date_bad("2024-01-01T9:00", -EINVAL);
	date_bad("2024-01-01T12:00:00+1", -EINVAL);
	date_bad("2024-01-01T12:00:00+01:0", -EINVAL);
	date_bad("2024-01-01T12:00:00+01:00x", -EINVAL);
	date_bad("2024-01-01T12:00:00ZZ", -EINVAL);
	date_bad("2024-01-01x", -EINVAL);
	date_bad("tomorrow", -EINVAL);
	date_bad("@", -EINVAL);
	date_bad("@-1", -ERANGE); /* before the epoch, not nonsense */
	date_bad("@-", -EINVAL);
	date_bad("@-x", -EINVAL);
	date_bad("@1.", -EINVAL);
	date_bad("@.5", -EINVAL);
	date_bad("@1.1234567891", -EINVAL);
	date_bad("@1e9", -EINVAL);
	date_bad("@ 1", -EINVAL);
}

/* The forms people type for date -d and faketime, with a zone. */
static void test_dates_habits(void)
{
	const int64_t y2030 = 1893456000LL * S; /* 2030-01-01T00:00:00Z, a Tuesday */

	date_ok("2030-01-01 00:00:00 UTC", y2030);
	date_ok("2030-01-01 00:00:00 utc", y2030);
	date_ok("2030-01-01 00:00 GMT", y2030);
	date_ok("2030-01-01 00:00 Z", y2030);
	date_ok("2030-01-01 UTC", y2030);
	date_ok("2030-01-01 00:00 +02:00", y2030 - 7200 * S);
	date_ok("2030-01-01 00:00 -0130", y2030 + 5400 * S);
	date_ok("2030-01-01T00:00:00 +02", y2030 - 7200 * S);
	date_ok("2030-1-1 UTC", y2030);
	date_ok("2030-1-1T00:00Z", y2030);
	date_ok("2030-09-9 00:00:00.25Z", 1915142400LL * S + S / 4);
	date_ok("20300101 UTC", y2030);
	date_ok("20300101T12:00Z", y2030 + 12 * 3600 * S);
	date_ok("Jan 1 2030 UTC", y2030);
	date_ok("jan. 1 2030 utc", y2030);
	date_ok("January 1, 2030 00:00 UTC", y2030);
	date_ok("1 Jan 2030 00:00:00 +00:00", y2030);
	date_ok("2030 Jan 1 UTC", y2030);
	date_ok("Tue Jan  1 00:00:00 UTC 2030", y2030);    /* date(1)'s own output */
	date_ok("Tuesday, 01 Jan 2030 00:00:00 +0000", y2030); /* RFC 2822 */
	date_ok("Sept 9 2030 UTC", 1915142400LL * S);
	date_ok("Mon Sep 9 2030 12:30:01.5 UTC", 1915142400LL * S + 45001 * S + S / 2);
	date_ok("@2030-01-01 00:00:00 UTC", y2030);      /* faketime's "start at" */
	date_ok("@2030-01-01T00:00Z", y2030);

	/* before 1970 says so, in every form */
	date_bad("1969-07-20 20:17 UTC", -ERANGE);
	date_bad("Jul 20 1969 UTC", -ERANGE);
	date_bad("@-5", -ERANGE);
	date_bad("0999-01-01Z", -ERANGE);
	why_has(tw_parse_date, "1969-07-20 20:17 UTC", "before 1970-01-01");
	why_has(tw_parse_date, "@-5", "before 1970-01-01");

	/* not dates, each saying why */
	date_bad("Mon Jan 1 2030 UTC", -EINVAL); /* it was a Tuesday */
	why_has(tw_parse_date, "Mon Jan 1 2030 UTC", "day of the week");
	date_bad("tomorrow", -EINVAL);
	date_bad("next monday", -EINVAL);
	date_bad("now", -EINVAL);
	date_bad("Jan 1 2030 ago", -EINVAL);
	why_has(tw_parse_date, "next monday", "relative");
	date_bad("+2d", -EINVAL);
	why_has(tw_parse_date, "+2d", "relative to now");
	date_bad("2030-01-01 00:00 CET", -EINVAL);
	why_has(tw_parse_date, "2030-01-01 00:00 CET", "zone");
	why_has(tw_parse_date, "Jan 1 2030 EST", "zone");
	date_bad("Jan 2030", -EINVAL);
	date_bad("Jan 1", -EINVAL);
	why_has(tw_parse_date, "Jan 1", "a month, a day and a year");
	date_bad("Jan 1 2030 2031", -EINVAL);
	date_bad("Jan Feb 1 2030", -EINVAL);
	date_bad("Jan 1 2 2030", -EINVAL);
	date_bad("Jan 1 2030 00:00 01:00", -EINVAL);
	date_bad("Jan 1 2030 UTC UTC", -EINVAL);
	date_bad("Jan 1 2030 UTC +01:00", -EINVAL);
	date_bad("Jan 32 2030 UTC", -EINVAL);
	date_bad("Feb 29 2030 UTC", -EINVAL);
	date_bad("Foo 1 2030", -EINVAL);
	date_bad("Janu 1 2030", -EINVAL);
	date_bad("Jan 1st 2030", -EINVAL);
	date_bad("Jan 001 2030", -EINVAL);
	date_bad("Jan 1 02030", -EINVAL);
	date_bad("Jan 1 2030 9:00", -EINVAL);
	date_bad("Jan 1 2030 00:00:00.", -EINVAL);
	date_bad("Januaryyyyyyyyyyyyyyy 1 2030", -EINVAL);
	date_bad("2030-01-01  00:00", -EINVAL);
	date_bad("2030-01-01 00:00 ", -EINVAL);
	date_bad("2030-01-01 00:00 +", -EINVAL);
	date_bad("2030-001-01", -EINVAL);
	date_bad("2030-01-", -EINVAL);
	date_bad("203001011", -EINVAL);
	date_bad("2030010", -EINVAL);
	date_bad("20301301", -EINVAL);
	date_bad("20300230 UTC", -EINVAL);
	date_bad("@2030-13-01", -EINVAL);
	date_bad("@2030-01-01 tomorrow", -EINVAL);
	date_bad(",", -EINVAL);
	date_bad(" ", -EINVAL);
}

static void test_dates_local(void)
{
	if (!have_zone("Europe/Berlin") || !have_zone("America/New_York")) {
		tap_ok(1, "# SKIP no tzdata in /usr/share/zoneinfo");
		return;
	}

	with_tz("UTC");
	date_ok("2024-02-29", 1709164800LL * S);
	date_ok("2038-01-19 03:14:07", 2147483647LL * S);
	date_ok("1970-01-01T00:00", 0);
	date_bad("1969-12-31 23:59:59", -ERANGE);
	date_bad("2023-02-29", -EINVAL);
	date_ok("2024-1-01", 1704067200LL * S);
	date_ok("2030-1-1", 1893456000LL * S);
	date_ok("20300101", 1893456000LL * S);
	date_ok("Jan 1 2030", 1893456000LL * S);
	date_ok("1 January 2030 12:00", 1893456000LL * S + 12 * 3600 * S);

	with_tz("Europe/Berlin");
	date_ok("2030-01-01", 1893452400LL * S);          /* CET: 2029-12-31T23:00Z */
	date_ok("2030-01-01 00:00", 1893452400LL * S);
	date_ok("2030-06-15T14:00:00", 1907755200LL * S); /* CEST: 12:00Z */
	date_ok("2021-03-28 01:59:59", (1616893199LL) * S);
	date_bad("2021-03-28 02:00", -EINVAL);            /* skipped: 02:00 -> 03:00 */
	date_bad("2021-03-28 02:30", -EINVAL);
	date_bad("2021-03-28 02:59:59.999", -EINVAL);
	date_ok("2021-03-28 03:00", 1616893200LL * S);
	date_ok("2021-10-31 02:30", 1635640200LL * S);   /* twice: the CEST one */
	date_ok("2021-10-31 01:59:59", (1635640200LL - 1801) * S);
	date_ok("2021-10-31 03:00", (1635640200LL + 5400) * S);
	date_ok("1970-01-01 01:00", 0);
	date_bad("1970-01-01 00:59:59", -ERANGE);
	date_ok("2030-01-01Z", 1893456000LL * S);         /* a zone overrides TZ */
	date_ok("Jan 1 2030", 1893452400LL * S);
	date_ok("20300101", 1893452400LL * S);
	date_ok("2030-1-1 00:00 UTC", 1893456000LL * S);

	with_tz("America/New_York");
	date_ok("2030-06-15 08:00", 1907755200LL * S);   /* EDT */
	date_bad("2021-03-14 02:30", -EINVAL);
	date_ok("2021-11-07 01:30", 1636263000LL * S);   /* twice: the EDT one */
	date_ok("2021-11-07 02:30", (1636263000LL + 2 * 3600) * S);
	date_ok("1969-12-31 20:00", 3600LL * S);          /* before 1970 locally, not in UTC */
	date_bad("1969-12-31 18:59:59", -ERANGE);

	if (have_zone("Australia/Lord_Howe")) {
		/* a half-hour daylight saving shift */
		with_tz("Australia/Lord_Howe");
		date_bad("2021-10-03 02:15", -EINVAL);
		date_ok("2022-04-03 01:45", 1648910700LL * S);
	} else {
		tap_ok(1, "# SKIP no Australia/Lord_Howe");
	}
	with_tz("UTC");
}

/* ---- durations ------------------------------------------------------------ */

static void test_durations(void)
{
	dur_ok("+1d2h30m", (86400LL + 2 * 3600 + 30 * 60) * S);
	dur_ok("-90s", -90 * S);
	dur_ok("1.5h", 5400 * S);
	dur_ok("250ms", 250000000);
	dur_ok("1h30m", 5400 * S);
	dur_ok("1ns", 1);
	dur_ok("1us", 1000);
	dur_ok("1ms", 1000000);
	dur_ok("1s", S);
	dur_ok("1m", 60 * S);
	dur_ok("1h", 3600 * S);
	dur_ok("1d", 86400 * S);
	dur_ok("1w", 7 * 86400 * S);
	dur_ok("1y", 365 * 86400 * S);
	dur_ok(".5s", S / 2);
	dur_ok("0.25s", S / 4);
	dur_ok("0s", 0);
	dur_ok("-0s", 0);
	dur_ok("0.000000001s", 1);
	dur_ok("0.0000000005s", 1);  /* half a ns rounds up */
	dur_ok("0.0000000004s", 0);
	dur_ok("-0.0000000005s", -1); /* and away from zero */
	dur_ok("1.5ns", 2);
	dur_ok("0.1y", 3153600 * S);
	dur_ok("1m1ms1ns", 60 * S + 1000001);
	dur_ok("2s1h", 3602 * S); /* any order, summed */
	dur_ok("007s", 7 * S);
	dur_ok("0.123456789012345678s", 123456789);
	dur_ok("106751d", 106751LL * 86400 * S);
	dur_ok("9223372036.854775807s", INT64_MAX);
	dur_ok("-9223372036.854775808s", INT64_MIN);
	dur_ok("9223372036854775807ns", INT64_MAX);

	dur_bad("300y", -ERANGE);
	dur_bad("106752d", -ERANGE);
	dur_bad("9223372036.854775808s", -ERANGE);
	dur_bad("9223372036854775808ns", -ERANGE);
	dur_bad("99999999999999999999999999s", -ERANGE);
	dur_bad("200y100000d", -ERANGE);

	dur_bad("", -EINVAL);
	dur_bad("+", -EINVAL);
	dur_bad("-", -EINVAL);
	dur_bad("90", -EINVAL);
	dur_bad("1h30", -EINVAL);
	dur_bad("1x", -EINVAL);
	dur_bad("1 h", -EINVAL);
	dur_bad(" 1h", -EINVAL);
	dur_bad("1h ", -EINVAL);
	dur_bad("1h-2m", -EINVAL);
	dur_bad("1h+2m", -EINVAL);
	dur_bad("--1s", -EINVAL);
	dur_bad("+-1s", -EINVAL);
	dur_bad("1sec", -EINVAL);
	dur_bad("1min", -EINVAL);
	dur_bad("1H", -EINVAL);
	dur_bad("h", -EINVAL);
	dur_bad("1.s", -EINVAL);
	dur_bad(".s", -EINVAL);
	dur_bad("1..5s", -EINVAL);
	dur_bad("1e3s", -EINVAL);
	dur_bad("0.1234567890123456789s", -EINVAL);
	dur_bad("99999999999999999999999999x", -EINVAL); /* syntax wins over range */

	/* each unit once: "1d1d" is a slip more often than a wish for 2d */
	dur_bad("1d1d", -EINVAL);
	dur_bad("1h30m2h", -EINVAL);
	dur_bad("200y200y", -EINVAL); /* syntax wins over range */
	dur_ok("1m1ms", 60 * S + 1000000); /* m and ms are different units */
	why_has(tw_parse_duration, "1d1d", "given twice");
	why_has(tw_parse_duration, "3x", "units: ns us ms s m h d w y");
	why_has(tw_parse_duration, "1sec", "units: ns us ms s m h d w y");
	why_has(tw_parse_duration, "90", "ns us ms s m h d w y");
}

/* ---- rates ---------------------------------------------------------------- */

static void test_rates(void)
{
	uint64_t got = 0;
	const char *why = NULL;
	int r;

	rate_ok("0", 0);
	rate_ok("0.0", 0);
	rate_ok("1", TW_RATE_ONE);
	rate_ok("1.0", TW_RATE_ONE);
	rate_ok("10", 10 * TW_RATE_ONE);
	rate_ok("0.5", TW_RATE_ONE / 2);
	rate_ok(".5", TW_RATE_ONE / 2);
	rate_ok("2.5", 5 * TW_RATE_ONE / 2);
	rate_ok("0.1", 429496730);           /* 429496729.6 rounded */
	rate_ok("1000000", TW_RATE_MAX);
	rate_ok("1000000.000000000000000000", TW_RATE_MAX);

	r = tw_parse_rate("0.001", &got, &why);
	tap_ok(r == 0 && got >= 4294967 - 1 && got <= 4294967 + 1, "rate 0.001 = %llu ~ 4294967",
	       (unsigned long long)got);
	TAP_EQ_I64(got, 4294967, "rate 0.001 rounds to nearest");

	rate_ok("0.0000000002", 1);   /* 0.86 units: rounds up to the smallest rate */
	rate_bad("0.0000000001", -ERANGE);
	rate_bad("0.000000000000000001", -ERANGE);
	rate_bad("1000000.0000001", -ERANGE);
	rate_bad("1000000.000000000000000001", -ERANGE);
	rate_bad("1000001", -ERANGE);
	rate_bad("99999999999999999999999", -ERANGE);

	rate_bad("", -EINVAL);
	rate_bad(".", -EINVAL);
	rate_bad("1.", -EINVAL);
	rate_bad("abc", -EINVAL);
	rate_bad("1e3", -EINVAL);
	rate_bad("-1", -EINVAL);
	rate_bad("+1", -EINVAL);
	rate_bad(" 1", -EINVAL);
	rate_bad("1 ", -EINVAL);
	rate_bad("1x", -EINVAL);
	rate_bad("0x10", -EINVAL);
	rate_bad("0.0000000000000000001", -EINVAL); /* 19 fraction digits */
}

/* ---- formatters ----------------------------------------------------------- */

static void fmt_date_is(int64_t ns, const char *want)
{
	char buf[64];

	tw_format_date(ns, buf, sizeof(buf));
	if (!tap_ok(!strcmp(buf, want), "format_date(%lld) = %s", (long long)ns, want))
		tap_diag("got %s", buf);
}

static void fmt_dur_is(int64_t ns, const char *want)
{
	char buf[64];

	tw_format_duration(ns, buf, sizeof(buf));
	if (!tap_ok(!strcmp(buf, want), "format_duration(%lld) = %s", (long long)ns, want))
		tap_diag("got %s", buf);
}

static void fmt_rate_is(uint64_t rate, const char *want)
{
	char buf[64];

	tw_format_rate(rate, buf, sizeof(buf));
	if (!tap_ok(!strcmp(buf, want), "format_rate(%llu) = %s", (unsigned long long)rate, want))
		tap_diag("got %s", buf);
}

static void fmt_rate_parsed(const char *s)
{
	uint64_t rate = 0;
	const char *why;

	if (tw_parse_rate(s, &rate, &why)) {
		tap_ok(0, "rate %s parses", s);
		return;
	}
	fmt_rate_is(rate, s);
}

static void test_format_exact(void)
{
	char buf[8];

	fmt_date_is(0, "1970-01-01T00:00:00.000000000Z");
	fmt_date_is(2147483647LL * S, "2038-01-19T03:14:07.000000000Z");
	fmt_date_is(INT64_MAX, "2262-04-11T23:47:16.854775807Z");
	fmt_date_is(1709164800LL * S + 5, "2024-02-29T00:00:00.000000005Z");
	fmt_date_is(-1, "1969-12-31T23:59:59.999999999Z");
	fmt_date_is(INT64_MIN, "1677-09-21T00:12:43.145224192Z");

	fmt_dur_is(0, "0s");
	fmt_dur_is(400LL * 86400 * S, "+400d");
	fmt_dur_is(-5400 * S, "-1h30m");
	fmt_dur_is((86400LL + 2 * 3600 + 30 * 60) * S + S / 4, "+1d2h30m0.25s");
	fmt_dur_is(1, "+0.000000001s");
	fmt_dur_is(-90 * S, "-1m30s");
	fmt_dur_is(3600 * S + 5 * S, "+1h5s");
	fmt_dur_is(INT64_MAX, "+106751d23h47m16.854775807s");
	fmt_dur_is(INT64_MIN, "-106751d23h47m16.854775808s");

	fmt_rate_is(0, "0");
	fmt_rate_is(TW_RATE_ONE, "1");
	fmt_rate_is(10 * TW_RATE_ONE, "10");
	fmt_rate_is(TW_RATE_ONE / 2, "0.5");
	fmt_rate_is(TW_RATE_MAX, "1000000");
	fmt_rate_is(1, "0.0000000002");
	fmt_rate_is(TW_RATE_ONE + TW_RATE_ONE / 4, "1.25");
	fmt_rate_parsed("0.001");
	fmt_rate_parsed("0.1");
	fmt_rate_parsed("2.5");
	fmt_rate_parsed("0.333");
	fmt_rate_parsed("123456.789");

	/* truncation like snprintf: terminated, never overrun */
	memset(buf, 'x', sizeof(buf));
	tw_format_date(0, buf, sizeof(buf));
	tap_ok(!strcmp(buf, "1970-01"), "format_date truncates to the buffer");
	memset(buf, 'x', sizeof(buf));
	tw_format_duration(INT64_MAX, buf, 4);
	tap_ok(!strcmp(buf, "+10") && buf[4] == 'x', "format_duration truncates to the buffer");
	tw_format_rate(TW_RATE_ONE, buf, 0); /* n == 0 writes nothing */
	tap_ok(buf[0] == '+', "format_rate with n == 0 writes nothing");

	tap_ok(!strcmp(tw_refusal_str(TW_OK), "no refusal"), "refusal TW_OK");
	tap_ok(!strcmp(tw_refusal_str(TW_BACK_MONOTONIC), "MONOTONIC would go backwards"),
	       "refusal TW_BACK_MONOTONIC");
	{
		int all = 1;

		for (int i = TW_OK; i <= TW_BAD_RATE; i++) {
			const char *p = tw_refusal_str((enum tw_refusal)i);

			all &= p && *p && strcmp(p, "unknown refusal") != 0;
		}
		tap_ok(all, "every refusal has its own phrase");
	}
}

/* format then parse gives back the same value, across the whole range */
static void test_round_trips(void)
{
	static const int64_t dates[] = {
		0, 1, 999999999, S, 86400 * S - 1, 951782400LL * S, 1709164800LL * S + 123456789,
		2147483647LL * S, 4102444800LL * S, INT64_MAX - 1, INT64_MAX,
	};
	static const int64_t durs[] = {
		0, 1, -1, 999, S / 2, -S / 4, 59 * S, 60 * S, 3599 * S + 1, 86400 * S,
		-86400 * S - 1, 400LL * 86400 * S, INT64_MAX, INT64_MIN, INT64_MIN + 1,
	};
	static const uint64_t rates[] = {
		0, 1, 2, 3, TW_RATE_ONE - 1, TW_RATE_ONE, TW_RATE_ONE + 1, 0x80000000u,
		0xffffffffu, 4294967, 429496730, TW_RATE_MAX - 1, TW_RATE_MAX,
	};
	uint64_t st = 0x9e3779b97f4a7c15ull;
	int bad_date = 0, bad_dur = 0, bad_rate = 0, long_rate = 0;
	char buf[64];

	for (int i = 0; i < 20000 + (int)(sizeof(dates) / sizeof(dates[0])); i++) {
		int64_t v = i < (int)(sizeof(dates) / sizeof(dates[0])) ? dates[i] :
			    (int64_t)(next_rand(&st) >> 1);
		int64_t back = -1;
		const char *why;

		tw_format_date(v, buf, sizeof(buf));
		if (tw_parse_date(buf, &back, &why) || back != v) {
			if (!bad_date++)
				tap_diag("date %lld -> %s -> %lld", (long long)v, buf, (long long)back);
		}
	}
	tap_ok(!bad_date, "dates: format then parse round-trips (%d bad)", bad_date);

	for (int i = 0; i < 20000 + (int)(sizeof(durs) / sizeof(durs[0])); i++) {
		int64_t v = i < (int)(sizeof(durs) / sizeof(durs[0])) ? durs[i] :
			    (int64_t)next_rand(&st) >> (next_rand(&st) % 63);
		int64_t back = -1;
		const char *why;

		tw_format_duration(v, buf, sizeof(buf));
		if (tw_parse_duration(buf, &back, &why) || back != v) {
			if (!bad_dur++)
				tap_diag("duration %lld -> %s -> %lld", (long long)v, buf,
					 (long long)back);
		}
	}
	tap_ok(!bad_dur, "durations: format then parse round-trips (%d bad)", bad_dur);

	for (int i = 0; i < 100000 + (int)(sizeof(rates) / sizeof(rates[0])); i++) {
		uint64_t v = i < (int)(sizeof(rates) / sizeof(rates[0])) ? rates[i] :
			     next_rand(&st) % (TW_RATE_MAX + 1) >> (next_rand(&st) % 52);
		uint64_t back = 1234;
		const char *why;
		const char *dot;

		tw_format_rate(v, buf, sizeof(buf));
		dot = strchr(buf, '.');
		if (dot && (strlen(dot + 1) > 10 || buf[strlen(buf) - 1] == '0'))
			long_rate++;
		if (tw_parse_rate(buf, &back, &why) || back != v) {
			if (!bad_rate++)
				tap_diag("rate %llu -> %s -> %llu", (unsigned long long)v, buf,
					 (unsigned long long)back);
		}
	}
	tap_ok(!bad_rate, "rates: format then parse round-trips (%d bad)", bad_rate);
	tap_ok(!long_rate, "rates: at most 10 fraction digits, no trailing zeros (%d bad)",
	       long_rate);

	/* and shortest: every decimal with up to 4 fraction digits comes back as written */
	{
		int bad = 0;

		for (int i = 1; i < 100000; i++) {
			char in[32];
			uint64_t v;
			const char *why;

			snprintf(in, sizeof(in), "%d.%04d", i / 10000, i % 10000);
			while (in[strlen(in) - 1] == '0')
				in[strlen(in) - 1] = 0;
			if (in[strlen(in) - 1] == '.')
				in[strlen(in) - 1] = 0;
			if (tw_parse_rate(in, &v, &why)) {
				bad++;
				continue;
			}
			tw_format_rate(v, buf, sizeof(buf));
			if (strcmp(in, buf) && !bad++)
				tap_diag("rate %s -> %llu -> %s", in, (unsigned long long)v, buf);
		}
		tap_ok(!bad, "rates: decimals up to 4 places format back as written (%d bad)", bad);
	}
}

int main(void)
{
	test_dates_utc();
	test_dates_habits();
	test_dates_local();
	test_durations();
	test_rates();
	test_format_exact();
	test_round_trips();
	return tap_done();
}
