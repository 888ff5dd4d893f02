/* Clock mode "pvclock": the kernel's clock source is kvm-clock (KVM guests,
 * most cloud VMs; Xen's pvclock too).  The hypervisor publishes, for each vCPU,
 * how to turn the TSC into nanoseconds since it started the guest's clock:
 *
 *     cycles = system_time + ((tsc - tsc_timestamp) << tsc_shift) * mul / 2^32
 *
 * (a negative tsc_shift shifts right), and the kernel's vDSO data scales those
 * nanoseconds like any other counter (vvar.h).  The kernel maps vCPU 0's record
 * read-only at the start of [vvar_vclock], and its vDSO uses it only while the
 * stable bit says every vCPU's record matches vCPU 0's and the TSCs are
 * synchronised; otherwise it makes the system call, and so does the engine
 * (through the host vDSO).  The layout is the hypervisor's ABI (struct
 * pvclock_vcpu_time_info), the same in every kernel.
 *
 * Freestanding, like the engine. */
#ifndef TW_PVCLOCK_H
#define TW_PVCLOCK_H

#include <stdint.h>
#include "tsc.h"

struct tw_pvclock {
	uint32_t version; /* odd while the hypervisor updates the record */
	uint32_t pad0;
	uint64_t tsc_timestamp;
	uint64_t system_time;
	uint32_t tsc_to_system_mul;
	int8_t tsc_shift;
	uint8_t flags;
	uint8_t pad[2];
};
_Static_assert(sizeof(struct tw_pvclock) == 32, "the hypervisor's pvclock_vcpu_time_info");

#define TW_PVCLOCK_TSC_STABLE 1 /* PVCLOCK_TSC_STABLE_BIT */

/* The record's nanoseconds at TSC reading `tsc`: the kernel's
 * __pvclock_read_cycles, a 64x32-bit product kept to its top 64 bits. */
static inline uint64_t tw_pvclock_at(uint64_t tsc_timestamp, uint64_t system_time, uint32_t mul,
				     int8_t shift, uint64_t tsc)
{
	uint64_t delta = tsc - tsc_timestamp;

	delta = shift < 0 ? delta >> -shift : delta << shift;
	return system_time + (uint64_t)(((unsigned __int128)delta * mul) >> 32);
}

/* The counter the kernel's data scales in pvclock mode, read as its vDSO
 * reads it (the record's version around it).  0, or 1 when the record is not
 * stable (the kernel's vDSO then makes the system call). */
static inline __attribute__((always_inline)) int tw_pvclock_cycles(const struct tw_pvclock *pv,
								    uint64_t *cycles)
{
	uint64_t t;
	uint32_t v;

	do {
		v = __atomic_load_n(&pv->version, __ATOMIC_ACQUIRE) & ~1u;
		if (__builtin_expect(!(__atomic_load_n(&pv->flags, __ATOMIC_RELAXED) &
				       TW_PVCLOCK_TSC_STABLE), 0))
			return 1;
		/* RDTSCP after the version (tsc.h) */
		t = tw_pvclock_at(__atomic_load_n(&pv->tsc_timestamp, __ATOMIC_RELAXED),
				  __atomic_load_n(&pv->system_time, __ATOMIC_RELAXED),
				  __atomic_load_n(&pv->tsc_to_system_mul, __ATOMIC_RELAXED),
				  __atomic_load_n(&pv->tsc_shift, __ATOMIC_RELAXED), tw_rdtscp());
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
	} while (__builtin_expect(__atomic_load_n(&pv->version, __ATOMIC_RELAXED) != v, 0));
	*cycles = t & ~(1ULL << 63);
	return 0;
}

#endif
