/* Changing a namespace (DESIGN section 2, "Changing a namespace"): the
 * writer's side of the clock page protocol (clockpage.c says why it is built
 * this way).  Freestanding, like the rest of the engine: the CLI (through the
 * control library) and a member's runtime (a settimeofday inside) both make
 * their changes with it.
 *
 * A writer claims a copy with an OFD lock on a byte of the page's file (the
 * kernel drops it if the writer dies), builds its change on the copy in force,
 * fills its own copy and publishes it with a compare-and-swap of the head; if
 * another writer published first, it builds again on that.  No writer waits
 * for another: a stopped writer holds one copy, the others use the rest.  A
 * change that lowers the rate is anchored a little ahead of the host clock and
 * published pending, then settled once the host clock has passed the anchor. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "clockmath.h"
#include "change.h"
#include "engine.h"
#include "read.h"

/* How far ahead of the host clock a pending change's switch starts out; it
 * doubles each time the writer was too slow to publish before it (preempted,
 * stopped, single-stepped), up to a second. */
#define LEAD_NS (250 * 1000LL)
#define LEAD_MAX_NS TW_NSEC
/* A pending change is published only while at least half its lead is left
 * before the switch, so that the instructions from that check to the
 * compare-and-swap (a few, against the many of the whole attempt) have half
 * the lead to run in: a writer slow enough to use half its lead on an
 * attempt (preempted, traced, under a sanitizer) makes the next attempt with
 * a lead twice as long, never with a few microseconds to spare.  (A writer
 * stopped exactly between the check and the compare-and-swap for longer
 * than that half still publishes late; docs/design.md says what that costs.) */
#define GUARD_MIN_NS (20 * 1000LL)
/* A switch further ahead than this is not one a writer made (a damaged page):
 * building on it does not wait for it. */
#define SWITCH_MAX_NS (2 * LEAD_MAX_NS)

struct writer {
	struct tw_page *pg;
	int fd;  /* the page's file, for claims; -1: the caller is the only writer */
	const struct tw_host *h;
	int own; /* the copy claimed, -1 for none */
};

static void pause_ns(const struct tw_host *h, int64_t ns)
{
	struct tw_ts ts = tw_ns_ts(ns);

	/* the system call itself (through the gate in a member, where libc's
	 * sleeps and the trapped system call are the namespace's) */
	tw_host_syscall(h, SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, (long)&ts, 0, 0, 0);
}

static int claim_byte(const struct writer *w, unsigned i, short type)
{
	struct flock fl = { .l_type = type, .l_whence = SEEK_SET, .l_start = TW_CLAIM_BYTE(i),
			    .l_len = 1 };

	return (int)tw_host_syscall(w->h, SYS_fcntl, w->fd, F_OFD_SETLK, (long)&fl, 0, 0, 0);
}

static void release(struct writer *w)
{
	if (w->own >= 0 && w->fd >= 0)
		claim_byte(w, (unsigned)w->own, F_UNLCK);
	w->own = -1;
}

/* A copy that no head names and no other writer holds.  Every copy but the one
 * in force held by other writers (stopped ones, or many at once): try again for
 * a while, then -EBUSY. */
static int claim(struct writer *w)
{
	for (int tries = 0; tries < 200; tries++) {
		for (unsigned i = 0; i < TW_COPIES; i++) {
			if (i == TW_HEAD_COPY(tw_head(w->pg)))
				continue;
			if (w->fd >= 0) {
				int r = claim_byte(w, i, F_WRLCK);

				if (r == -EAGAIN || r == -EACCES)
					continue; /* another writer's */
				if (r)
					return r;
			}
			/* held now: no one else can publish it, so if no head
			 * names it now, none will until this writer does */
			if (i == TW_HEAD_COPY(tw_head(w->pg))) {
				if (w->fd >= 0)
					claim_byte(w, i, F_UNLCK);
				continue;
			}
			w->own = (int)i;
			return 0;
		}
		pause_ns(w->h, 10 * 1000 * 1000);
	}
	return -EBUSY;
}

/* How far the host clocks are from a change's switch instants: the least
 * lead of any line (how long a pending change may still be published) and how
 * long until every monotonic-class line has reached its switch (0 when they
 * all have; REALTIME and TAI follow host steps either way). */
static long switch_gap(const struct tw_host *h, const int64_t sw[TW_NLINES], int64_t *least,
		       int64_t *wait)
{
	int64_t now[TW_NLINES];
	long r = tw_host_lines(h, now);

	*least = INT64_MAX;
	*wait = 0;
	for (int l = 0; l < TW_NLINES && !r; l++) {
		int64_t d = tw_sub_sat(sw[l], now[l]);

		if (d < *least)
			*least = d;
		if (l >= TW_LINE_MONOTONIC && d > *wait)
			*wait = d;
	}
	return r;
}

/* Waits for a pending copy's switch to pass, so that the lines in force are
 * its new ones alone. */
static long wait_switch(const struct tw_host *h, const int64_t sw[TW_NLINES])
{
	int64_t least, left;
	long r;

	while (!(r = switch_gap(h, sw, &least, &left)) && left > 0) {
		if (left > SWITCH_MAX_NS)
			return 0;
		pause_ns(h, left);
	}
	return r;
}

static int64_t caller_line(const struct tw_state *cs, enum tw_line line, int64_t host)
{
	const int late = 1; /* see tw_map_kept: a change keeps the value 1 ns later */
	struct tw_params p = cs->p;

	if (cs->pending && host < cs->switch_host[line]) {
		p.base[line] = cs->prev[line];
		p.rate = cs->prev_rate;
	}
	return p.rate != 0 && p.rate != TW_RATE_ONE ? tw_map(&p, line, tw_add_sat(host, late))
						     : tw_map(&p, line, host);
}

void tw_caller_lines(const struct tw_page *caller, const int64_t host[TW_NLINES],
		     int64_t ref[TW_NLINES], uint64_t *rate)
{
	struct tw_state cs;

	if (!caller) {
		for (int i = 0; i < TW_NLINES; i++)
			ref[i] = host[i];
		*rate = TW_RATE_ONE;
		return;
	}
	tw_read_state(caller, &cs);
	for (int i = 0; i < TW_NLINES; i++)
		ref[i] = caller_line(&cs, (enum tw_line)i, host[i]);
	*rate = cs.p.rate;
}

static void wake(const struct tw_host *h, struct tw_page *pg)
{
	tw_host_syscall(h, SYS_futex, (long)&pg->head, FUTEX_WAKE, INT_MAX, 0, 0, 0);
}

/* Once the switch has passed, the same lines settled, so that readers are
 * back on the fast paths; unless another publication came on top (it was
 * built on these lines, after the switch). */
static void settle(struct writer *w, const struct tw_params *p, const int64_t sw[TW_NLINES],
		   uint32_t published)
{
	uint32_t h;

	if (wait_switch(w->h, sw) || claim(w))
		return; /* readers go on with the pending copy: slower, still right */
	while ((h = tw_head(w->pg)) == published) {
		tw_copy_fill(&w->pg->copy[w->own], p);
		if (!tw_publish(w->pg, h, (unsigned)w->own)) {
			wake(w->h, w->pg);
			break;
		}
	}
	release(w);
}

int tw_page_change(struct tw_page *pg, int fd, const struct tw_host *h,
		   const struct tw_change *c, const struct tw_page *caller,
		   enum tw_refusal *refusal)
{
	struct writer w = { pg, fd, h, -1 };
	int64_t lead = LEAD_NS, sw[TW_NLINES], least, left;
	struct tw_params p;
	uint32_t published = 0;
	int pending = 0;
	long r;

	*refusal = TW_OK;
	if ((r = claim(&w)))
		return (int)r;
	for (;;) {
		int64_t now[TW_NLINES], ref[TW_NLINES];
		struct tw_state cur;
		uint64_t rate;

		tw_read_state(pg, &cur);
		if (cur.pending && (r = wait_switch(h, cur.switch_host)))
			break;
		/* read after the head: later than every anchor of the copy in force */
		if ((r = tw_host_lines(h, now)))
			break;
		tw_caller_lines(caller, now, ref, &rate);
		p = cur.p;
		if ((*refusal = tw_apply(&p, c, now, ref)) != TW_OK) {
			r = -ERANGE;
			break;
		}
		pending = p.rate < cur.p.rate;
		if (pending) {
			/* anchored ahead, at the switch */
			for (int l = 0; l < TW_NLINES; l++)
				sw[l] = tw_add_sat(now[l], lead);
			tw_caller_lines(caller, sw, ref, &rate);
			p = cur.p;
			if ((*refusal = tw_apply(&p, c, sw, ref)) != TW_OK) {
				r = -ERANGE;
				break;
			}
			tw_copy_fill_pending(&pg->copy[w.own], &cur.p, &p, sw);
			/* too slow to publish before the switch: again, further ahead */
			if ((r = switch_gap(h, sw, &least, &left)))
				break;
			if (least < lead / 2 || least < GUARD_MIN_NS) {
				lead = lead * 2 > LEAD_MAX_NS ? LEAD_MAX_NS : lead * 2;
				continue;
			}
		} else {
			tw_copy_fill(&pg->copy[w.own], &p);
		}
		if (!tw_publish(pg, cur.head, (unsigned)w.own)) {
			published = TW_HEAD_NEXT(cur.head, (unsigned)w.own);
			r = 0;
			break;
		}
		/* another publication came first: build on it */
	}
	release(&w);
	if (r)
		return (int)r;
	wake(h, pg);
	if (pending)
		settle(&w, &p, sw, published);
	return 0;
}
