/* A clock page with any field out of range never makes a reader spin: every
 * 8-byte word of the copy in force, and each header word, is set in turn to a
 * hostile value (the extremes, -1, nanoseconds out of [0, 1e9)), and then every
 * clock is read, the lines and the state are mapped, a wait is planned and a
 * writer changes the page.  Each case runs in a child under a one-second alarm:
 * a read that loops is killed and the case fails.  tw_page_valid, which members
 * and the CLI run before they use a page, must refuse the damage that matters
 * (the example: offset nanoseconds of -5e9). */
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "change.h"
#include "clockmath.h"
#include "engine.h"
#include "read.h"
#include "tap.h"
#include "maps.h"
#include "vvar.h"

static struct tw_page good, pg;
static struct tw_host host;
static struct tw_memo memo[2];
static struct tw_fold fold[TW_FOLD_SLOTS];

static const int64_t hostile[] = {
	INT64_MIN, INT64_MAX, -1, -5000000000LL, 5000000000LL, (int64_t)TW_RATE_PENDING - 1,
};
#define NHOSTILE (sizeof(hostile) / sizeof(hostile[0]))

static volatile int64_t sink;
static int malformed; /* readings that were not a time (nanoseconds out of range) */

static void got(const struct tw_ts *ts)
{
	malformed += ts->sec < 0 || ts->nsec < 0 || ts->nsec >= TW_NSEC;
	sink = ts->sec + ts->nsec;
}

/* Everything a member and a writer do with a page; returns when they do. */
static void use_page(void)
{
	static const long clocks[] = { CLOCK_REALTIME,        CLOCK_MONOTONIC,
				       CLOCK_MONOTONIC_RAW,   CLOCK_REALTIME_COARSE,
				       CLOCK_MONOTONIC_COARSE, CLOCK_BOOTTIME,
				       CLOCK_TAI };
	int64_t h[TW_NLINES], v[TW_NLINES];

	/* each read as a member makes it: the inline read, and the call */
	struct tw_change c = { .what = TW_CH_ADVANCE, .advance = TW_NSEC };
	enum tw_refusal why;
	struct tw_state st;
	struct tw_params p;
	struct tw_ts ts;

	for (int round = 0; round < 3; round++) {
		for (size_t i = 0; i < sizeof(clocks) / sizeof(clocks[0]); i++)
			if (!tw_gettime(&pg, &host, clocks[i], &ts))
				got(&ts);
		for (size_t i = 0; i < sizeof(clocks) / sizeof(clocks[0]); i++)
			if (!tw_read_clock(&pg, &host, clocks[i], &ts))
				got(&ts);
		if (!tw_virtual_lines(&pg, &host, h, v))
			sink = v[TW_LINE_REALTIME];
		tw_read_state(&pg, &st);
		for (int l = 0; l < TW_NLINES; l++)
			sink = tw_state_map(&st, (enum tw_line)l, h[l]);
		/* a wait's plan: d / R of host time for d of virtual time */
		tw_read_params(&pg, &p);
		sink = tw_add_sat(h[TW_LINE_MONOTONIC], tw_unscale(TW_NSEC, p.rate));
		sink = (int64_t)tw_page_valid(&pg);
	}
	/* a writer given the page anyway (the CLI refuses it first) */
	tw_page_change(&pg, -1, &host, &c, NULL, &why);
	if (!tw_gettime(&pg, &host, CLOCK_REALTIME, &ts))
		got(&ts);
}

/* Damage `pg` with `fn`, then use it in a child under a one-second alarm:
 * 1 if it returned with well-formed times (an error, or a time clamped into
 * range), 0 if it was killed (looped), crashed or read a malformed time. */
static int returns(void (*fn)(void *, int64_t), void *where, int64_t value, int *valid)
{
	int status;
	pid_t pid;

	memcpy(&pg, &good, sizeof(pg));
	fn(where, value);
	*valid = tw_page_valid(&pg) == 0;
	pid = fork();
	if (pid == 0) {
		alarm(1);
		use_page();
		_exit(malformed ? 2 : 0);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return 0;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static void set64(void *where, int64_t v)
{
	memcpy(where, &v, sizeof(v));
}

static void set32(void *where, int64_t v)
{
	uint32_t w = (uint32_t)v;

	memcpy(where, &w, sizeof(w));
}

/* Every word of the copy in force, and the header words, for a page at `rate`. */
static void sweep(uint64_t rate, const char *how)
{
	int64_t now[TW_NLINES];
	struct tw_params p;
	struct tw_change c = { .what = TW_CH_AT, .at = 2000000000LL * TW_NSEC, .creating = 1 };
	unsigned in_force;
	char *copy;

	tw_host_lines(&host, now);
	tw_params_init(&p, now, now, TW_RATE_ONE);
	tw_apply(&p, &c, now, now);
	p.rate = rate;
	memset(&good, 0, sizeof(good));
	good.magic = TW_PAGE_MAGIC;
	good.version = TW_PAGE_VERSION;
	good.size = sizeof(good);
	tw_page_init(&good, &p);
	tap_ok(tw_page_valid(&good) == 0, "%s: the undamaged page is valid", how);
	in_force = TW_HEAD_COPY(good.head);
	copy = (char *)&good.copy[in_force] - (char *)&good + (char *)&pg;

	for (size_t off = 0; off < sizeof(struct tw_copy); off += 8) {
		int all = 1, refused = 0, tried = 0;

		for (size_t k = 0; k < NHOSTILE; k++) {
			int64_t was;
			int valid;

			memcpy(&was, (char *)&good.copy[in_force] + off, sizeof(was));
			if (was == hostile[k])
				continue;
			tried++;
			all &= returns(set64, copy + off, hostile[k], &valid);
			refused += !valid;
		}
		tap_ok(all, "%s, copy word at +%zu: every reader returns a time or an error with "
			    "each of %d hostile values (%d refused by tw_page_valid)",
		       how, off, tried, refused);
	}

	{
		static const struct { const char *name; size_t off; } hdr[] = {
			{ "magic", offsetof(struct tw_page, magic) },
			{ "version", offsetof(struct tw_page, version) },
			{ "size", offsetof(struct tw_page, size) },
			{ "head", offsetof(struct tw_page, head) },
			{ "flags", offsetof(struct tw_page, flags) },
		};
		for (size_t i = 0; i < sizeof(hdr) / sizeof(hdr[0]); i++) {
			int all = 1, valid;

			for (size_t k = 0; k < NHOSTILE; k++)
				all &= returns(set32, (char *)&pg + hdr[i].off, hostile[k], &valid);
			tap_ok(all, "%s, header %s: every reader returns with each hostile value", how,
			       hdr[i].name);
		}
	}
}

/* The kernel's vDSO data page, from /proc/self/maps; null when there is none. */
int main(void)
{
	static const struct { uint64_t rate; const char *how; } rates[] = {
		{ TW_RATE_ONE, "rate 1" }, { 0, "frozen" }, { 10 * TW_RATE_ONE, "rate 10" },
		{ TW_RATE_ONE / 2, "rate 0.5" },
	};
	char how[64];
	int valid;

	/* host time by the vDSO's entry points (or the system call) */
	tw_host_init(&host, (const void *)getauxval(AT_SYSINFO_EHDR));
	for (size_t i = 0; i < sizeof(rates) / sizeof(rates[0]); i++) {
		snprintf(how, sizeof(how), "%s, host by call", rates[i].how);
		sweep(rates[i].rate, how);
	}
	/* and from the kernel's data page, as members read it (with their memos
	 * and folds), where this clock source allows */
	if (!tw_vvar_use(&host, find_mapping("[vvar]"), find_mapping("[vvar_vclock]"))) {
		host.memo = memo;
		host.fold = fold;
		for (size_t i = 0; i < sizeof(rates) / sizeof(rates[0]); i++) {
			snprintf(how, sizeof(how), "%s, host from the data page", rates[i].how);
			sweep(rates[i].rate, how);
		}
	} else {
		tap_skip("the kernel's data page is not one the engine reads (clock source)");
	}

	/* the case, REALTIME's offset nanoseconds at -5e9, and others
	 * tw_page_valid must refuse (on the last page the sweep made) */
	tap_ok(returns(set64, (char *)&pg.copy[TW_HEAD_COPY(good.head)].fast[TW_LINE_REALTIME].off_nsec,
		       -5000000000LL, &valid) && !valid,
	       "offset nanoseconds of -5e9: readers return, and tw_page_valid refuses the page");
	tap_ok(returns(set64, (char *)&pg.copy[TW_HEAD_COPY(good.head)].p.rate,
		       (int64_t)(TW_RATE_MAX + 1), &valid) && !valid,
	       "a rate above the maximum: refused");
	tap_ok(returns(set64, (char *)&pg.copy[TW_HEAD_COPY(good.head)].p.base[TW_LINE_MONOTONIC].host,
		       -1, &valid) && !valid,
	       "a negative host anchor: refused");
	return tap_done();
}
