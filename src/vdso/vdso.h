/* The timewarp vDSO: a small ELF image with the kernel vDSO's entry points,
 * served by the engine.  The preload library copies the image into the process,
 * fills in its data and points the auxiliary vector's AT_SYSINFO_EHDR at it,
 * so runtimes that look the vDSO up themselves (Go) read the namespace's
 * clocks: the userspace twin of the kernel's vDSO for tasks in a time
 * namespace.  Freestanding, like the engine. */
#ifndef TW_VDSO_H
#define TW_VDSO_H

#include "engine.h"

/* What the image needs at run time, written by the preload library before the
 * image is made read-only and published.  Found by the symbol below. */
struct tw_vdso_data {
	uint64_t magic;             /* TW_VDSO_DATA_MAGIC once filled in */
	const struct tw_page *page;
	struct tw_host host;        /* the real vDSO's clock_gettime, clock_getres */
	long (*gettimeofday)(struct tw_tv *tv, void *tz);
	long (*getcpu)(unsigned *cpu, unsigned *node, void *cache);
};

#define TW_VDSO_DATA_SYMBOL "__tw_vdso_data"
#define TW_VDSO_DATA_MAGIC 0x7477766473646174ull

#endif
