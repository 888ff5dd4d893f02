/* The preload library: a guest in other people's programs (DESIGN section 4).
 *
 * It exports only the interposed entry points (TW_EXPORT; everything else is
 * hidden), never writes to stdio, never runs exit handlers. */
#ifndef TW_PRELOAD_H
#define TW_PRELOAD_H

#include <sys/types.h>

#include "engine.h"

#define TW_EXPORT __attribute__((visibility("default")))

struct tw_member {
	const struct tw_page *page; /* null: this process is not in a namespace */
	const char *page_path;      /* the TIMEWARP_NS it was started with */
	dev_t page_dev;             /* and the file it opened there */
	ino_t page_ino;
	const char *lib_path;       /* this library, as the loader found it */
	struct tw_host host;        /* the real vDSO */
	void *vdso;                 /* the timewarp vDSO, null if not installed */
};

/* This process's membership, set up on first use (or by the constructor). */
const struct tw_member *tw_member(void);

/* The same, as the hot path reads it: once joined, a load and a compare. */
enum { TW_UNJOINED, TW_JOINING, TW_JOINED };
extern struct tw_member tw_self;
extern int tw_state;
static inline const struct tw_member *tw_member_fast(void)
{
	if (__builtin_expect(__atomic_load_n(&tw_state, __ATOMIC_ACQUIRE) == TW_JOINED, 1))
		return &tw_self;
	return tw_member();
}

/* A descriptor of this member's clock page for exec (the bridge, page.h):
 * at TW_BRIDGE_FD_MIN or above, not close-on-exec; -1 when none could be made.
 * No allocation: safe between vfork and exec. */
int tw_bridge_open(void);

/* The next definition of a libc function (the one this library hides). */
void *tw_next(const char *name);
/* The same, looked up once into *slot: TW_NEXT(type, name) with a
 * `static void *next_name` in scope. */
void *tw_next_once(void **slot, const char *name);
#define TW_NEXT(type, name) ((type)tw_next_once(&next_##name, #name))

/* Set errno from a -errno result and return -1, or return 0. */
int tw_ret(long r);

#endif
