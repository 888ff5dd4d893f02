/* The engine's reads against a clock page in memory: each clock follows its
 * class's line, and the COARSE clocks do not step back when a change raises the
 * rate (their host reading lags the instant the page was rebased at). */
#include <stdio.h>
#include <sys/mman.h>
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
#include "pvclock.h"
#include "hyperv.h"

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
 * The data page and the vclock pages after it, as the kernel lays them out
 * (vvar.h).  The counter is made to stand still, so every reading is exact
 * and each result can be computed here: in TSC mode mult is 0 (the TSC adds
 * nothing); in pvclock and Hyper-V modes the vclock page's own scale is 0, so
 * the counter is its system_time or offset, `delta` cycles past cycle_last,
 * and mult turns those into 0.75 ns each.  The fine clocks' bases carry a
 * fraction of a nanosecond, as the kernel's do. */
static unsigned char *area;
static struct tw_vvar_clock *fake;
static struct tw_pvclock *fake_pv;
static struct tw_hyperv_page *fake_hv;
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

/* The counter of each clock mode: the pvclock and Hyper-V pages' differ, so
 * that a read of the wrong page shows. */
#define PV_COUNTER 5000000000000ULL
#define HV_COUNTER 7000000000000ULL

/* Clock mode `mode` with its counter `delta` cycles past cycle_last. */
static void fake_mode(int32_t mode, uint64_t delta)
{
	memset(fake_pv, 0, sizeof(*fake_pv));
	memset(fake_hv, 0, sizeof(*fake_hv));
	fake_pv->version = 6;
	fake_pv->flags = TW_PVCLOCK_TSC_STABLE;
	fake_pv->system_time = PV_COUNTER; /* mul 0: the TSC adds nothing */
	fake_hv->sequence = 3;
	fake_hv->offset = (int64_t)HV_COUNTER; /* scale 0: likewise */
	for (int c = 0; c < 2; c++) {
		fake[c].clock_mode = mode;
		fake[c].cycle_last = (mode == TW_VVAR_CLOCKMODE_HVCLOCK ? HV_COUNTER : PV_COUNTER) - delta;
		fake[c].max_cycles = 1ULL << 40;
		fake[c].mask = ~0ULL;
		fake[c].mult = mode == TW_VVAR_CLOCKMODE_TSC ? 0 : 3U << 22; /* 0.75 ns */
		fake[c].shift = 24;
	}
}

/* What a read of `clk` must give: the line's map of the fake host reading,
 * below the nanosecond at rates other than 0 and 1 (tw_rate_ts). */
static int64_t expect_ns(int clk)
{
	const struct tw_vvar_clock *vc = &fake[clk == 4];
	const int coarse = clk == 5 || clk == 6;
	uint64_t x = vc->basetime[clk].nsec;
	int line = tw_clock_line(clk);
	struct tw_ts ts;
	int64_t h;

	if (!coarse && vc->clock_mode != TW_VVAR_CLOCKMODE_TSC)
		x += ((vc->clock_mode == TW_VVAR_CLOCKMODE_HVCLOCK ? HV_COUNTER : PV_COUNTER) -
		      vc->cycle_last) * vc->mult;
	h = (int64_t)vc->basetime[clk].sec * TW_NSEC + (int64_t)(x >> (coarse ? 0 : vc->shift));
	if (!coarse && cur.rate != 0 && cur.rate != TW_RATE_ONE &&
	    !tw_rate_ts(line, cur.base[line], cur.rate, vc->basetime[clk].sec, x >> vc->shift,
			x & ((1ULL << vc->shift) - 1), vc->shift, &ts))
		return tw_ts_ns(&ts);
	return tw_map_line((enum tw_line)line, cur.base[line], cur.rate, h);
}

static const int served[] = { 0, 1, 4, 5, 6, 7, 11 };
#define NSERVED (sizeof(served) / sizeof(served[0]))

static void use_fake(void)
{
	host.vvar = fake;
	host.memo = memo;
	host.fold = fold;
	memset(memo, 0, sizeof(memo));
	memset(fold, 0, sizeof(fold));
}

/* Every served clock at rates 1, 2, 0 and 1.5 through 3 kernel updates each,
 * twice (a coarse one from its memo the second time, a fine one from its
 * fold), in clock mode `mode`. */
static void test_data_page(const struct tw_params *start, int32_t mode, const char *name)
{
	struct tw_host saved = host;
	struct tw_params p = *start;
	int bad = 0;

	fake_mode(mode, 1001); /* 750.75 ns past cycle_last */
	fake_frac = 0xc00000;  /* 0.75 ns */
	fake_base(1800000000, 123456789);
	use_fake();
	for (int r = 0; r < 4; r++) {
		static const uint64_t rates[] = { TW_RATE_ONE, 2ULL << 32, 0, 3ULL << 31 };

		p.rate = rates[r];
		publish(&p);
		for (int step = 0; step < 3; step++) {
			for (unsigned i = 0; i < NSERVED; i++) {
				int64_t want = expect_ns(served[i]), a = read_ns(served[i]);
				int64_t b = read_ns(served[i]);

				if (a != want || b != want) {
					if (bad++ < 5)
						tap_diag("%s: rate %.1f clock %d: %lld, %lld, want %lld",
							 name, (double)p.rate / 4294967296.0, served[i],
							 (long long)a, (long long)b, (long long)want);
				}
			}
			fake_base(1800000000 + step * 7, 987654321 - step * 1000);
		}
	}
	tap_ok(!bad, "%s: from the kernel's data page, every clock at rates 1, 2, 0 and 1.5 is "
		     "the map of its host reading, through 3 kernel updates each (%d bad)", name, bad);
	read_ns(CLOCK_REALTIME_COARSE);
	read_ns(CLOCK_MONOTONIC_COARSE);
	tap_ok(memo[0].key.vseq == fake[0].seq && memo[1].key.vseq == fake[0].seq &&
		       memo[0].sec * TW_NSEC + memo[0].nsec == expect_ns(CLOCK_REALTIME_COARSE),
	       "%s: the coarse memos hold the last update's readings", name);
	{
		int made = 0;
		for (unsigned i = 0; i < NSERVED; i++) {
			const struct tw_fold *f;
			struct tw_ts ts;
			uint64_t d = mode == TW_VVAR_CLOCKMODE_TSC ? 0 : 1001;

			if (served[i] == 5 || served[i] == 6) /* no fold: the memo */
				continue;
			f = &fold[tw_fold_slot(served[i])];
			read_ns(served[i]); /* after the last kernel update */
			tw_fold_at(f, d, &ts);
			made += f->key.vseq == fake[0].seq && f->key.pseq == pg.head &&
				f->key.page == &pg && tw_ts_ns(&ts) == expect_ns(served[i]);
		}
		TAP_EQ_I64(made, 5, "%s: at rate 1.5 each fine clock's fold holds the last update's scale",
			   name);
	}
	p.rate = 2ULL << 32;
	publish(&p);
	TAP_EQ_I64(read_ns(CLOCK_MONOTONIC), expect_ns(CLOCK_MONOTONIC),
		   "%s: a fine reading after a change of rate, kernel data unchanged, is the new map",
		   name);
	TAP_EQ_I64(read_ns(CLOCK_MONOTONIC), expect_ns(CLOCK_MONOTONIC),
		   "%s: and again, from the fold", name);
	TAP_EQ_I64(fold[1].key.pseq, pg.head, "%s: the fold was made again for the new rate", name);

	/* the memo is keyed on the clock page too: a change is seen at once */
	p.rate = 5ULL << 32;
	publish(&p);
	TAP_EQ_I64(read_ns(CLOCK_REALTIME_COARSE), expect_ns(CLOCK_REALTIME_COARSE),
		   "%s: a coarse reading after a change of rate, kernel data unchanged, is the new map",
		   name);
	host = saved;
	publish(start);
}

/* Whether clock `clk` reads the host's clocks (through the host vDSO, mapped)
 * rather than the fake page's: within a second of the map of the host vDSO's
 * reading, and not the page's answer. */
static int from_host(int clk)
{
	struct tw_ts ts;
	int64_t got = read_ns(clk), want;
	int line = tw_clock_line(clk);

	if (!host.clock_gettime || host.clock_gettime(clk, &ts))
		return 0;
	want = tw_map_line((enum tw_line)line, cur.base[line], cur.rate, tw_ts_ns(&ts));
	return got != expect_ns(clk) && got > want - TW_NSEC && got < want + TW_NSEC;
}

/* Where the page has no counter, the fine clocks come from the host vDSO
 * (which makes the system call) and the COARSE ones still from the page. */
static void test_no_counter(const struct tw_params *start)
{
	struct tw_host saved = host;
	struct tw_params p = *start;
	int fine_host, coarse_page;

	if (!host.clock_gettime) {
		tap_skip("no host vDSO to fall back to");
		return;
	}
	p.rate = TW_RATE_ONE;
	publish(&p);
	use_fake();
	fake_frac = 0;
	for (int k = 0; k < 4; k++) {
		static const char *const why[] = {
			"clock mode none (HPET, acpi_pm)", "an unstable pvclock record",
			"a Hyper-V page of sequence 0", "a kernel time namespace's page"
		};

		fake_mode(k == 0 ? TW_VVAR_CLOCKMODE_NONE
			  : k == 1 ? TW_VVAR_CLOCKMODE_PVCLOCK
			  : k == 2 ? TW_VVAR_CLOCKMODE_HVCLOCK : TW_VVAR_CLOCKMODE_TIMENS, 0);
		fake_pv->flags = 0;
		fake_hv->sequence = 0;
		fake_base(1800000000, 123456789);
		if (k == 3) /* odd for good */
			fake[0].seq = fake[1].seq = 1;
		fine_host = coarse_page = 0;
		for (unsigned i = 0; i < NSERVED; i++) {
			if (served[i] == 5 || served[i] == 6)
				coarse_page += k == 3 ? from_host(served[i])
						      : read_ns(served[i]) == expect_ns(served[i]);
			else
				fine_host += from_host(served[i]);
		}
		tap_ok(fine_host == 5 && coarse_page == 2,
		       "%s: the fine clocks are the host vDSO's (%d of 5), the COARSE ones %s (%d of 2)",
		       why[k], fine_host, k == 3 ? "too" : "the page's", coarse_page);
	}
	host = saved;
	publish(start);
}

/* The TSC scaling of the data page's reads: with mult 2^24 and shift 24 a cycle is a
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
	TAP_EQ_I64(tw_vvar_gettime(vc, 1, &ts), 1, "a page in clock mode none has no fine clocks");
	TAP_EQ_I64(tw_vvar_gettime(vc, 6, &ts), 0, "but its COARSE clocks");
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

	area = mmap(NULL, TW_VVAR_BYTES + TW_VCLOCK_BYTES, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (area == MAP_FAILED) {
		tap_ok(0, "map a fake data page");
		return tap_done();
	}
	fake = (struct tw_vvar_clock *)(void *)area;
	fake_pv = (struct tw_pvclock *)(void *)(area + TW_VVAR_BYTES);
	fake_hv = (struct tw_hyperv_page *)(void *)(area + TW_VVAR_BYTES + 4096);
	test_data_page(&p, TW_VVAR_CLOCKMODE_TSC, "TSC");
	test_data_page(&p, TW_VVAR_CLOCKMODE_PVCLOCK, "pvclock");
	test_data_page(&p, TW_VVAR_CLOCKMODE_HVCLOCK, "Hyper-V");
	test_no_counter(&p);
	test_tsc_scaling();
	p.rate = TW_RATE_ONE;
	publish(&p);
	coarse_never_back(CLOCK_MONOTONIC_COARSE, "MONOTONIC_COARSE");
	coarse_never_back(CLOCK_REALTIME_COARSE, "REALTIME_COARSE");
	return tap_done();
}
