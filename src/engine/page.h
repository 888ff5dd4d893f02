/* The clock page: the shared memory object that *is* a namespace.
 *
 * Members map it read-only and read it on every clock call; writers (the CLI, or a
 * member whose program sets the clock) change it.  The layout is versioned: a
 * reader checks magic, version and size and refuses anything else.
 *
 * No reader ever waits for a writer, and no writer for another (DESIGN section 4,
 * "Clock page protocol"; docs in clockpage.c).  The parameters live in
 * TW_COPIES copies; the head word names the one readers use and counts every
 * publication.  A writer fills a copy nobody reads (one it has claimed: an OFD
 * lock the kernel drops if the writer dies) and publishes it with one
 * compare-and-swap of the head, which fails if another writer published first.
 * A reader loads the head, reads the copy it names, and reads the head again: a
 * change in between means the copy may have been reused, and it reads again.  So
 * a writer stopped or killed at any instruction leaves the last published copy
 * in force, and the next writer goes on with another copy.
 *
 * Freestanding: included by the engine, so only compiler-provided headers. */
#ifndef TW_PAGE_H
#define TW_PAGE_H

#include <stdint.h>

#define TW_PAGE_MAGIC   0x31505754u /* "TWP1" in memory order */
#define TW_PAGE_VERSION 2u
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
/* A copy's `rate` while its change waits for its switch instant: no fast path
 * takes it (struct tw_copy). */
#define TW_RATE_PENDING UINT64_MAX

struct tw_base {
	int64_t host; /* H: host clock at the last rebase, ns */
	int64_t virt; /* V: virtual clock at that instant, ns */
};

/* Everything a change rewrites. */
struct tw_params {
	struct tw_base base[TW_NLINES];
	uint64_t rate;       /* R, Q32.32 */
	uint64_t saved_rate; /* the rate --resume goes back to */
	uint32_t settime;    /* enum tw_settime */
	uint32_t pad;
};

/* Derived by the writer so the common reads need no multiply or divide: for
 * rate 1, a line's V - H split into seconds and nanoseconds (0 <= nsec < 1e9);
 * for rate 0 (frozen), V split likewise; and the second after H, before which a
 * coarse reading may still lag behind H. */
struct tw_fast {
	int64_t off_sec, off_nsec, virt_sec, virt_nsec, anchor_sec;
};

/* One copy of the parameters.  Settled, it is `p` and what derives from it.
 * Pending (rate == TW_RATE_PENDING), it is a change that takes effect at a host
 * instant still to come: line l follows `prev` (the lines in force before) while
 * its host clock reads below switch_host[l], and `p` from then on.  Only a change
 * that lowers the rate is published pending (clockpage.c says why); its writer
 * publishes the settled copy once the switch has passed. */
struct tw_copy {
	uint64_t rate; /* p.rate when settled, TW_RATE_PENDING when pending */
	struct tw_fast fast[TW_NLINES];
	struct tw_params p;
	struct tw_base prev[TW_NLINES];
	uint64_t prev_rate;
	int64_t switch_host[TW_NLINES];
} __attribute__((aligned(64)));

#define TW_COPIES 8u /* a power of two: the head's low bits name one */
#define TW_HEAD_COPY(h) ((h) & (TW_COPIES - 1))
/* The head after a publication of copy `i` over head `h`. */
#define TW_HEAD_NEXT(h, i) ((((h) & ~(TW_COPIES - 1)) + TW_COPIES) | (i))

struct tw_page {
	uint32_t magic;
	uint32_t version;
	uint32_t size;       /* sizeof(struct tw_page) */
	/* The copy readers use (low bits) and a count of publications (the rest):
	 * it changes with every publication, and waiters sleep on it (a futex). */
	uint32_t head;
	uint32_t flags;
	uint32_t pad;
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
	struct tw_copy copy[TW_COPIES] __attribute__((aligned(256)));
};

_Static_assert(sizeof(struct tw_page) <= TW_PAGE_BYTES, "clock page fits one page");

#define TW_FLAG_ANONYMOUS 1u /* made by `run` without --name */
#define TW_FLAG_RUN 2u       /* made by `run`: goes once its command has exited */

/* The bridge: a descriptor of a clock page that a member (and `timewarp run`)
 * leaves open across exec, not close-on-exec, so that the page is never
 * unused in between (src/control/collect.c); the new program's runtime closes
 * it once it has mapped the page (src/runtime/start.c).  At this number or
 * above, out of the program's way. */
#define TW_BRIDGE_FD_MIN 512

/* Writers claim copy i with an OFD write lock on this byte of the page's file
 * (past its end: nothing is written there). */
#define TW_CLAIM_BYTE(i) ((int64_t)TW_PAGE_BYTES + (int64_t)(i))

#endif
