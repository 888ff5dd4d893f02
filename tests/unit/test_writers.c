/* Writers of the clock page that die, stop, or come many at once (the clock
 * page protocol: src/engine/clockpage.c, src/control/change.c), against a
 * page in a namespaces directory of the test's own, written as `timewarp set`
 * writes it.
 *
 * Phase 1: a writer run one instruction at a time under ptrace and killed
 *   after k instructions, for k spread over a whole change and packed around
 *   its publications, for a change that lowers the rate (published pending,
 *   then settled) and one that does not.  After each kill the page is valid
 *   and the next change succeeds.
 * Phase 2: a writer stopped just before it publishes, for two seconds: other
 *   changes go through meanwhile, and once it runs on, its change lands on top
 *   of theirs (a frozen namespace, so the sum is exact).
 * Phase 3: writers in several processes at once: advances add up exactly, and
 *   rate changes in between leave no reading behind.
 * Throughout, a reader process reads MONOTONIC as a member does (the kernel's
 * data page, folds and memos when the kernel's page is one the engine knows)
 * and checks each reading: never behind the one before, and the map of the
 * copy in force at the host instants around it, to a microsecond. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clockmath.h"
#include "change.h"
#include "control.h"
#include "engine.h"
#include "fold.h"
#include "stepper.h"
#include "tap.h"
#include "maps.h"
#include "timewarp.h"
#include "vvar.h"

/* Kill points spread over each change (more with TW_KILL_POINTS). */
#define KILL_POINTS 24

static char dir[] = "/tmp/tw-writers.XXXXXX";
static char path[4096];
static struct tw_ns *ns;

/* ---- the reader ------------------------------------------------------------ */

struct shared {
	int stop, pause;
	uint64_t reads, back, bad, unchecked;
	int64_t worst_back, worst_bad, longest; /* ns */
};
static struct shared *sh;

static int64_t host_mono(const struct tw_host *h)
{
	struct tw_ts ts;

	tw_host_gettime(h, 1, &ts);
	return tw_ts_ns(&ts);
}

static void reader(void)
{
	static struct tw_memo memos[2];
	static struct tw_fold folds[TW_FOLD_SLOTS];
	const struct tw_page *pg = tw_ns_page(ns);
	struct tw_host plain, h;
	int64_t prev = 0;

	tw_host_init(&plain, (const void *)getauxval(AT_SYSINFO_EHDR));
	h = plain;
	if (!tw_vvar_use(&h, find_mapping("[vvar]"), find_mapping("[vvar_vclock]"))) {
		h.memo = memos;
		h.fold = folds;
	}
	while (!__atomic_load_n(&sh->stop, __ATOMIC_RELAXED)) {
		struct tw_state a, b;

		if (__atomic_load_n(&sh->pause, __ATOMIC_RELAXED)) {
			usleep(1000);
			continue;
		}
		struct tw_ts ts;
		int64_t hb, ha, v, lo, hi;

		tw_read_state(pg, &a);
		hb = host_mono(&plain);
		if (tw_gettime(pg, &h, 1, &ts))
			continue;
		ha = host_mono(&plain);
		tw_read_state(pg, &b);
		v = tw_ts_ns(&ts);
		sh->reads++;
		if (v < prev) {
			sh->back++;
			if (prev - v > sh->worst_back)
				sh->worst_back = prev - v;
		}
		prev = v;
		if (ha - hb > sh->longest)
			sh->longest = ha - hb;
		/* the copy in force when it began or when it ended; with more than
		 * one publication in between, another may have served it */
		if (b.head / TW_COPIES - a.head / TW_COPIES > 1) {
			sh->unchecked++;
			continue;
		}
		lo = tw_state_map(&a, TW_LINE_MONOTONIC, hb);
		hi = tw_state_map(&a, TW_LINE_MONOTONIC, ha);
		if (tw_state_map(&b, TW_LINE_MONOTONIC, hb) < lo)
			lo = tw_state_map(&b, TW_LINE_MONOTONIC, hb);
		if (tw_state_map(&b, TW_LINE_MONOTONIC, ha) > hi)
			hi = tw_state_map(&b, TW_LINE_MONOTONIC, ha);
		if (v < lo - 1000 || v > hi + 1000) {
			int64_t off = v < lo ? lo - v : v - hi;

			sh->bad++;
			if (off > sh->worst_bad)
				sh->worst_bad = off;
		}
	}
}

/* ---- changes ---------------------------------------------------------------- */

static void hung(int sig)
{
	static const char msg[] = "# a change did not finish within 30 s\nnot ok - hung\n";
	ssize_t w = write(1, msg, sizeof(msg) - 1);

	(void)sig, (void)w;
	_exit(1);
}

/* A change through a handle of our own (each writer its own open file, as
 * each `timewarp set` has).  0 or -errno. */
static int change_on(struct tw_ns *n, unsigned what, uint64_t rate, int64_t at, int64_t advance)
{
	struct tw_change c = { .what = what, .rate = rate, .at = at, .advance = advance };
	enum tw_refusal why;
	int r;

	alarm(30);
	r = tw_ns_change(n, &c, NULL, &why);
	alarm(0);
	return r;
}

static int change(unsigned what, uint64_t rate, int64_t at, int64_t advance)
{
	return change_on(ns, what, rate, at, advance);
}

enum kind { LOWER, FORWARD, HOUR };

/* The change a stepped writer makes. */
static int writer_change(void *arg)
{
	enum kind k = *(enum kind *)arg;
	struct tw_ns *mine;
	int r;

	if (tw_ns_open_path(path, &mine))
		return 1;
	if (k == LOWER)
		r = change_on(mine, TW_CH_RATE, TW_RATE_ONE / 2, 0, 0);
	else
		r = change_on(mine, TW_CH_ADVANCE, 0, 0, k == HOUR ? 3600 * TW_NSEC : TW_NSEC);
	tw_ns_close(mine);
	return r;
}

/* ---- phase 1: killed at each step ----------------------------------------------- */

static int cmp_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;

	return (x > y) - (x < y);
}

static void killed_at_each_step(enum kind k, const char *what, int points)
{
	long cas[8], at[256], steps = 0;
	int ncas = 0, nat = 0, st = 0, bad_page = 0, bad_next = 0, stalled = 0;
	pid_t pid;

	/* a whole change, one instruction at a time, to see where it publishes */
	change(TW_CH_RATE, 2 * TW_RATE_ONE, 0, 0);
	if (!tap_ok((pid = step_start(writer_change, &k)) > 0, "%s: a writer under ptrace", what))
		return;
	for (;;) {
		if (ncas < 8 && step_at_publish(pid))
			cas[ncas++] = steps;
		if (step_one(pid, &st))
			break;
		steps++;
	}
	tap_ok(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	       "%s: run one instruction at a time, the change succeeds (%ld instructions, "
	       "%d publications)", what, steps, ncas);
	tap_ok(ncas >= (k == LOWER ? 2 : 1), "%s: published %s", what,
	       k == LOWER ? "pending, then settled" : "once");

	for (int j = 1; j < points && nat < 200; j++)
		at[nat++] = steps * j / points;
	for (int i = 0; i < ncas; i++) {
		static const long around[] = { 0, 1, 2, 8, 30 };

		for (unsigned j = 0; j < sizeof(around) / sizeof(around[0]); j++)
			at[nat++] = cas[i] + around[j];
	}
	qsort(at, (size_t)nat, sizeof(at[0]), cmp_long);

	for (int i = 0; i < nat; i++) {
		uint64_t reads = __atomic_load_n(&sh->reads, __ATOMIC_RELAXED);
		long done = 0;

		if (change(TW_CH_RATE, 2 * TW_RATE_ONE, 0, 0))
			bad_next++;
		if ((pid = step_start(writer_change, &k)) < 0)
			continue;
		while (done < at[i] && !step_one(pid, &st))
			done++;
		step_kill(pid);
		if (tw_page_valid(tw_ns_page(ns)))
			bad_page++;
		/* the next writer goes on at once, whatever the dead one held */
		if (change(TW_CH_ADVANCE, 0, 0, 1000000))
			bad_next++;
		usleep(2000);
		if (__atomic_load_n(&sh->reads, __ATOMIC_RELAXED) == reads)
			stalled++;
	}
	tap_ok(!bad_page, "%s: killed after each of %d points (first %ld, last %ld), the page "
			  "stays valid (%d not)", what, nat, at[0], at[nat - 1], bad_page);
	tap_ok(!bad_next, "%s: and the next change succeeds every time (%d failed)", what,
	       bad_next);
	tap_ok(!stalled, "%s: readers read on after every kill (%d stalls)", what, stalled);
}

/* ---- phase 2: stopped ----------------------------------------------------------- */

static void stopped_before_publishing(void)
{
	const int64_t at = 2000000000LL * TW_NSEC;
	enum kind k = HOUR;
	struct tw_params before, after;
	struct timespec t0, t1;
	int st = 0, others = 0, near = 0;
	int64_t slowest = 0;
	uint64_t reads;
	pid_t pid;

	change(TW_CH_AT | TW_CH_FREEZE, 0, at, 0);
	tw_read_params(tw_ns_page(ns), &before);
	if (!tap_ok((pid = step_start(writer_change, &k)) > 0, "stopped: a writer under ptrace"))
		return;
	while (!(near = step_at_publish(pid)) && !step_one(pid, &st))
		;
	if (!tap_ok(near, "stopped: the writer is held just before it publishes"))
		return step_kill(pid);
	reads = __atomic_load_n(&sh->reads, __ATOMIC_RELAXED);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < 3; i++) {
		struct timespec a, b;

		clock_gettime(CLOCK_MONOTONIC, &a);
		others += !change(TW_CH_ADVANCE, 0, 0, TW_NSEC);
		clock_gettime(CLOCK_MONOTONIC, &b);
		if ((b.tv_sec - a.tv_sec) * TW_NSEC + b.tv_nsec - a.tv_nsec > slowest)
			slowest = (b.tv_sec - a.tv_sec) * TW_NSEC + b.tv_nsec - a.tv_nsec;
	}
	do {
		usleep(50000);
		clock_gettime(CLOCK_MONOTONIC, &t1);
	} while ((t1.tv_sec - t0.tv_sec) * TW_NSEC + t1.tv_nsec - t0.tv_nsec < 2 * TW_NSEC);
	tap_ok(others == 3, "stopped: three other changes succeed while it is stopped");
	/* one that waited for the stopped writer would have taken the 2 s */
	tap_ok(slowest < TW_NSEC, "stopped: none of them waits for it (slowest %.3f s)",
	       (double)slowest / TW_NSEC);
	tap_ok(__atomic_load_n(&sh->reads, __ATOMIC_RELAXED) > reads + 100,
	       "stopped: readers read on meanwhile");
	ptrace(PTRACE_DETACH, pid, 0, 0);
	waitpid(pid, &st, 0);
	tap_ok(WIFEXITED(st) && WEXITSTATUS(st) == 0, "stopped: run on, the writer finishes");
	tw_read_params(tw_ns_page(ns), &after);
	TAP_EQ_I64(after.base[TW_LINE_REALTIME].virt - before.base[TW_LINE_REALTIME].virt,
		   3603 * TW_NSEC, "stopped: its hour lands on top of the other three seconds");
	TAP_EQ_I64(after.base[TW_LINE_MONOTONIC].virt - before.base[TW_LINE_MONOTONIC].virt,
		   3603 * TW_NSEC, "stopped: MONOTONIC too");
}

/* ---- phase 3: many at once --------------------------------------------------------- */

static int many(int writers, int each, int mode)
{
	pid_t pids[16];
	int failed = 0;

	for (int w = 0; w < writers; w++) {
		if ((pids[w] = fork()) == 0) {
			struct tw_ns *mine;
			int bad = 0;

			if (tw_ns_open_path(path, &mine))
				_exit(1);
			for (int i = 0; i < each; i++) {
				if (mode == 0 || (w + i) % 3 == 0)
					bad += !!change_on(mine, TW_CH_ADVANCE, 0, 0, 1000000);
				else
					bad += !!change_on(mine, TW_CH_RATE,
							   (w + i) % 3 == 1 ? 2 * TW_RATE_ONE
									    : TW_RATE_ONE / 2,
							   0, 0);
			}
			_exit(bad ? 1 : 0);
		}
	}
	for (int w = 0; w < writers; w++) {
		int st;

		if (pids[w] < 0 || waitpid(pids[w], &st, 0) != pids[w] || !WIFEXITED(st) ||
		    WEXITSTATUS(st))
			failed++;
	}
	return failed;
}

static void many_at_once(void)
{
	struct tw_params before, after;

	change(TW_CH_FREEZE, 0, 0, 0);
	tw_read_params(tw_ns_page(ns), &before);
	/* the reader pauses, so that the writers share both CPUs */
	__atomic_store_n(&sh->pause, 1, __ATOMIC_RELAXED);
	tap_ok(!many(6, 300, 0), "many: 6 processes x 300 advances of 1 ms, all succeed");
	__atomic_store_n(&sh->pause, 0, __ATOMIC_RELAXED);
	tw_read_params(tw_ns_page(ns), &after);
	TAP_EQ_I64(after.base[TW_LINE_REALTIME].virt - before.base[TW_LINE_REALTIME].virt,
		   1800 * 1000000LL, "many: REALTIME moved by exactly 1.8 s");
	TAP_EQ_I64(after.base[TW_LINE_BOOTTIME].virt - before.base[TW_LINE_BOOTTIME].virt,
		   1800 * 1000000LL, "many: BOOTTIME too");
	change(TW_CH_RATE, 2 * TW_RATE_ONE, 0, 0);
	tap_ok(!many(3, 40, 1), "many: 3 processes changing rate (2, 0.5) and advancing, all "
				"succeed");
	tap_ok(!tw_page_valid(tw_ns_page(ns)), "many: the page is valid after them");
}

int main(void)
{
	enum tw_refusal why;
	struct tw_change c = { .what = TW_CH_RATE, .rate = 2 * TW_RATE_ONE };
	const char *env = getenv("TW_KILL_POINTS");
	int points = env && atoi(env) > 1 ? atoi(env) : KILL_POINTS, st;
	pid_t rd;

	signal(SIGALRM, hung);
	if (!mkdtemp(dir)) {
		tap_ok(0, "a directory for the test: %s", strerror(errno));
		return tap_done();
	}
	setenv("XDG_RUNTIME_DIR", dir, 1);
	unsetenv(TW_ENV_PAGE);
	if (!tap_ok(tw_ns_create("w", 0, &c, NULL, &why, &ns) == 0, "a namespace at rate 2"))
		return tap_done();
	snprintf(path, sizeof(path), "%s", tw_ns_path(ns));
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		return tap_done();
	memset(sh, 0, sizeof(*sh));
	if ((rd = fork()) == 0) {
		reader();
		_exit(0);
	}

	killed_at_each_step(LOWER, "a lower rate", points);
	killed_at_each_step(FORWARD, "an advance", points);
	stopped_before_publishing();
	many_at_once();

	__atomic_store_n(&sh->stop, 1, __ATOMIC_RELAXED);
	waitpid(rd, &st, 0);
	tap_diag("reader: %llu readings, %llu not checked (several publications during one), "
		 "the longest took %.3f ms",
		 (unsigned long long)sh->reads, (unsigned long long)sh->unchecked,
		 (double)sh->longest / 1e6);
	tap_ok(sh->reads > 10000, "the reader read throughout (%llu readings)",
	       (unsigned long long)sh->reads);
	tap_ok(sh->back == 0, "MONOTONIC never went back (%llu times, worst %lld ns)",
	       (unsigned long long)sh->back, (long long)sh->worst_back);
	tap_ok(sh->bad == 0, "every reading is the copy in force's map of its instant (%llu not, "
			     "worst %lld ns off)", (unsigned long long)sh->bad,
	       (long long)sh->worst_bad);
	/* a reader that waited for the stopped writer would have taken seconds */
	tap_ok(sh->longest < TW_NSEC, "no reading waited for a writer (longest %.3f ms)",
	       (double)sh->longest / 1e6);

	tw_ns_remove(ns);
	tw_ns_close(ns);
	{
		char cmd[sizeof(dir) + 16];
		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd))
			tap_diag("could not remove %s", dir);
	}
	return tap_done();
}
