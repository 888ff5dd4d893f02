/* The seccomp filter (src/runtime/filter.c), run by a classic BPF interpreter
 * of this test's own over calls of every kind: what it traps, what it lets
 * through, what it refuses, and that for every call it never traps it reads
 * nothing but the architecture and the number (what lets the kernel's seccomp
 * cache answer for them without running the filter). */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/prctl.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <string.h>
#include <sys/syscall.h>

#include "filter.h"
#include "runtime.h"
#include "tap.h"

static struct sock_filter prog[1024];
static unsigned len;
static unsigned read_mask; /* which 32-bit words of seccomp_data were loaded */

static unsigned run(const struct sock_filter *f, unsigned n, const struct seccomp_data *d)
{
	const unsigned char *data = (const unsigned char *)d;
	unsigned a = 0, pc = 0;

	read_mask = 0;
	while (pc < n) {
		const struct sock_filter *i = &f[pc++];

		switch (i->code) {
		case BPF_LD | BPF_W | BPF_ABS:
			if (i->k + 4 > sizeof(*d))
				return 0xdead;
			memcpy(&a, data + i->k, 4);
			read_mask |= 1u << (i->k / 4);
			break;
		case BPF_LD | BPF_IMM:
			a = i->k;
			break;
		case BPF_JMP | BPF_JA:
			pc += i->k;
			break;
		case BPF_JMP | BPF_JEQ | BPF_K:
			pc += a == i->k ? i->jt : i->jf;
			break;
		case BPF_JMP | BPF_JSET | BPF_K:
			pc += (a & i->k) ? i->jt : i->jf;
			break;
		case BPF_JMP | BPF_JGT | BPF_K:
			pc += a > i->k ? i->jt : i->jf;
			break;
		case BPF_ALU | BPF_AND | BPF_K:
			a &= i->k;
			break;
		case BPF_RET | BPF_K:
			return i->k;
		default:
			return 0xbad;
		}
	}
	return 0xfa11; /* fell off the end */
}

static unsigned verdict6(unsigned arch, int nr, uint64_t ip, const uint64_t a[6])
{
	struct seccomp_data d = { .nr = nr, .arch = arch, .instruction_pointer = ip };

	memcpy(d.args, a, sizeof(d.args));
	return run(prog, len, &d);
}

static unsigned verdict(unsigned arch, int nr, uint64_t ip, uint64_t a0, uint64_t a1)
{
	const uint64_t a[6] = { a0, a1 };

	return verdict6(arch, nr, ip, a);
}

/* Arguments 0..5 of a call. */
#define ARGS(...) ((const uint64_t[6]){ __VA_ARGS__ })

#define TRAP (SECCOMP_RET_TRAP | TW_TRAP_DATA)
#define ALLOW SECCOMP_RET_ALLOW
#define ENOSYS_ (SECCOMP_RET_ERRNO | ENOSYS)
#define X64 AUDIT_ARCH_X86_64
#define PROGRAM_IP 0x401234ULL

int main(void)
{
	const uint64_t gate = tw_gate_ip();
	long n = tw_filter_build(prog, sizeof(prog) / sizeof(prog[0]));
	static const int trapped[] = {
		SYS_clock_gettime, SYS_gettimeofday, SYS_time, SYS_clock_settime,
		SYS_settimeofday, SYS_adjtimex, SYS_clock_adjtime, SYS_nanosleep,
		SYS_clock_nanosleep, SYS_futex, SYS_poll, SYS_ppoll, SYS_select, SYS_pselect6,
		SYS_epoll_wait, SYS_epoll_pwait, SYS_epoll_pwait2, SYS_rt_sigtimedwait,
		SYS_semtimedop, SYS_mq_timedsend, SYS_mq_timedreceive, SYS_io_getevents,
		SYS_io_pgetevents, SYS_recvmmsg, SYS_timer_create, SYS_timer_delete,
		SYS_timer_settime, SYS_timer_gettime, SYS_timerfd_create, SYS_timerfd_settime,
		SYS_timerfd_gettime, SYS_setitimer, SYS_getitimer, SYS_alarm, SYS_rt_sigaction,
		SYS_rt_sigprocmask, SYS_rt_sigsuspend, SYS_seccomp, SYS_prctl, SYS_clone3,
		/* exec.c, selfexe.c */
		SYS_execve, SYS_execveat, SYS_readlink, SYS_readlinkat, SYS_ptrace };
	int cached = 0, leaks = 0;

	if (!tap_ok(n > 0 && n < 1024, "the filter is built (%ld instructions)", n))
		return tap_done();
	len = (unsigned)n;

	TAP_EQ_I64(verdict(X64, SYS_getppid, PROGRAM_IP, 0, 0), ALLOW, "getppid goes through");
	TAP_EQ_I64(verdict(X64, SYS_clock_gettime, PROGRAM_IP, 0, 0), TRAP,
		   "clock_gettime from the program is trapped, tagged as timewarp's");
	TAP_EQ_I64(verdict(X64, SYS_clock_gettime, gate, 0, 0), ALLOW,
		   "clock_gettime from the gate goes through");
	TAP_EQ_I64(verdict(X64, SYS_clock_gettime, gate | (1ULL << 40), 0, 0), TRAP,
		   "the same low half of the address elsewhere is trapped");
	TAP_EQ_I64(verdict(X64, SYS_clock_gettime, gate + 1, 0, 0), TRAP,
		   "an address next to the gate's is trapped");
	TAP_EQ_I64(verdict(X64, SYS_rt_sigprocmask, PROGRAM_IP, 0 /* SIG_BLOCK */, 0), ALLOW,
		   "rt_sigprocmask with no new mask goes through");
	TAP_EQ_I64(verdict(X64, SYS_rt_sigprocmask, PROGRAM_IP, 1 /* SIG_UNBLOCK */, 0x7ff0), ALLOW,
		   "rt_sigprocmask that unblocks goes through");
	TAP_EQ_I64(verdict(X64, SYS_rt_sigprocmask, PROGRAM_IP, 0, 0x7ff0), TRAP,
		   "rt_sigprocmask that blocks is trapped");
	TAP_EQ_I64(verdict(X64, SYS_rt_sigprocmask, PROGRAM_IP, 2, 1ULL << 40), TRAP,
		   "a mask pointer above 4 GiB is not taken for null");
	TAP_EQ_I64(verdict(X64, SYS_prctl, PROGRAM_IP, PR_SET_NAME, 0), ALLOW,
		   "prctl(PR_SET_NAME) goes through");
	TAP_EQ_I64(verdict(X64, SYS_prctl, PROGRAM_IP, PR_SET_SECCOMP, 2), TRAP,
		   "prctl(PR_SET_SECCOMP) is trapped");
	TAP_EQ_I64(verdict6(X64, SYS_futex, PROGRAM_IP, ARGS(0x1000, 128 /* WAIT_PRIVATE */, 1, 0)),
		   ALLOW, "a futex wait with no timeout goes through");
	TAP_EQ_I64(verdict6(X64, SYS_futex, PROGRAM_IP, ARGS(0x1000, 128, 1, 0x7ffd0000)), TRAP,
		   "a futex wait with a timeout is trapped");
	TAP_EQ_I64(verdict6(X64, SYS_futex, PROGRAM_IP,
			    ARGS(0x1000, 9 | 128 | 256 /* WAIT_BITSET, REALTIME */, 1, 0x7ffd0000)),
		   TRAP, "a FUTEX_WAIT_BITSET on REALTIME with a deadline is trapped");
	TAP_EQ_I64(verdict6(X64, SYS_futex, PROGRAM_IP, ARGS(0x1000, 6 /* LOCK_PI */, 0, 0x7ffd0000)),
		   TRAP, "a FUTEX_LOCK_PI with a deadline is trapped");
	TAP_EQ_I64(verdict6(X64, SYS_futex, PROGRAM_IP, ARGS(0x1000, 1 | 128 /* WAKE */, 1, 5)),
		   ALLOW, "a futex wake goes through, whatever its fourth argument");
	TAP_EQ_I64(verdict6(X64, SYS_futex, PROGRAM_IP, ARGS(0x1000, 5 /* WAKE_OP */, 1, 5)),
		   ALLOW, "and FUTEX_WAKE_OP");
	TAP_EQ_I64(verdict6(X64, SYS_poll, PROGRAM_IP, ARGS(0x1000, 1, 0)), ALLOW,
		   "poll with no timeout goes through");
	TAP_EQ_I64(verdict6(X64, SYS_poll, PROGRAM_IP, ARGS(0x1000, 1, 0xffffffff /* -1 */)), ALLOW,
		   "poll waiting for ever goes through");
	TAP_EQ_I64(verdict6(X64, SYS_poll, PROGRAM_IP, ARGS(0x1000, 1, 250)), TRAP,
		   "poll with a timeout is trapped");
	TAP_EQ_I64(verdict6(X64, SYS_ppoll, PROGRAM_IP, ARGS(0x1000, 1, 0, 0)), ALLOW,
		   "ppoll with neither timeout nor mask goes through");
	TAP_EQ_I64(verdict6(X64, SYS_ppoll, PROGRAM_IP, ARGS(0x1000, 1, 0, 0x7ffd0000)), TRAP,
		   "ppoll with a mask is trapped (SIGSYS out of it)");
	TAP_EQ_I64(verdict6(X64, SYS_epoll_pwait, PROGRAM_IP, ARGS(3, 0x1000, 8, 100, 0)), TRAP,
		   "epoll_pwait with a timeout is trapped");
	TAP_EQ_I64(verdict6(X64, SYS_epoll_pwait, PROGRAM_IP, ARGS(3, 0x1000, 8, 0, 0)), ALLOW,
		   "epoll_pwait with neither goes through");
	TAP_EQ_I64(verdict(X64, SYS_setitimer, PROGRAM_IP, 1 /* ITIMER_VIRTUAL */, 0x1000), ALLOW,
		   "setitimer(ITIMER_VIRTUAL) goes through");
	TAP_EQ_I64(verdict(X64, SYS_setitimer, PROGRAM_IP, 0 /* ITIMER_REAL */, 0x1000), TRAP,
		   "setitimer(ITIMER_REAL) is trapped");
	TAP_EQ_I64(verdict(X64, SYS_clone3, PROGRAM_IP, 0, 0), ENOSYS_, "clone3 is refused");
	TAP_EQ_I64(verdict(X64, SYS_clone3, gate, 0, 0), ENOSYS_, "from the gate too");
	TAP_EQ_I64(verdict(X64, SYS_execve, PROGRAM_IP, 0, 0), TRAP, "execve is trapped");
	TAP_EQ_I64(verdict(X64, SYS_execveat, 0x7f0012345678ULL, 0, 0), TRAP,
		   "execveat is trapped from anywhere");
	TAP_EQ_I64(verdict(X64, SYS_execve, gate, 0, 0), ALLOW, "execve from the gate goes through");
	TAP_EQ_I64(verdict(X64, SYS_readlink, PROGRAM_IP, 0, 0), TRAP,
		   "readlink from a static program's code (below 4 GiB) is trapped");
	TAP_EQ_I64(verdict(X64, SYS_readlinkat, 0x7f0012345678ULL, 0, 0), ALLOW,
		   "readlinkat from a shared library or ld.so (above 4 GiB) goes through");
	TAP_EQ_I64(verdict(X64, SYS_readlinkat, gate, 0, 0), ALLOW, "and from the gate");
	TAP_EQ_I64(verdict(X64, SYS_ptrace, PROGRAM_IP, 0 /* PTRACE_TRACEME */, 0), TRAP,
		   "PTRACE_TRACEME is trapped");
	TAP_EQ_I64(verdict(X64, SYS_ptrace, PROGRAM_IP, 16 /* PTRACE_ATTACH */, 0), ALLOW,
		   "every other ptrace request goes through");
	TAP_EQ_I64(verdict(X64, SYS_clock_gettime | 0x40000000, PROGRAM_IP, 0, 0), ENOSYS_,
		   "an x32 clock_gettime is refused");
	TAP_EQ_I64(verdict(X64, SYS_getppid | 0x40000000, PROGRAM_IP, 0, 0), ENOSYS_,
		   "every x32 call is");
	TAP_EQ_I64(verdict(AUDIT_ARCH_I386, 265 /* clock_gettime */, PROGRAM_IP, 0, 0), ENOSYS_,
		   "an i386 clock_gettime is refused");
	TAP_EQ_I64(verdict(AUDIT_ARCH_I386, 403 /* clock_gettime64 */, PROGRAM_IP, 0, 0), ENOSYS_,
		   "and its 64-bit-time twin");
	TAP_EQ_I64(verdict(AUDIT_ARCH_I386, 20 /* getpid */, PROGRAM_IP, 0, 0), ALLOW,
		   "an i386 getpid goes through");

	/* every x86-64 number the filter does not trap: decided on the number */
	for (int nr = 0; nr < 500; nr++) {
		int is_trapped = 0;

		for (unsigned i = 0; i < sizeof(trapped) / sizeof(trapped[0]); i++)
			is_trapped |= trapped[i] == nr;
		if (is_trapped)
			continue;
		cached += verdict(X64, nr, PROGRAM_IP, 5, 6) == ALLOW;
		leaks += (read_mask & ~3u) != 0; /* words 0 and 1: nr and arch */
	}
	tap_ok(cached == 500 - (int)(sizeof(trapped) / sizeof(trapped[0])),
	       "every other x86-64 call goes through (%d)", cached);
	tap_ok(!leaks, "and for none of them does the filter read more than the number and the "
		       "architecture (%d do)", leaks);

	/* a program's own filter, wrapped: the gate first, then the program's */
	{
		struct sock_filter mine[] = {
			BPF_STMT(BPF_JMP | BPF_JA, 0), /* A is 0 here: the program's own start */
			BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1),
			BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
			BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | 1),
		};
		struct sock_fprog p = { sizeof(mine) / sizeof(mine[0]), mine };
		struct sock_filter w[64];
		long m = tw_filter_wrap(&p, w, 64);
		struct seccomp_data d = { .nr = SYS_clock_gettime, .arch = X64 };

		tap_ok(m == (long)(p.len + 6), "a program's filter is wrapped (%ld instructions)", m);
		d.instruction_pointer = gate;
		TAP_EQ_I64(run(w, (unsigned)m, &d), ALLOW, "the wrapped filter lets the gate through");
		d.instruction_pointer = PROGRAM_IP;
		TAP_EQ_I64(run(w, (unsigned)m, &d), SECCOMP_RET_KILL_PROCESS,
			   "and decides the program's calls as the program's filter does, A = 0");
		TAP_EQ_I64(tw_filter_wrap(&p, w, p.len + 5), -ENOSPC, "one too long is refused");
	}
	return tap_done();
}
