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
	case __NR_clock_settime:
		return tw_serve_clock_settime(c);
	case __NR_settimeofday:
		return tw_serve_settimeofday(c);
	case __NR_adjtimex:
		return tw_serve_adjtimex(c);
	case __NR_clock_adjtime:
		return tw_serve_clock_adjtime(c);
	case __NR_nanosleep:
		return tw_serve_nanosleep(c);
	case __NR_clock_nanosleep:
		return tw_serve_clock_nanosleep(c);
	case __NR_futex:
		return tw_serve_futex(c);
	case __NR_poll:
		return tw_serve_poll(c);
	case __NR_ppoll:
		return tw_serve_ppoll(c);
	case __NR_select:
		return tw_serve_select(c);
	case __NR_pselect6:
		return tw_serve_pselect6(c);
	case __NR_epoll_wait:
		return tw_serve_epoll_wait(c);
	case __NR_epoll_pwait:
		return tw_serve_epoll_pwait(c);
	case __NR_epoll_pwait2:
		return tw_serve_epoll_pwait2(c);
	case __NR_rt_sigtimedwait:
		return tw_serve_rt_sigtimedwait(c);
	case __NR_semtimedop:
		return tw_serve_semtimedop(c);
	case __NR_mq_timedsend:
	case __NR_mq_timedreceive:
		return tw_serve_mq_timed(c);
	case __NR_io_getevents:
	case __NR_io_pgetevents:
		return tw_serve_io_getevents(c);
	case __NR_recvmmsg:
		return tw_serve_recvmmsg(c);
	case __NR_timer_create:
		return tw_serve_timer_create(c);
	case __NR_timer_delete:
		return tw_serve_timer_delete(c);
	case __NR_timer_settime:
		return tw_serve_timer_settime(c);
	case __NR_timer_gettime:
		return tw_serve_timer_gettime(c);
	case __NR_timerfd_create:
		return tw_serve_timerfd_create(c);
	case __NR_timerfd_settime:
		return tw_serve_timerfd_settime(c);
	case __NR_timerfd_gettime:
		return tw_serve_timerfd_gettime(c);
	case __NR_setitimer:
		return tw_serve_setitimer(c);
	case __NR_getitimer:
		return tw_serve_getitimer(c);
	case __NR_alarm:
		return tw_serve_alarm(c);
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
	case __NR_ptrace:
		return tw_serve_ptrace(c);
	default:
		return tw_pass(c);
	}
}
