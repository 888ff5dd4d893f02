/* Clock maths: the affine maps, rebasing and changes.  Pure and freestanding. */
#include "clockmath.h"

int64_t tw_line_max(enum tw_line line)
{
	return line >= TW_LINE_MONOTONIC ? TW_MONO_MAX : TW_REALTIME_MAX;
}

void tw_params_init(struct tw_params *p, const int64_t host[TW_NLINES],
		    const int64_t ref[TW_NLINES], uint64_t rate)
{
	for (int i = 0; i < TW_NLINES; i++) {
		p->base[i].host = host[i];
		p->base[i].virt = ref[i];
	}
	p->rate = rate;
	p->saved_rate = rate ? rate : TW_RATE_ONE;
	p->settime = TW_SETTIME_VIRTUAL;
	p->pad = 0;
}

/* At a rate other than 0 and 1 the members that read the kernel's data page
 * see host time below the nanosecond (tw_rate_ts): one that read just before
 * host instant `host` may have seen the line up to 1 ns past it.  The line's
 * value 1 ns later is at or above all of those; a rebase keeps that value (no
 * line steps back; it moves on by R ns at most). */
int64_t tw_map_kept(const struct tw_params *p, enum tw_line line, int64_t host)
{
	const int64_t late = p->rate != 0 && p->rate != TW_RATE_ONE;

	return tw_map(p, line, tw_add_sat(host, late));
}

void tw_rebase(struct tw_params *p, const int64_t host[TW_NLINES])
{
	for (int i = 0; i < TW_NLINES; i++) {
		p->base[i].virt = tw_map_kept(p, (enum tw_line)i, host[i]);
		p->base[i].host = host[i];
	}
}

/* Shift `line` and its twin (TAI follows REALTIME, RAW follows MONOTONIC) by
 * `delta`, refusing to leave [0, max].  Checked, not saturating: a refused change
 * must leave the namespace as it was. */
static int shift(struct tw_params *p, enum tw_line line, enum tw_line twin, int64_t delta)
{
	int64_t max = tw_line_max(line), a, b;
	if (__builtin_add_overflow(p->base[line].virt, delta, &a) || a < 0 || a > max)
		return -1;
	if (twin != line) {
		if (__builtin_add_overflow(p->base[twin].virt, delta, &b) || b < 0 || b > max)
			return -1;
		p->base[twin].virt = b;
	}
	p->base[line].virt = a;
	return 0;
}

/* Set `line` to ref + off: the move is the difference from where it is now. */
static int set_from_ref(struct tw_params *p, enum tw_line line, enum tw_line twin,
			int64_t ref, int64_t off, int64_t *delta)
{
	int64_t target;
	if (__builtin_add_overflow(ref, off, &target) || target < 0 ||
	    target > tw_line_max(line))
		return -1;
	if (__builtin_sub_overflow(target, p->base[line].virt, delta))
		return -1;
	return shift(p, line, twin, *delta);
}

enum tw_refusal tw_apply(struct tw_params *pp, const struct tw_change *c,
			 const int64_t host[TW_NLINES], const int64_t ref[TW_NLINES])
{
	struct tw_params p = *pp;
	int64_t delta;

	tw_rebase(&p, host);

	if (c->what & TW_CH_SETTIME)
		p.settime = c->settime;

	if (c->what & TW_CH_RATE) {
		if (c->rate > TW_RATE_MAX)
			return TW_BAD_RATE;
		if (c->rate == 0 && p.rate != 0)
			p.saved_rate = p.rate;
		else if (c->rate != 0)
			p.saved_rate = c->rate;
		p.rate = c->rate;
	}
	if ((c->what & TW_CH_FREEZE) && p.rate != 0) {
		p.saved_rate = p.rate;
		p.rate = 0;
	}
	if ((c->what & TW_CH_RESUME) && p.rate == 0)
		p.rate = p.saved_rate;

	if (c->what & TW_CH_AT) {
		if (c->at < 0 ||
		    shift(&p, TW_LINE_REALTIME, TW_LINE_TAI, c->at - p.base[TW_LINE_REALTIME].virt))
			return TW_BAD_REALTIME;
	}
	if ((c->what & TW_CH_OFFSET) &&
	    set_from_ref(&p, TW_LINE_REALTIME, TW_LINE_TAI, ref[TW_LINE_REALTIME], c->offset,
			 &delta))
		return TW_BAD_REALTIME;

	if (c->what & TW_CH_MONOTONIC) {
		if (set_from_ref(&p, TW_LINE_MONOTONIC, TW_LINE_RAW, ref[TW_LINE_MONOTONIC],
				 c->monotonic, &delta))
			return TW_BAD_MONOTONIC;
		if (delta < 0 && !c->creating)
			return TW_BACK_MONOTONIC;
	}
	if (c->what & TW_CH_BOOTTIME) {
		if (set_from_ref(&p, TW_LINE_BOOTTIME, TW_LINE_BOOTTIME, ref[TW_LINE_BOOTTIME],
				 c->boottime, &delta))
			return TW_BAD_BOOTTIME;
		if (delta < 0 && !c->creating)
			return TW_BACK_BOOTTIME;
	}

	if (c->what & TW_CH_ADVANCE) {
		if (c->advance < 0)
			return TW_BAD_ADVANCE;
		if (shift(&p, TW_LINE_REALTIME, TW_LINE_TAI, c->advance))
			return TW_BAD_REALTIME;
		if (shift(&p, TW_LINE_MONOTONIC, TW_LINE_RAW, c->advance))
			return TW_BAD_MONOTONIC;
		if (shift(&p, TW_LINE_BOOTTIME, TW_LINE_BOOTTIME, c->advance))
			return TW_BAD_BOOTTIME;
	}

	/* Frozen, a waiter's deadline came: the monotonic lines catch up with it
	 * (never back, never when running: then the clock gets there itself). */
	if ((c->what & TW_CH_REACH) && p.rate == 0 && c->reach_line >= TW_LINE_MONOTONIC &&
	    c->reach_line < TW_NLINES && c->reach > p.base[c->reach_line].virt) {
		delta = c->reach - p.base[c->reach_line].virt;
		if (shift(&p, TW_LINE_MONOTONIC, TW_LINE_RAW, delta))
			return TW_BAD_MONOTONIC;
		if (shift(&p, TW_LINE_BOOTTIME, TW_LINE_BOOTTIME, delta))
			return TW_BAD_BOOTTIME;
	}

	*pp = p;
	return TW_OK;
}
