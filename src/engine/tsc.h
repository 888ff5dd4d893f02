/* Clock mode "tsc": the kernel's clock source is the CPU's time-stamp counter,
 * and its vDSO data scales TSC cycles (vvar.h).  The counter is the TSC itself.
 *
 * Freestanding, like the engine. */
#ifndef TW_TSC_H
#define TW_TSC_H

#include <stdint.h>

/* RDTSCP waits for the loads before it (the data's sequence count, a vclock
 * page's version), as the kernel's rdtsc_ordered() does with the same
 * instruction; "memory" keeps the compiler from moving loads across it either
 * way. */
static inline uint64_t tw_rdtscp(void)
{
	uint32_t lo, hi, aux;

	__asm__ volatile("rdtscp" : "=a"(lo), "=d"(hi), "=c"(aux) : : "memory");
	return ((uint64_t)hi << 32) | lo;
}

/* The counter the kernel's data scales in TSC mode.  Bit 63 is the kernel's
 * "invalid" marker, which a TSC never sets; cleared in the high half, where it
 * costs the read nothing (a 64-bit clear after the halves are joined was a
 * BTR on the read's critical path, 1% of a read in bench/ab). */
static inline uint64_t tw_tsc_cycles(void)
{
	uint32_t lo, hi, aux;

	__asm__ volatile("rdtscp" : "=a"(lo), "=d"(hi), "=c"(aux) : : "memory");
	return ((uint64_t)(hi & 0x7fffffffu) << 32) | lo;
}

/* Whether the CPU has RDTSCP (CPUID 0x80000001, EDX bit 27). */
static inline int tw_tsc_has_rdtscp(void)
{
	uint32_t a, b, c, d;

	__asm__("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0x80000000u), "c"(0));
	if (a < 0x80000001u)
		return 0;
	__asm__("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0x80000001u), "c"(0));
	return (d >> 27) & 1;
}

#endif
