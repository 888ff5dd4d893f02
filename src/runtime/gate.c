/* The gate: the one place the runtime's own system calls come from.
 *
 * The seccomp filter (filter.c) is installed once, before the first exec of a
 * process tree, and stays for every image that tree ever runs; it cannot know
 * where each image puts its code.  So the runtime makes its real system calls
 * from a page it maps at the same fixed address in every image, and the
 * filter lets through any call made from there (rr does the same with its own
 * page).  The page holds a function with the C calling convention that makes
 * the system call in its first argument, and the restorer the runtime's
 * signal handlers return through (rt_sigreturn, which the filter never traps). */
#include <linux/mman.h>
#include <asm/unistd.h>
#include <errno.h>
#include <linux/prctl.h>

#include "runtime.h"

__asm__(".pushsection .rodata.tw_gate, \"a\"\n"
	".globl tw_gate_code\n.hidden tw_gate_code\n"
	"tw_gate_code:\n"
	"	endbr64\n"
	"	mov %rdi, %rax\n"
	"	mov %rsi, %rdi\n"
	"	mov %rdx, %rsi\n"
	"	mov %rcx, %rdx\n"
	"	mov %r8, %r10\n"
	"	mov %r9, %r8\n"
	"	mov 8(%rsp), %r9\n"
	"	syscall\n"
	".globl tw_gate_after\n.hidden tw_gate_after\n"
	"tw_gate_after:\n"
	"	ret\n"
	"	.balign 16\n"
	".globl tw_gate_restorer\n.hidden tw_gate_restorer\n"
	"tw_gate_restorer:\n"
	/* rt_sigreturn, encoded as glibc's __restore_rt is: debuggers and
	 * unwinders (gdb, libgcc) know a signal frame by these bytes */
	"	mov $15, %rax\n"
	"	syscall\n"
	".globl tw_gate_end\n.hidden tw_gate_end\n"
	"tw_gate_end:\n"
	".popsection\n");

typedef long gate_fn(long nr, long a, long b, long c, long d, long e, long f);

/* The gate once this image knows it has one. */
static gate_fn *gate;

long tw_rt_syscall(long nr, long a, long b, long c, long d, long e, long f)
{
	gate_fn *g = __atomic_load_n(&gate, __ATOMIC_RELAXED);

	return g ? g(nr, a, b, c, d, e, f) : tw_syscall6(nr, a, b, c, d, e, f);
}

int tw_gate_mapped(void)
{
	unsigned char vec[TW_RT_PAGES];
	const struct tw_rt *rt = tw_rt();

	if (__atomic_load_n(&gate, __ATOMIC_RELAXED))
		return 1;
	/* mincore fails for an address nothing maps: it does not fault */
	if (tw_syscall6(__NR_mincore, TW_RT_ADDR, TW_RT_PAGES * 4096, (long)vec, 0, 0, 0))
		return 0;
	if (__atomic_load_n(&rt->magic, __ATOMIC_ACQUIRE) != TW_RT_MAGIC ||
	    tw_memcmp((const void *)TW_RT_ADDR, tw_gate_code,
		      (unsigned long)(tw_gate_end - tw_gate_code)))
		return 0;
	__atomic_store_n(&gate, (gate_fn *)TW_RT_ADDR, __ATOMIC_RELAXED);
	return 1;
}

long tw_gate_map(void)
{
	const unsigned long len = TW_RT_PAGES * 4096;
	long r;

	if (tw_gate_mapped())
		return 0;
	r = tw_syscall6(__NR_mmap, TW_RT_ADDR, len, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (r < 0 && r > -4096)
		return r;
	if ((unsigned long)r != TW_RT_ADDR) { /* a kernel that took it as a hint */
		tw_syscall6(__NR_munmap, r, len, 0, 0, 0, 0);
		return -EEXIST;
	}
	tw_memcpy((void *)TW_RT_ADDR, tw_gate_code, (unsigned long)(tw_gate_end - tw_gate_code));
	r = tw_syscall6(__NR_mprotect, TW_RT_ADDR, 4096, PROT_READ | PROT_EXEC, 0, 0, 0);
	if (r) {
		tw_syscall6(__NR_munmap, TW_RT_ADDR, len, 0, 0, 0, 0);
		return r;
	}
	/* named in /proc/PID/maps where the kernel allows it */
	tw_syscall6(__NR_prctl, PR_SET_VMA, PR_SET_VMA_ANON_NAME, TW_RT_ADDR, len,
		    (long)"timewarp-gate", 0);
	__atomic_store_n(&gate, (gate_fn *)TW_RT_ADDR, __ATOMIC_RELAXED);
	return 0;
}
