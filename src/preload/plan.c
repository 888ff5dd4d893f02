/* Planning a wait on a virtual clock (DESIGN section 2, "Waiting under a
 * virtual clock"), and the loop that waits through libc or the kernel with a
 * host timeout and plans again when the namespace changes. */
#include <errno.h>
#include <pthread.h>
#include <time.h>

#include "control.h"
#include "preload.h"
#include "read.h"
#include "timewarp.h"
#include "waits.h"

long tw_virtual_ns(const struct tw_member *m, clockid_t clk, int64_t *ns)
{
	struct tw_ts ts;
	long r = tw_read_clock(m->page, &m->host, clk, &ts);

	if (!r)
		*ns = tw_ts_ns(&ts);
	return r;
}

long tw_host_ns(const struct tw_member *m, clockid_t clk, int64_t *ns)
{
	struct tw_ts ts;
	long r = tw_host_gettime(&m->host, clk, &ts);

	if (!r)
		*ns = tw_ts_ns(&ts);
	return r;
}

long tw_plan(const struct tw_member *m, clockid_t clk, int64_t deadline, clockid_t host_clk,
	     struct tw_plan *pl)
{
	struct tw_params p;
	int64_t vnow;
	long r;

	/* the generation first: a change after it is a change after the plan */
	pl->gen = __atomic_load_n(&m->page->head, __ATOMIC_ACQUIRE);
	tw_read_params(m->page, &p);
	if ((r = tw_virtual_ns(m, clk, &vnow)) || (r = tw_host_ns(m, host_clk, &pl->host_now)))
		return r;
	pl->rate = p.rate;
	pl->vnow = vnow;
	pl->left = tw_sub_sat(deadline, vnow);
	/* past: a host instant plainly past too (one "now" would cost the host a
	 * timer's slack before it answers) */
	pl->host_at = pl->left > 0 ? tw_add_sat(pl->host_now, tw_unscale(pl->left, p.rate))
				   : pl->host_now - (pl->host_now > TW_NSEC ? TW_NSEC : pl->host_now);
	return 0;
}

void tw_plan_keep(const struct tw_plan *was, struct tw_plan *pl)
{
	if (was->rate == 0 && pl->rate == 0 && was->vnow == pl->vnow)
		pl->host_at = was->host_at;
}

void tw_frozen_expired(const struct tw_member *m, clockid_t clk, int64_t deadline)
{
	struct tw_change c = { .what = TW_CH_REACH, .reach = deadline };
	enum tw_refusal why;
	struct tw_params p;
	struct tw_ns *self;
	int line = tw_clock_line(clk);
	int64_t vnow;

	if (line < TW_LINE_MONOTONIC || !m->page_path)
		return; /* REALTIME and TAI stay where they were frozen */
	/* nothing to do (another waiter got there first, or it runs again): no
	 * write, which would wake every waiter of the namespace */
	tw_read_params(m->page, &p);
	if (p.rate != 0 || tw_virtual_ns(m, clk, &vnow) || vnow >= deadline)
		return;
	c.reach_line = (uint32_t)line;
	/* A member that may not write the page (another user's setuid program)
	 * leaves the clocks as they are. */
	if (tw_ns_open_path(m->page_path, &self))
		return;
	tw_ns_change(self, &c, NULL, &why);
	tw_ns_close(self);
}

/* One try, with the watching undone if the thread is cancelled inside it. */
static enum tw_try watched_try(struct tw_watch *w, tw_try_fn *try, void *ctx,
			       const struct tw_plan *pl)
{
	enum tw_try t;

	pthread_cleanup_push(tw_unwatch_cleanup, w);
	t = try(ctx, pl);
	pthread_cleanup_pop(0);
	return t;
}

enum tw_try tw_wait(clockid_t clk, int64_t deadline, clockid_t host_clk, int kick,
		    pthread_cond_t *cond, int once, tw_try_fn *try, void *ctx)
{
	const struct tw_member *m = tw_member_fast();
	struct tw_plan pl, was = { .rate = 1 };
	struct tw_watch w = { -1 };
	enum tw_try t;

	tw_kicked(); /* a kick meant for an earlier wait is not this one's */
	for (;;) {
		int changed, kicked;
		int64_t vnow;

		if (tw_plan(m, clk, deadline, host_clk, &pl)) {
			/* no clock to plan with (never on a working system): wait
			 * the virtual deadline as host time rather than not at all */
			pl.left = 0;
			pl.host_now = pl.host_at = deadline;
		}
		tw_plan_keep(&was, &pl);
		was = pl;
		/* a deadline already past is one try, which the host answers at
		 * once: no watching (nor its cost) */
		if (pl.left > 0 && w.slot < 0 && kick != TW_KICK_NONE) {
			tw_watch(&w, kick, cond);
			kick = w.slot < 0 ? TW_KICK_NONE : kick; /* tried once */
			/* a change between the plan and the watching: plan again */
			if (__atomic_load_n(&m->page->head, __ATOMIC_ACQUIRE) != pl.gen)
				continue;
		}
		tw_watch_planned(&w, pl.gen);
		t = w.slot >= 0 ? watched_try(&w, try, ctx, &pl) : try(ctx, &pl);
		changed = __atomic_load_n(&m->page->head, __ATOMIC_ACQUIRE) != pl.gen;
		kicked = tw_kicked();
		if (t == TW_TRY_DONE || (t == TW_TRY_INTR && !changed && !kicked) ||
		    (t == TW_TRY_TIMEOUT && pl.left <= 0))
			break;
		if (t == TW_TRY_TIMEOUT && !changed && pl.rate == 0) {
			tw_frozen_expired(m, clk, deadline);
			break;
		}
		/* kicked, or timed out on a plan the namespace has left behind, or
		 * early (slowed, set back): plan again, unless the deadline is there */
		if (t == TW_TRY_TIMEOUT && !changed && !tw_virtual_ns(m, clk, &vnow) && vnow >= deadline)
			break;
		if (once) {
			t = TW_TRY_DONE;
			break;
		}
	}
	tw_unwatch(&w);
	return t;
}
