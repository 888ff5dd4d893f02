/* Host time through the host vDSO's entry point: where the kernel's data page
 * is not one the engine knows (kernels before 6.15, a kernel time namespace,
 * TIMEWARP_HOST_VDSO=call), for the clocks the page does not serve (the ALARM
 * clocks, CPU time), and where its clock source has no counter the engine
 * reads (HPET).  Without a vDSO, the system call (syscall.c).  Whole
 * nanoseconds: the host vDSO rounds its reading down to them.  The common
 * case is inline (hostcall.h). */
#include "clockmath.h"
#include "engine.h"
#include "hostcall.h"
#include "read.h"

/* The host reading in *ts (none if the copy is frozen and the clock one the
 * data page serves) mapped through the copy head `s` names, into *ts.  0, or 1
 * when the head has moved since. */
static int map_reading(const struct tw_page *pg, uint32_t s, int line, long clockid,
		       struct tw_ts *ts)
{
	const struct tw_copy *c = tw_copy_of(pg, s);
	uint64_t rate = TW_LOAD(c->rate);
	int64_t anchor_sec, host = 0;
	struct tw_base b;

	if (rate != 0)
		host = tw_ts_ns(ts);
	if (rate == TW_RATE_PENDING) {
		/* the line in force at this host reading: the one before the
		 * change until its switch, the new one from then on */
		if (host < TW_LOAD(c->switch_host[line])) {
			b.host = TW_LOAD(c->prev[line].host);
			b.virt = TW_LOAD(c->prev[line].virt);
			rate = TW_LOAD(c->prev_rate);
		} else {
			b.host = TW_LOAD(c->p.base[line].host);
			b.virt = TW_LOAD(c->p.base[line].virt);
			rate = TW_LOAD(c->p.rate);
		}
		anchor_sec = tw_ns_ts(b.host).sec + 2;
	} else {
		b.host = TW_LOAD(c->p.base[line].host);
		b.virt = TW_LOAD(c->p.base[line].virt);
		anchor_sec = TW_LOAD(c->fast[line].anchor_sec);
	}
	if (tw_head_moved(pg, s))
		return 1;
	/* A COARSE reading lags the fine instant the page was last rebased at by
	 * up to a tick; mapped with a new, higher rate (or a resume) that lag
	 * would step the clock back.  Read within a second behind the anchor, it
	 * is the anchor.  (`anchor_sec` is a second past the anchor's: below it
	 * the reading may be behind.) */
	if (rate != 0 && tw_coarse_clock(clockid) && ts->sec < anchor_sec && host < b.host &&
	    (uint64_t)b.host - (uint64_t)host < 1000000000ULL)
		host = b.host;
	*ts = tw_ns_ts(tw_map_line((enum tw_line)line, b, rate, host));
	return 0;
}

long tw_call_map(const struct tw_page *pg, const struct tw_host *h, uint32_t s, int line,
		 long clockid, struct tw_ts *ts)
{
	long r;

	while (map_reading(pg, s, line, clockid, ts)) {
		/* a publication meanwhile: read again */
		s = tw_head(pg);
		if (tw_vvar_serves(clockid) && TW_LOAD(tw_copy_of(pg, s)->rate) == 0)
			continue; /* frozen: no host time needed */
		r = tw_host_call(h, clockid, ts);
		if (r)
			return r;
	}
	return 0;
}

long tw_read_call(const struct tw_page *pg, const struct tw_host *h, long clockid,
		  struct tw_ts *ts)
{
	int line = tw_clock_line(clockid);

	if (line < 0)
		return tw_host_gettime(h, clockid, ts);
	return tw_call(pg, h, line, clockid, ts);
}

long tw_call_realtime(const struct tw_page *pg, const struct tw_host *h, struct tw_ts *ts)
{
	return tw_call(pg, h, TW_LINE_REALTIME, 0, ts);
}

long tw_call_monotonic(const struct tw_page *pg, const struct tw_host *h, struct tw_ts *ts)
{
	return tw_call(pg, h, TW_LINE_MONOTONIC, 1, ts);
}

long tw_call_monotonic_raw(const struct tw_page *pg, const struct tw_host *h, struct tw_ts *ts)
{
	return tw_call(pg, h, TW_LINE_RAW, 4, ts);
}

long tw_call_realtime_coarse(const struct tw_page *pg, const struct tw_host *h, struct tw_ts *ts)
{
	return tw_call(pg, h, TW_LINE_REALTIME, 5, ts);
}

long tw_call_monotonic_coarse(const struct tw_page *pg, const struct tw_host *h, struct tw_ts *ts)
{
	return tw_call(pg, h, TW_LINE_MONOTONIC, 6, ts);
}

long tw_call_boottime(const struct tw_page *pg, const struct tw_host *h, struct tw_ts *ts)
{
	return tw_call(pg, h, TW_LINE_BOOTTIME, 7, ts);
}

long tw_call_tai(const struct tw_page *pg, const struct tw_host *h, struct tw_ts *ts)
{
	return tw_call(pg, h, TW_LINE_TAI, 11, ts);
}
