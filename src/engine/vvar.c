/* Proving that the kernel's vDSO data page is one the engine can read (vvar.h). */
#include <errno.h>

#include "engine.h"
#include "vvar.h"

static int ts_le(const struct tw_ts *a, const struct tw_ts *b)
{
	return a->sec < b->sec || (a->sec == b->sec && a->nsec <= b->nsec);
}

/* A clock mode whose counter the engine reads, or "none" (coarse clocks only). */
static int mode_known(int32_t mode)
{
	return mode == TW_VVAR_CLOCKMODE_NONE || mode == TW_VVAR_CLOCKMODE_TSC ||
	       mode == TW_VVAR_CLOCKMODE_PVCLOCK || mode == TW_VVAR_CLOCKMODE_HVCLOCK;
}

static int header_known(const struct tw_vvar_clock *vc)
{
	uint32_t seq = __atomic_load_n(&vc->seq, __ATOMIC_RELAXED);

	/* A kernel time namespace's page has seq 1 and clock mode INT_MAX for good.
	 * In mode "none" (HPET, acpi_pm) the kernel leaves the scale alone: only
	 * the coarse clocks are read then.  shift <= 28 keeps an addend's
	 * nanoseconds (< 2^30) below 2^58 once shifted: the kernel's max_cycles
	 * leaves delta * mult a tenth below 2^64 (its 11% adjustment margin), room
	 * for its base and the addend. */
	if ((seq & 1) || !mode_known(vc->clock_mode))
		return 0;
	return vc->clock_mode == TW_VVAR_CLOCKMODE_NONE ||
	       (vc->mask == ~0ULL && vc->mult != 0 && vc->shift <= 28 && vc->max_cycles != 0);
}

/* One reading of `clockid` from the page between two from the host vDSO, a
 * few times over: a misread layout, off by a field or a scale, falls outside. */
static int brackets(const struct tw_host *h, const struct tw_vvar_clock *vv, long clockid)
{
	for (int i = 0; i < 3; i++) {
		struct tw_ts before, mine, after;

		if (h->clock_gettime(clockid, &before) || tw_vvar_gettime(vv, clockid, &mine) ||
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

long tw_vvar_use(struct tw_host *h, const void *vvar, const void *vclock)
{
	static const long fine[] = { 0, 1, 4, 7, 11 }, coarse[] = { 5, 6 };
	const struct tw_vvar_clock *vv = vvar;
	int32_t mode;

	h->vvar = 0;
	if (!vv || !h->clock_gettime)
		return -ENOENT;
	/* the vclock pages where the engine will look for them (vvar.h) */
	if ((const char *)vclock != (const char *)vvar + TW_VVAR_BYTES)
		return -ENOTSUP;
	if (!tw_tsc_has_rdtscp() || !header_known(&vv[0]) || !header_known(&vv[1]))
		return -ENOTSUP;
	for (unsigned i = 0; i < sizeof(coarse) / sizeof(coarse[0]); i++)
		if (!brackets(h, vv, coarse[i]))
			return -ENOTSUP;
	mode = __atomic_load_n(&vv[0].clock_mode, __ATOMIC_RELAXED);
	for (unsigned i = 0; mode != TW_VVAR_CLOCKMODE_NONE && i < sizeof(fine) / sizeof(fine[0]); i++)
		if (!brackets(h, vv, fine[i]))
			return -ENOTSUP;
	h->vvar = vv;
	return 0;
}
