/* Proving that the kernel's vDSO data page is one the engine can read (vvar.h). */
#include <errno.h>

#include "engine.h"
#include "vvar.h"

static int has_rdtscp(void)
{
	uint32_t a, b, c, d;

	__asm__("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0x80000000u), "c"(0));
	if (a < 0x80000001u)
		return 0;
	__asm__("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0x80000001u), "c"(0));
	return (d >> 27) & 1; /* RDTSCP */
}

static int ts_le(const struct tw_ts *a, const struct tw_ts *b)
{
	return a->sec < b->sec || (a->sec == b->sec && a->nsec <= b->nsec);
}

static int header_known(const struct tw_vvar_clock *vc)
{
	uint32_t seq = __atomic_load_n(&vc->seq, __ATOMIC_RELAXED);

	/* A kernel time namespace's page has seq 1 and clock mode INT_MAX for good.
	 * shift <= 28 keeps an addend's nanoseconds (< 2^30) below 2^58 once
	 * shifted: the kernel's max_cycles leaves delta * mult a tenth below 2^64
	 * (its 11% adjustment margin), room for its base and the addend. */
	return !(seq & 1) && vc->clock_mode == TW_VVAR_CLOCKMODE_TSC && vc->mask == ~0ULL &&
	       vc->mult != 0 && vc->shift <= 28 && vc->max_cycles != 0;
}

/* One reading of `clockid` from the page between two from the host vDSO, a
 * few times over: a misread layout, off by a field or a scale, falls outside. */
static int brackets(const struct tw_host *h, const struct tw_vvar_clock *vc, long clockid)
{
	for (int i = 0; i < 3; i++) {
		struct tw_ts before, mine, after;

		if (h->clock_gettime(clockid, &before) ||
		    tw_vvar_gettime(vc, clockid, &mine) ||
		    h->clock_gettime(clockid, &after))
			return 0;
		if (!ts_le(&before, &mine) || !ts_le(&mine, &after) || mine.nsec >= 1000000000LL)
			return 0;
		/* the whole reading must be close to the host's, not merely between */
		if (after.sec - before.sec > 1)
			return 0;
	}
	return 1;
}

long tw_vvar_use(struct tw_host *h, const void *vvar)
{
#define SERVED(id) id,
	static const long served[] = { TW_VVAR_CLOCKS(SERVED) };
	const struct tw_vvar_clock *vc = vvar;

	h->vvar = 0;
	if (!vc || !h->clock_gettime)
		return -ENOENT;
	if (!has_rdtscp() || !header_known(&vc[0]) || !header_known(&vc[1]))
		return -ENOTSUP;
	for (unsigned i = 0; i < sizeof(served) / sizeof(served[0]); i++)
		if (!brackets(h, vc, served[i]))
			return -ENOTSUP;
	h->vvar = vc;
	return 0;
}
