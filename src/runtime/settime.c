/* Clock setting inside a namespace (DESIGN section 2): settimeofday,
 * clock_settime, adjtimex and clock_adjtime change the namespace's REALTIME,
 * never the host's, for any user, root included (policy `virtual`); with
 * `--settime deny` they fail with EPERM.  Clocks other than REALTIME cannot be
 * set (EINVAL, as in the kernel); read-only adjtimex works and reports virtual
 * time; every other adjtimex mode tunes the host's clock discipline and fails
 * with EPERM.  (CAP_SYS_TIME is gone from every member besides: src/cli/run.c.)
 *
 * The change is the writer's protocol (src/engine/change.c) on the member's
 * page opened for writing, which its file's permissions allow only to its
 * owner (and root): another user's setuid program inside gets EPERM. */
#include <asm/unistd.h>
#include <errno.h>
#include <linux/fcntl.h>
#include <linux/mman.h>
#include <linux/timex.h>

#include "change.h"
#include "serve.h"

#define CLOCK_REALTIME_ID 0

/* Dynamic POSIX clocks (PTP and the like) are named by a file descriptor; they
 * are devices, not the host clock, and go to the kernel unchanged. */
static int fd_clock(long clk)
{
	return clk < 0 && (clk & 7) == 3;
}

static int denied(void)
{
	struct tw_params p;

	tw_read_params(tw_rt()->page, &p);
	return p.settime == TW_SETTIME_DENY;
}

long tw_rt_change(const struct tw_change *c, int self)
{
	const struct tw_rt *rt = tw_rt();
	enum tw_refusal why;
	long fd, m, r;

	fd = tw_rt_syscall(__NR_openat, AT_FDCWD, (long)rt->page_path,
			   O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0, 0, 0);
	if (fd < 0)
		return fd == -EACCES || fd == -EROFS ? -EPERM : fd;
	m = tw_rt_syscall(__NR_mmap, 0, TW_PAGE_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m < 0 && m > -4096) {
		tw_rt_syscall(__NR_close, fd, 0, 0, 0, 0, 0);
		return m;
	}
	/* the same file as the member's own page: tw_page_valid held at start */
	r = tw_page_change((struct tw_page *)m, (int)fd, &rt->host, c,
			   self ? (const struct tw_page *)m : 0, &why);
	tw_rt_syscall(__NR_munmap, m, TW_PAGE_BYTES, 0, 0, 0, 0);
	tw_rt_syscall(__NR_close, fd, 0, 0, 0, 0, 0);
	return r;
}

/* Change the namespace's REALTIME: to `ns` (absolute), or by `ns` (relative to
 * its own REALTIME at the instant of change). */
static long set_realtime(int64_t ns, int relative)
{
	struct tw_change c = { 0 };
	long r;

	if (relative) {
		c.what = TW_CH_OFFSET;
		c.offset = ns;
	} else {
		c.what = TW_CH_AT;
		c.at = ns;
	}
	r = tw_rt_change(&c, relative);
	return r == -ERANGE ? -EINVAL : r;
}

/* REALTIME set to sec + nsec, as the kernel sets its own: a value its
 * timespec64_valid_settod refuses is EINVAL, then the policy may say EPERM. */
static long set_realtime_ts(int64_t sec, int64_t nsec)
{
	if (sec < 0 || nsec < 0 || nsec >= TW_NSEC || sec > TW_REALTIME_MAX / TW_NSEC - 1)
		return -EINVAL;
	if (denied())
		return -EPERM;
	return set_realtime(sec * TW_NSEC + nsec, 0);
}

long tw_serve_clock_settime(const struct tw_call *c)
{
	struct tw_ts ts;
	long r;

	if (fd_clock(c->a[0]))
		return tw_pass(c);
	if ((r = tw_get_user(c, &ts, (const void *)c->a[1], sizeof(ts))))
		return r;
	if (c->a[0] != CLOCK_REALTIME_ID)
		return -EINVAL;
	return set_realtime_ts(ts.sec, ts.nsec);
}

/* The timezone argument only ever set the kernel's obsolete sys_tz; inside a
 * namespace it is ignored rather than changing the host's. */
long tw_serve_settimeofday(const struct tw_call *c)
{
	struct tw_tv tv;
	long r;

	if (!c->a[0])
		return 0;
	if ((r = tw_get_user(c, &tv, (const void *)c->a[0], sizeof(tv))))
		return r;
	if (tv.usec < 0 || tv.usec >= 1000000)
		return -EINVAL;
	return set_realtime_ts(tv.sec, tv.usec * 1000);
}

/* sec seconds and frac units of 1/`per_sec` as ns; -EINVAL when out of range. */
static long delta_ns(int64_t sec, int64_t frac, int64_t per_sec, int64_t *ns)
{
	int64_t a;

	if (frac <= -per_sec || frac >= per_sec || __builtin_mul_overflow(sec, TW_NSEC, &a) ||
	    __builtin_add_overflow(a, frac * (TW_NSEC / per_sec), ns))
		return -EINVAL;
	return 0;
}

/* Read-only: the host's NTP state with the namespace's REALTIME in it. */
static long timex_read(struct timex *tx)
{
	const struct tw_rt *rt = tw_rt();
	struct timex mine;
	struct tw_ts ts;
	long state, r;

	tw_memset(&mine, 0, sizeof(mine));
	if ((state = tw_rt_syscall(__NR_adjtimex, (long)&mine, 0, 0, 0, 0, 0)) < 0)
		return state;
	if ((r = tw_gettime(rt->page, &rt->host, CLOCK_REALTIME_ID, &ts)))
		return r;
	mine.time.tv_sec = ts.sec;
	mine.time.tv_usec = (mine.status & STA_NANO) ? ts.nsec : ts.nsec / 1000;
	tw_memcpy(tx, &mine, sizeof(mine));
	return state;
}

/* adjtimex on the namespace's REALTIME: returns the clock state or -errno. */
static long timex_realtime(struct timex *tx)
{
	unsigned modes = tx->modes;
	int64_t ns;
	long r;

	if (modes == 0 || modes == ADJ_OFFSET_SS_READ)
		return timex_read(tx);
	/* adjtime(3): a correction to slew in; a namespace has no slewing, and
	 * takes it at once (no correction is then left outstanding) */
	if (modes == ADJ_OFFSET_SINGLESHOT) {
		if (denied())
			return -EPERM;
		if ((r = set_realtime(tx->offset * 1000, 1)))
			return r;
		r = timex_read(tx);
		tx->offset = 0;
		return r;
	}
	/* only a step; every other mode tunes the host's clock discipline */
	if (!(modes & ADJ_SETOFFSET) || (modes & ~(unsigned)(ADJ_SETOFFSET | ADJ_NANO)))
		return -EPERM;
	if (denied())
		return -EPERM;
	if ((r = delta_ns(tx->time.tv_sec, tx->time.tv_usec,
			  (modes & ADJ_NANO) ? TW_NSEC : 1000000, &ns)) ||
	    (r = set_realtime(ns, 1)))
		return r;
	return timex_read(tx);
}

/* The program's struct timex, worked on in a copy and written back. */
static long timex_user(const struct tw_call *c, void *user)
{
	struct timex tx;
	long r, state;

	if ((r = tw_get_user(c, &tx, user, sizeof(tx))))
		return r;
	if ((state = timex_realtime(&tx)) < 0)
		return state;
	return (r = tw_put_user(c, user, &tx, sizeof(tx))) ? r : state;
}

long tw_serve_adjtimex(const struct tw_call *c)
{
	return timex_user(c, (void *)c->a[0]);
}

long tw_serve_clock_adjtime(const struct tw_call *c)
{
	/* other clocks: the kernel refuses them, or they are devices */
	if (c->a[0] != CLOCK_REALTIME_ID)
		return tw_pass(c);
	return timex_user(c, (void *)c->a[1]);
}
