/* Planning a wait on a virtual clock (DESIGN section 2, "Waiting under a
 * virtual clock"): the host instant at which the namespace's clock reaches a
 * deadline, d / R of host time from now, or d when frozen (the virtual time
 * left elapses at host speed). */
#include "clockmath.h"
#include "read.h"
#include "wait.h"

long tw_virtual_now(long clk, int64_t *ns)
{
	const struct tw_rt *rt = tw_rt();
	struct tw_ts ts;
	long r = tw_read_clock(rt->page, &rt->host, clk, &ts);

	if (!r)
		*ns = tw_ts_ns(&ts);
	return r;
}

long tw_host_now(long clk, int64_t *ns)
{
	struct tw_ts ts;
	long r = tw_host_gettime(&tw_rt()->host, clk, &ts);

	if (!r)
		*ns = tw_ts_ns(&ts);
	return r;
}

long tw_plan(long clk, int64_t deadline, long host_clk, struct tw_plan *pl)
{
	const struct tw_rt *rt = tw_rt();
	struct tw_params p;
	long r;

	/* the head first: a change after it is a change after the plan */
	pl->head = tw_head(rt->page);
	tw_read_params(rt->page, &p);
	if ((r = tw_virtual_now(clk, &pl->vnow)) || (r = tw_host_now(host_clk, &pl->host_now)))
		return r;
	pl->rate = p.rate;
	pl->left = tw_sub_sat(deadline, pl->vnow);
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

void tw_frozen_expired(long clk, int64_t deadline)
{
	struct tw_change c = { .what = TW_CH_REACH, .reach = deadline };
	int line = tw_clock_line(clk);
	struct tw_params p;
	int64_t vnow;

	if (line < TW_LINE_MONOTONIC)
		return; /* REALTIME and TAI stay where they were frozen */
	/* nothing to do (another waiter got there first, or it runs again): no
	 * change, which would wake every waiter of the namespace */
	tw_read_params(tw_rt()->page, &p);
	if (p.rate != 0 || tw_virtual_now(clk, &vnow) || vnow >= deadline)
		return;
	c.reach_line = (uint32_t)line;
	/* a member that may not write the page (another user's setuid program)
	 * leaves the clocks as they are */
	tw_rt_change(&c, 0);
}
