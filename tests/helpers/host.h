/* The host's clocks from inside a member, for test programs that measure
 * against them: a member's own system calls are the namespace's (the runtime
 * traps them), so these go through the runtime's gate, as the runtime's own
 * host reads do (src/runtime/gate.c); outside a member, straight to the
 * kernel. */
#ifndef TW_TEST_HOST_H
#define TW_TEST_HOST_H

#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "runtime.h"

typedef long host_gate(long nr, long a, long b, long c, long d, long e, long f);

/* Whether this process has the runtime's gate (it is a member). */
static inline int host_mapped(void)
{
	static int known, mapped;
	unsigned char vec[1];

	if (!known) {
		mapped = !mincore((void *)TW_RT_ADDR, 4096, vec);
		known = 1;
	}
	return mapped;
}

/* The gate returns -errno, syscall(2) -1 with errno set. */
static inline long host_syscall(long nr, long a, long b, long c, long d)
{
	if (host_mapped())
		return ((host_gate *)TW_RT_ADDR)(nr, a, b, c, d, 0, 0);
	return syscall(nr, a, b, c, d);
}

#endif
