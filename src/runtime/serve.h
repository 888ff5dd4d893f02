/* What the SIGSYS handler (sigsys.c) hands to the code that serves each
 * trapped call, and what that code shares. */
#ifndef TW_SERVE_H
#define TW_SERVE_H

#include <asm/sigcontext.h>
#include <stdint.h>

#include "runtime.h"

/* The kernel's siginfo, the parts the runtime reads. */
struct tw_siginfo {
	int32_t signo, err, code, pad;
	union {
		struct {
			uint64_t call_addr; /* the instruction after the trapped syscall */
			int32_t syscall;
			uint32_t arch;
		} sys;
		struct {
			int32_t pid;
			uint32_t uid;
			uint64_t value;
		} rt;
		char size[112];
	} u;
};
_Static_assert(sizeof(struct tw_siginfo) == 128, "the kernel's siginfo");

/* The kernel's ucontext on x86-64. */
struct tw_ucontext {
	uint64_t flags;
	void *link;
	struct {
		void *sp;
		int32_t flags, pad;
		uint64_t size;
	} stack;
	struct sigcontext mc;
	uint64_t sigmask;
};

/* A trapped call: its number, arguments, where it was made, and the context
 * it returns to. */
struct tw_call {
	long nr;
	long a[6];
	uint64_t ip;
	struct tw_ucontext *uc;
};

/* serve.c: the result of a trapped call, 0 or -errno or a value. */
long tw_serve(const struct tw_call *c);
/* sigsys.c: a call made as the program made it, through the gate. */
long tw_pass(const struct tw_call *c);

/* user.c: memory the call names, read and written as the kernel would
 * (-EFAULT where the program could not use it); 0 or -EFAULT. */
long tw_get_user(const struct tw_call *c, void *dst, const void *src, unsigned long n);
long tw_put_user(const struct tw_call *c, void *dst, const void *src, unsigned long n);

/* time.c: clock reads. */
long tw_serve_clock_gettime(const struct tw_call *c);
long tw_serve_gettimeofday(const struct tw_call *c);
long tw_serve_time(const struct tw_call *c);

/* settime.c: clock setting changes the namespace. */
struct tw_change;
/* A change of the member's own namespace, on its page opened for writing (its
 * owner's, or root's); `self`: --offset and the like relative to its own
 * clocks.  0 or -errno (-EPERM for a member that may not write it). */
long tw_rt_change(const struct tw_change *c, int self);
long tw_serve_clock_settime(const struct tw_call *c);
long tw_serve_settimeofday(const struct tw_call *c);
long tw_serve_adjtimex(const struct tw_call *c);
long tw_serve_clock_adjtime(const struct tw_call *c);

/* sleep.c, futex.c, poll.c, timeouts.c: waits (wait.h). */
long tw_serve_nanosleep(const struct tw_call *c);
long tw_serve_clock_nanosleep(const struct tw_call *c);
long tw_serve_futex(const struct tw_call *c);
long tw_serve_poll(const struct tw_call *c);
long tw_serve_ppoll(const struct tw_call *c);
long tw_serve_select(const struct tw_call *c);
long tw_serve_pselect6(const struct tw_call *c);
long tw_serve_epoll_wait(const struct tw_call *c);
long tw_serve_epoll_pwait(const struct tw_call *c);
long tw_serve_epoll_pwait2(const struct tw_call *c);
long tw_serve_rt_sigtimedwait(const struct tw_call *c);
long tw_serve_semtimedop(const struct tw_call *c);
long tw_serve_mq_timed(const struct tw_call *c);
long tw_serve_io_getevents(const struct tw_call *c);
long tw_serve_recvmmsg(const struct tw_call *c);

/* timers.c */
long tw_serve_timer_create(const struct tw_call *c);
long tw_serve_timer_delete(const struct tw_call *c);
long tw_serve_timer_settime(const struct tw_call *c);
long tw_serve_timer_gettime(const struct tw_call *c);
long tw_serve_timerfd_create(const struct tw_call *c);
long tw_serve_timerfd_settime(const struct tw_call *c);
long tw_serve_timerfd_gettime(const struct tw_call *c);
long tw_serve_setitimer(const struct tw_call *c);
long tw_serve_getitimer(const struct tw_call *c);
long tw_serve_alarm(const struct tw_call *c);

/* signals.c: SIGSYS kept the runtime's. */
long tw_serve_rt_sigaction(const struct tw_call *c);
long tw_serve_rt_sigprocmask(const struct tw_call *c);
long tw_serve_rt_sigsuspend(const struct tw_call *c);
long tw_serve_seccomp(const struct tw_call *c);
long tw_serve_prctl(const struct tw_call *c);

/* exec.c: every exec makes a member; selfexe.c: /proc/self/exe. */
long tw_serve_execve(const struct tw_call *c);
long tw_serve_execveat(const struct tw_call *c);
long tw_serve_readlink(const struct tw_call *c);
long tw_serve_readlinkat(const struct tw_call *c);
long tw_serve_ptrace(const struct tw_call *c);

/* kick.c: whether a SIGSYS is the runtime's own kick (it is then consumed). */
int tw_kick_taken(const struct tw_siginfo *si);

#endif
