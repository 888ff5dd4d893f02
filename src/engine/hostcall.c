/* Host time through the host vDSO's entry point: where the kernel's data page
 * is not one the engine knows (kernels before 6.15, a kernel time namespace,
 * TIMEWARP_HOST_VDSO=call), for the clocks the page does not serve (the ALARM
 * clocks, CPU time), and where its clock source has no counter the engine
 * reads (HPET).  Without a vDSO, the system call (syscall.c).  Whole
 * nanoseconds: the host vDSO rounds its reading down to them. */
#include "clockmath.h"
#include "engine.h"
#include "read.h"

/* A COARSE reading lags the fine instant the page was last rebased at by up
 * to a tick; mapped with a new, higher rate (or a resume) that lag would step
 * the clock back.  Read within a second behind the anchor, it is the anchor.
 * `anchor_sec` is a second past the anchor's (struct tw_fast): below it the
 * reading may be behind. */
static void coarse_floor(long clockid, struct tw_ts *ht, int64_t anchor_sec, int64_t base_host)
{
	if (tw_coarse_clock(clockid) && ht->sec < anchor_sec) {
		int64_t hns = tw_ts_ns(ht);

		if (hns < base_host && hns > base_host - 1000000000LL)
			*ht = tw_ns_ts(base_host);
	}
}

/* Rate 1: the offset alone, in the caller's buffer; 1 when out of the line's
 * range (the caller maps the line in full, which clamps). */
static int add_offset(int line, struct tw_ts *ts, int64_t off_sec, int64_t off_nsec)
{
	int64_t sec = ts->sec + off_sec, nsec = ts->nsec + off_nsec;

	if (nsec >= 1000000000LL) {
		nsec -= 1000000000LL;
		sec++;
	}
	if (__builtin_expect((uint64_t)sec >= tw_line_max_sec(line), 0))
		return 1;
	ts->sec = sec;
	ts->nsec = nsec;
	return 0;
}

long tw_read_call(const struct tw_page *pg, const struct tw_host *h, long clockid,
		  struct tw_ts *ts)
{
	int line = tw_clock_line(clockid);
	const struct tw_copy *c;
	struct tw_fast f;
	struct tw_base b;
	uint64_t rate;
	uint32_t s;
	long r;

	if (line < 0)
		return tw_host_gettime(h, clockid, ts);
	/* The host time goes straight into the caller's buffer and is turned into
	 * virtual time there: fewer values live across the host call. */
	for (;;) {
		s = tw_head(pg);
		c = tw_copy_of(pg, s);
		rate = TW_LOAD(c->rate);
		if (rate == 0 && tw_vvar_serves(clockid)) {
			/* frozen: the anchor itself, no host time needed (for the
			 * clocks every host serves; the ALARM ones may fail) */
			f.virt_sec = TW_LOAD(c->fast[line].virt_sec);
			f.virt_nsec = TW_LOAD(c->fast[line].virt_nsec);
			if (!tw_head_moved(pg, s)) {
				ts->sec = f.virt_sec;
				ts->nsec = f.virt_nsec;
				return 0;
			}
			continue;
		}
		r = h->clock_gettime ? h->clock_gettime(clockid, ts) : tw_sys_clock_gettime(clockid, ts);
		if (__builtin_expect(r != 0, 0))
			return r;
		if (__builtin_expect(rate == TW_RATE_PENDING, 0)) {
			/* the line in force at this host reading: the one before the
			 * change until its switch, the new one from then on */
			if (tw_ts_ns(ts) < TW_LOAD(c->switch_host[line])) {
				b.host = TW_LOAD(c->prev[line].host);
				b.virt = TW_LOAD(c->prev[line].virt);
				rate = TW_LOAD(c->prev_rate);
			} else {
				b.host = TW_LOAD(c->p.base[line].host);
				b.virt = TW_LOAD(c->p.base[line].virt);
				rate = TW_LOAD(c->p.rate);
			}
			if (tw_head_moved(pg, s))
				continue;
			/* the map in full: the fast fields are the new line's */
			coarse_floor(clockid, ts, tw_ns_ts(b.host).sec + 2, b.host);
			*ts = tw_ns_ts(tw_map_line((enum tw_line)line, b, rate, tw_ts_ns(ts)));
			return 0;
		}
		f.off_sec = TW_LOAD(c->fast[line].off_sec);
		f.off_nsec = TW_LOAD(c->fast[line].off_nsec);
		f.anchor_sec = TW_LOAD(c->fast[line].anchor_sec);
		f.virt_sec = TW_LOAD(c->fast[line].virt_sec);
		f.virt_nsec = TW_LOAD(c->fast[line].virt_nsec);
		b.host = TW_LOAD(c->p.base[line].host);
		b.virt = TW_LOAD(c->p.base[line].virt);
		if (__builtin_expect(!tw_head_moved(pg, s), 1))
			break;
	}
	coarse_floor(clockid, ts, f.anchor_sec, b.host);
	if (rate == TW_RATE_ONE && !add_offset(line, ts, f.off_sec, f.off_nsec))
		return 0;
	if (rate == 0) { /* frozen: the anchor itself, already within range */
		ts->sec = f.virt_sec;
		ts->nsec = f.virt_nsec;
		return 0;
	}
	*ts = tw_ns_ts(tw_map_line((enum tw_line)line, b, rate, tw_ts_ns(ts)));
	return 0;
}
