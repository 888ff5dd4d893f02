/* The SIGSYS handler: every system call the filter traps arrives here, in the
 * thread that made it, with its registers, and leaves with its result in RAX
 * as if the kernel had made it (0 or -errno; the kernel's restart rules apply
 * to the calls the runtime makes on its behalf).
 *
 * Installed with SA_SIGINFO (the registers), SA_ONSTACK (the thread's
 * alternate stack when it has one: Go runs its signal handlers there) and
 * SA_NODEFER (a program's signal handler that interrupts a served wait may
 * make a trapped call of its own), returning through the gate's restorer.
 * Not SA_RESTART: the same handler takes the runtime's kicks (kick.c), which
 * must end a served wait's system call even where a program's SA_RESTART
 * signal would not; a trap itself interrupts nothing.  A SIGSYS that is not a trap of timewarp's filter (the
 * program's own filter, a SIGSYS sent by kill) goes to the program's handler,
 * as the program set it (signals.c keeps SIGSYS the runtime's). */
#include <asm/sigcontext.h>
#include <asm/unistd.h>
#include <errno.h>

#include "runtime.h"
#include "serve.h"

#define SIGSYS_NR 31
#define SYS_SECCOMP_CODE 1
#define SA_SIGINFO_F 0x00000004UL
#define SA_ONSTACK_F 0x08000000UL
#define SA_NODEFER_F 0x40000000UL
#define SA_RESETHAND_F 0x80000000UL
#define SA_RESTORER_F 0x04000000UL
#define SIG_DFL_H 0UL
#define SIG_IGN_H 1UL

/* The program's own SIGSYS, as its disposition says: its handler, or the
 * default action (death with a core dump, as an unhandled SIGSYS is). */
static void forward(int sig, struct tw_siginfo *si, struct tw_ucontext *uc)
{
	struct tw_rt *rt = tw_rt();
	struct tw_sigaction a = rt->app_sigsys;

	if (a.handler == SIG_DFL_H || a.handler == SIG_IGN_H) {
		/* an ignored SIGSYS from a seccomp trap kills as well */
		struct tw_sigaction dfl = { SIG_DFL_H, 0, 0, 0 };
		uint64_t set = 1UL << (SIGSYS_NR - 1);

		if (a.handler == SIG_IGN_H && si->code != SYS_SECCOMP_CODE)
			return;
		tw_rt_syscall(__NR_rt_sigaction, SIGSYS_NR, (long)&dfl, 0, 8, 0, 0);
		tw_rt_syscall(__NR_rt_sigprocmask, 1 /* SIG_UNBLOCK */, (long)&set, 0, 8, 0, 0);
		tw_rt_syscall(__NR_tgkill, tw_rt_syscall(__NR_getpid, 0, 0, 0, 0, 0, 0),
			      tw_rt_syscall(__NR_gettid, 0, 0, 0, 0, 0, 0), SIGSYS_NR, 0, 0, 0);
		return;
	}
	if (a.flags & SA_RESETHAND_F)
		rt->app_sigsys.handler = SIG_DFL_H;
	if (a.flags & SA_SIGINFO_F)
		((void (*)(int, void *, void *))a.handler)(sig, si, uc);
	else
		((void (*)(int))a.handler)(sig);
}

static void handler(int sig, struct tw_siginfo *si, struct tw_ucontext *uc)
{
	struct sigcontext *r = &uc->mc;
	struct tw_call c;

	if (si->code != SYS_SECCOMP_CODE || si->err != TW_TRAP_DATA) {
		if (!tw_kick_taken(si))
			forward(sig, si, uc);
		return;
	}
	c.nr = si->u.sys.syscall;
	c.a[0] = (long)r->rdi;
	c.a[1] = (long)r->rsi;
	c.a[2] = (long)r->rdx;
	c.a[3] = (long)r->r10;
	c.a[4] = (long)r->r8;
	c.a[5] = (long)r->r9;
	c.ip = si->u.sys.call_addr;
	c.uc = uc;
	r->rax = (uint64_t)tw_serve(&c);
}

long tw_sigsys_install(void)
{
	struct tw_sigaction a = { (uint64_t)handler,
				  SA_SIGINFO_F | SA_ONSTACK_F | SA_NODEFER_F | SA_RESTORER_F,
				  TW_RT_ADDR + (uint64_t)(tw_gate_restorer - tw_gate_code), 0 };
	uint64_t set = 1UL << (SIGSYS_NR - 1);
	struct tw_sigaction old;
	long r;

	if ((r = tw_rt_syscall(__NR_rt_sigaction, SIGSYS_NR, (long)&a, (long)&old, 8, 0, 0)))
		return r;
	/* what the program had (SIG_IGN survives exec) is its own disposition now */
	if (old.handler != (uint64_t)handler)
		tw_rt()->app_sigsys = old;
	/* a SIGSYS blocked when a trapped call comes kills the process */
	return tw_rt_syscall(__NR_rt_sigprocmask, 1 /* SIG_UNBLOCK */, (long)&set, 0, 8, 0, 0);
}

/* A call the runtime does not change: made as the program made it. */
long tw_pass(const struct tw_call *c)
{
	return tw_rt_syscall(c->nr, c->a[0], c->a[1], c->a[2], c->a[3], c->a[4], c->a[5]);
}
