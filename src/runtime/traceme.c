/* Debuggers that start their program: PTRACE_TRACEME in a vfork child.
 *
 * gdb starts a program by vfork; the child asks to be traced by its parent
 * (PTRACE_TRACEME), puts every signal disposition back as gdb found it, and
 * execs.  Once traced, every signal the child takes stops it until its tracer
 * looks, the SIGSYS of each trapped call included; but the tracer is the
 * parent, suspended in vfork until the child execs or exits.  The child's
 * first trapped call after PTRACE_TRACEME (a sigaction) would wait for ever.
 *
 * So a child that shares its parent's memory (a vfork child: the parent
 * cannot run its tracer code before the child's exec anyway) has its
 * PTRACE_TRACEME made just before its exec (tw_rt_before_exec): the tracer's
 * first sight of it is the exec, as it would have been.  Any other
 * PTRACE_TRACEME is made at once.  The request is kept in the runtime's
 * state, which a vfork child shares with its parent, by the child's pid: the
 * parent, resumed after the exec, never finds its own pid there. */
#include <asm/unistd.h>
#include <errno.h>

#include "serve.h"

#define PTRACE_TRACEME_REQ 0
#define KCMP_VM_TYPE 1

/* Whether process `pid` shares its memory with process `other`. */
static int same_memory(long pid, long other)
{
	/* kcmp answers 0 for the same memory; without it (a kernel built
	 * without), nothing is deferred */
	return tw_rt_syscall(__NR_kcmp, pid, other, KCMP_VM_TYPE, 0, 0, 0) == 0;
}

long tw_serve_ptrace(const struct tw_call *c)
{
	struct tw_rt *rt = tw_rt();
	int32_t pid;

	if (c->a[0] != PTRACE_TRACEME_REQ)
		return tw_pass(c);
	pid = (int32_t)tw_rt_syscall(__NR_getpid, 0, 0, 0, 0, 0, 0);
	if (!same_memory(pid, tw_rt_syscall(__NR_getppid, 0, 0, 0, 0, 0, 0)))
		return tw_pass(c);
	for (unsigned i = 0; i < TW_TRACEME_SLOTS; i++) {
		int32_t cur = __atomic_load_n(&rt->traceme[i], __ATOMIC_ACQUIRE);

		if (cur == pid)
			return 0;
		/* free, or left by a child that exited without exec: no process
		 * of that pid shares this memory now */
		if ((cur == 0 || !same_memory(cur, pid)) &&
		    __atomic_compare_exchange_n(&rt->traceme[i], &cur, pid, 0, __ATOMIC_ACQ_REL,
						__ATOMIC_RELAXED))
			return 0;
	}
	/* more vfork children asking at once than slots: at once, as asked */
	return tw_pass(c);
}

void tw_rt_before_exec(void)
{
	struct tw_rt *rt = tw_rt();
	int32_t pid;

	if (!tw_gate_mapped())
		return;
	pid = (int32_t)tw_rt_syscall(__NR_getpid, 0, 0, 0, 0, 0, 0);
	for (unsigned i = 0; i < TW_TRACEME_SLOTS; i++) {
		int32_t mine = pid;

		if (__atomic_compare_exchange_n(&rt->traceme[i], &mine, 0, 0, __ATOMIC_ACQ_REL,
						__ATOMIC_RELAXED))
			tw_rt_syscall(__NR_ptrace, PTRACE_TRACEME_REQ, 0, 0, 0, 0, 0);
	}
}
