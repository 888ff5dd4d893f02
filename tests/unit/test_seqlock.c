/* Stress test of the clock page protocol (src/engine/clockpage.c): writers
 * change the page while readers in other threads, and another process, read it.
 *
 * Phase 1: copies filled and published (tw_copy_fill, tw_publish) against
 * tw_read_params.  Every publication carries parameters derived from one
 * counter K, so a torn read (fields from two copies, or from a copy being
 * refilled) shows as a copy that is not make_params(K) for any K.
 *
 * Phase 2: tw_gettime and tw_virtual_lines against a writer that changes the
 * rate between 10 and 1 through the writers' protocol (tw_page_change, which
 * publishes a lower rate pending): virtual MONOTONIC, RAW and BOOTTIME must
 * never go backwards in any thread or process.
 *
 * Phase 3: the same with host time from the kernel's data page (vvar.h) and
 * the members' folds and memos (fold.h), the rate cycling through 10, 1, 2,
 * 1.5 and 0.1: readings below the nanosecond, folds made and dropped at every
 * change and kernel update, and changes that must stay ahead of them. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clockmath.h"
#include "change.h"
#include "control.h"
#include "engine.h"
#include "page.h"
#include "tap.h"
#include "maps.h"
#include "vvar.h"

#define NREADERS 3
#define PHASE_NS (2 * TW_NSEC)

static struct tw_page *page;
static int stop; /* atomic */

/* Host CLOCK_MONOTONIC through libc: the test's own time budget. */
static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * TW_NSEC + ts.tv_nsec;
}

static void spin_ns(int64_t ns)
{
	int64_t end = now_ns() + ns;
	while (now_ns() < end)
		__builtin_ia32_pause();
}

static struct tw_page *map_page(void)
{
	void *m = mmap(NULL, TW_PAGE_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		       -1, 0);
	if (m == MAP_FAILED) {
		tap_ok(0, "mmap a clock page: %s", strerror(errno));
		exit(tap_done());
	}
	struct tw_page *pg = m;
	pg->magic = TW_PAGE_MAGIC;
	pg->version = TW_PAGE_VERSION;
	pg->size = sizeof(struct tw_page);
	return pg;
}

/* ---- phase 1: torn reads -------------------------------------------------- */

/* Parameters that are all functions of k, and no two k alike in any field. */
static void make_params(struct tw_params *p, uint64_t k)
{
	for (int i = 0; i < TW_NLINES; i++) {
		p->base[i].host = (int64_t)(k * 1000003u + (uint64_t)i * 17u);
		p->base[i].virt = p->base[i].host + (int64_t)k;
	}
	p->rate = k * 3 + 1;
	p->saved_rate = ~k;
	p->settime = (uint32_t)k;
	p->pad = 0;
}

struct reader1 {
	pthread_t t;
	uint64_t reads, torn, changes;
};

static void *reader1_main(void *arg)
{
	struct reader1 *r = arg;
	uint64_t last = 0;

	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		struct tw_params got, want;
		tw_read_params(page, &got);
		uint64_t k = (uint64_t)(got.base[0].virt - got.base[0].host);
		make_params(&want, k);
		r->reads++;
		if (memcmp(&got, &want, sizeof(got)))
			r->torn++;
		if (k != last)
			r->changes++;
		last = k;
		/* on a machine with fewer CPUs than threads, let the writer in often */
		if (r->reads % 4096 == 0)
			sched_yield();
	}
	return NULL;
}

struct writer1 {
	pthread_t t;
	uint64_t writes;
};

/* The only writer: the copy after the one in force is never read. */
static void put(uint64_t k)
{
	struct tw_params p;
	uint32_t h = page->head;
	unsigned i = (TW_HEAD_COPY(h) + 1) % TW_COPIES;

	make_params(&p, k);
	tw_copy_fill(&page->copy[i], &p);
	tw_publish(page, h, i);
}

static void *writer1_main(void *arg)
{
	struct writer1 *w = arg;
	uint64_t k = 1;

	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		put(++k);
		w->writes++;
		/* a short gap so that readers find each copy in force now and then */
		for (int i = 0; i < 50; i++)
			__builtin_ia32_pause();
	}
	return NULL;
}

static void phase_torn(void)
{
	struct reader1 rd[NREADERS];
	struct writer1 wr = { 0 };
	struct tw_params p0;

	page = map_page();
	make_params(&p0, 1);
	tw_page_init(page, &p0);
	tap_ok(tw_page_check(page) == 0, "page check accepts a fresh page");
	uint32_t head0 = page->head;

	memset(rd, 0, sizeof(rd));
	__atomic_store_n(&stop, 0, __ATOMIC_RELAXED);
	for (int i = 0; i < NREADERS; i++)
		pthread_create(&rd[i].t, NULL, reader1_main, &rd[i]);
	pthread_create(&wr.t, NULL, writer1_main, &wr);
	int64_t end = now_ns() + PHASE_NS;
	while (now_ns() < end)
		usleep(10000);
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	pthread_join(wr.t, NULL);
	for (int i = 0; i < NREADERS; i++)
		pthread_join(rd[i].t, NULL);

	uint64_t reads = 0, torn = 0, minreads = UINT64_MAX, changes = 0;
	for (int i = 0; i < NREADERS; i++) {
		reads += rd[i].reads;
		torn += rd[i].torn;
		changes += rd[i].changes;
		if (rd[i].reads < minreads)
			minreads = rd[i].reads;
	}
	tap_diag("phase 1: %llu publications, %llu reads, %llu saw a new K",
		 (unsigned long long)wr.writes, (unsigned long long)reads,
		 (unsigned long long)changes);
	tap_ok(torn == 0, "tw_read_params: no torn read (%llu of %llu)", (unsigned long long)torn,
	       (unsigned long long)reads);
	tap_ok(minreads > 1000, "every reader read many times (fewest %llu)",
	       (unsigned long long)minreads);
	tap_ok(wr.writes > 1000, "the writer published many times (%llu)",
	       (unsigned long long)wr.writes);
	tap_ok(changes > 100, "readers saw the page change often (%llu)",
	       (unsigned long long)changes);
	tap_ok(page->head / TW_COPIES - head0 / TW_COPIES == (uint32_t)wr.writes,
	       "the head counts the publications (%u)", page->head / TW_COPIES - head0 / TW_COPIES);

	/* a writer that dies while filling its copy leaves the copy in force as
	 * it was, and the next writer publishes over it */
	struct tw_params p, got;
	uint32_t h = page->head;
	unsigned dead = (TW_HEAD_COPY(h) + 1) % TW_COPIES;

	make_params(&p, 777);
	tw_copy_fill(&page->copy[dead], &p);
	memset(&page->copy[dead].fast[2], 0x5a, 40); /* and died half way */
	tw_read_params(page, &got);
	make_params(&p, wr.writes + 1);
	tap_ok(page->head == h && !memcmp(&got, &p, sizeof(p)),
	       "a copy filled but not published is not read");
	put(424242);
	make_params(&p, 424242);
	tw_read_params(page, &got);
	tap_ok(!memcmp(&got, &p, sizeof(p)) && page->head != h,
	       "after a dead writer, readers see the next writer's publication (in the dead "
	       "one's copy: it was nobody's)");
	tap_ok(tw_publish(page, h, dead) == -EAGAIN,
	       "a publication over a head that has moved on fails");

	/* readers refuse pages they do not understand */
	page->magic ^= 1;
	tap_ok(tw_page_check(page) == -EPROTO, "page check: bad magic is -EPROTO");
	page->magic ^= 1;
	page->version++;
	tap_ok(tw_page_check(page) == -EPROTO, "page check: bad version is -EPROTO");
	page->version--;
	page->size--;
	tap_ok(tw_page_check(page) == -EPROTO, "page check: bad size is -EPROTO");
	page->size++;
	tap_ok(tw_page_check(page) == 0, "page check: restored page is accepted");
	munmap(page, TW_PAGE_BYTES);
}

/* ---- phase 2: virtual clocks never go backwards under rate changes -------- */

static struct tw_host host;
static struct tw_memo memos[2];
static struct tw_fold folds[TW_FOLD_SLOTS];
static const uint64_t *rates; /* the writer's cycle, 0-terminated */
static const uint64_t rates_10_1[] = { (uint64_t)10 << 32, TW_RATE_ONE, 0 };
static const uint64_t rates_mixed[] = { (uint64_t)10 << 32, TW_RATE_ONE, (uint64_t)2 << 32,
					 (uint64_t)3 << 31, 429496730 /* 0.1 */, 0 };

/* What a reader (thread or process) found; in shared memory for the child. */
struct result2 {
	uint64_t reads, back, errors;
	int64_t worst; /* largest step backwards, ns */
};

static const long mono_ids[3] = { 1 /* MONOTONIC */, 4 /* MONOTONIC_RAW */,
				   7 /* BOOTTIME */ };

static void note_read(struct result2 *r, int64_t *prev, int64_t v)
{
	r->reads++;
	if (v < *prev) {
		r->back++;
		if (*prev - v > r->worst)
			r->worst = *prev - v;
	}
	*prev = v;
}

/* mode 0: tw_gettime(MONOTONIC); 1: tw_gettime cycling MONOTONIC, RAW and
 * BOOTTIME; 2: tw_virtual_lines. */
static void read_loop(struct result2 *r, int mode, int64_t deadline)
{
	int64_t prev[TW_NLINES] = { 0 };
	unsigned n = 0;

	for (;;) {
		if (mode == 2) {
			int64_t h[TW_NLINES], v[TW_NLINES];
			if (tw_virtual_lines(page, &host, h, v)) {
				r->errors++;
				continue;
			}
			for (int l = TW_LINE_MONOTONIC; l < TW_NLINES; l++)
				note_read(r, &prev[l], v[l]);
		} else {
			long id = mode == 0 ? 1 : mono_ids[n % 3];
			struct tw_ts ts;
			if (tw_gettime(page, &host, id, &ts) || ts.nsec < 0 || ts.nsec >= TW_NSEC) {
				r->errors++;
				continue;
			}
			note_read(r, &prev[tw_clock_line((int)id)], tw_ts_ns(&ts));
		}
		if (++n % 4096 == 0)
			sched_yield(); /* as in phase 1 */
		if (n % 256 == 0 && (deadline ? now_ns() >= deadline
						: __atomic_load_n(&stop, __ATOMIC_RELAXED)))
			break;
	}
}

struct reader2 {
	pthread_t t;
	int mode;
	struct result2 res;
};

static void *reader2_main(void *arg)
{
	struct reader2 *r = arg;
	read_loop(&r->res, r->mode, 0);
	return NULL;
}

struct writer2 {
	pthread_t t;
	uint64_t changes, refused, errors;
};

static void *writer2_main(void *arg)
{
	struct writer2 *w = arg;
	unsigned nrates = 0;

	while (rates[nrates])
		nrates++;
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		struct tw_change c = { .what = TW_CH_RATE, .rate = rates[w->changes % nrates] };
		enum tw_refusal why;
		int r = tw_page_change(page, -1, &host, &c, NULL, &why);

		if (r == -ERANGE)
			w->refused++;
		else if (r)
			w->errors++;
		else
			w->changes++;
		spin_ns(20000);
	}
	return NULL;
}

/* The start of mapping `name` ("[vvar]", "[vvar_vclock]") in /proc/self/maps,
 * or null. */
static void phase_rate_changes(int data_page)
{
	struct reader2 rd[NREADERS];
	struct writer2 wr = { 0 };
	int64_t now[TW_NLINES];

	tw_host_init(&host, (const void *)getauxval(AT_SYSINFO_EHDR));
	rates = rates_10_1;
	if (data_page) {
		long r = tw_vvar_use(&host, find_mapping("[vvar]"), find_mapping("[vvar_vclock]"));
		if (r) {
			tap_skip(r == -ENOTSUP ? "phase 3: the kernel's data page is not one this engine knows"
					       : "phase 3: the kernel's data page is not usable here");
			return;
		}
		memset(memos, 0, sizeof(memos));
		memset(folds, 0, sizeof(folds));
		host.memo = memos;
		host.fold = folds;
		rates = rates_mixed;
	}
	tap_diag("phase %d: host clocks read through %s", 2 + data_page,
		 data_page ? "the kernel's data page, folds and memos"
		 : host.clock_gettime ? "the vDSO" : "the system call (no vDSO found)");
	page = map_page();
	if (!tap_ok(tw_host_lines(&host, now) == 0, "tw_host_lines reads the host clocks"))
		return;
	struct tw_params p0;
	tw_params_init(&p0, now, now, TW_RATE_ONE);
	tw_page_init(page, &p0);
	uint32_t head0 = page->head;

	/* the child reads the same page from another process */
	struct result2 *child = mmap(NULL, sizeof(*child), PROT_READ | PROT_WRITE,
				     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pid_t pid = -1;
	if (child != MAP_FAILED) {
		memset(child, 0, sizeof(*child));
		pid = fork();
		if (pid == 0) {
			read_loop(child, 1, now_ns() + PHASE_NS);
			_exit(0);
		}
	}

	memset(rd, 0, sizeof(rd));
	__atomic_store_n(&stop, 0, __ATOMIC_RELAXED);
	for (int i = 0; i < NREADERS; i++) {
		rd[i].mode = i % 3;
		pthread_create(&rd[i].t, NULL, reader2_main, &rd[i]);
	}
	pthread_create(&wr.t, NULL, writer2_main, &wr);
	int64_t end = now_ns() + PHASE_NS;
	while (now_ns() < end)
		usleep(10000);
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	pthread_join(wr.t, NULL);
	for (int i = 0; i < NREADERS; i++)
		pthread_join(rd[i].t, NULL);

	static const char *const how[3] = { "tw_gettime(MONOTONIC)",
					    "tw_gettime(MONOTONIC/RAW/BOOTTIME)",
					    "tw_virtual_lines" };
	tap_diag("phase %d: %llu rate changes (%llu refused, %llu host read errors)", 2 + data_page,
		 (unsigned long long)wr.changes, (unsigned long long)wr.refused,
		 (unsigned long long)wr.errors);
	tap_ok(wr.changes > 500 && wr.refused == 0 && wr.errors == 0,
	       "the writer rebased and changed the rate many times (%llu)",
	       (unsigned long long)wr.changes);
	/* a change to a lower rate publishes twice: pending, then settled */
	tap_ok(page->head / TW_COPIES - head0 / TW_COPIES >= (uint32_t)wr.changes,
	       "the head counts every change's publications (%u for %llu changes)",
	       page->head / TW_COPIES - head0 / TW_COPIES, (unsigned long long)wr.changes);
	for (int i = 0; i < NREADERS; i++) {
		struct result2 *r = &rd[i].res;
		tap_ok(r->back == 0 && r->errors == 0,
		       "thread %d, %s: never backwards (%llu of %llu reads, worst %lld ns; "
		       "%llu errors)",
		       i, how[rd[i].mode], (unsigned long long)r->back,
		       (unsigned long long)r->reads, (long long)r->worst,
		       (unsigned long long)r->errors);
		tap_ok(r->reads > 1000, "thread %d read many times (%llu)", i,
		       (unsigned long long)r->reads);
	}

	if (!tap_ok(pid > 0, "fork a reader process"))
		return;
	int status = 0;
	waitpid(pid, &status, 0);
	tap_ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the reader process exited cleanly");
	tap_ok(child->back == 0 && child->errors == 0,
	       "other process, %s: never backwards (%llu of %llu reads, worst %lld ns; "
	       "%llu errors)",
	       how[1], (unsigned long long)child->back, (unsigned long long)child->reads,
	       (long long)child->worst, (unsigned long long)child->errors);
	tap_ok(child->reads > 1000, "the other process read many times (%llu)",
	       (unsigned long long)child->reads);
	munmap(child, sizeof(*child));
	munmap(page, TW_PAGE_BYTES);
}

int main(void)
{
	phase_torn();
	phase_rate_changes(0);
	phase_rate_changes(1);
	return tap_done();
}
