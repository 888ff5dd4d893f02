/* Clock mode "Hyper-V": the kernel's clock source is hyperv_clocksource_tsc_page
 * (Hyper-V and Azure guests).  The hypervisor's reference TSC page turns the
 * TSC into its reference counter, in units of 100 ns:
 *
 *     cycles = (tsc * scale) / 2^64 + offset
 *
 * and the kernel's vDSO data scales that counter like any other (vvar.h).  The
 * kernel maps the page read-only as the second page of [vvar_vclock].  A
 * sequence of 0 means the page is not valid now (the kernel's vDSO then makes
 * the system call, and so does the engine, through the host vDSO).  The layout
 * is the hypervisor's ABI (the TLFS's reference TSC page, the kernel's struct
 * ms_hyperv_tsc_page).
 *
 * Freestanding, like the engine. */
#ifndef TW_HYPERV_H
#define TW_HYPERV_H

#include <stdint.h>
#include "tsc.h"

struct tw_hyperv_page {
	uint32_t sequence; /* changes with every update; 0: not valid */
	uint32_t reserved;
	uint64_t scale;
	int64_t offset;
};
_Static_assert(sizeof(struct tw_hyperv_page) == 24, "the hypervisor's reference TSC page");

/* The reference counter at TSC reading `tsc`: a 64x64-bit product kept to its
 * top 64 bits, plus the offset. */
static inline uint64_t tw_hyperv_at(uint64_t scale, int64_t offset, uint64_t tsc)
{
	return (uint64_t)(((unsigned __int128)tsc * scale) >> 64) + (uint64_t)offset;
}

/* The counter the kernel's data scales in Hyper-V mode, read as its vDSO
 * reads it (the page's sequence around it).  0, or 1 when the page is not
 * valid. */
static inline __attribute__((always_inline)) int tw_hyperv_cycles(const struct tw_hyperv_page *hv,
								   uint64_t *cycles)
{
	uint64_t scale, t;
	int64_t offset;
	uint32_t seq;

	do {
		seq = __atomic_load_n(&hv->sequence, __ATOMIC_ACQUIRE);
		if (__builtin_expect(seq == 0, 0))
			return 1;
		scale = __atomic_load_n(&hv->scale, __ATOMIC_RELAXED);
		offset = __atomic_load_n(&hv->offset, __ATOMIC_RELAXED);
		t = tw_hyperv_at(scale, offset, tw_rdtscp()); /* RDTSCP: after the loads */
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
	} while (__builtin_expect(__atomic_load_n(&hv->sequence, __ATOMIC_RELAXED) != seq, 0));
	*cycles = t & ~(1ULL << 63);
	return 0;
}

#endif
