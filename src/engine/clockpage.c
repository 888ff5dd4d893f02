/* The clock page protocol (page.h): copies, the head, and what readers and
 * writers each do.  Freestanding, like the rest of the engine.
 *
 * Readers (read.h, and tw_read_state here) never wait: they read the copy the
 * head names and read again if the head moved meanwhile.
 *
 * A writer (src/control/change.c) claims a copy nobody reads, fills it
 * (tw_copy_fill), and publishes it with one compare-and-swap of the head
 * (tw_publish); if another writer published first, it builds its change again
 * on top of that one.  Nothing a writer does before its compare-and-swap is
 * seen by readers, so a writer killed or stopped at any instruction leaves the
 * namespace as the last publication made it, and other writers go on with
 * other copies.
 *
 * The clocks must not go back across a change: a reader that read the host
 * clock at instant x under the old copy returned old(x), and any reading after
 * it must be at least that.  A change rebases at a host instant h it read
 * before publishing, and readers may go on pairing host instants after h with
 * the old copy until the publication: the change takes effect then, not at h.
 * That is harmless when the new line is nowhere below the old one after h
 * (the rate stays or rises, and any jump is forward, or is the backward step
 * of REALTIME that was asked for).  A lower rate is not: old(x) for x past h
 * would be ahead of new(x).  So a change that lowers the rate is anchored at a
 * host instant S still to come and published *pending*: each line follows the
 * old copy's line until its host clock reaches S and the new line from then
 * on, one continuous line.  Its writer publishes only while its host clock is
 * still below S (every reading under the old copy was then made before S,
 * where both agree), and once S has passed it publishes the same lines
 * settled, which the fast paths take.  A pending copy is read by the full
 * read (engine.c); a writer that finds one waits for its S to pass before
 * building on it (a bounded wait for the clock, not for the writer). */
#include <errno.h>

#include "clockmath.h"
#include "engine.h"
#include "read.h"

#define STORE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)

long tw_page_check(const volatile struct tw_page *pg)
{
	if (pg->magic != TW_PAGE_MAGIC || pg->version != TW_PAGE_VERSION ||
	    pg->size != sizeof(struct tw_page))
		return -EPROTO;
	return 0;
}

static void load_params(struct tw_params *out, const struct tw_params *in)
{
	for (int i = 0; i < TW_NLINES; i++) {
		out->base[i].host = TW_LOAD(in->base[i].host);
		out->base[i].virt = TW_LOAD(in->base[i].virt);
	}
	out->rate = TW_LOAD(in->rate);
	out->saved_rate = TW_LOAD(in->saved_rate);
	out->settime = TW_LOAD(in->settime);
	out->pad = 0;
}

/* The copy head `h` names, whole or torn (the caller checks the head after). */
static void load_state(const struct tw_page *pg, uint32_t h, struct tw_state *st)
{
	const struct tw_copy *c = tw_copy_of(pg, h);

	st->head = h;
	load_params(&st->p, &c->p);
	st->pending = TW_LOAD(c->rate) == TW_RATE_PENDING;
	for (int i = 0; i < TW_NLINES; i++) {
		st->prev[i].host = st->pending ? TW_LOAD(c->prev[i].host) : st->p.base[i].host;
		st->prev[i].virt = st->pending ? TW_LOAD(c->prev[i].virt) : st->p.base[i].virt;
		st->switch_host[i] = st->pending ? TW_LOAD(c->switch_host[i]) : INT64_MIN;
	}
	st->prev_rate = st->pending ? TW_LOAD(c->prev_rate) : st->p.rate;
}

void tw_read_state(const struct tw_page *pg, struct tw_state *st)
{
	uint32_t h;

	do {
		h = tw_head(pg);
		load_state(pg, h, st);
	} while (tw_head_moved(pg, h));
}

void tw_read_params(const struct tw_page *pg, struct tw_params *out)
{
	uint32_t h;

	do {
		h = tw_head(pg);
		load_params(out, &tw_copy_of(pg, h)->p);
	} while (tw_head_moved(pg, h));
}

int64_t tw_state_map(const struct tw_state *st, enum tw_line line, int64_t host)
{
	if (st->pending && host < st->switch_host[line])
		return tw_map_line(line, st->prev[line], st->prev_rate, host);
	return tw_map(&st->p, line, host);
}

long tw_virtual_lines(const struct tw_page *pg, const struct tw_host *h,
		      int64_t host[TW_NLINES], int64_t virt[TW_NLINES])
{
	struct tw_state st;
	uint32_t s;
	long r;

	do {
		s = tw_head(pg);
		r = tw_host_lines(h, host);
		if (r)
			return r;
		load_state(pg, s, &st);
	} while (tw_head_moved(pg, s));
	for (int i = 0; i < TW_NLINES; i++)
		virt[i] = tw_state_map(&st, (enum tw_line)i, host[i]);
	return 0;
}

/* ---- validation ------------------------------------------------------------ */

static int line_ok(int line, struct tw_base b)
{
	return b.virt >= 0 && b.virt <= tw_line_max((enum tw_line)line);
}

/* What tw_copy_fill derives for line `line` of `p`. */
static struct tw_fast derive(const struct tw_params *p, int line)
{
	struct tw_ts o = tw_ns_ts(p->base[line].virt - p->base[line].host);
	struct tw_ts v = tw_ns_ts(p->base[line].virt);

	return (struct tw_fast){ o.sec, o.nsec, v.sec, v.nsec, tw_ns_ts(p->base[line].host).sec + 2 };
}

long tw_page_valid(const struct tw_page *pg)
{
	struct tw_state st;
	struct tw_fast f[TW_NLINES];
	uint64_t rate;
	uint32_t h;

	if (tw_page_check(pg))
		return -EPROTO;
	do {
		h = tw_head(pg);
		load_state(pg, h, &st);
		rate = TW_LOAD(tw_copy_of(pg, h)->rate);
		for (int i = 0; i < TW_NLINES; i++) {
			const struct tw_fast *c = &tw_copy_of(pg, h)->fast[i];
			f[i] = (struct tw_fast){ TW_LOAD(c->off_sec), TW_LOAD(c->off_nsec),
						 TW_LOAD(c->virt_sec), TW_LOAD(c->virt_nsec),
						 TW_LOAD(c->anchor_sec) };
		}
	} while (tw_head_moved(pg, h));
	if (st.p.rate > TW_RATE_MAX || st.p.saved_rate > TW_RATE_MAX || st.p.saved_rate == 0 ||
	    st.p.settime > TW_SETTIME_DENY || (rate != st.p.rate && rate != TW_RATE_PENDING))
		return -EBADMSG;
	if (st.pending && (st.prev_rate > TW_RATE_MAX || st.prev_rate <= st.p.rate))
		return -EBADMSG;
	for (int i = 0; i < TW_NLINES; i++) {
		struct tw_fast want;
		int64_t d;

		if (!line_ok(i, st.p.base[i]) || !line_ok(i, st.prev[i]) || st.p.base[i].host < 0 ||
		    __builtin_sub_overflow(st.p.base[i].virt, st.p.base[i].host, &d))
			return -EBADMSG;
		/* the fast paths use the derived fields alone: they must be what
		 * the parameters say (which also bounds every nanosecond field) */
		want = derive(&st.p, i);
		if (f[i].off_sec != want.off_sec || f[i].off_nsec != want.off_nsec ||
		    f[i].virt_sec != want.virt_sec || f[i].virt_nsec != want.virt_nsec ||
		    f[i].anchor_sec != want.anchor_sec)
			return -EBADMSG;
	}
	return 0;
}

/* ---- writers ----------------------------------------------------------------- */

/* The release fence orders the writer's check that copy `c` is not in force
 * (its acquire load of the head, in its claim) before these stores: a reader
 * that sees any of them then sees a head that names another copy, and reads
 * again (read.h). */
static void fill_common(struct tw_copy *c, const struct tw_params *p)
{
	__atomic_thread_fence(__ATOMIC_RELEASE);
	for (int i = 0; i < TW_NLINES; i++) {
		struct tw_fast f = derive(p, i);

		STORE(c->p.base[i].host, p->base[i].host);
		STORE(c->p.base[i].virt, p->base[i].virt);
		STORE(c->fast[i].off_sec, f.off_sec);
		STORE(c->fast[i].off_nsec, f.off_nsec);
		STORE(c->fast[i].virt_sec, f.virt_sec);
		STORE(c->fast[i].virt_nsec, f.virt_nsec);
		STORE(c->fast[i].anchor_sec, f.anchor_sec);
	}
	STORE(c->p.rate, p->rate);
	STORE(c->p.saved_rate, p->saved_rate);
	STORE(c->p.settime, p->settime);
	STORE(c->p.pad, 0);
}

void tw_copy_fill(struct tw_copy *c, const struct tw_params *p)
{
	fill_common(c, p);
	STORE(c->rate, p->rate);
}

void tw_copy_fill_pending(struct tw_copy *c, const struct tw_params *prev,
			  const struct tw_params *p, const int64_t switch_host[TW_NLINES])
{
	fill_common(c, p);
	for (int i = 0; i < TW_NLINES; i++) {
		STORE(c->prev[i].host, prev->base[i].host);
		STORE(c->prev[i].virt, prev->base[i].virt);
		STORE(c->switch_host[i], switch_host[i]);
	}
	STORE(c->prev_rate, prev->rate);
	STORE(c->rate, TW_RATE_PENDING);
}

long tw_publish(struct tw_page *pg, uint32_t expect, unsigned copy)
{
	/* release: the copy's contents before the head that names it */
	if (__atomic_compare_exchange_n(&pg->head, &expect, TW_HEAD_NEXT(expect, copy), 0,
					__ATOMIC_SEQ_CST, __ATOMIC_ACQUIRE))
		return 0;
	return -EAGAIN;
}

void tw_page_init(struct tw_page *pg, const struct tw_params *p)
{
	tw_copy_fill(&pg->copy[0], p);
	__atomic_store_n(&pg->head, 0, __ATOMIC_RELEASE);
}
