/* The engine's reads against a clock page in memory: each clock follows its
 * class's line, and the COARSE clocks do not step back when a change raises the
 * rate (their host reading lags the instant the page was rebased at). */
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <time.h>

#include "clockmath.h"
#include "change.h"
#include "control.h"
#include "engine.h"
#include "fold.h"
#include "tap.h"
#include "vvar.h"

static struct tw_page pg;
static struct tw_host host;

static int64_t read_ns(int clk)
{
	struct tw_ts ts;
	return tw_gettime(&pg, &host, clk, &ts) ? -1 : tw_ts_ns(&ts);
}

/* The parameters in force: the last published. */
static struct tw_params cur;

/* Parameters reach readers only through a copy the writer fills, which also
 * derives its fast-path fields, and publishes (the only writer here: the copy
 * after the one in force is nobody's). */
static void publish(const struct tw_params *p)
{
	uint32_t h = pg.head;
	unsigned i = (TW_HEAD_COPY(h) + 1) % TW_COPIES;

	tw_copy_fill(&pg.copy[i], p);
	tw_publish(&pg, h, i);
	cur = *p;
}

/* A change as `timewarp set --rate` makes it (src/control/change.c). */
static void set_rate(uint64_t rate)
{
	struct tw_change c = { .what = TW_CH_RATE, .rate = rate };
	enum tw_refusal why;

	tw_page_change(&pg, -1, &host, &c, NULL, &why);
	tw_read_params(&pg, &cur);
}

static void coarse_never_back(int clk, const char *name)
{
	int back = 0;
	int64_t worst = 0;

	for (int i = 0; i < 2000; i++) {
		int64_t a = read_ns(clk), b;
		set_rate(((i % 2) ? 1ull : 10ull) << 32);
		b = read_ns(clk);
		if (b < a) {
			back++;
			if (a - b > worst)
				worst = a - b;
		}
	}
	if (!tap_ok(back == 0, "%s never steps back across 2000 rate changes 1 <-> 10", name))
		tap_diag("%d steps back, the worst %lld ns", back, (long long)worst);
}

/* ---- host time from a kernel data page, faked ------------------------------
 * mult 0 stops the TSC's contribution, so every reading is the page's base
 * time exactly and each result can be computed here.  The fine clocks' bases
 * carry a fraction of a nanosecond, as the kernel's do. */
static struct tw_vvar_clock fake[2];
static struct tw_memo memo[2];
static struct tw_fold fold[TW_FOLD_SLOTS];
static uint64_t fake_frac; /* of 2^24 */

static void fake_base(int64_t sec, int64_t nsec)
{
	__atomic_store_n(&fake[0].seq, fake[0].seq + 1, __ATOMIC_RELEASE);
	for (int c = 0; c < 2; c++)
		for (int id = 0; id < TW_VVAR_NBASES; id++) {
			fake[c].basetime[id].sec = (uint64_t)sec + (uint64_t)id; /* each clock its own */
			fake[c].basetime[id].nsec = (uint64_t)nsec << fake[c].shift | fake_frac;
			if (id == 5 || id == 6) /* coarse: not shifted */
				fake[c].basetime[id].nsec = (uint64_t)nsec;
		}
	__atomic_store_n(&fake[0].seq, fake[0].seq + 1, __ATOMIC_RELEASE);
	fake[1].seq = fake[0].seq;
}

/* What a read of `clk` must give: the line's map of the fake host reading,
 * below the nanosecond at rates other than 0 and 1 (tw_rate_ts). */
static int64_t expect_ns(int clk)
{
	const struct tw_vvar_clock *vc = &fake[clk == 4];
	const int coarse = clk == 5 || clk == 6;
	int64_t h = (int64_t)vc->basetime[clk].sec * TW_NSEC +
		    (int64_t)(vc->basetime[clk].nsec >> (coarse ? 0 : vc->shift));
	int line = tw_clock_line(clk);
	struct tw_ts ts;

	if (!coarse && cur.rate != 0 && cur.rate != TW_RATE_ONE &&
	    !tw_rate_ts(line, cur.base[line], cur.rate, vc->basetime[clk].sec,
			vc->basetime[clk].nsec >> vc->shift,
			vc->basetime[clk].nsec & ((1ULL << vc->shift) - 1), vc->shift, &ts))
		return tw_ts_ns(&ts);
	return tw_map_line((enum tw_line)line, cur.base[line], cur.rate, h);
}

static void test_data_page(const struct tw_params *start)
{
	static const int clocks[] = { 0, 1, 4, 5, 6, 7, 11 };
	struct tw_host saved = host;
	struct tw_params p = *start;
	int bad = 0;

	for (int c = 0; c < 2; c++) {
		fake[c].clock_mode = TW_VVAR_CLOCKMODE_TSC;
		fake[c].cycle_last = 0;
		fake[c].max_cycles = ~0ULL;
		fake[c].mask = ~0ULL;
		fake[c].mult = 0;
		fake[c].shift = 24;
	}
	fake_frac = 0xc00000; /* 0.75 ns */
	fake_base(1800000000, 123456789);
	host.vvar = fake;
	host.memo = memo;
	host.fold = fold;
	for (int r = 0; r < 4; r++) {
		static const uint64_t rates[] = { TW_RATE_ONE, 2ULL << 32, 0, 3ULL << 31 };

		p.rate = rates[r];
		publish(&p);
		for (int step = 0; step < 3; step++) {
			for (unsigned i = 0; i < sizeof(clocks) / sizeof(clocks[0]); i++) {
				int64_t want = expect_ns(clocks[i]), a = read_ns(clocks[i]);
				/* a coarse one from the memo, a fine one from the fold */
				int64_t b = read_ns(clocks[i]);

				if (a != want || b != want) {
					if (bad++ < 5)
						tap_diag("rate %.1f clock %d: %lld, %lld, want %lld",
							 (double)p.rate / 4294967296.0, clocks[i],
							 (long long)a, (long long)b, (long long)want);
				}
			}
			fake_base(1800000000 + step * 7, 987654321 - step * 1000);
		}
	}
	tap_ok(!bad, "from the kernel's data page, every clock at rates 1, 2, 0 and 1.5 is "
		     "the map of its host reading, through 3 kernel updates each (%d bad)", bad);
	read_ns(CLOCK_REALTIME_COARSE);
	read_ns(CLOCK_MONOTONIC_COARSE);
	tap_ok(memo[0].vseq == fake[0].seq && memo[1].vseq == fake[0].seq &&
		       memo[0].sec * TW_NSEC + memo[0].nsec == expect_ns(CLOCK_REALTIME_COARSE),
	       "the coarse memos hold the last update's readings");
	{
		int made = 0;
		for (unsigned i = 0; i < sizeof(clocks) / sizeof(clocks[0]); i++) {
			const struct tw_fold *f;
			struct tw_ts ts;

			if (clocks[i] == 5 || clocks[i] == 6) /* no fold: the memo */
				continue;
			f = &fold[tw_fold_slot(clocks[i])];
			read_ns(clocks[i]); /* after the last kernel update */
			tw_fold_at(f, 0, &ts);
			made += f->vseq == fake[0].seq && f->pseq == pg.head && f->page == &pg &&
				tw_ts_ns(&ts) == expect_ns(clocks[i]);
		}
		TAP_EQ_I64(made, 5, "at rate 1.5 each fine clock's fold holds the last update's scale");
	}
	p.rate = 2ULL << 32;
	publish(&p);
	TAP_EQ_I64(read_ns(CLOCK_MONOTONIC), expect_ns(CLOCK_MONOTONIC),
		   "a fine reading after a change of rate, kernel data unchanged, is the new map");
	TAP_EQ_I64(read_ns(CLOCK_MONOTONIC), expect_ns(CLOCK_MONOTONIC), "and again, from the fold");
	TAP_EQ_I64(fold[1].pseq, pg.head, "the fold was made again for the new rate");

	/* the memo is keyed on the clock page too: a change is seen at once */
	p.rate = 5ULL << 32;
	publish(&p);
	TAP_EQ_I64(read_ns(CLOCK_REALTIME_COARSE), expect_ns(CLOCK_REALTIME_COARSE),
		   "a coarse reading after a change of rate, kernel data unchanged, is the new map");
	/* a clock source other than the TSC: the host vDSO answers, not the page */
	fake[0].clock_mode = 2;
	tap_ok(read_ns(CLOCK_REALTIME) != expect_ns(CLOCK_REALTIME) &&
		       read_ns(CLOCK_REALTIME) > 0,
	       "clock mode not the TSC: the page is not read, the host vDSO is");
	fake[0].clock_mode = TW_VVAR_CLOCKMODE_TSC;
	host = saved;
	publish(start);
}

/* The TSC scaling of tw_vvar_now: with mult 2^24 and shift 24 a cycle is a
 * nanosecond, so a reading is its base plus the cycles since cycle_last,
 * bracketed by TSC readings taken around it. */
static void test_tsc_scaling(void)
{
	struct tw_vvar_clock vc[2];
	struct tw_ts ts = { 0, 0 };
	uint64_t before, after;
	int64_t base = 1800000000LL * TW_NSEC + 250000000LL, got;

	memset(vc, 0, sizeof(vc));
	vc[0].clock_mode = TW_VVAR_CLOCKMODE_TSC;
	vc[0].mask = ~0ULL;
	vc[0].mult = 1U << 24;
	vc[0].shift = 24;
	vc[0].basetime[1].sec = 1800000000ULL;
	vc[0].basetime[1].nsec = 250000000ULL << 24;

	vc[0].max_cycles = ~0ULL >> 1;
	before = tw_rdtscp();
	vc[0].cycle_last = before - 1000;
	tap_ok(!tw_vvar_gettime(vc, 1, &ts), "a reading from a page in TSC mode");
	after = tw_rdtscp();
	got = tw_ts_ns(&ts) - base;
	tap_ok(got >= 1000 && (uint64_t)got <= after - vc[0].cycle_last && ts.nsec < TW_NSEC,
	       "is its base plus the cycles since cycle_last (%lld ns)", (long long)got);

	vc[0].cycle_last = tw_rdtscp() + 1000000000000ULL; /* minutes ahead of the TSC */
	tap_ok(!tw_vvar_gettime(vc, 1, &ts) && tw_ts_ns(&ts) == base,
	       "a TSC behind cycle_last adds nothing (the kernel's rule)");

	vc[0].max_cycles = 1000; /* every delta too long for 64 bits: the 128-bit way */
	vc[0].cycle_last = 0;
	before = tw_rdtscp();
	ts = (struct tw_ts){ 0, 0 };
	tap_ok(!tw_vvar_gettime(vc, 1, &ts), "a reading long after cycle_last");
	after = tw_rdtscp();
	got = tw_ts_ns(&ts) - base;
	tap_ok(got >= (int64_t)before && got <= (int64_t)after,
	       "past max_cycles the product is taken in 128 bits (%llu cycles, exact)",
	       (unsigned long long)got);

	vc[0].clock_mode = 0; /* VDSO_CLOCKMODE_NONE: the host vDSO makes a system call */
	TAP_EQ_I64(tw_vvar_gettime(vc, 1, &ts), 1, "a page not in TSC mode is refused");
	vc[0].clock_mode = TW_VVAR_CLOCKMODE_TSC;
	TAP_EQ_I64(tw_vvar_gettime(vc, 8, &ts), 1, "REALTIME_ALARM is not served by the page");
}

int main(void)
{
	int64_t now[TW_NLINES], ref[TW_NLINES];
	struct tw_ts host_tai, host_rt;
	struct tw_params p;
	struct tw_change c = { .what = TW_CH_AT | TW_CH_MONOTONIC, .at = 2000000000LL * TW_NSEC,
			       .monotonic = 86400LL * TW_NSEC, .creating = 1 };

	tw_host_init(&host, (const void *)getauxval(AT_SYSINFO_EHDR));
	if (getauxval(AT_SYSINFO_EHDR))
		tap_ok(host.clock_gettime != NULL, "the host vDSO's __vdso_clock_gettime is found");
	else /* valgrind, for one, hides the vDSO: the engine uses the system call */
		tap_skip("no vDSO in the auxiliary vector");
	pg.magic = TW_PAGE_MAGIC;
	pg.version = TW_PAGE_VERSION;
	pg.size = sizeof(pg);
	tap_ok(tw_page_check(&pg) == 0, "a well-formed page passes the check");

	tw_host_lines(&host, now);
	memcpy(ref, now, sizeof(ref));
	tw_params_init(&p, now, ref, TW_RATE_ONE);
	tap_ok(tw_apply(&p, &c, now, ref) == TW_OK, "--at @2000000000 --monotonic +1d applies");
	p.rate = 0; /* frozen, so the readings below are exact */
	publish(&p);

	TAP_EQ_I64(read_ns(CLOCK_REALTIME), 2000000000LL * TW_NSEC, "REALTIME is the --at date");
	TAP_EQ_I64(read_ns(CLOCK_REALTIME_COARSE), 2000000000LL * TW_NSEC, "REALTIME_COARSE too");
	TAP_EQ_I64(read_ns(CLOCK_MONOTONIC), now[TW_LINE_MONOTONIC] + 86400LL * TW_NSEC,
		   "MONOTONIC is the host's plus a day");
	TAP_EQ_I64(read_ns(CLOCK_MONOTONIC_RAW), now[TW_LINE_RAW] + 86400LL * TW_NSEC,
		   "MONOTONIC_RAW moved with it");
	TAP_EQ_I64(read_ns(CLOCK_BOOTTIME), now[TW_LINE_BOOTTIME], "BOOTTIME untouched");
	tw_host_gettime(&host, CLOCK_TAI, &host_tai);
	tw_host_gettime(&host, CLOCK_REALTIME, &host_rt);
	TAP_EQ_I64((read_ns(CLOCK_TAI) - read_ns(CLOCK_REALTIME)) / TW_NSEC,
		   (tw_ts_ns(&host_tai) - tw_ts_ns(&host_rt) + TW_NSEC / 2) / TW_NSEC,
		   "TAI minus REALTIME is the host's TAI offset");
	tap_ok(read_ns(CLOCK_PROCESS_CPUTIME_ID) < 3600LL * TW_NSEC, "CPU-time clocks are not shifted");
	TAP_EQ_I64(read_ns(99), -1, "an invalid clock id fails as on the host");

	{
		/* the fallback: no host vDSO at all, the engine makes the system call */
		struct tw_host saved = host;
		host = (struct tw_host){ 0 };
		TAP_EQ_I64(read_ns(CLOCK_REALTIME), 2000000000LL * TW_NSEC,
			   "without the host vDSO REALTIME is still virtual");
		TAP_EQ_I64(read_ns(CLOCK_MONOTONIC) / TW_NSEC,
			   (now[TW_LINE_MONOTONIC] + 86400LL * TW_NSEC) / TW_NSEC,
			   "and so is MONOTONIC");
		host = saved;
	}

	test_data_page(&p);
	test_tsc_scaling();
	p.rate = TW_RATE_ONE;
	publish(&p);
	coarse_never_back(CLOCK_MONOTONIC_COARSE, "MONOTONIC_COARSE");
	coarse_never_back(CLOCK_REALTIME_COARSE, "REALTIME_COARSE");
	return tap_done();
}
