/* Unit tests for the clock maths of src/engine (clockmath.h, clockmath.c):
 * saturating arithmetic, the affine maps, rebasing and tw_apply's changes. */
#include <stdint.h>
#include <string.h>

#include "clockmath.h"
#include "fold.h"
#include "page.h"
#include "tap.h"

#define S TW_NSEC
#define MIN_ (60 * S)
#define HOUR (3600 * S)
#define DAY (86400 * S)
#define RATE(n) ((uint64_t)(n) << 32)
#define RATE_MILLI ((uint64_t)4294967) /* 0.001 in Q32.32, rounded down */

static const char *const line_name[TW_NLINES] = { "REALTIME", "TAI", "MONOTONIC", "RAW",
						   "BOOTTIME" };

/* ---- a fixed-seed PRNG (xorshift64*), so every run tests the same cases ---- */

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dULL;
}

/* Uniform in [lo, hi] (hi - lo < 2^64 - 1). */
static int64_t rnd_range(int64_t lo, int64_t hi)
{
	uint64_t span = (uint64_t)hi - (uint64_t)lo + 1;
	return (int64_t)((uint64_t)lo + (span ? rnd() % span : rnd()));
}

/* A magnitude spread over every order: 0..2^bits for a random bits in [0, 63]. */
static int64_t rnd_log(void)
{
	unsigned bits = (unsigned)(rnd() % 64);
	uint64_t v = rnd() >> (64 - bits - (bits == 0));
	return bits == 0 ? 0 : (int64_t)(v & (uint64_t)INT64_MAX);
}

/* A rate drawn from the interesting classes. */
static uint64_t rnd_rate(void)
{
	switch (rnd() % 8) {
	case 0: return 0;
	case 1: return TW_RATE_ONE;
	case 2: return RATE(10);
	case 3: return RATE_MILLI;
	case 4: return TW_RATE_MAX;
	case 5: return rnd() % RATE(1000) + 1;
	case 6: return rnd() % TW_RATE_ONE;
	default: return rnd() % (TW_RATE_MAX + 1);
	}
}

/* The reference for tw_scale: signed 128-bit, C division truncates toward zero.
 * |d| <= 2^63 and rate < 2^64 keep the product inside a signed __int128. */
static int64_t ref_scale(int64_t d, uint64_t rate)
{
	__int128 q = ((__int128)d * (__int128)rate) / ((__int128)1 << 32);
	return q > INT64_MAX ? INT64_MAX : q < INT64_MIN ? INT64_MIN : (int64_t)q;
}

/* ---- saturating add / sub ------------------------------------------------- */

static void test_saturation(void)
{
	TAP_EQ_I64(tw_add_sat(1, 2), 3, "add_sat 1 + 2");
	TAP_EQ_I64(tw_add_sat(-5, 3), -2, "add_sat -5 + 3");
	TAP_EQ_I64(tw_add_sat(INT64_MAX, 0), INT64_MAX, "add_sat MAX + 0");
	TAP_EQ_I64(tw_add_sat(INT64_MAX, 1), INT64_MAX, "add_sat MAX + 1 saturates");
	TAP_EQ_I64(tw_add_sat(INT64_MAX, INT64_MAX), INT64_MAX, "add_sat MAX + MAX saturates");
	TAP_EQ_I64(tw_add_sat(1, INT64_MAX), INT64_MAX, "add_sat 1 + MAX saturates");
	TAP_EQ_I64(tw_add_sat(INT64_MIN, -1), INT64_MIN, "add_sat MIN + -1 saturates");
	TAP_EQ_I64(tw_add_sat(INT64_MIN, INT64_MIN), INT64_MIN, "add_sat MIN + MIN saturates");
	TAP_EQ_I64(tw_add_sat(INT64_MIN, INT64_MAX), -1, "add_sat MIN + MAX = -1");
	TAP_EQ_I64(tw_add_sat(INT64_MAX, -1), INT64_MAX - 1, "add_sat MAX + -1");
	TAP_EQ_I64(tw_sub_sat(3, 5), -2, "sub_sat 3 - 5");
	TAP_EQ_I64(tw_sub_sat(INT64_MAX, -1), INT64_MAX, "sub_sat MAX - -1 saturates");
	TAP_EQ_I64(tw_sub_sat(INT64_MAX, INT64_MIN), INT64_MAX, "sub_sat MAX - MIN saturates");
	TAP_EQ_I64(tw_sub_sat(0, INT64_MIN), INT64_MAX, "sub_sat 0 - MIN saturates");
	TAP_EQ_I64(tw_sub_sat(-1, INT64_MIN), INT64_MAX, "sub_sat -1 - MIN = MAX exactly");
	TAP_EQ_I64(tw_sub_sat(INT64_MIN, 1), INT64_MIN, "sub_sat MIN - 1 saturates");
	TAP_EQ_I64(tw_sub_sat(INT64_MIN, INT64_MAX), INT64_MIN, "sub_sat MIN - MAX saturates");
	TAP_EQ_I64(tw_sub_sat(INT64_MIN, INT64_MIN), 0, "sub_sat MIN - MIN = 0");
	TAP_EQ_I64(tw_sub_sat(INT64_MIN, -1), INT64_MIN + 1, "sub_sat MIN - -1");

	/* against 128-bit arithmetic on random operands of every size */
	int bad = 0;
	for (int i = 0; i < 200000; i++) {
		int64_t a = rnd() & 1 ? rnd_log() : -rnd_log() - (int64_t)(rnd() & 1);
		int64_t b = rnd() & 1 ? rnd_log() : -rnd_log() - (int64_t)(rnd() & 1);
		__int128 s = (__int128)a + b, d = (__int128)a - b;
		int64_t ws = s > INT64_MAX ? INT64_MAX : s < INT64_MIN ? INT64_MIN : (int64_t)s;
		int64_t wd = d > INT64_MAX ? INT64_MAX : d < INT64_MIN ? INT64_MIN : (int64_t)d;
		if ((tw_add_sat(a, b) != ws || tw_sub_sat(a, b) != wd) && !bad++)
			tap_diag("a=%lld b=%lld add=%lld sub=%lld", (long long)a, (long long)b,
				 (long long)tw_add_sat(a, b), (long long)tw_sub_sat(a, b));
	}
	tap_ok(!bad, "add_sat/sub_sat match clamped 128-bit results on 200000 pairs (%d bad)",
	       bad);
}

/* ---- tw_scale ------------------------------------------------------------- */

static void test_scale(void)
{
	/* saturation instead of overflow */
	TAP_EQ_I64(tw_scale(INT64_MAX, TW_RATE_MAX), INT64_MAX, "scale MAX x RATE_MAX saturates");
	TAP_EQ_I64(tw_scale(INT64_MIN, TW_RATE_MAX), INT64_MIN, "scale MIN x RATE_MAX saturates");
	TAP_EQ_I64(tw_scale(INT64_MAX / 2, TW_RATE_MAX), INT64_MAX,
		   "scale MAX/2 x RATE_MAX saturates");
	TAP_EQ_I64(tw_scale(INT64_MAX / 1000000 + 1, TW_RATE_MAX), INT64_MAX,
		   "scale (MAX/1e6 + 1) x RATE_MAX saturates");
	TAP_EQ_I64(tw_scale(INT64_MAX / 1000000, TW_RATE_MAX), INT64_MAX / 1000000 * 1000000,
		   "scale MAX/1e6 x RATE_MAX is exact");
	TAP_EQ_I64(tw_scale(-(INT64_MAX / 1000000) - 1, TW_RATE_MAX), INT64_MIN,
		   "scale -(MAX/1e6 + 1) x RATE_MAX saturates low");
	TAP_EQ_I64(tw_scale(-(INT64_MAX / 1000000), TW_RATE_MAX),
		   -(INT64_MAX / 1000000 * 1000000), "scale -MAX/1e6 x RATE_MAX is exact");
	TAP_EQ_I64(tw_scale(INT64_MAX, UINT64_MAX), INT64_MAX, "scale MAX x 2^64-1 saturates");
	TAP_EQ_I64(tw_scale(INT64_MIN, UINT64_MAX), INT64_MIN, "scale MIN x 2^64-1 saturates");
	TAP_EQ_I64(tw_scale(INT64_MIN, TW_RATE_ONE), INT64_MIN, "scale MIN x 1 = MIN exactly");
	TAP_EQ_I64(tw_scale(INT64_MAX, TW_RATE_ONE), INT64_MAX, "scale MAX x 1 = MAX exactly");
	TAP_EQ_I64(tw_scale(INT64_MIN, TW_RATE_ONE / 2), INT64_MIN / 2, "scale MIN x 0.5");
	TAP_EQ_I64(tw_scale(INT64_MIN, 0), 0, "scale MIN x 0 = 0");
	TAP_EQ_I64(tw_scale(INT64_MAX, 0), 0, "scale MAX x 0 = 0");
	TAP_EQ_I64(tw_scale(0, TW_RATE_MAX), 0, "scale 0 x RATE_MAX = 0");
	TAP_EQ_I64(tw_scale(0, UINT64_MAX), 0, "scale 0 x 2^64-1 = 0");

	/* negative d, rounding toward zero */
	TAP_EQ_I64(tw_scale(-1, TW_RATE_ONE), -1, "scale -1 x 1 = -1");
	TAP_EQ_I64(tw_scale(-5 * S, RATE(10)), -50 * S, "scale -5 s x 10");
	TAP_EQ_I64(tw_scale(1, TW_RATE_ONE / 2), 0, "scale 1 x 0.5 rounds toward zero");
	TAP_EQ_I64(tw_scale(-1, TW_RATE_ONE / 2), 0, "scale -1 x 0.5 rounds toward zero");
	TAP_EQ_I64(tw_scale(3, TW_RATE_ONE / 2), 1, "scale 3 x 0.5 = 1");
	TAP_EQ_I64(tw_scale(-3, TW_RATE_ONE / 2), -1, "scale -3 x 0.5 = -1");
	TAP_EQ_I64(tw_scale(999, RATE_MILLI), 0, "scale 999 x 0.001 = 0");
	TAP_EQ_I64(tw_scale(-999, RATE_MILLI), 0, "scale -999 x 0.001 = 0");
	TAP_EQ_I64(tw_scale(1, 1), 0, "scale 1 x 2^-32 = 0");
	TAP_EQ_I64(tw_scale(1LL << 32, 1), 1, "scale 2^32 x 2^-32 = 1");
	TAP_EQ_I64(tw_scale(-(1LL << 32), 1), -1, "scale -2^32 x 2^-32 = -1");

	/* against the 128-bit reference and symmetric in the sign of d */
	int bad = 0, asym = 0;
	for (int i = 0; i < 300000; i++) {
		int64_t d = rnd_log();
		uint64_t rate = i % 3 ? rnd_rate() : rnd();
		if (rnd() & 1)
			d = -d;
		if (i % 1000 == 0)
			d = i % 2000 ? INT64_MIN : INT64_MAX;
		int64_t got = tw_scale(d, rate), want = ref_scale(d, rate);
		if (got != want && !bad++)
			tap_diag("scale(%lld, %llu) = %lld, want %lld", (long long)d,
				 (unsigned long long)rate, (long long)got, (long long)want);
		if (d != INT64_MIN && got != INT64_MIN && got != INT64_MAX &&
		    tw_scale(-d, rate) != -got &&
		    !asym++)
			tap_diag("scale(%lld, %llu) = %lld, scale(d) = %lld", (long long)-d,
				 (unsigned long long)rate, (long long)tw_scale(-d, rate),
				 (long long)got);
	}
	tap_ok(!bad, "scale matches a truncating, saturating 128-bit reference (%d bad)", bad);
	tap_ok(!asym, "scale(-d) = -scale(d) (%d bad)", asym);

	/* monotone in d for a fixed rate (what "never backwards" rests on) */
	int nonmono = 0;
	for (int i = 0; i < 100000; i++) {
		int64_t a = rnd() & 1 ? rnd_log() : -rnd_log();
		int64_t b = tw_add_sat(a, rnd_log() >> (rnd() % 64));
		uint64_t rate = rnd_rate();
		if (tw_scale(a, rate) > tw_scale(b, rate) && !nonmono++)
			tap_diag("a=%lld <= b=%lld but scale %lld > %lld", (long long)a,
				 (long long)b, (long long)tw_scale(a, rate),
				 (long long)tw_scale(b, rate));
	}
	tap_ok(!nonmono, "scale is non-decreasing in d (%d bad)", nonmono);
}

/* ---- rates 0, 1, 10, 0.001 ------------------------------------------------ */

static void test_rates(void)
{
	struct tw_base b = { .host = 1000 * S, .virt = 5000 * S };
	int bad;

	/* 1 is exact, for every d, tiny or huge */
	bad = 0;
	for (int i = 0; i < 200000; i++) {
		int64_t d = rnd() & 1 ? rnd_log() : -rnd_log();
		if (tw_scale(d, TW_RATE_ONE) != d && !bad++)
			tap_diag("scale(%lld, 1) = %lld", (long long)d,
				 (long long)tw_scale(d, TW_RATE_ONE));
	}
	tap_ok(!bad, "rate 1: scale(d) = d exactly for 200000 d of every size (%d bad)", bad);
	bad = 0;
	for (int i = 0; i < 100000; i++) {
		int64_t host = b.host + rnd_range(0, 100LL * 365 * DAY);
		int64_t want = b.virt + (host - b.host);
		if (tw_map_line(TW_LINE_REALTIME, b, TW_RATE_ONE, host) != want && !bad++)
			tap_diag("host %lld", (long long)host);
	}
	tap_ok(!bad, "rate 1: the map is V + (h - H) exactly over a century (%d bad)", bad);
	TAP_EQ_I64(tw_map_line(TW_LINE_REALTIME, (struct tw_base){ 0, 0 }, TW_RATE_ONE,
			       INT64_MAX),
		   INT64_MAX, "rate 1: map up to INT64_MAX exactly");
	TAP_EQ_I64(tw_map_line(TW_LINE_MONOTONIC, (struct tw_base){ 7, 0 }, TW_RATE_ONE,
			       TW_MONO_MAX + 7),
		   TW_MONO_MAX, "rate 1: MONOTONIC up to TW_MONO_MAX exactly");

	/* 0 freezes */
	bad = 0;
	for (int i = 0; i < 100000; i++) {
		int64_t host = rnd() & 1 ? rnd_log() : -rnd_log();
		for (int l = 0; l < TW_NLINES; l++)
			if (tw_map_line((enum tw_line)l, b, 0, host) != b.virt && !bad++)
				tap_diag("line %d host %lld", l, (long long)host);
		if (tw_scale(host, 0) != 0 && !bad++)
			tap_diag("scale(%lld, 0) != 0", (long long)host);
	}
	tap_ok(!bad, "rate 0: every line stays at V whatever the host time (%d bad)", bad);

	/* 10 scales by ten exactly */
	bad = 0;
	for (int i = 0; i < 100000; i++) {
		int64_t d = rnd_range(-(INT64_MAX / 10), INT64_MAX / 10);
		if (tw_scale(d, RATE(10)) != 10 * d && !bad++)
			tap_diag("scale(%lld, 10) = %lld", (long long)d,
				 (long long)tw_scale(d, RATE(10)));
	}
	tap_ok(!bad, "rate 10: scale(d) = 10 d exactly (%d bad)", bad);
	TAP_EQ_I64(tw_map_line(TW_LINE_MONOTONIC, b, RATE(10), b.host + 3 * S), b.virt + 30 * S,
		   "rate 10: 3 s of host time are 30 s");
	TAP_EQ_I64(tw_scale(INT64_MAX / 10 + 1, RATE(10)), INT64_MAX, "rate 10: saturates high");
	TAP_EQ_I64(tw_scale(INT64_MIN / 10 - 1, RATE(10)), INT64_MIN, "rate 10: saturates low");

	/* 0.001: stored as 4294967 / 2^32, a hair slow: within 1 ns per second of d */
	bad = 0;
	for (int i = 0; i < 100000; i++) {
		int64_t d = rnd_range(0, 200LL * 365 * DAY);
		int64_t got = tw_scale(d, RATE_MILLI), want = d / 1000;
		int64_t tol = d / S + 1;
		if ((got > want || want - got > tol) && !bad++)
			tap_diag("scale(%lld, 0.001) = %lld, want %lld +- %lld", (long long)d,
				 (long long)got, (long long)want, (long long)tol);
	}
	tap_ok(!bad, "rate 0.001: within 1 ns per second of d, never fast (%d bad)", bad);
	TAP_EQ_I64(tw_scale(1000 * S, RATE_MILLI), 999999931,
		   "rate 0.001: 1000 s of host time are 0.999999931 s");
	TAP_EQ_I64(tw_map_line(TW_LINE_BOOTTIME, b, RATE_MILLI, b.host + S), b.virt + 999999,
		   "rate 0.001: 1 s of host time is 999999 ns");
}

/* ---- tw_map clamps -------------------------------------------------------- */

static void test_map_clamp(void)
{
	struct tw_base b;

	for (int l = 0; l < TW_NLINES; l++) {
		int64_t max = l >= TW_LINE_MONOTONIC ? TW_MONO_MAX : INT64_MAX;
		enum tw_line line = (enum tw_line)l;

		TAP_EQ_I64(tw_line_max(line), max, "%s: line max", line_name[l]);
		b = (struct tw_base){ .host = 0, .virt = max - S };
		TAP_EQ_I64(tw_map_line(line, b, TW_RATE_ONE, S), max, "%s: reaches its max exactly",
			   line_name[l]);
		TAP_EQ_I64(tw_map_line(line, b, TW_RATE_ONE, S + 1), max, "%s: clamped at its max",
			   line_name[l]);
		TAP_EQ_I64(tw_map_line(line, b, TW_RATE_MAX, INT64_MAX), max,
			   "%s: clamped at its max with huge d x RATE_MAX", line_name[l]);
		TAP_EQ_I64(tw_map_line(line, b, TW_RATE_MAX, INT64_MIN), 0,
			   "%s: clamped at 0 with d = -2^63 x RATE_MAX", line_name[l]);
		b = (struct tw_base){ .host = INT64_MIN, .virt = 0 };
		TAP_EQ_I64(tw_map_line(line, b, TW_RATE_MAX, INT64_MAX), max,
			   "%s: clamped at its max when h - H overflows", line_name[l]);
		b = (struct tw_base){ .host = INT64_MAX, .virt = max };
		TAP_EQ_I64(tw_map_line(line, b, TW_RATE_MAX, INT64_MIN), 0,
			   "%s: clamped at 0 when h - H underflows", line_name[l]);
		b = (struct tw_base){ .host = 10 * S, .virt = 5 * S };
		TAP_EQ_I64(tw_map_line(line, b, TW_RATE_ONE, 5 * S), 0, "%s: reaches 0 exactly",
			   line_name[l]);
		TAP_EQ_I64(tw_map_line(line, b, TW_RATE_ONE, 5 * S - 1), 0, "%s: clamped at 0",
			   line_name[l]);
		b = (struct tw_base){ .host = 0, .virt = -S };
		TAP_EQ_I64(tw_map_line(line, b, 0, 0), 0, "%s: negative V clamped at 0",
			   line_name[l]);
		b = (struct tw_base){ .host = 0, .virt = INT64_MAX };
		TAP_EQ_I64(tw_map_line(line, b, 0, 0), max, "%s: V = INT64_MAX clamped at max",
			   line_name[l]);
	}

	/* tw_map is tw_map_line on the params' own line and rate */
	struct tw_params p;
	int bad = 0;
	for (int i = 0; i < 10000; i++) {
		for (int l = 0; l < TW_NLINES; l++)
			p.base[l] = (struct tw_base){ rnd_log(), rnd_log() };
		p.rate = rnd_rate();
		int64_t h = rnd() & 1 ? rnd_log() : -rnd_log();
		for (int l = 0; l < TW_NLINES; l++) {
			int64_t v = tw_map(&p, (enum tw_line)l, h);
			int64_t max = l >= TW_LINE_MONOTONIC ? TW_MONO_MAX : INT64_MAX;
			__int128 raw = (__int128)p.base[l].virt +
				       ref_scale(tw_sub_sat(h, p.base[l].host), p.rate);
			int64_t want = raw < 0 ? 0 : raw > max ? max : (int64_t)raw;
			int64_t v2 = tw_map_line((enum tw_line)l, p.base[l], p.rate, h);
			if ((v != v2 || v != want) && !bad++)
				tap_diag("line %d: %lld, want %lld", l, (long long)v,
					 (long long)want);
		}
	}
	tap_ok(!bad, "tw_map = clamp(V + scale(h - H)) on random params (%d bad)", bad);
}

/* ---- tw_clock_line -------------------------------------------------------- */

static void test_clock_line(void)
{
	static const struct {
		int id;
		int line;
		const char *name;
	} cases[] = {
		{ 0, TW_LINE_REALTIME, "CLOCK_REALTIME" },
		{ 1, TW_LINE_MONOTONIC, "CLOCK_MONOTONIC" },
		{ 2, -1, "CLOCK_PROCESS_CPUTIME_ID" },
		{ 3, -1, "CLOCK_THREAD_CPUTIME_ID" },
		{ 4, TW_LINE_RAW, "CLOCK_MONOTONIC_RAW" },
		{ 5, TW_LINE_REALTIME, "CLOCK_REALTIME_COARSE" },
		{ 6, TW_LINE_MONOTONIC, "CLOCK_MONOTONIC_COARSE" },
		{ 7, TW_LINE_BOOTTIME, "CLOCK_BOOTTIME" },
		{ 8, TW_LINE_REALTIME, "CLOCK_REALTIME_ALARM" },
		{ 9, TW_LINE_BOOTTIME, "CLOCK_BOOTTIME_ALARM" },
		{ 10, -1, "CLOCK_SGI_CYCLE (unused)" },
		{ 11, TW_LINE_TAI, "CLOCK_TAI" },
		{ 12, -1, "12 (invalid)" },
		{ 16, -1, "16 (invalid)" },
		{ 1000, -1, "1000 (invalid)" },
		{ INT32_MAX, -1, "INT32_MAX (invalid)" },
		{ -1, -1, "-1" },
		{ -2, -1, "-2 (process CPU clock of pid 0)" },
		{ -6, -1, "-6 (thread CPU clock of tid 0)" },
		{ -3, -1, "-3 (an fd clock, fd 0)" },
		{ -1235 * 8 + 2, -1, "process CPU clock of pid 1234" },
		{ -1235 * 8 + 6, -1, "thread CPU clock of tid 1234" },
		{ INT32_MIN, -1, "INT32_MIN" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		TAP_EQ_I64(tw_clock_line(cases[i].id), cases[i].line, "clock_line(%d) %s = %d",
			   cases[i].id, cases[i].name, cases[i].line);
}

/* ---- tw_params_init ------------------------------------------------------- */

static void test_params_init(void)
{
	const int64_t host[TW_NLINES] = { 1700000000 * S, 1700000037 * S, 1000 * S, 999 * S,
					  1005 * S };
	const int64_t ref[TW_NLINES] = { 1800000000 * S, 1800000037 * S, 2000 * S, 1999 * S,
					 3000 * S };
	struct tw_params p;
	int ok = 1;

	memset(&p, 0xa5, sizeof(p));
	tw_params_init(&p, host, ref, RATE(10));
	for (int l = 0; l < TW_NLINES; l++)
		ok &= p.base[l].host == host[l] && p.base[l].virt == ref[l];
	tap_ok(ok, "params_init: H = host and V = ref on every line");
	tap_ok(p.rate == RATE(10), "params_init: rate");
	tap_ok(p.saved_rate == RATE(10), "params_init: saved_rate = rate");
	tap_ok(p.settime == TW_SETTIME_VIRTUAL, "params_init: settime virtual by default");
	tap_ok(p.pad == 0, "params_init: pad zeroed");
	ok = 1;
	for (int l = 0; l < TW_NLINES; l++)
		ok &= tw_map(&p, (enum tw_line)l, host[l]) == ref[l] &&
		      tw_map(&p, (enum tw_line)l, host[l] + S) == ref[l] + 10 * S;
	tap_ok(ok, "params_init: starts where ref is and runs at the rate");

	memset(&p, 0xa5, sizeof(p));
	tw_params_init(&p, host, ref, 0);
	tap_ok(p.rate == 0 && p.saved_rate == TW_RATE_ONE,
	       "params_init: frozen start resumes at rate 1");
	memset(&p, 0xa5, sizeof(p));
	tw_params_init(&p, host, host, TW_RATE_ONE);
	ok = 1;
	for (int l = 0; l < TW_NLINES; l++)
		ok &= tw_map(&p, (enum tw_line)l, host[l] + 12345) == host[l] + 12345;
	tap_ok(ok && p.rate == TW_RATE_ONE && p.saved_rate == TW_RATE_ONE,
	       "params_init: ref = host at rate 1 is the host clock");
}

/* ---- tw_rebase ------------------------------------------------------------ */

static int unclamped(const struct tw_params *p, int l, int64_t h)
{
	int64_t max = l >= TW_LINE_MONOTONIC ? TW_MONO_MAX : INT64_MAX;
	int64_t d = tw_sub_sat(h, p->base[l].host);
	int64_t sc = tw_scale(d, p->rate);
	int64_t raw = tw_add_sat(p->base[l].virt, sc);
	return d != INT64_MIN && d != INT64_MAX && sc != INT64_MIN && sc != INT64_MAX && raw > 0 &&
	       raw < max;
}

/* tw_rebase anchors at the old line's value 1 ns after the rebase instant
 * when the rate is neither 0 nor 1 (a member may have read it below the
 * nanosecond): the rebased line is the old one 1 ns of host time on. */
static int64_t late_ns(const struct tw_params *p)
{
	return p->rate != 0 && p->rate != TW_RATE_ONE;
}

static void test_rebase(void)
{
	int at_h1 = 0, after = 0, ahead = 0, checked = 0, skipped = 0;
	int64_t worst = 0;

	for (int i = 0; i < 200000; i++) {
		struct tw_params p, q;
		int64_t h1[TW_NLINES], h2[TW_NLINES];

		for (int l = 0; l < TW_NLINES; l++) {
			int64_t max = l >= TW_LINE_MONOTONIC ? TW_MONO_MAX : INT64_MAX;
			p.base[l].host = rnd_range(-(1LL << 61), 1LL << 61);
			p.base[l].virt = rnd_range(0, max / 2);
			/* mostly after the anchor, sometimes before (a host REALTIME step) */
			int64_t d1 = rnd_log() >> (2 + rnd() % 40);
			h1[l] = p.base[l].host + (rnd() % 8 ? d1 : -d1);
			h2[l] = h1[l] + (rnd_log() >> (2 + rnd() % 40));
		}
		p.rate = rnd_rate();
		p.saved_rate = rnd_rate();
		p.settime = (uint32_t)(rnd() & 1);
		p.pad = 0;
		q = p;
		tw_rebase(&q, h1);

		int ok_meta = q.rate == p.rate && q.saved_rate == p.saved_rate &&
			      q.settime == p.settime;
		for (int l = 0; l < TW_NLINES; l++) {
			enum tw_line line = (enum tw_line)l;
			int64_t late = late_ns(&p);
			int64_t before1 = tw_map(&p, line, tw_add_sat(h1[l], late)),
				after1 = tw_map(&q, line, h1[l]);

			ok_meta &= q.base[l].host == h1[l];
			if (before1 != after1 && !at_h1++)
				tap_diag("line %d: at h1 %lld before, %lld after rebase", l,
					 (long long)before1, (long long)after1);
			if (!unclamped(&p, l, h1[l] + late) || !unclamped(&p, l, h2[l] + late)) {
				skipped++;
				continue;
			}
			int64_t before2 = tw_map(&p, line, h2[l] + late),
				after2 = tw_map(&q, line, h2[l]);
			int64_t diff = before2 - after2;
			checked++;
			if (diff > worst || -diff > worst)
				worst = diff < 0 ? -diff : diff;
			if ((diff > 1 || diff < -1) && !after++)
				tap_diag("line %d rate %llu: at h2 %lld before, %lld after", l,
					 (unsigned long long)p.rate, (long long)before2,
					 (long long)after2);
			/* anchored at or before h1: truncation only ever loses, so the
			 * rebased line is never ahead of the original */
			if (h1[l] >= p.base[l].host && diff < 0 && !ahead++)
				tap_diag("line %d: rebased line ahead by %lld", l,
					 (long long)-diff);
		}
		if (!ok_meta && !at_h1++)
			tap_diag("rebase changed rate/saved_rate/settime or did not anchor at h1");
	}
	tap_ok(!at_h1, "rebase: every line's value at h1 (+1 ns at rates other than 0 and 1) "
		       "unchanged exactly, anchors at h1 (%d bad)",
	       at_h1);
	tap_ok(!after, "rebase: values after h1 continue within 1 ns (%d bad, worst %lld)", after,
	       (long long)worst);
	tap_ok(!ahead, "rebase: when h1 >= H the rebased line lags by 0 or 1 ns, never leads "
		       "(%d bad)", ahead);
	tap_ok(checked > 500000, "rebase: %d continuations checked (%d clamped, skipped)", checked,
	       skipped);

	/* rates 1 and 0 and 10 rebase without any loss */
	int lossy = 0;
	for (int i = 0; i < 50000; i++) {
		static const uint64_t exact[] = { 0, TW_RATE_ONE, RATE(10) };
		struct tw_params p, q;
		int64_t h1[TW_NLINES], h2[TW_NLINES];
		tw_params_init(&p, (int64_t[TW_NLINES]){ 0 }, (int64_t[TW_NLINES]){ 0 },
			       exact[i % 3]);
		for (int l = 0; l < TW_NLINES; l++) {
			p.base[l].host = rnd_range(0, 1LL << 60);
			p.base[l].virt = rnd_range(0, 1LL << 60);
			h1[l] = p.base[l].host + rnd_range(0, 1LL << 50);
			h2[l] = h1[l] + rnd_range(0, 1LL << 50);
		}
		q = p;
		tw_rebase(&q, h1);
		for (int l = 0; l < TW_NLINES; l++)
			if (tw_map(&p, (enum tw_line)l, h2[l] + late_ns(&p)) !=
				    tw_map(&q, (enum tw_line)l, h2[l]) &&
			    !lossy++)
				tap_diag("rate %llu line %d", (unsigned long long)p.rate, l);
	}
	tap_ok(!lossy, "rebase: exact at rates 0, 1 and 10 (at 10 the line 1 ns on) (%d bad)",
	       lossy);

	/* a reading of the old line below the nanosecond, just before the
	 * rebase, is never ahead of the rebased line at the rebase instant */
	int stepped = 0;
	for (int i = 0; i < 100000; i++) {
		struct tw_params p, q;
		int64_t h1[TW_NLINES];
		uint64_t rate = rnd_rate();
		tw_params_init(&p, (int64_t[TW_NLINES]){ 0 }, (int64_t[TW_NLINES]){ 0 },
			       rate ? rate : RATE(3));
		for (int l = 0; l < TW_NLINES; l++) {
			p.base[l].host = rnd_range(0, 1LL << 62);
			p.base[l].virt = rnd_range(0, 1LL << 60);
			h1[l] = p.base[l].host + rnd_range(0, 1LL << 40);
		}
		q = p;
		tw_rebase(&q, h1);
		for (int l = 0; l < TW_NLINES; l++) {
			struct tw_ts t;
			uint64_t frac = rnd() % (1u << 24);
			if (tw_rate_ts(l, p.base[l], p.rate, (uint64_t)(h1[l] / TW_NSEC),
				       (uint64_t)(h1[l] % TW_NSEC), frac, 24, &t))
				continue;
			if (tw_ts_ns(&t) > tw_map(&q, (enum tw_line)l, h1[l]) && !stepped++)
				tap_diag("rate %llu line %d: %lld read before, %lld after",
					 (unsigned long long)p.rate, l, (long long)tw_ts_ns(&t),
					 (long long)tw_map(&q, (enum tw_line)l, h1[l]));
		}
	}
	tap_ok(!stepped, "rebase: no line steps back from a reading below the nanosecond (%d bad)",
	       stepped);
}

/* ---- tw_apply: semantics on concrete values ------------------------------- */

/* A namespace running at rate 2 since h0; at h1 (h0 + 10 s on every line) its
 * clocks read cur[] (as a change rebases them: 1 ns of host time on, tw_rebase),
 * the caller's (the host's) read ref[] = h1[]. */
static const int64_t h0[TW_NLINES] = { 1700000000 * S, 1700000037 * S, 1000 * S, 999 * S,
				       1005 * S };
static int64_t h1[TW_NLINES], cur[TW_NLINES];
static struct tw_params base_params;

static void setup_base(void)
{
	tw_params_init(&base_params, h0, h0, RATE(2));
	for (int l = 0; l < TW_NLINES; l++) {
		h1[l] = h0[l] + 10 * S;
		cur[l] = tw_map(&base_params, (enum tw_line)l, h1[l] + 1);
	}
}

/* Apply `c` to a copy of `in`; check the result and, on refusal, that nothing
 * moved.  Returns the result. */
static enum tw_refusal apply(struct tw_params *out, const struct tw_params *in,
			     const struct tw_change *c, enum tw_refusal want, const char *what)
{
	struct tw_params before;
	enum tw_refusal r;

	*out = *in;
	before = *out;
	r = tw_apply(out, c, h1, h1);
	if (!tap_ok(r == want, "%s: result %d", what, (int)want))
		tap_diag("got %d", (int)r);
	if (want != TW_OK)
		tap_ok(!memcmp(&before, out, sizeof(before)), "%s: params untouched", what);
	return r;
}

/* Where a rebase at h1 keeps the lines of p (tw_rebase). */
static void kept_at_h1(const struct tw_params *p, int64_t out[TW_NLINES])
{
	for (int l = 0; l < TW_NLINES; l++)
		out[l] = tw_map(p, (enum tw_line)l, h1[l] + late_ns(p));
}

/* Every line's value at h1 is want[], and every line was rebased at h1. */
static void lines_are(const struct tw_params *p, const int64_t want[TW_NLINES], const char *what)
{
	int ok = 1;
	for (int l = 0; l < TW_NLINES; l++) {
		int64_t got = tw_map(p, (enum tw_line)l, h1[l]);
		if (got != want[l]) {
			ok = 0;
			tap_diag("%s: %s = %lld, want %lld", what, line_name[l], (long long)got,
				 (long long)want[l]);
		}
		if (p->base[l].host != h1[l]) {
			ok = 0;
			tap_diag("%s: %s not rebased at h1", what, line_name[l]);
		}
	}
	tap_ok(ok, "%s: every line where expected", what);
}

static void test_apply_realtime(void)
{
	struct tw_params p;
	struct tw_change c;
	int64_t want[TW_NLINES];
	const int64_t at = 1893456000 * S; /* 2030-01-01 */

	c = (struct tw_change){ .what = TW_CH_AT, .at = at };
	apply(&p, &base_params, &c, TW_OK, "at 2030");
	memcpy(want, cur, sizeof(want));
	want[TW_LINE_REALTIME] = at;
	want[TW_LINE_TAI] = cur[TW_LINE_TAI] + (at - cur[TW_LINE_REALTIME]);
	lines_are(&p, want, "at 2030");
	TAP_EQ_I64(tw_map(&p, TW_LINE_TAI, h1[TW_LINE_TAI]) - tw_map(&p, TW_LINE_REALTIME, h1[0]),
		   37 * S, "at: TAI - REALTIME preserved");
	TAP_EQ_I64(tw_map(&p, TW_LINE_REALTIME, h1[0] + S), at + 2 * S,
		   "at: REALTIME runs on at the rate");
	tap_ok(p.rate == RATE(2) && p.saved_rate == RATE(2) && p.settime == TW_SETTIME_VIRTUAL,
	       "at: rate and policy unchanged");

	c.at = 0;
	apply(&p, &base_params, &c, TW_OK, "at 1970-01-01 (0)");
	TAP_EQ_I64(tw_map(&p, TW_LINE_REALTIME, h1[0]), 0, "at 0: REALTIME = 0");
	TAP_EQ_I64(tw_map(&p, TW_LINE_TAI, h1[1]), 37 * S, "at 0: TAI = 37 s");

	c.at = 1000 * S; /* backwards is allowed for REALTIME */
	apply(&p, &base_params, &c, TW_OK, "at backwards");
	TAP_EQ_I64(tw_map(&p, TW_LINE_REALTIME, h1[0]), 1000 * S, "at backwards: REALTIME set");

	c.at = INT64_MAX - 37 * S;
	apply(&p, &base_params, &c, TW_OK, "at the last instant TAI can follow");
	TAP_EQ_I64(tw_map(&p, TW_LINE_TAI, h1[1]), INT64_MAX, "at: TAI reaches INT64_MAX");

	c.at = INT64_MAX - 37 * S + 1;
	apply(&p, &base_params, &c, TW_BAD_REALTIME, "at past where TAI can follow");
	c.at = -1;
	apply(&p, &base_params, &c, TW_BAD_REALTIME, "at before 1970");
	c.at = INT64_MIN;
	apply(&p, &base_params, &c, TW_BAD_REALTIME, "at INT64_MIN");

	/* --offset is relative to the caller's REALTIME, not the namespace's */
	c = (struct tw_change){ .what = TW_CH_OFFSET, .offset = -HOUR };
	apply(&p, &base_params, &c, TW_OK, "offset -1h");
	memcpy(want, cur, sizeof(want));
	want[TW_LINE_REALTIME] = h1[TW_LINE_REALTIME] - HOUR;
	want[TW_LINE_TAI] = cur[TW_LINE_TAI] + (want[0] - cur[TW_LINE_REALTIME]);
	lines_are(&p, want, "offset -1h");

	c.offset = 0;
	apply(&p, &base_params, &c, TW_OK, "offset 0");
	TAP_EQ_I64(tw_map(&p, TW_LINE_REALTIME, h1[0]), h1[0], "offset 0: REALTIME = ref");
	TAP_EQ_I64(tw_map(&p, TW_LINE_TAI, h1[1]) - tw_map(&p, TW_LINE_REALTIME, h1[0]), 37 * S,
		   "offset: TAI - REALTIME preserved");

	c.offset = -h1[0];
	apply(&p, &base_params, &c, TW_OK, "offset to the epoch");
	TAP_EQ_I64(tw_map(&p, TW_LINE_REALTIME, h1[0]), 0, "offset to the epoch: REALTIME = 0");
	c.offset = -h1[0] - 1;
	apply(&p, &base_params, &c, TW_BAD_REALTIME, "offset before the epoch");
	c.offset = INT64_MAX;
	apply(&p, &base_params, &c, TW_BAD_REALTIME, "offset INT64_MAX (overflows)");
	c.offset = INT64_MIN;
	apply(&p, &base_params, &c, TW_BAD_REALTIME, "offset INT64_MIN");

	/* a refusal after an accepted part leaves everything */
	c = (struct tw_change){ .what = TW_CH_RATE | TW_CH_SETTIME | TW_CH_AT,
				.rate = RATE(5),
				.settime = TW_SETTIME_DENY,
				.at = -5 };
	apply(&p, &base_params, &c, TW_BAD_REALTIME, "rate+settime+bad at");
}

static void test_apply_advance(void)
{
	struct tw_params p, edge;
	struct tw_change c = { .what = TW_CH_ADVANCE, .advance = DAY };
	int64_t want[TW_NLINES];

	apply(&p, &base_params, &c, TW_OK, "advance 1 day");
	for (int l = 0; l < TW_NLINES; l++)
		want[l] = cur[l] + DAY;
	lines_are(&p, want, "advance 1 day");
	tap_ok(p.rate == RATE(2), "advance: rate unchanged");

	c.advance = 0;
	apply(&p, &base_params, &c, TW_OK, "advance 0");
	lines_are(&p, cur, "advance 0");

	c.advance = -1;
	apply(&p, &base_params, &c, TW_BAD_ADVANCE, "advance -1 ns");
	c.advance = INT64_MIN;
	apply(&p, &base_params, &c, TW_BAD_ADVANCE, "advance INT64_MIN");
	c.advance = INT64_MAX;
	apply(&p, &base_params, &c, TW_BAD_REALTIME, "advance INT64_MAX");

	/* each class at the edge of its range (rate 0 so rebasing moves nothing) */
	int64_t ref[TW_NLINES];
	memcpy(ref, h1, sizeof(ref));
	ref[TW_LINE_MONOTONIC] = TW_MONO_MAX - HOUR;
	tw_params_init(&edge, h1, ref, 0);
	c.advance = HOUR;
	apply(&p, &edge, &c, TW_OK, "advance MONOTONIC to exactly its max");
	TAP_EQ_I64(tw_map(&p, TW_LINE_MONOTONIC, h1[2]), TW_MONO_MAX, "advance: MONOTONIC at max");
	c.advance = HOUR + 1;
	apply(&p, &edge, &c, TW_BAD_MONOTONIC, "advance MONOTONIC past its max");

	memcpy(ref, h1, sizeof(ref));
	ref[TW_LINE_RAW] = TW_MONO_MAX - 1;
	tw_params_init(&edge, h1, ref, 0);
	c.advance = 2;
	apply(&p, &edge, &c, TW_BAD_MONOTONIC, "advance RAW past its max");

	memcpy(ref, h1, sizeof(ref));
	ref[TW_LINE_BOOTTIME] = TW_MONO_MAX - 1;
	tw_params_init(&edge, h1, ref, 0);
	c.advance = 1;
	apply(&p, &edge, &c, TW_OK, "advance BOOTTIME to exactly its max");
	c.advance = 2;
	apply(&p, &edge, &c, TW_BAD_BOOTTIME, "advance BOOTTIME past its max");

	memcpy(ref, h1, sizeof(ref));
	ref[TW_LINE_REALTIME] = INT64_MAX - 100 * S;
	ref[TW_LINE_TAI] = INT64_MAX - 63 * S;
	tw_params_init(&edge, h1, ref, 0);
	c.advance = 63 * S;
	apply(&p, &edge, &c, TW_OK, "advance TAI to exactly INT64_MAX");
	c.advance = 63 * S + 1;
	apply(&p, &edge, &c, TW_BAD_REALTIME, "advance TAI past INT64_MAX");
	ref[TW_LINE_TAI] = ref[TW_LINE_REALTIME];
	tw_params_init(&edge, h1, ref, 0);
	c.advance = 100 * S + 1;
	apply(&p, &edge, &c, TW_BAD_REALTIME, "advance REALTIME past INT64_MAX");
}

static void test_apply_monotonic(void)
{
	struct tw_params p;
	struct tw_change c;
	int64_t want[TW_NLINES];
	const int64_t m = TW_LINE_MONOTONIC, fwd = cur[m] - h1[m] + HOUR;

	/* forward: MONOTONIC and RAW move together, by the same delta */
	c = (struct tw_change){ .what = TW_CH_MONOTONIC, .monotonic = fwd };
	apply(&p, &base_params, &c, TW_OK, "monotonic forward");
	memcpy(want, cur, sizeof(want));
	want[TW_LINE_MONOTONIC] = cur[TW_LINE_MONOTONIC] + HOUR;
	want[TW_LINE_RAW] = cur[TW_LINE_RAW] + HOUR;
	lines_are(&p, want, "monotonic forward");
	TAP_EQ_I64(tw_map(&p, TW_LINE_MONOTONIC, h1[m]), h1[m] + fwd,
		   "monotonic: relative to the caller's MONOTONIC");

	c.monotonic = cur[m] - h1[m];
	apply(&p, &base_params, &c, TW_OK, "monotonic to where it is");
	lines_are(&p, cur, "monotonic unchanged");

	/* relative to the namespace's own clocks (a `set` run inside it): +0 is
	 * no move, not a step back, at rate 2 as at any rate */
	{
		int64_t own[TW_NLINES];
		struct tw_change zero = { .what = TW_CH_MONOTONIC | TW_CH_BOOTTIME };
		for (int l = 0; l < TW_NLINES; l++)
			own[l] = tw_map_kept(&base_params, (enum tw_line)l, h1[l]);
		p = base_params;
		TAP_EQ_I64(tw_apply(&p, &zero, h1, own), TW_OK,
			   "monotonic and boottime +0 relative to the namespace's own clocks: accepted");
		lines_are(&p, cur, "monotonic +0 relative to its own clocks");
	}

	c.monotonic = cur[m] - h1[m] - 1;
	apply(&p, &base_params, &c, TW_BACK_MONOTONIC, "monotonic 1 ns backwards");
	c.monotonic = -5 * S;
	apply(&p, &base_params, &c, TW_BACK_MONOTONIC, "monotonic to host - 5 s (backwards)");

	c.creating = 1;
	c.monotonic = -100 * S;
	apply(&p, &base_params, &c, TW_OK, "monotonic backwards when creating");
	memcpy(want, cur, sizeof(want));
	want[TW_LINE_MONOTONIC] = h1[m] - 100 * S;
	want[TW_LINE_RAW] = cur[TW_LINE_RAW] + (want[m] - cur[m]);
	lines_are(&p, want, "monotonic backwards when creating");

	/* RAW is 1 s behind MONOTONIC and follows it: it may not go below 0 either */
	c.monotonic = -h1[m] + S;
	apply(&p, &base_params, &c, TW_OK, "monotonic to 1 s (RAW to 0) when creating");
	TAP_EQ_I64(tw_map(&p, TW_LINE_RAW, h1[TW_LINE_RAW]), 0, "RAW at 0");
	c.monotonic = -h1[m];
	apply(&p, &base_params, &c, TW_BAD_MONOTONIC, "monotonic to 0 (RAW below 0) when creating");
	c.monotonic = -h1[m] - 1;
	apply(&p, &base_params, &c, TW_BAD_MONOTONIC, "monotonic below 0 when creating");
	c.creating = 0;
	apply(&p, &base_params, &c, TW_BAD_MONOTONIC, "monotonic below 0");
	c.monotonic = TW_MONO_MAX - h1[m];
	/* RAW is 1 s behind MONOTONIC here, so MONOTONIC can reach its max */
	apply(&p, &base_params, &c, TW_OK, "monotonic to exactly its max");
	c.monotonic = TW_MONO_MAX - h1[m] + 1;
	apply(&p, &base_params, &c, TW_BAD_MONOTONIC, "monotonic past its max");
	c.monotonic = INT64_MAX;
	apply(&p, &base_params, &c, TW_BAD_MONOTONIC, "monotonic INT64_MAX (overflows)");
	c.monotonic = INT64_MIN;
	apply(&p, &base_params, &c, TW_BAD_MONOTONIC, "monotonic INT64_MIN");

	/* BOOTTIME likewise, alone */
	const int64_t b = TW_LINE_BOOTTIME;
	c = (struct tw_change){ .what = TW_CH_BOOTTIME, .boottime = cur[b] - h1[b] + DAY };
	apply(&p, &base_params, &c, TW_OK, "boottime forward");
	memcpy(want, cur, sizeof(want));
	want[b] = cur[b] + DAY;
	lines_are(&p, want, "boottime forward (MONOTONIC and RAW stay)");
	c.boottime = cur[b] - h1[b] - 1;
	apply(&p, &base_params, &c, TW_BACK_BOOTTIME, "boottime 1 ns backwards");
	c.creating = 1;
	apply(&p, &base_params, &c, TW_OK, "boottime backwards when creating");
	TAP_EQ_I64(tw_map(&p, TW_LINE_BOOTTIME, h1[b]), cur[b] - 1, "boottime set when creating");
	c.boottime = -h1[b] - 1;
	apply(&p, &base_params, &c, TW_BAD_BOOTTIME, "boottime below 0 when creating");
	c.creating = 0;
	c.boottime = TW_MONO_MAX - h1[b] + 1;
	apply(&p, &base_params, &c, TW_BAD_BOOTTIME, "boottime past its max");
	c.boottime = INT64_MAX;
	apply(&p, &base_params, &c, TW_BAD_BOOTTIME, "boottime INT64_MAX (overflows)");

	/* both at once; a bad BOOTTIME refuses the good MONOTONIC too */
	c = (struct tw_change){ .what = TW_CH_MONOTONIC | TW_CH_BOOTTIME,
				.monotonic = fwd,
				.boottime = cur[b] - h1[b] - 1 };
	apply(&p, &base_params, &c, TW_BACK_BOOTTIME, "monotonic ok, boottime backwards");

	/* --monotonic together with --advance: set, then advance */
	c = (struct tw_change){ .what = TW_CH_MONOTONIC | TW_CH_ADVANCE,
				.monotonic = fwd,
				.advance = MIN_ };
	apply(&p, &base_params, &c, TW_OK, "monotonic and advance");
	TAP_EQ_I64(tw_map(&p, TW_LINE_MONOTONIC, h1[m]), cur[m] + HOUR + MIN_,
		   "monotonic and advance: both applied");
}

static void test_apply_rate(void)
{
	struct tw_params p, q, z;
	struct tw_change c = { .what = TW_CH_RATE, .rate = RATE(10) };
	int64_t want[TW_NLINES];

	apply(&p, &base_params, &c, TW_OK, "rate 2 -> 10");
	lines_are(&p, cur, "rate change moves no clock at its instant");
	tap_ok(p.rate == RATE(10) && p.saved_rate == RATE(10), "rate 10: rate and saved_rate");
	for (int l = 0; l < TW_NLINES; l++)
		want[l] = tw_map(&p, (enum tw_line)l, h1[l] + S);
	TAP_EQ_I64(want[TW_LINE_MONOTONIC], cur[TW_LINE_MONOTONIC] + 10 * S,
		   "rate 10: 1 host second later, 10 s later");

	/* rate 0 through TW_CH_RATE remembers the rate before */
	c.rate = 0;
	apply(&q, &p, &c, TW_OK, "rate 10 -> 0");
	tap_ok(q.rate == 0 && q.saved_rate == RATE(10), "rate 0: frozen, remembers 10");
	kept_at_h1(&p, want);
	TAP_EQ_I64(tw_map(&q, TW_LINE_REALTIME, h1[0] + DAY), want[0], "rate 0: REALTIME frozen");
	apply(&z, &q, &c, TW_OK, "rate 0 -> 0");
	tap_ok(z.rate == 0 && z.saved_rate == RATE(10), "rate 0 again: still remembers 10");
	c = (struct tw_change){ .what = TW_CH_RESUME };
	apply(&z, &q, &c, TW_OK, "resume after rate 0");
	tap_ok(z.rate == RATE(10), "resume after rate 0: back to 10");
	lines_are(&z, want, "resume moves no clock at its instant");

	/* freeze and resume */
	c = (struct tw_change){ .what = TW_CH_FREEZE };
	apply(&q, &base_params, &c, TW_OK, "freeze at rate 2");
	tap_ok(q.rate == 0 && q.saved_rate == RATE(2), "freeze: rate 0, saves 2");
	lines_are(&q, cur, "freeze moves no clock at its instant");
	apply(&z, &q, &c, TW_OK, "freeze when frozen");
	tap_ok(z.rate == 0 && z.saved_rate == RATE(2), "freeze when frozen: still saves 2");
	c.what = TW_CH_RESUME;
	apply(&z, &q, &c, TW_OK, "resume");
	tap_ok(z.rate == RATE(2) && z.saved_rate == RATE(2), "resume: back to 2");
	apply(&q, &base_params, &c, TW_OK, "resume when running");
	tap_ok(q.rate == RATE(2), "resume when running: no change");

	/* freeze, set a rate while frozen, resume: the set rate wins */
	c = (struct tw_change){ .what = TW_CH_FREEZE };
	apply(&q, &base_params, &c, TW_OK, "freeze (2)");
	c = (struct tw_change){ .what = TW_CH_RATE, .rate = RATE(3) };
	apply(&z, &q, &c, TW_OK, "rate 3 while frozen");
	tap_ok(z.rate == RATE(3) && z.saved_rate == RATE(3), "rate 3 while frozen: running at 3");

	/* a namespace created frozen resumes at 1 */
	tw_params_init(&q, h1, h1, 0);
	c = (struct tw_change){ .what = TW_CH_RESUME };
	apply(&z, &q, &c, TW_OK, "resume a namespace created frozen");
	tap_ok(z.rate == TW_RATE_ONE, "created frozen: resumes at rate 1");

	/* limits */
	c = (struct tw_change){ .what = TW_CH_RATE, .rate = TW_RATE_MAX };
	apply(&q, &base_params, &c, TW_OK, "rate RATE_MAX");
	tap_ok(q.rate == TW_RATE_MAX, "rate RATE_MAX accepted");
	c.rate = TW_RATE_MAX + 1;
	apply(&q, &base_params, &c, TW_BAD_RATE, "rate RATE_MAX + 2^-32");
	c.rate = UINT64_MAX;
	apply(&q, &base_params, &c, TW_BAD_RATE, "rate 2^64-1");
	c.rate = 1;
	apply(&q, &base_params, &c, TW_OK, "rate 2^-32");
	c.rate = RATE_MILLI;
	apply(&q, &base_params, &c, TW_OK, "rate 0.001");
	TAP_EQ_I64(tw_map(&q, TW_LINE_MONOTONIC, h1[2] + 1000 * S), cur[2] + 999999931,
		   "rate 0.001: 1000 host seconds later");
}

static void test_apply_settime(void)
{
	struct tw_params p, q;
	struct tw_change c = { .what = TW_CH_SETTIME, .settime = TW_SETTIME_DENY };
	int64_t want[TW_NLINES];

	apply(&p, &base_params, &c, TW_OK, "settime deny");
	tap_ok(p.settime == TW_SETTIME_DENY, "settime deny: policy set");
	lines_are(&p, cur, "settime moves no clock");
	tap_ok(p.rate == RATE(2) && p.saved_rate == RATE(2), "settime: rate unchanged");
	c.settime = TW_SETTIME_VIRTUAL;
	apply(&q, &p, &c, TW_OK, "settime virtual");
	tap_ok(q.settime == TW_SETTIME_VIRTUAL, "settime virtual: policy set");
	c.what = 0;
	apply(&q, &p, &c, TW_OK, "empty change");
	tap_ok(q.settime == TW_SETTIME_DENY, "empty change: policy kept");
	kept_at_h1(&p, want);
	lines_are(&q, want, "empty change is a pure rebase");
}

/* ---- MONOTONIC, RAW and BOOTTIME never go backwards ----------------------- */

static void test_never_backwards(void)
{
	int64_t host[TW_NLINES] = { 1700000000 * S, 1700000037 * S, 1000 * S, 999 * S,
				    1005 * S };
	int64_t prev[TW_NLINES] = { 0 };
	struct tw_params p;
	int back = 0, touched = 0, wrong = 0, reads = 0, counts[TW_BAD_RATE + 1] = { 0 };
	const int N = 50000;

	tw_params_init(&p, host, host, TW_RATE_ONE);
	for (int i = 0; i < N; i++) {
		/* the host moves on: MONOTONIC/RAW/BOOTTIME never back, REALTIME may step */
		int64_t dt = rnd() % 4 ? rnd_range(0, 2 * S) : rnd_range(0, 1000);
		host[TW_LINE_MONOTONIC] += dt;
		host[TW_LINE_RAW] += dt - dt / 100000;
		host[TW_LINE_BOOTTIME] += dt + (rnd() % 500 ? 0 : rnd_range(0, HOUR)); /* suspend */
		host[TW_LINE_REALTIME] += dt - (rnd() % 200 ? 0 : rnd_range(0, S));
		host[TW_LINE_TAI] = host[TW_LINE_REALTIME] + 37 * S;

		for (int pass = 0; pass < 2; pass++) {
			/* read (pass 0: the old parameters; pass 1: after a change at the
			 * same host instant) */
			for (int l = TW_LINE_MONOTONIC; l < TW_NLINES; l++) {
				int64_t v = tw_map(&p, (enum tw_line)l, host[l]);
				reads++;
				if (v < prev[l] && !back++)
					tap_diag("iteration %d pass %d: %s went back %lld -> %lld",
						 i, pass, line_name[l], (long long)prev[l],
						 (long long)v);
				prev[l] = v;
			}
			if (pass || rnd() % 3)
				break;

			struct tw_change c = { 0 };
			unsigned kinds = 1 + (rnd() % 4 == 0); /* sometimes two at once */
			for (unsigned k = 0; k < kinds; k++) {
				switch (rnd() % 10) {
				case 0:
				case 1:
					c.what |= TW_CH_RATE;
					c.rate = rnd() % 50 ? rnd_rate() % (RATE(1000) + 1)
							     : TW_RATE_MAX + 1 + rnd() % 1000;
					break;
				case 2:
					c.what |= TW_CH_FREEZE;
					break;
				case 3:
					c.what |= TW_CH_RESUME;
					break;
				case 4:
					c.what |= TW_CH_ADVANCE;
					c.advance = rnd() % 50 ? rnd_range(0, DAY)
							       : -rnd_range(1, S);
					break;
				case 5:
					c.what |= TW_CH_AT;
					c.at = rnd() % 50 ? rnd_range(0, 1LL << 62)
							  : -rnd_range(1, S);
					break;
				case 6:
					c.what |= TW_CH_OFFSET;
					c.offset = rnd_range(-3650 * DAY, 3650 * DAY);
					break;
				case 7:
					c.what |= TW_CH_MONOTONIC;
					c.monotonic = rnd_range(-DAY, 30 * DAY);
					break;
				case 8:
					c.what |= TW_CH_BOOTTIME;
					c.boottime = rnd_range(-DAY, 30 * DAY);
					break;
				default:
					c.what |= TW_CH_SETTIME;
					c.settime = (uint32_t)(rnd() & 1);
					break;
				}
			}

			struct tw_params before = p;
			int64_t vm = tw_map(&p, TW_LINE_MONOTONIC, host[TW_LINE_MONOTONIC]);
			int64_t vb = tw_map(&p, TW_LINE_BOOTTIME, host[TW_LINE_BOOTTIME]);
			enum tw_refusal r = tw_apply(&p, &c, host, host);
			counts[r]++;
			if (r != TW_OK && memcmp(&before, &p, sizeof(p)) && !touched++)
				tap_diag("iteration %d: refusal %d changed the params", i, (int)r);
			/* refused for going backwards exactly when it would have */
			int mono_back = (c.what & TW_CH_MONOTONIC) &&
					host[TW_LINE_MONOTONIC] + c.monotonic < vm;
			int boot_back = (c.what & TW_CH_BOOTTIME) &&
					host[TW_LINE_BOOTTIME] + c.boottime < vb;
			if (r == TW_OK && (mono_back || boot_back) && !wrong++)
				tap_diag("iteration %d: a backwards change was accepted", i);
			if (r == TW_BACK_MONOTONIC && !mono_back && !wrong++)
				tap_diag("iteration %d: refused TW_BACK_MONOTONIC wrongly", i);
			if (r == TW_BACK_BOOTTIME && !boot_back && !wrong++)
				tap_diag("iteration %d: refused TW_BACK_BOOTTIME wrongly", i);
		}
	}
	tap_ok(!back, "never backwards: %d MONOTONIC/RAW/BOOTTIME reads over %d host steps "
		      "with random changes (%d bad)", reads, N, back);
	tap_ok(!touched, "never backwards: every refusal left the params untouched (%d bad)",
	       touched);
	tap_ok(!wrong, "never backwards: refused as backwards exactly when backwards (%d bad)",
	       wrong);
	tap_diag("changes: %d ok, %d bad realtime, %d bad monotonic, %d bad boottime, "
		 "%d back monotonic, %d back boottime, %d bad advance, %d bad rate",
		 counts[TW_OK], counts[TW_BAD_REALTIME], counts[TW_BAD_MONOTONIC],
		 counts[TW_BAD_BOOTTIME], counts[TW_BACK_MONOTONIC], counts[TW_BACK_BOOTTIME],
		 counts[TW_BAD_ADVANCE], counts[TW_BAD_RATE]);
	tap_ok(counts[TW_OK] > 1000 && counts[TW_BACK_MONOTONIC] > 10 &&
		       counts[TW_BACK_BOOTTIME] > 10 && counts[TW_BAD_RATE] > 0 &&
		       counts[TW_BAD_ADVANCE] > 0 && counts[TW_BAD_REALTIME] > 0,
	       "never backwards: the simulation exercised accepted and refused changes");
}

/* tw_unscale: the host time a virtual duration takes (waits). */
static void test_unscale(void)
{
	const uint64_t one = TW_RATE_ONE;
	uint64_t seed = 88172645463325252ull;

	TAP_EQ_I64(tw_unscale(1000, one), 1000, "unscale: rate 1 is the duration itself");
	TAP_EQ_I64(tw_unscale(1000, 0), 1000, "unscale: frozen, the virtual time left elapses at host speed");
	TAP_EQ_I64(tw_unscale(1000000000, 10 * one), 100000000, "unscale: 1 s at rate 10 takes 0.1 s");
	TAP_EQ_I64(tw_unscale(1000000000, one / 2), 2000000000, "unscale: 1 s at rate 0.5 takes 2 s");
	TAP_EQ_I64(tw_unscale(10, 3 * one), 4, "unscale: rounds up, a wait never ends early");
	TAP_EQ_I64(tw_unscale(0, 10 * one), 0, "unscale: zero");
	TAP_EQ_I64(tw_unscale(-5, 10 * one), -5, "unscale: a past deadline stays past");
	TAP_EQ_I64(tw_unscale(INT64_MAX, 1), INT64_MAX, "unscale: saturates at the smallest rate");
	TAP_EQ_I64(tw_unscale(INT64_MAX, TW_RATE_MAX), (int64_t)(INT64_MAX / 1000000) + 1,
		   "unscale: the largest duration at the largest rate");
	for (int i = 0; i < 100000; i++) {
		int64_t d;
		uint64_t rate;
		seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
		d = (int64_t)(seed >> (1 + seed % 40));
		rate = 1 + (seed >> 11) % TW_RATE_MAX;
		int64_t h = tw_unscale(d, rate);
		/* scaling the host time back gives at least d, and one ns less does not */
		if (h != INT64_MAX && (tw_scale(h, rate) < d - 1 || (h > 0 && tw_scale(h - 1, rate) > d))) {
			tap_ok(0, "unscale inverts scale: d %lld rate %llu gave %lld", (long long)d,
			       (unsigned long long)rate, (long long)h);
			return;
		}
	}
	tap_ok(1, "unscale inverts scale over 100000 random durations and rates");
}

/* Frozen, a waiter's deadline on a monotonic line ran out: MONOTONIC, RAW and
 * BOOTTIME catch up with it together; REALTIME and TAI stay; running, or a
 * deadline behind the clock, changes nothing. */
static void test_apply_reach(void)
{
	struct tw_params q, z;
	struct tw_change c = { .what = TW_CH_FREEZE };
	int64_t want[TW_NLINES];

	apply(&q, &base_params, &c, TW_OK, "freeze for reach");
	c = (struct tw_change){ .what = TW_CH_REACH, .reach_line = TW_LINE_BOOTTIME,
				.reach = cur[TW_LINE_BOOTTIME] + 3 * S };
	apply(&z, &q, &c, TW_OK, "reach BOOTTIME + 3 s while frozen");
	memcpy(want, cur, sizeof(want));
	want[TW_LINE_MONOTONIC] += 3 * S;
	want[TW_LINE_RAW] += 3 * S;
	want[TW_LINE_BOOTTIME] += 3 * S;
	lines_are(&z, want, "reach + 3 s: the monotonic lines moved 3 s, REALTIME and TAI did not");
	tap_ok(z.rate == 0, "reach: still frozen");

	c.reach_line = TW_LINE_MONOTONIC;
	c.reach = cur[TW_LINE_MONOTONIC] - S;
	apply(&z, &q, &c, TW_OK, "reach a deadline behind MONOTONIC");
	lines_are(&z, cur, "reach behind: nothing moved");

	c.reach = cur[TW_LINE_MONOTONIC] + S;
	c.reach_line = TW_LINE_REALTIME;
	apply(&z, &q, &c, TW_OK, "reach on REALTIME");
	lines_are(&z, cur, "reach on REALTIME: nothing moved (it stays frozen)");

	c.reach_line = TW_LINE_MONOTONIC;
	apply(&z, &base_params, &c, TW_OK, "reach while running at rate 2");
	lines_are(&z, cur, "reach while running: nothing moved");

	c.reach = TW_MONO_MAX + S;
	apply(&z, &q, &c, TW_BAD_MONOTONIC, "reach past MONOTONIC's range");
}

/* ---- tw_rate_ts: the read path's split of the rate map ------------------- */

/* One case: where tw_rate_ts answers, it must be tw_map_line's value split;
 * where it declines, it must be for one of the reasons it gives. */
static int rate_ts_case(int line, struct tw_base b, uint64_t rate, uint64_t sec, uint64_t ns,
			int *answered)
{
	struct tw_ts got = { -1, -1 }, want;
	int64_t host = (int64_t)sec * 1000000000LL + (int64_t)ns;

	*answered = 0;
	if (tw_rate_ts(line, b, rate, sec, ns, 0, 0, &got)) {
		/* declined: only before the anchor, at the limits, or huge input */
		int64_t v = tw_map_line((enum tw_line)line, b, rate, host);
		return host < b.host || v <= 0 || (uint64_t)v / 1000000000ULL >= tw_line_max_sec(line) ||
		       sec >= (1ULL << 33) || ns >= (1ULL << 33) ||
		       (uint64_t)tw_scale(host - b.host, rate) > (uint64_t)INT64_MAX / 2;
	}
	*answered = 1;
	want = tw_ns_ts(tw_map_line((enum tw_line)line, b, rate, host));
	return got.sec == want.sec && got.nsec == want.nsec;
}

static void test_rate_ts(void)
{
	int bad = 0, answered = 0, a;

	for (int i = 0; i < 400000; i++) {
		int line = (int)(rnd() % TW_NLINES);
		uint64_t rate = rnd_rate(), sec, ns;
		struct tw_base b;

		if (rate == 0 || rate == TW_RATE_ONE)
			rate = RATE(2);
		/* host readings near today's clocks, anchors a little or far before */
		sec = (uint64_t)rnd_range(0, 4000000000LL);
		ns = (uint64_t)(rnd() % 4 ? rnd_range(0, 999999999) : rnd_range(0, 3000000000LL));
		b.host = (int64_t)sec * 1000000000LL - (rnd() % 2 ? rnd_range(-2000000000LL, 5000000000LL)
								    : rnd_log() % 4000000000000000000LL);
		b.virt = rnd() % 3 ? rnd_range(0, 4000000000000000000LL) : rnd_log();
		if (!rate_ts_case(line, b, rate, sec, ns, &a)) {
			if (bad++ < 5)
				tap_diag("line %d rate %llu H %lld V %lld sec %llu ns %llu", line,
					 (unsigned long long)rate, (long long)b.host, (long long)b.virt,
					 (unsigned long long)sec, (unsigned long long)ns);
		}
		answered += a;
	}
	tap_ok(!bad, "tw_rate_ts is tw_map_line split, or declines for a stated reason, on 400000 cases (%d bad)", bad);
	tap_ok(answered > 300000, "and answers most of them itself (%d)", answered);

	/* the ordinary cases, by hand */
	{
		struct tw_base b = { 1000 * TW_NSEC, 5000 * TW_NSEC };
		struct tw_ts t;

		TAP_EQ_I64(tw_rate_ts(TW_LINE_MONOTONIC, b, RATE(2), 1001, 500000000, 0, 0, &t), 0,
			   "rate 2, 1.5 s past the anchor: answered");
		TAP_EQ_I64(t.sec * TW_NSEC + t.nsec, 5003 * TW_NSEC, "is 3 s past the virtual anchor");
		TAP_EQ_I64(tw_rate_ts(TW_LINE_MONOTONIC, b, RATE(10), 1000, 1999999999, 0, 0, &t), 0,
			   "rate 10, unnormalised nanoseconds: answered");
		TAP_EQ_I64(t.sec * TW_NSEC + t.nsec, 5000 * TW_NSEC + 19999999990LL, "19.99999999 s on");
		TAP_EQ_I64(t.nsec, 999999990, "nanoseconds normalised");
		TAP_EQ_I64(tw_rate_ts(TW_LINE_MONOTONIC, b, RATE(2), 999, 999999999, 0, 0, &t), 1,
			   "a host reading before the anchor is declined (tw_scale rounds toward zero)");
		TAP_EQ_I64(tw_rate_ts(TW_LINE_MONOTONIC, b, RATE_MILLI, 1000, 1, 0, 0, &t), 0,
			   "rate 0.001, 1 ns on: answered");
		TAP_EQ_I64(t.sec * TW_NSEC + t.nsec, 5000 * TW_NSEC, "and rounds down to the anchor");
	}
}

/* ---- tw_rate_ts below the nanosecond ------------------------------------- */

/* floor(r * T / 2^n) for r < 2^53, 0 <= T < 2^92, 32 <= n < 64, by a 192-bit
 * product (independent of tw_rate_ts's splits); 1 if it reaches 2^63. */
static int mul_shift(uint64_t r, unsigned __int128 t, unsigned n, uint64_t *out)
{
	unsigned __int128 lo = (unsigned __int128)r * (uint64_t)t;
	unsigned __int128 u = (unsigned __int128)r * (uint64_t)(t >> 64) + (lo >> 64);

	/* r*T = u * 2^64 + (lo mod 2^64) */
	if (u >= (unsigned __int128)1 << (n - 1))
		return 1;
	*out = ((uint64_t)u << (64 - n)) + ((uint64_t)lo >> n);
	return 0;
}

static void test_rate_frac(void)
{
	int bad = 0, answered = 0, checked = 0;

	for (int i = 0; i < 400000; i++) {
		int line = (int)(rnd() % TW_NLINES);
		uint64_t rate = rnd_rate(), sec, ns, frac, q;
		unsigned shift = (unsigned)(rnd() % 29);
		struct tw_base b;
		struct tw_ts got;
		__int128 d;
		int64_t want;

		if (rate == 0 || rate == TW_RATE_ONE)
			rate = RATE(2);
		sec = (uint64_t)rnd_range(0, 4000000000LL);
		ns = (uint64_t)(rnd() % 4 ? rnd_range(0, 999999999) : rnd_range(0, 3000000000LL));
		frac = shift ? rnd() & ((1ULL << shift) - 1) : 0;
		b.host = (int64_t)sec * 1000000000LL - (rnd() % 2 ? rnd_range(-2000000000LL, 5000000000LL)
								    : rnd_log() % 4000000000000000000LL);
		b.virt = rnd() % 3 ? rnd_range(0, 4000000000000000000LL) : rnd_log();
		d = (__int128)sec * 1000000000 + ns - b.host;
		/* the exact value, where the reference can say it */
		if (d < 0 || mul_shift(rate, (unsigned __int128)(d << shift) + frac, shift + 32, &q) ||
		    __builtin_add_overflow(b.virt, (int64_t)q, &want) ||
		    (uint64_t)want / 1000000000ULL >= tw_line_max_sec(line)) {
			if (!tw_rate_ts(line, b, rate, sec, ns, frac, shift, &got))
				answered++; /* out of the reference's reach: not judged */
			continue;
		}
		checked++;
		if (tw_rate_ts(line, b, rate, sec, ns, frac, shift, &got) ||
		    tw_ts_ns(&got) != want || got.nsec < 0 || got.nsec >= 1000000000) {
			if (bad++ < 5)
				tap_diag("line %d rate %llu H %lld V %lld sec %llu ns %llu frac %llu/2^%u: want %lld",
					 line, (unsigned long long)rate, (long long)b.host,
					 (long long)b.virt, (unsigned long long)sec,
					 (unsigned long long)ns, (unsigned long long)frac, shift,
					 (long long)want);
		}
	}
	tap_ok(!bad, "tw_rate_ts below the nanosecond is floor(V + R*(host - H)) exactly, on %d cases (%d bad)",
	       checked, bad);
	tap_ok(checked > 200000, "and the reference judged most of the 400000 (%d)", checked);

	/* by hand: rate 2, half a nanosecond after the anchor is 1 ns on */
	{
		struct tw_base b = { 1000 * TW_NSEC, 5000 * TW_NSEC };
		struct tw_ts t;

		TAP_EQ_I64(tw_rate_ts(TW_LINE_MONOTONIC, b, RATE(2), 1000, 0, 1u << 23, 24, &t), 0,
			   "rate 2, 0.5 ns past the anchor: answered");
		TAP_EQ_I64(tw_ts_ns(&t), 5000 * TW_NSEC + 1, "is 1 ns past the virtual anchor");
		TAP_EQ_I64(tw_rate_ts(TW_LINE_MONOTONIC, b, RATE(2), 1000, 0, (1u << 23) - 1, 24, &t), 0,
			   "rate 2, just under 0.5 ns: answered");
		TAP_EQ_I64(tw_ts_ns(&t), 5000 * TW_NSEC, "is the virtual anchor");
		TAP_EQ_I64(tw_rate_ts(TW_LINE_MONOTONIC, b, RATE(10), 1001, 999999999, 15u << 20, 24, &t), 0,
			   "rate 10, 1.999999999 s + 15/16 ns on: answered");
		TAP_EQ_I64(tw_ts_ns(&t), 5000 * TW_NSEC + 19999999999LL, "19.999999999 s on (9.375 ns floored)");
	}
}

/* ---- fold.h: the rate folded into the kernel's scale --------------------- */

static uint64_t fold_rate(void)
{
	static const uint64_t some[] = { RATE(2), RATE(10), RATE(3), RATE(1000), TW_RATE_MAX,
					 TW_RATE_ONE / 2, TW_RATE_ONE / 4, TW_RATE_ONE * 3 / 2,
					 TW_RATE_ONE / 512 * 3 };
	uint64_t r = rnd() % 3 ? some[rnd() % (sizeof(some) / sizeof(some[0]))] : rnd_rate();
	return r == 0 || r == TW_RATE_ONE ? RATE(2) : r;
}

static void test_fold(void)
{
	int bad = 0, folded = 0, cases = 0, reads = 0, wide = 0, fast = 0;

	for (int i = 0; i < 200000; i++) {
		int line = (int)(rnd() % TW_NLINES);
		uint64_t rate = fold_rate();
		struct tw_vvar_snap v = { 0 };
		struct tw_base b;
		struct tw_fold f;

		cases++;
		v.shift = rnd() % 4 ? 24 : (uint32_t)(rnd() % 29);
		/* a TSC of 1 to 4 GHz, as the kernel scales it; kvm-clock's
		 * nanoseconds (pvclock.h); Hyper-V's 100 ns units (hyperv.h);
		 * sometimes any */
		switch (rnd() % 8) {
		case 0:
			v.mult = 1U << v.shift;
			break;
		case 1:
			v.shift = v.shift > 25 ? 25 : v.shift;
			v.mult = 100U << v.shift;
			break;
		case 2:
		case 3:
			v.mult = (uint32_t)rnd();
			break;
		default:
			v.mult = (uint32_t)(((1ULL << v.shift) * 1000000000ULL) /
					    (uint64_t)rnd_range(1000000000LL, 4000000000LL));
		}
		v.cycle_last = rnd() >> 2;
		v.max_cycles = rnd() % 2 ? (uint64_t)rnd_range(1, 1LL << 42) : (uint64_t)rnd_log();
		v.sec = (uint64_t)rnd_range(0, 4000000000LL);
		v.nsec = (uint64_t)rnd_range(0, 999999999) << v.shift | (rnd() & ((1ULL << v.shift) - 1));
		v.seq = 2;
		b.host = (int64_t)v.sec * 1000000000LL - (rnd() % 2 ? rnd_range(-2000000000LL, 5000000000LL)
									: rnd_log() % 4000000000000000000LL);
		b.virt = rnd() % 3 ? rnd_range(0, 4000000000000000000LL) : rnd_log();
		if (tw_fold_make(line, b, rate, &v, &f))
			continue;
		folded++;
		wide += f.shift == 0;
		fast += f.shift == 0 && f.mult_hi != 0;
		/* every read it serves is tw_rate_ts's for the same TSC reading */
		for (int k = 0; k < 8; k++) {
			uint64_t sec, ns, frac, d;
			unsigned shift;
			struct tw_ts want, got;

			d = k == 0 ? 0 : k == 1 ? f.dmax : k == 2 && f.dmax ? f.dmax - 1
								 : rnd() % (f.dmax + 1);
			v.cycles = v.cycle_last + d;
			reads++;
			tw_vvar_split(&v, 0, &sec, &ns, &frac, &shift);
			tw_fold_at(&f, d, &got);
			if (tw_rate_ts(line, b, rate, sec, ns, frac, shift, &want) ||
			    want.sec != got.sec || want.nsec != got.nsec) {
				if (bad++ < 5)
					tap_diag("line %d rate %llu mult %u shift %u nsec %llu sec %llu H %lld V %lld d %llu: fold %lld.%09lld",
						 line, (unsigned long long)rate, v.mult, v.shift,
						 (unsigned long long)v.nsec, (unsigned long long)v.sec,
						 (long long)b.host, (long long)b.virt,
						 (unsigned long long)d, (long long)got.sec,
						 (long long)got.nsec);
			}
		}
	}
	tap_ok(!bad, "a fold answers as tw_rate_ts does, to the nanosecond, on %d reads (%d bad)",
	       reads, bad);
	tap_ok(folded > cases / 3, "folds are made for most cases (%d of %d)", folded, cases);
	tap_ok(wide > folded / 10 && wide < folded, "in 64 bits and in 128 (%d wide)", wide);
	tap_ok(fast > wide / 100 && fast < wide,
	       "in 128 bits, virtual clocks slower and faster than a nanosecond a cycle (%d faster)",
	       fast);

	/* by hand: this machine's kind of scale at rate 2 and at 0.1 */
	{
		struct tw_vvar_snap v = { .seq = 2, .mult = 6462355, .shift = 24,
					  .cycle_last = 1000, .max_cycles = 1ULL << 40,
					  .sec = 5000, .nsec = 123456789ULL << 24 };
		struct tw_base b = { 4000 * TW_NSEC, 7000 * TW_NSEC };
		struct tw_fold f;

		TAP_EQ_I64(tw_fold_make(TW_LINE_MONOTONIC, b, RATE(2), &v, &f), 0,
			   "rate 2 on a 2.6 GHz TSC's scale: folded");
		TAP_EQ_I64(f.shift, 24, "rate 2: the kernel's shift");
		TAP_EQ_I64((int64_t)f.mult_lo, 2 * 6462355, "rate 2: twice the kernel's multiplier");
		tap_ok(f.dmax > 2600000000ULL / 2, "rate 2: serves more than half a second (%llu cycles)",
		       (unsigned long long)f.dmax);
		TAP_EQ_I64(tw_fold_make(TW_LINE_MONOTONIC, b, 429496730 /* 0.1 */, &v, &f), 0,
			   "rate 0.1 (31 fraction bits): folded");
		TAP_EQ_I64(f.shift, 0, "rate 0.1: in 128 bits");
		/* M' = 0x0CCCCCCD * mult << (64 - 24 - 31) */
		TAP_EQ_I64((int64_t)f.mult_lo, (int64_t)((0x0CCCCCCDULL * 6462355) << 9),
			   "rate 0.1: its multiplier, 64 bits below the nanosecond");
		TAP_EQ_I64((int64_t)f.mult_hi, 0, "rate 0.1: under a nanosecond a cycle");
		/* 10.1: 31 fraction bits and 3.89 ns a cycle, so M_hi is 3; its
		 * last read, against the computation in full */
		TAP_EQ_I64(tw_fold_make(TW_LINE_MONOTONIC, b, 43379169690ULL /* 10.1 */, &v, &f), 0,
			   "rate 10.1: folded");
		TAP_EQ_I64(f.shift, 0, "rate 10.1: in 128 bits");
		TAP_EQ_I64((int64_t)f.mult_hi, 3, "rate 10.1: 3 whole nanoseconds a cycle");
		{
			uint64_t sec, ns, frac;
			unsigned shift;
			struct tw_ts want = { 0, 0 }, got;

			v.cycles = v.cycle_last + f.dmax;
			tw_vvar_split(&v, 0, &sec, &ns, &frac, &shift);
			tw_fold_at(&f, f.dmax, &got);
			TAP_EQ_I64(tw_rate_ts(TW_LINE_MONOTONIC, b, 43379169690ULL, sec, ns, frac, shift,
					      &want),
				   0, "rate 10.1, dmax cycles on: computed in full");
			TAP_EQ_I64(tw_ts_ns(&got), tw_ts_ns(&want), "rate 10.1, dmax cycles on: the fold agrees");
			v.cycles = v.cycle_last;
		}
		b.host = 5001 * TW_NSEC;
		TAP_EQ_I64(tw_fold_make(TW_LINE_MONOTONIC, b, RATE(2), &v, &f), 1,
			   "an anchor after the kernel's base: not folded");
	}
}

int main(void)
{
	test_unscale();
	test_saturation();
	test_scale();
	test_rates();
	test_map_clamp();
	test_clock_line();
	test_params_init();
	test_rebase();
	setup_base();
	test_apply_realtime();
	test_apply_advance();
	test_apply_monotonic();
	test_apply_rate();
	test_apply_settime();
	test_apply_reach();
	test_never_backwards();
	test_rate_ts();
	test_rate_frac();
	test_fold();
	return tap_done();
}
