/* A writer of the clock page run one instruction at a time under ptrace, so
 * that a test can kill it or leave it stopped at any instruction of a change
 * (tests/unit/test_writers.c, tests/helpers/writer.c).  Header-only: static
 * functions for the test programs that include it. */
#ifndef TW_TEST_STEPPER_H
#define TW_TEST_STEPPER_H

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine.h"

/* Forks a child that stops itself, then runs fn(arg) and exits with its
 * result (0 for success).  Returns the child's pid with the child stopped and
 * traced by the caller, or -1. */
static inline pid_t step_start(int (*fn)(void *), void *arg)
{
	int st;
	pid_t pid = fork();

	if (pid == 0) {
		if (ptrace(PTRACE_TRACEME, 0, 0, 0))
			_exit(100);
		raise(SIGSTOP);
		_exit(fn(arg) ? 1 : 0);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFSTOPPED(st)) {
		if (pid > 0)
			kill(pid, SIGKILL), waitpid(pid, &st, 0);
		return -1;
	}
	return pid;
}

/* One instruction of the child.  0, or 1 when it is gone (its wait status in
 * *st).  Signals other than the step's own trap are passed on. */
static inline int step_one(pid_t pid, int *st)
{
	int sig = 0;

	for (;;) {
		if (ptrace(PTRACE_SINGLESTEP, pid, 0, (void *)(long)sig) ||
		    waitpid(pid, st, 0) != pid)
			return 1;
		if (WIFEXITED(*st) || WIFSIGNALED(*st))
			return 1;
		if (WIFSTOPPED(*st) && WSTOPSIG(*st) == SIGTRAP)
			return 0;
		/* a signal of its own (the SIGSTOP it raised, an alarm): deliver
		 * it and step again; SIGSTOP is the start signal, not passed */
		sig = WSTOPSIG(*st) == SIGSTOP ? 0 : WSTOPSIG(*st);
	}
}

/* Whether the child's next instruction is the head's compare-and-swap, the
 * moment a change becomes visible (lock cmpxchg in tw_publish, the only one
 * there; the child is a fork of this program, so the function is at the same
 * address; a sanitizer's checks make it much longer than it is otherwise). */
static inline int step_at_publish(pid_t pid)
{
	struct user_regs_struct r;
	uintptr_t f = (uintptr_t)tw_publish;
	long text;

	if (ptrace(PTRACE_GETREGS, pid, 0, &r) || r.rip < f || r.rip >= f + 1024)
		return 0;
	errno = 0;
	text = ptrace(PTRACE_PEEKTEXT, pid, (void *)r.rip, 0);
	if (errno)
		return 0;
	return (text & 0xffffff) == 0xb10ff0; /* f0 0f b1: lock cmpxchg r32 */
}

/* Kills the child and reaps it. */
static inline void step_kill(pid_t pid)
{
	int st;

	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
}

#endif
