/* Host time by system call: where a process has no vDSO at all (valgrind
 * hides it; TIMEWARP_HOST_VDSO=off), and for the clocks no vDSO serves.  The
 * engine makes the call itself, never through an interposed libc. */
#include <asm/unistd.h>

#include "engine.h"

long tw_syscall6(long nr, long a, long b, long c, long d, long e, long f)
{
	long ret;
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = f;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}

long tw_sys_clock_gettime(const struct tw_host *h, long clockid, struct tw_ts *ts)
{
	return tw_host_syscall(h, __NR_clock_gettime, clockid, (long)ts, 0, 0, 0, 0);
}
