/* The clock page: the shared memory object that *is* a namespace.
 *
 * Members map it read-only and read it on every clock call; writers (the CLI, or a
 * member whose program sets the clock) change it under the seqlock.  The layout is
 * versioned: a reader checks magic, version and size and refuses anything else.
 *
 * Freestanding: included by the engine, so only compiler-provided headers. */
#ifndef TW_PAGE_H
#define TW_PAGE_H

#include <stdint.h>

#define TW_PAGE_MAGIC   0x31505754u /* "TWP1" in memory order */
#define TW_PAGE_VERSION 1u
#define TW_PAGE_BYTES   4096u

/* Each virtual clock line is an affine map of one host clock.  The three clock
 * classes of DESIGN section 2 (REALTIME, MONOTONIC, BOOTTIME) have one line each;
 * TAI and MONOTONIC_RAW get lines of their own so that they keep their host
 * relation to REALTIME and MONOTONIC (the TAI offset, RAW's drift). */
enum tw_line {
	TW_LINE_REALTIME,
	TW_LINE_TAI,
	TW_LINE_MONOTONIC,
	TW_LINE_RAW,
	TW_LINE_BOOTTIME,
	TW_NLINES
};

/* settime policy */
enum tw_settime {
	TW_SETTIME_VIRTUAL = 0, /* settimeofday & co change the namespace's REALTIME */
	TW_SETTIME_DENY = 1,    /* they fail with EPERM */
};

/* rate: unsigned fixed point with 32 fraction bits; 1.0 and 0 are exact. */
#define TW_RATE_ONE ((uint64_t)1 << 32)

struct tw_base {
	int64_t host; /* H: host clock at the last rebase, ns */
	int64_t virt; /* V: virtual clock at that instant, ns */
};

/* Everything a change rewrites; readers copy it inside the seqlock. */
struct tw_params {
	struct tw_base base[TW_NLINES];
	uint64_t rate;       /* R, Q32.32 */
	uint64_t saved_rate; /* the rate --resume goes back to */
	uint32_t settime;    /* enum tw_settime */
	uint32_t pad;
};

struct tw_page {
	uint32_t magic;
	uint32_t version;
	uint32_t size;       /* sizeof(struct tw_page) */
	/* Seqlock: odd while a writer is inside.  A reader's critical section includes
	 * its host clock read (see engine.c for why). */
	uint32_t seq;
	/* Bumped after every change, then futex-woken: waiters sleep on it. */
	uint32_t generation;
	uint32_t flags;
	struct tw_params p;
	/* Derived by the writer, under the same seqlock, so the common reads need
	 * no multiply or divide: for rate 1, each line's V - H split into seconds
	 * and nanoseconds (0 <= nsec < 1e9); for rate 0 (frozen), V split likewise;
	 * and the second after H, before which a coarse reading may still lag
	 * behind H. */
	struct tw_fast {
		int64_t off_sec, off_nsec, virt_sec, virt_nsec, anchor_sec;
	} fast[TW_NLINES];
	/* Written once at creation, never changed. */
	int32_t creator_pid;
	uint32_t creator_uid;
	int64_t created_host_realtime;
	char name[80];       /* "" for an anonymous namespace */
	/* Where the page lives in its store (src/control/store.c), also written
	 * once, before anyone can open it: its file in ~pages and the entry in
	 * the store that names it ("ci", "@run-4242.0"). */
	char id[40];
	char entry[80];
	/* The creator's pid namespace (the inode of /proc/self/ns/pid, 0 when
	 * unknown): the pid it gives is a pid there. */
	uint64_t creator_pidns;
};

_Static_assert(sizeof(struct tw_page) <= TW_PAGE_BYTES, "clock page fits one page");

#define TW_FLAG_ANONYMOUS 1u /* made by `run` without --name */
#define TW_FLAG_RUN 2u       /* made by `run`: goes once its command has exited */

#endif
