/* What the benchmark programs share (clockperf.c, vdso_ab.c): the clocks
 * they measure, in the order they report them, and the TSC reads that time
 * every interval. */
#ifndef TW_BENCH_H
#define TW_BENCH_H

#include <stdint.h>
#include <time.h>

static const struct {
	const char *name;
	clockid_t id;
} clocks[] = {
	{ "REALTIME", CLOCK_REALTIME },
	{ "MONOTONIC", CLOCK_MONOTONIC },
	{ "BOOTTIME", CLOCK_BOOTTIME },
	{ "REALTIME_COARSE", CLOCK_REALTIME_COARSE },
	{ "MONOTONIC_COARSE", CLOCK_MONOTONIC_COARSE },
};
#define NCLOCKS (sizeof(clocks) / sizeof(clocks[0]))

/* lfence before rdtsc: earlier instructions have completed. */
static inline uint64_t tsc_start(void)
{
	uint32_t lo, hi;

	__asm__ volatile("lfence\n\trdtsc\n\tlfence" : "=a"(lo), "=d"(hi) : : "memory");
	return (uint64_t)hi << 32 | lo;
}

/* rdtscp waits for earlier instructions; lfence keeps later ones after it. */
static inline uint64_t tsc_stop(void)
{
	uint32_t lo, hi, aux;

	__asm__ volatile("rdtscp\n\tlfence" : "=a"(lo), "=d"(hi), "=c"(aux) : : "memory");
	return (uint64_t)hi << 32 | lo;
}

#endif
