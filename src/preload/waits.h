/* Shared by the preload library's waits: sleeps.c (sleeps on the clock page's
 * generation word), deadlines.c (absolute deadlines handed to libc), and
 * timeouts.c (relative timeouts handed to the kernel). */
#ifndef TW_WAITS_H
#define TW_WAITS_H

#include <time.h>

#include "preload.h"

/* The namespace's clock `clk` now, ns; -errno. */
long tw_virtual_ns(const struct tw_member *m, clockid_t clk, int64_t *ns);
/* The host's clock `clk` now, ns; -errno. */
long tw_host_ns(const struct tw_member *m, clockid_t clk, int64_t *ns);
/* The plan for a wait: the host instant on host clock `host_clk` at which the
 * namespace's clock `clk` reaches `deadline` (ns): d / R of host time from now,
 * or d when frozen (the virtual time left elapses at host speed).  *left is the
 * virtual time left, <= 0 when the deadline has passed.  -errno. */
long tw_plan(const struct tw_member *m, clockid_t clk, int64_t deadline, clockid_t host_clk,
	     int64_t *host_at, int64_t *left);
/* Sleeps until the namespace's clock `clk` reaches `deadline` (ns), planning
 * again after every change of the namespace; 0, or -EINTR for a signal. */
long tw_sleep_until(const struct tw_member *m, clockid_t clk, int64_t deadline);

#endif
