/* Which code serves which trapped call (the filter, filter.c, traps no other). */
#include <asm/unistd.h>

#include "serve.h"

long tw_serve(const struct tw_call *c)
{
	switch (c->nr) {
	case __NR_clock_gettime:
		return tw_serve_clock_gettime(c);
	case __NR_gettimeofday:
		return tw_serve_gettimeofday(c);
	case __NR_time:
		return tw_serve_time(c);
	case __NR_rt_sigaction:
		return tw_serve_rt_sigaction(c);
	case __NR_rt_sigprocmask:
		return tw_serve_rt_sigprocmask(c);
	case __NR_rt_sigsuspend:
		return tw_serve_rt_sigsuspend(c);
	case __NR_seccomp:
		return tw_serve_seccomp(c);
	case __NR_prctl:
		return tw_serve_prctl(c);
	/* exec.c, selfexe.c */
	case __NR_execve:
		return tw_serve_execve(c);
	case __NR_execveat:
		return tw_serve_execveat(c);
	case __NR_readlink:
		return tw_serve_readlink(c);
	case __NR_readlinkat:
		return tw_serve_readlinkat(c);
	default:
		return tw_pass(c);
	}
}
