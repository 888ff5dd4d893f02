/* The engine: turns host clock readings into virtual ones.
 *
 * Freestanding and position-independent (DESIGN section 4): no libc, no globals,
 * no allocation, async-signal-safe.  Everything it needs comes in through
 * `struct tw_host` and the clock page, so the same object file serves the preload
 * library today and the timewarp vDSO / static-binary injection later.
 *
 * Functions return 0 or -errno, like the kernel and the vDSO. */
#ifndef TW_ENGINE_H
#define TW_ENGINE_H

#include <stdint.h>
#include "page.h"

/* struct timespec / struct timeval as the x86-64 kernel ABI lays them out. */
struct tw_ts {
	int64_t sec;
	int64_t nsec;
};
struct tw_tv {
	int64_t sec;
	int64_t usec;
};

/* What a memo or a fold (below) was computed under: a process keeps them, and
 * they hold while none of it has changed.  Its own count is odd while a
 * reader writes it (a reader that finds it odd leaves it: memokey.h). */
struct tw_memokey {
	uint32_t seq;
	uint32_t vseq; /* the kernel data's sequence count */
	uint32_t pseq; /* the clock page's head */
	uint32_t pad;
	const struct tw_page *page; /* which page: a process may read another's */
};

/* A coarse clock's last virtual reading at a rate other than 0 and 1: a
 * coarse clock only moves when the kernel updates its data page (each tick),
 * so until then, and until the namespace changes, the same computation gives
 * the same answer. */
struct tw_memo {
	struct tw_memokey key;
	int64_t sec, nsec;
};

/* A fine clock's virtual time at a rate other than 0 and 1 as the kernel's own
 * scale of its counter (fold.h): from one update of the kernel's data to the
 * next, and while the namespace stays unchanged,
 *
 *     virtual = sec + ((base + (cycles - cycle_last) * mult) >> shift) ns
 *
 * for cycles - cycle_last <= dmax: the host vDSO's own computation with other
 * constants, in 64 bits (base_lo, mult_lo).  Where that is too narrow (or the
 * shift would be 0), shift is 0 and base and mult are 128 bits with 64 of them
 * below the nanosecond: the time is the high word of the sum (fold.h). */
struct tw_fold {
	struct tw_memokey key;
	uint64_t cycle_last, dmax;
	uint64_t base_lo, base_hi, mult_lo, mult_hi;
	int64_t sec;
	uint32_t shift; /* 0: base and mult in 128 bits */
	uint32_t pad;
};
#define TW_FOLD_SLOTS 5 /* REALTIME, MONOTONIC, MONOTONIC_RAW, BOOTTIME, TAI */

/* How to read the host clocks: the real vDSO's entry points, found by
 * tw_host_init; a null pointer means "use the system call" (syscall.c).
 * `vvar`, when set (tw_vvar_use, vvar.h), is the kernel's vDSO data page, read
 * directly (and its clock source's counter page after it), and `memo`, if not
 * null, two writable memos (REALTIME_COARSE, MONOTONIC_COARSE) for reads from
 * it, and `fold`, if not null, TW_FOLD_SLOTS writable folds (tw_fold_slot) for
 * the fine clocks. */
struct tw_vvar_clock;
struct tw_host {
	long (*clock_gettime)(long clockid, struct tw_ts *ts);
	long (*clock_getres)(long clockid, struct tw_ts *ts);
	const struct tw_vvar_clock *vvar;
	struct tw_memo *memo;
	struct tw_fold *fold;
	/* How its system calls are made: in a member, through the runtime's
	 * gate (src/runtime/gate.c), which the member's seccomp filter lets
	 * through; null: directly (tw_syscall6). */
	long (*syscall)(long nr, long a, long b, long c, long d, long e, long f);
};

/* Look the host vDSO (the ELF image at AT_SYSINFO_EHDR) up; `vdso` may be null. */
void tw_host_init(struct tw_host *h, const void *vdso);
/* Host time, through the vDSO or the system call. */
long tw_host_gettime(const struct tw_host *h, long clockid, struct tw_ts *ts);
/* Host time as ns for each clock line (REALTIME, TAI, MONOTONIC, RAW, BOOTTIME). */
long tw_host_lines(const struct tw_host *h, int64_t now[TW_NLINES]);

/* The clock page protocol (clockpage.c). */

/* 0 if the page is one this engine understands, else -EPROTO. */
long tw_page_check(const volatile struct tw_page *pg);
/* tw_page_check, and the copy in force holds values a reader can use (every
 * field in its range, the derived ones what its parameters say): else -EBADMSG. */
long tw_page_valid(const struct tw_page *pg);

/* clock_gettime inside the namespace of `pg`. */
long tw_gettime(const struct tw_page *pg, const struct tw_host *h, long clockid,
		struct tw_ts *ts);
/* Every virtual line at one host instant, and that instant (for a caller inside a
 * namespace that starts a nested one, or shows its own clocks). */
long tw_virtual_lines(const struct tw_page *pg, const struct tw_host *h,
		      int64_t host[TW_NLINES], int64_t virt[TW_NLINES]);
/* A consistent copy of the parameters in force (of a pending change: the ones
 * it switches to). */
void tw_read_params(const struct tw_page *pg, struct tw_params *out);

/* The copy in force, whole: the head that named it, and for a pending change
 * (page.h) the lines before it and its switch instants. */
struct tw_state {
	uint32_t head;
	int pending;
	struct tw_params p;
	struct tw_base prev[TW_NLINES];   /* settled: p's */
	uint64_t prev_rate;
	int64_t switch_host[TW_NLINES];   /* settled: INT64_MIN */
};
void tw_read_state(const struct tw_page *pg, struct tw_state *st);
/* Line `line` of the state at host instant `host`. */
int64_t tw_state_map(const struct tw_state *st, enum tw_line line, int64_t host);

/* Writers: fill a copy nobody reads (one the writer has claimed, see
 * src/control/change.c) with settled parameters, or with a change pending
 * until each line's host clock reaches switch_host; publish it over head
 * `expect` (0, or -EAGAIN when another publication came first: the head
 * changed).  Waking the waiters on the head is the caller's (a system call). */
void tw_copy_fill(struct tw_copy *c, const struct tw_params *p);
void tw_copy_fill_pending(struct tw_copy *c, const struct tw_params *prev,
			  const struct tw_params *p, const int64_t switch_host[TW_NLINES]);
long tw_publish(struct tw_page *pg, uint32_t expect, unsigned copy);
/* A new page's first copy, before anyone else can see the page. */
void tw_page_init(struct tw_page *pg, const struct tw_params *p);

/* The raw system call, for the engine's fallbacks and for callers that must not
 * go through an interposed libc (syscall.c); clock_gettime by it. */
long tw_syscall6(long nr, long a, long b, long c, long d, long e, long f);

/* A system call as `h` makes them. */
static inline long tw_host_syscall(const struct tw_host *h, long nr, long a, long b, long c,
				   long d, long e, long f)
{
	return h->syscall ? h->syscall(nr, a, b, c, d, e, f) : tw_syscall6(nr, a, b, c, d, e, f);
}
long tw_sys_clock_gettime(const struct tw_host *h, long clockid, struct tw_ts *ts);
/* Host time through the host vDSO's entry point, or the system call where
 * there is no vDSO. */
static inline long tw_host_call(const struct tw_host *h, long clockid, struct tw_ts *ts)
{
	return h->clock_gettime ? h->clock_gettime(clockid, ts) : tw_sys_clock_gettime(h, clockid, ts);
}

static inline int64_t tw_ts_ns(const struct tw_ts *ts)
{
	return ts->sec * 1000000000LL + ts->nsec;
}
/* The same for a time a program gave (a deadline, a timeout): saturating, as
 * "the far future" stays far rather than wrapping into the past. */
static inline int64_t tw_ts_ns_sat(const struct tw_ts *ts)
{
	int64_t ns;

	if (__builtin_mul_overflow(ts->sec, 1000000000LL, &ns) ||
	    __builtin_add_overflow(ns, ts->nsec, &ns))
		return ts->sec < 0 ? INT64_MIN : INT64_MAX;
	return ns;
}
static inline struct tw_ts tw_ns_ts(int64_t ns)
{
	struct tw_ts ts = { ns / 1000000000LL, ns % 1000000000LL };
	if (ts.nsec < 0) {
		ts.sec--;
		ts.nsec += 1000000000LL;
	}
	return ts;
}

#endif
