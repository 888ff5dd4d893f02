/* The engine: virtual clocks from host clocks and the clock page.  The hot
 * read path is in read.h; here are the readers of each clock, the full read
 * that does what the hot paths leave, and the host's own clocks. */
#include <errno.h>
#include <stddef.h>

#include "clockmath.h"
#include "engine.h"
#include "fold.h"
#include "read.h"
#include "memokey.h"
#include "vdso_lookup.h"
#include "vvar.h"

void tw_host_init(struct tw_host *h, const void *vdso)
{
	h->clock_gettime = (long (*)(long, struct tw_ts *))tw_vdso_sym(
		vdso, "__vdso_clock_gettime", "LINUX_2.6");
	h->clock_getres = (long (*)(long, struct tw_ts *))tw_vdso_sym(
		vdso, "__vdso_clock_getres", "LINUX_2.6");
	h->vvar = 0; /* until tw_vvar_use proves the data page */
	h->memo = 0;
	h->fold = 0;
	h->syscall = 0;
}

long tw_host_gettime(const struct tw_host *h, long clockid, struct tw_ts *ts)
{
	/* The vDSO returns 0 or -errno and makes the system call itself for clocks
	 * it does not serve. */
	if (h->vvar && !tw_vvar_gettime(h->vvar, clockid, ts))
		return 0;
	return tw_host_call(h, clockid, ts);
}

/* The host clock read for each line (the COARSE and ALARM variants are read by
 * tw_gettime with their own id and mapped through their class's line). */
static const long line_clock[TW_NLINES] = {
	[TW_LINE_REALTIME] = 0,  /* CLOCK_REALTIME */
	[TW_LINE_TAI] = 11,      /* CLOCK_TAI */
	[TW_LINE_MONOTONIC] = 1, /* CLOCK_MONOTONIC */
	[TW_LINE_RAW] = 4,       /* CLOCK_MONOTONIC_RAW */
	[TW_LINE_BOOTTIME] = 7,  /* CLOCK_BOOTTIME */
};

long tw_host_lines(const struct tw_host *h, int64_t now[TW_NLINES])
{
	int64_t tai;

	for (int i = 0; i < TW_NLINES; i++) {
		struct tw_ts ts;
		long r = tw_host_gettime(h, line_clock[i], &ts);
		if (r)
			return r;
		now[i] = tw_ts_ns(&ts);
	}
	/* TAI and REALTIME were read a moment apart, but their difference is a
	 * whole number of seconds: keep it exact, so TAI minus REALTIME inside a
	 * namespace is the host's to the nanosecond. */
	tai = now[TW_LINE_TAI] - now[TW_LINE_REALTIME];
	tai = (tai + (tai >= 0 ? 500000000LL : -500000000LL)) / 1000000000LL * 1000000000LL;
	now[TW_LINE_TAI] = now[TW_LINE_REALTIME] + tai;
	return 0;
}

long tw_gettime(const struct tw_page *pg, const struct tw_host *h, long clockid,
		struct tw_ts *ts)
{
	return tw_read_clock_dispatch(pg, h, clockid, ts);
}

/* ---- the full read from the kernel's data page ----------------------------- */

/* The line a reading is mapped through, and its rate: the copy's, or for a
 * pending change the one in force at the reading's host instant. */
struct line_at {
	struct tw_base b;
	uint64_t rate;
};

/* What the next reads can reuse of a reading at a rate other than 0 and 1 (its
 * answer `ts`, from the kernel data `v`, under head `s`): a COARSE clock's
 * answer itself (struct tw_memo), a fine clock's rate folded into the kernel's
 * scale (fold.h).  Once per kernel update. */
static void remember(const struct tw_page *pg, const struct tw_host *h, uint32_t s, int line,
		     long clockid, const struct line_at *l, const struct tw_vvar_snap *v,
		     const struct tw_ts *ts)
{
	struct tw_fold n;
	uint32_t ks;

	if (tw_coarse_clock(clockid) && h->memo) {
		struct tw_memo *m = h->memo + (clockid - 5);

		if (tw_memokey_take(&m->key, &ks))
			return;
		__atomic_store_n(&m->sec, ts->sec, __ATOMIC_RELAXED);
		__atomic_store_n(&m->nsec, ts->nsec, __ATOMIC_RELAXED);
		tw_memokey_give(&m->key, ks, v->seq, s, pg);
	} else if (!tw_coarse_clock(clockid) && h->fold && !tw_fold_make(line, l->b, l->rate, v, &n)) {
		struct tw_fold *f = h->fold + tw_fold_slot(clockid);

		if (tw_memokey_take(&f->key, &ks))
			return;
		__atomic_store_n(&f->shift, n.shift, __ATOMIC_RELAXED);
		__atomic_store_n(&f->cycle_last, n.cycle_last, __ATOMIC_RELAXED);
		__atomic_store_n(&f->dmax, n.dmax, __ATOMIC_RELAXED);
		__atomic_store_n(&f->base_lo, n.base_lo, __ATOMIC_RELAXED);
		__atomic_store_n(&f->base_hi, n.base_hi, __ATOMIC_RELAXED);
		__atomic_store_n(&f->mult_lo, n.mult_lo, __ATOMIC_RELAXED);
		__atomic_store_n(&f->mult_hi, n.mult_hi, __ATOMIC_RELAXED);
		__atomic_store_n(&f->sec, n.sec, __ATOMIC_RELAXED);
		tw_memokey_give(&f->key, ks, v->seq, s, pg);
	}
}

/* Clock `clockid` (a served one) from the kernel's data page, whatever the
 * rate, a pending change included.  The host instant is kept below the
 * nanosecond (tw_rate_ts), so that the answer is the one a fold gives.  0, or 1
 * when the page cannot serve the read (no counter for its clock source, a time
 * namespace's page). */
static int read_page(const struct tw_page *pg, const struct tw_host *h, long clockid,
		     struct tw_ts *ts)
{
	const int line = tw_clock_line(clockid);
	const struct tw_copy *c;
	struct tw_vvar_snap v;
	struct line_at l;
	uint64_t sec = 0, ns = 0, frac = 0;
	unsigned shift = 0;
	int64_t host;
	uint32_t s;
	int settled;

	for (;;) {
		s = tw_head(pg);
		c = tw_copy_of(pg, s);
		l.rate = TW_LOAD(c->rate);
		settled = l.rate != TW_RATE_PENDING;
		if (l.rate == 0) { /* frozen: the anchor itself */
			host = 0;
			l.b.host = TW_LOAD(c->p.base[line].host);
			l.b.virt = TW_LOAD(c->p.base[line].virt);
		} else {
			if (tw_vvar_snap(h->vvar, clockid, &v))
				return 1;
			tw_vvar_split(&v, clockid, &sec, &ns, &frac, &shift);
			host = (int64_t)sec * 1000000000LL + (int64_t)ns; /* sec < 2^33 */
			if (!settled && host < TW_LOAD(c->switch_host[line])) {
				l.b.host = TW_LOAD(c->prev[line].host);
				l.b.virt = TW_LOAD(c->prev[line].virt);
				l.rate = TW_LOAD(c->prev_rate);
			} else {
				l.b.host = TW_LOAD(c->p.base[line].host);
				l.b.virt = TW_LOAD(c->p.base[line].virt);
				l.rate = TW_LOAD(c->p.rate);
			}
		}
		if (!tw_head_moved(pg, s))
			break;
	}
	/* A COARSE reading lags the fine instant the page was last rebased at by
	 * up to a tick; mapped with a new, higher rate (or a resume) that lag
	 * would step the clock back.  Read within a second behind the anchor, it
	 * is the anchor. */
	if (tw_coarse_clock(clockid) && host < l.b.host &&
	    (uint64_t)l.b.host - (uint64_t)host < 1000000000ULL) {
		host = l.b.host;
		sec = (uint64_t)tw_ns_ts(host).sec;
		ns = (uint64_t)tw_ns_ts(host).nsec;
	}
	if (l.rate == 0 || l.rate == TW_RATE_ONE ||
	    tw_rate_ts(line, l.b, l.rate, sec, ns, frac, shift, ts)) {
		*ts = tw_ns_ts(tw_map_line((enum tw_line)line, l.b, l.rate, host));
		return 0;
	}
	if (settled)
		remember(pg, h, s, line, clockid, &l, &v, ts);
	return 0;
}

/* Out of line: the readers reach it by a tail call, with nothing to save. */
__attribute__((noinline)) long tw_read_full(const struct tw_page *pg, const struct tw_host *h,
					    long clockid, struct tw_ts *ts)
{
	if (h->vvar && tw_vvar_serves(clockid) && !read_page(pg, h, clockid, ts))
		return 0;
	return tw_read_call(pg, h, clockid, ts);
}

/* ---- one reader per served clock (read.h) --------------------------------- */

long tw_read_realtime(const struct tw_page *pg, const struct tw_host *h, struct tw_ts *ts)
{
	return tw_read_served(pg, h, TW_LINE_REALTIME, 0, tw_call_realtime, ts);
}

long tw_read_monotonic(const struct tw_page *pg, const struct tw_host *h, struct tw_ts *ts)
{
	return tw_read_served(pg, h, TW_LINE_MONOTONIC, 1, tw_call_monotonic, ts);
}

long tw_read_monotonic_raw(const struct tw_page *pg, const struct tw_host *h, struct tw_ts *ts)
{
	return tw_read_served(pg, h, TW_LINE_RAW, 4, tw_call_monotonic_raw, ts);
}

long tw_read_realtime_coarse(const struct tw_page *pg, const struct tw_host *h, struct tw_ts *ts)
{
	return tw_read_served(pg, h, TW_LINE_REALTIME, 5, tw_call_realtime_coarse, ts);
}

long tw_read_monotonic_coarse(const struct tw_page *pg, const struct tw_host *h, struct tw_ts *ts)
{
	return tw_read_served(pg, h, TW_LINE_MONOTONIC, 6, tw_call_monotonic_coarse, ts);
}

long tw_read_boottime(const struct tw_page *pg, const struct tw_host *h, struct tw_ts *ts)
{
	return tw_read_served(pg, h, TW_LINE_BOOTTIME, 7, tw_call_boottime, ts);
}

long tw_read_tai(const struct tw_page *pg, const struct tw_host *h, struct tw_ts *ts)
{
	return tw_read_served(pg, h, TW_LINE_TAI, 11, tw_call_tai, ts);
}
