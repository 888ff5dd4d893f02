/* The counters of each clock mode the kernel's data page can be in (tsc.h,
 * pvclock.h, hyperv.h) and the data page's scaling of them (vvar.h), against
 * the kernel's formulas: written out here the way the kernel's generic C
 * helpers compute them (mul_u64_u32_shr and mul_u64_u64_shr in 32-bit halves),
 * on random values, on data pages recorded on a KVM guest (Linux 6.18, 2-vCPU
 * AMD EPYC) in TSC and kvm-clock mode with the host vDSO's reading between two
 * TSC readings, and on pages built here and read while the TSC runs.  No
 * Hyper-V machine was at hand: its page is tested against the TLFS formula on
 * built pages only. */
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/auxv.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"
#include "hyperv.h"
#include "maps.h"
#include "pvclock.h"
#include "runtime.h"
#include "tap.h"
#include "tsc.h"
#include "vvar.h"

static uint64_t rnd_state = 0x9e3779b97f4a7c15ULL;
static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

/* The kernel's mul_u64_u32_shr(a, mul, 32) without a 128-bit type. */
static uint64_t ref_mul_u64_u32_shr32(uint64_t a, uint32_t mul)
{
	uint64_t lo = (uint64_t)(uint32_t)a * mul, hi = (a >> 32) * mul;

	return hi + (lo >> 32);
}

/* The kernel's mul_u64_u64_shr(a, b, 64) without a 128-bit type. */
static uint64_t ref_mul_u64_u64_shr64(uint64_t a, uint64_t b)
{
	uint64_t a0 = (uint32_t)a, a1 = a >> 32, b0 = (uint32_t)b, b1 = b >> 32;
	uint64_t p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
	uint64_t mid = (p00 >> 32) + (uint32_t)p01 + (uint32_t)p10;

	return p11 + (p01 >> 32) + (p10 >> 32) + (mid >> 32);
}

/* __pvclock_read_cycles: pvclock_scale_delta, then system_time added. */
static uint64_t ref_pvclock(uint64_t tsc_timestamp, uint64_t system_time, uint32_t mul,
			    int shift, uint64_t tsc)
{
	uint64_t delta = tsc - tsc_timestamp;

	if (shift < 0)
		delta >>= -shift;
	else
		delta <<= shift;
	return system_time + ref_mul_u64_u32_shr32(delta, mul);
}

static void test_formulas(void)
{
	int bad_pv = 0, bad_hv = 0;

	for (int i = 0; i < 1000000; i++) {
		uint64_t ts = rnd(), st = rnd() >> 1, tsc = ts + (rnd() >> (rnd() % 64));
		uint32_t mul = (uint32_t)rnd();
		int shift = (int)(rnd() % 17) - 8;
		uint64_t scale = rnd(), off = rnd();

		if (tw_pvclock_at(ts, st, mul, (int8_t)shift, tsc) !=
		    ref_pvclock(ts, st, mul, shift, tsc))
			bad_pv++;
		if (tw_hyperv_at(scale, (int64_t)off, tsc) != ref_mul_u64_u64_shr64(tsc, scale) + off)
			bad_hv++;
	}
	tap_ok(!bad_pv, "pvclock: the kernel's scaling of the TSC on 1000000 random records (%d bad)",
	       bad_pv);
	tap_ok(!bad_hv, "Hyper-V: the TLFS's reference time on 1000000 random pages (%d bad)",
	       bad_hv);
}

/* A data page recorded with the host vDSO's CLOCK_MONOTONIC between two TSC
 * readings: the reading the page gives at each of them brackets the host's. */
struct recorded {
	const char *name;
	int32_t mode;
	uint64_t cycle_last, max_cycles;
	uint32_t mult, shift;
	uint64_t sec, nsec; /* MONOTONIC's base */
	struct tw_pvclock pv;
	uint64_t tsc_before, tsc_after;
	int64_t host_ns;
};

static const struct recorded recordings[] = {
	{ "TSC", TW_VVAR_CLOCKMODE_TSC, 6108004311565ULL, 2571621004373ULL, 6462340, 24, 2352,
	  10496561060386236ULL, { 0 }, 6108020174983ULL, 6108020175165ULL, 2352631754191LL },
	{ "kvm-clock", TW_VVAR_CLOCKMODE_PVCLOCK, 2352822964332ULL, 1981102219259ULL, 8388608, 23,
	  2352, 6153895460626218ULL,
	  { .version = 10, .tsc_timestamp = 3504353162ULL, .system_time = 1350387693ULL,
	    .tsc_to_system_mul = 3308717899U, .tsc_shift = -1, .flags = TW_PVCLOCK_TSC_STABLE },
	  6108293350327ULL, 6108293355553ULL, 2352736979094LL },
};

static int64_t recorded_at(const struct recorded *r, uint64_t tsc)
{
	struct tw_vvar_snap v = { .seq = 2, .mult = r->mult, .shift = r->shift,
				  .cycle_last = r->cycle_last, .max_cycles = r->max_cycles,
				  .sec = r->sec, .nsec = r->nsec };
	uint64_t sec, ns, frac;
	unsigned shift;

	v.cycles = r->mode == TW_VVAR_CLOCKMODE_TSC
			   ? tsc
			   : tw_pvclock_at(r->pv.tsc_timestamp, r->pv.system_time,
					   r->pv.tsc_to_system_mul, r->pv.tsc_shift, tsc);
	tw_vvar_split(&v, 1, &sec, &ns, &frac, &shift);
	return (int64_t)sec * 1000000000LL + (int64_t)ns;
}

static void test_recorded(void)
{
	for (unsigned i = 0; i < sizeof(recordings) / sizeof(recordings[0]); i++) {
		const struct recorded *r = &recordings[i];
		int64_t lo = recorded_at(r, r->tsc_before), hi = recorded_at(r, r->tsc_after);

		tap_ok(lo <= r->host_ns && r->host_ns <= hi && hi - lo < 10000,
		       "%s, recorded: the page's MONOTONIC at the TSC readings around the host "
		       "vDSO's brackets it (%lld <= %lld <= %lld)",
		       r->name, (long long)lo, (long long)r->host_ns, (long long)hi);
	}
}

/* Pages built here, read while the TSC runs. */
static void test_live(void)
{
	struct tw_pvclock pv = recordings[1].pv;
	struct tw_hyperv_page hv = { .sequence = 7, .offset = 123456789 };
	uint64_t before, got = 0, after;
	int bad = 0;

	/* 10 MHz from a 2.6 GHz TSC, as a Hyper-V guest's page would say */
	hv.scale = (uint64_t)(((unsigned __int128)10000000 << 64) / 2600000000ULL);
	pv.tsc_timestamp = tw_rdtscp() - 1000000;
	pv.system_time = 1000000000000ULL;
	for (int i = 0; i < 1000; i++) {
		before = tw_rdtscp();
		if (tw_pvclock_cycles(&pv, &got))
			bad++;
		after = tw_rdtscp();
		if (got < tw_pvclock_at(pv.tsc_timestamp, pv.system_time, pv.tsc_to_system_mul,
					pv.tsc_shift, before) ||
		    got > tw_pvclock_at(pv.tsc_timestamp, pv.system_time, pv.tsc_to_system_mul,
					pv.tsc_shift, after))
			bad++;
	}
	tap_ok(!bad, "pvclock: a built record read while the TSC runs lies between its values at "
		     "the TSC readings around it (%d bad of 1000)", bad);
	bad = 0;
	for (int i = 0; i < 1000; i++) {
		before = tw_rdtscp();
		if (tw_hyperv_cycles(&hv, &got))
			bad++;
		after = tw_rdtscp();
		if (got < tw_hyperv_at(hv.scale, hv.offset, before) ||
		    got > tw_hyperv_at(hv.scale, hv.offset, after))
			bad++;
	}
	tap_ok(!bad, "Hyper-V: a built page read while the TSC runs lies between its values at "
		     "the TSC readings around it (%d bad of 1000)", bad);
	pv.flags = 0;
	TAP_EQ_I64(tw_pvclock_cycles(&pv, &got), 1, "pvclock: no reading without the stable bit");
	hv.sequence = 0;
	TAP_EQ_I64(tw_hyperv_cycles(&hv, &got), 1, "Hyper-V: no reading from a page of sequence 0");
}

/* ---- torn reads: a hypervisor updating the record while it is read ---- */

static struct tw_pvclock shared_pv;
static struct tw_hyperv_page shared_hv;
static int stop; /* atomic */

/* Two records far apart: a reading made of parts of both matches neither. */
static const uint64_t pv_time[2] = { 1000000000000ULL, 7000000000000ULL };
static const int64_t hv_off[2] = { 100000000000LL, 900000000000LL };

static void *updater(void *arg)
{
	uint64_t ts0 = *(const uint64_t *)arg;

	for (unsigned k = 0; !__atomic_load_n(&stop, __ATOMIC_RELAXED); k++) {
		uint32_t v = __atomic_load_n(&shared_pv.version, __ATOMIC_RELAXED);
		uint32_t s = __atomic_load_n(&shared_hv.sequence, __ATOMIC_RELAXED);

		/* pvclock: odd while writing, as the hypervisor does; half
		 * written for a while, so that a reader that did not check the
		 * version would be caught */
		__atomic_store_n(&shared_pv.version, v + 1, __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_RELEASE);
		__atomic_store_n(&shared_pv.system_time, pv_time[k & 1], __ATOMIC_RELAXED);
		for (int i = 0; i < 100; i++)
			__builtin_ia32_pause();
		__atomic_store_n(&shared_pv.tsc_timestamp, ts0 + (k & 1) * 1000, __ATOMIC_RELAXED);
		__atomic_store_n(&shared_pv.version, v + 2, __ATOMIC_RELEASE);
		/* Hyper-V: a new sequence around each update (0 while invalid) */
		__atomic_store_n(&shared_hv.sequence, 0, __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_RELEASE);
		__atomic_store_n(&shared_hv.offset, hv_off[k & 1], __ATOMIC_RELAXED);
		for (int i = 0; i < 100; i++)
			__builtin_ia32_pause();
		__atomic_store_n(&shared_hv.scale, (uint64_t)(k & 1) << 40, __ATOMIC_RELAXED);
		__atomic_store_n(&shared_hv.sequence, s + 1 ? s + 1 : 1, __ATOMIC_RELEASE);
	}
	return NULL;
}

static void test_torn(void)
{
	uint64_t ts0 = tw_rdtscp(), got, before, after;
	unsigned long reads = 0, torn = 0, invalid = 0;
	struct timespec t0, t;
	pthread_t th;

	shared_pv = recordings[1].pv;
	shared_pv.tsc_timestamp = ts0;
	shared_pv.system_time = pv_time[0];
	shared_hv = (struct tw_hyperv_page){ .sequence = 1, .scale = 0, .offset = hv_off[0] };
	if (pthread_create(&th, NULL, updater, &ts0)) {
		tap_ok(0, "start an updater thread");
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		for (int i = 0; i < 1000; i++, reads++) {
			int whole = 0;

			before = tw_rdtscp();
			if (tw_pvclock_cycles(&shared_pv, &got))
				continue;
			after = tw_rdtscp();
			for (int k = 0; k < 2; k++)
				whole |= got >= tw_pvclock_at(ts0 + k * 1000, pv_time[k],
							      shared_pv.tsc_to_system_mul,
							      shared_pv.tsc_shift, before) &&
					 got <= tw_pvclock_at(ts0 + k * 1000, pv_time[k],
							      shared_pv.tsc_to_system_mul,
							      shared_pv.tsc_shift, after);
			torn += !whole;
			before = tw_rdtscp();
			if (tw_hyperv_cycles(&shared_hv, &got)) {
				invalid++;
				continue;
			}
			after = tw_rdtscp();
			whole = 0;
			for (int k = 0; k < 2; k++)
				whole |= got >= tw_hyperv_at((uint64_t)k << 40, hv_off[k], before) &&
					 got <= tw_hyperv_at((uint64_t)k << 40, hv_off[k], after);
			torn += !whole;
		}
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while ((t.tv_sec - t0.tv_sec) * 1000000000LL + t.tv_nsec - t0.tv_nsec < 500000000LL);
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	pthread_join(th, NULL);
	tap_ok(!torn, "pvclock and Hyper-V pages updated while read: every reading is one "
		      "record's (%lu torn of %lu)", torn, reads);
	tap_diag("%lu Hyper-V readings found the page invalid (sequence 0) and gave up", invalid);
}

/* Where a member's runtime finds the kernel's vDSO data (vvar_find.c), by the
 * PROCMAP_QUERY ioctl and by scanning /proc/self/maps, against the maps as
 * stdio reads them: [vvar] and, on kernels with one, [vvar_vclock] above it. */
static void test_find_vvar(void)
{
	const void *vdso = (const void *)getauxval(AT_SYSINFO_EHDR);
	const void *vvar = find_mapping("[vvar]"), *vclock = find_mapping("[vvar_vclock]");
	struct tw_vvar_maps q, f;

	tw_find_vvar(vdso, &q);
	tw_find_vvar(NULL, &f); /* no vDSO to start from: the file is scanned */
	tap_ok(q.vvar == vvar && q.vclock == vclock,
	       "the runtime finds [vvar] %p and [vvar_vclock] %p from the vDSO (%p, %p)", vvar,
	       vclock, q.vvar, q.vclock);
	tap_ok(f.vvar == vvar && f.vclock == vclock,
	       "the runtime finds [vvar] %p and [vvar_vclock] %p in the maps file (%p, %p)", vvar,
	       vclock, f.vvar, f.vclock);
}

int main(void)
{
	test_find_vvar();
	if (!tw_tsc_has_rdtscp()) {
		tap_skip("this CPU has no RDTSCP");
		return tap_done();
	}
	test_formulas();
	test_recorded();
	test_live();
	test_torn();
	return tap_done();
}
