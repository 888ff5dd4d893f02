/* SIGSYS stays the runtime's (the filter's traps need its handler, and a trap
 * that finds SIGSYS blocked kills the process), while the program sees its
 * signal calls behave as they always do:
 *
 *   - rt_sigaction(SIGSYS) sets and reports the program's own disposition,
 *     kept apart (struct tw_rt), which non-timewarp SIGSYS reach (sigsys.c);
 *   - every other handler is installed without SIGSYS in its mask (Go masks
 *     every signal in its handlers), and reported with it, as it was asked;
 *   - rt_sigprocmask never blocks SIGSYS.  Served inside the handler, whose
 *     return restores the thread's mask from the signal frame, it edits that
 *     frame's mask: the new mask takes effect as the handler returns;
 *   - rt_sigsuspend waits with SIGSYS open;
 *   - a filter the program installs lets the runtime's gate through first.
 * A program that blocked SIGSYS is told it is unblocked when it asks. */
#include <asm/unistd.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/prctl.h>
#include <linux/seccomp.h>

#include "filter.h"
#include "serve.h"

#define SIGSYS_NR 31
#define BIT(sig) (1ULL << ((sig) - 1))
#define UNBLOCKABLE (BIT(9) | BIT(19)) /* SIGKILL, SIGSTOP */

long tw_serve_rt_sigaction(const struct tw_call *c)
{
	struct tw_rt *rt = tw_rt();
	long sig = c->a[0];
	const struct tw_sigaction *act = (const struct tw_sigaction *)c->a[1];
	struct tw_sigaction *old = (struct tw_sigaction *)c->a[2], mine;
	uint64_t had;
	long r;

	if (c->a[3] != 8)
		return -EINVAL;
	if (sig == SIGSYS_NR) {
		struct tw_sigaction prev = rt->app_sigsys;

		if (act)
			rt->app_sigsys = *act;
		if (old)
			*old = prev;
		return 0;
	}
	if (sig < 1 || sig > 64)
		return tw_pass(c);
	had = __atomic_load_n(&rt->sigsys_masked, __ATOMIC_RELAXED) & BIT(sig);
	if (act) {
		mine = *act;
		if (mine.mask & BIT(SIGSYS_NR))
			__atomic_fetch_or(&rt->sigsys_masked, BIT(sig), __ATOMIC_RELAXED);
		else
			__atomic_fetch_and(&rt->sigsys_masked, ~BIT(sig), __ATOMIC_RELAXED);
		mine.mask &= ~BIT(SIGSYS_NR);
	}
	r = tw_rt_syscall(__NR_rt_sigaction, sig, act ? (long)&mine : 0, (long)old, 8, 0, 0);
	if (r) {
		if (act) /* nothing changed */
			__atomic_fetch_or(&rt->sigsys_masked, had, __ATOMIC_RELAXED);
		return r;
	}
	if (old && had)
		old->mask |= BIT(SIGSYS_NR);
	return 0;
}

long tw_serve_rt_sigprocmask(const struct tw_call *c)
{
	uint64_t cur = c->uc->sigmask, next = cur, set;

	if (c->a[3] != 8)
		return -EINVAL;
	if (c->a[1]) {
		set = *(const uint64_t *)c->a[1];
		switch (c->a[0]) {
		case 0: /* SIG_BLOCK */
			next = cur | set;
			break;
		case 1: /* SIG_UNBLOCK */
			next = cur & ~set;
			break;
		case 2: /* SIG_SETMASK */
			next = set;
			break;
		default:
			return -EINVAL;
		}
		next &= ~(UNBLOCKABLE | BIT(SIGSYS_NR));
	}
	if (c->a[2])
		*(uint64_t *)c->a[2] = cur;
	if (c->a[1])
		c->uc->sigmask = next; /* in force when the handler returns */
	return 0;
}

long tw_serve_rt_sigsuspend(const struct tw_call *c)
{
	uint64_t mask;

	if (c->a[1] != 8)
		return -EINVAL;
	mask = *(const uint64_t *)c->a[0] & ~BIT(SIGSYS_NR);
	return tw_rt_syscall(__NR_rt_sigsuspend, (long)&mask, 8, 0, 0, 0, 0);
}

/* The program's own filter, with the gate let through ahead of it. */
static long install_wrapped(long op, long flags, const struct sock_fprog *prog)
{
	const long size = BPF_MAXINSNS * sizeof(struct sock_filter);
	struct sock_fprog mine;
	long n, r, m;

	/* not on the stack: a handler's stack may be a small alternate one */
	m = tw_rt_syscall(__NR_mmap, 0, size, 3 /* PROT_READ | PROT_WRITE */,
			  0x22 /* MAP_PRIVATE | MAP_ANONYMOUS */, -1, 0);
	if (m < 0 && m > -4096)
		return m;
	n = tw_filter_wrap(prog, (struct sock_filter *)m, BPF_MAXINSNS);
	if (n < 0) { /* too long to take more: as it is */
		r = tw_rt_syscall(__NR_seccomp, op, flags, (long)prog, 0, 0, 0);
	} else {
		mine.len = (unsigned short)n;
		mine.filter = (struct sock_filter *)m;
		r = tw_rt_syscall(__NR_seccomp, op, flags, (long)&mine, 0, 0, 0);
	}
	tw_rt_syscall(__NR_munmap, m, size, 0, 0, 0, 0);
	return r;
}

long tw_serve_seccomp(const struct tw_call *c)
{
	if (c->a[0] != SECCOMP_SET_MODE_FILTER || !c->a[2])
		return tw_pass(c);
	return install_wrapped(c->a[0], c->a[1], (const struct sock_fprog *)c->a[2]);
}

/* prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, prog): the filter trapped only
 * PR_SET_SECCOMP. */
long tw_serve_prctl(const struct tw_call *c)
{
	if (c->a[0] != PR_SET_SECCOMP || c->a[1] != SECCOMP_MODE_FILTER || !c->a[2])
		return tw_pass(c);
	return install_wrapped(SECCOMP_SET_MODE_FILTER, 0, (const struct sock_fprog *)c->a[2]);
}
