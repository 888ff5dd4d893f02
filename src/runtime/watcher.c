/* The watcher: one thread per member process that needs it (it has a served
 * wait under way, or a timer armed), asleep on the page's head, that after
 * every change of the namespace re-arms the armed timers (timers.c) and kicks
 * the waits planned against an older head (kick.c).  A wait that has not
 * planned again within a millisecond is kicked again (its kick may have come
 * just before its system call), then every 20 ms.
 *
 * It is a thread of the process, not of the program (DESIGN: "timewarp is a
 * guest"): made with clone directly, it is no libc thread, so it never keeps
 * a process alive (libc ends the process when the program's last thread
 * exits, and the watcher with it); it has every signal blocked, so it takes
 * none meant for the program; it holds no lock, so a fork at any instant
 * leaves the child nothing to wait for (the child starts a watcher of its own
 * when it needs one); and it runs only runtime code, on a stack and a
 * thread-pointer block of its own, with no libc. */
#include <asm/unistd.h>
#include <linux/futex.h>
#include <linux/mman.h>
#include <linux/sched.h>

#include "wait.h"

#define QUICK_KICKS 8
#define STACK_BYTES (64 * 1024UL)

/* Starts fn(arg) on a new thread of this process whose stack ends at `top`
 * and whose thread pointer is `tls`: the parent gets the new thread's id (or
 * -errno); the thread ends (alone) when fn returns. */
long tw_thread_spawn(void (*fn)(void *), void *arg, void *top, unsigned long flags, void *tls);
__asm__(".pushsection .text.tw_thread_spawn, \"ax\"\n"
	".globl tw_thread_spawn\n.hidden tw_thread_spawn\n"
	".type tw_thread_spawn, @function\n"
	"tw_thread_spawn:\n"
	"	endbr64\n"
	"	and $-16, %rdx\n"
	"	sub $16, %rdx\n"
	"	mov %rdi, 0(%rdx)\n" /* fn and arg on the new stack */
	"	mov %rsi, 8(%rdx)\n"
	"	mov %rcx, %rdi\n" /* clone(flags, stack, ptid, ctid, tls) */
	"	mov %rdx, %rsi\n"
	"	xor %edx, %edx\n"
	"	xor %r10d, %r10d\n"
	"	mov $56, %eax\n" /* SYS_clone: not trapped, so from anywhere */
	"	syscall\n"
	"	test %rax, %rax\n"
	"	jnz 1f\n"
	"	xor %ebp, %ebp\n" /* the new thread: no frame above */
	"	pop %rax\n"
	"	pop %rdi\n"
	"	call *%rax\n"
	"	xor %edi, %edi\n"
	"	mov $60, %eax\n" /* SYS_exit: this thread only */
	"	syscall\n"
	"	hlt\n"
	"1:	ret\n"
	".size tw_thread_spawn, . - tw_thread_spawn\n"
	".popsection\n");

/* `arg`: the head its starter had planned or armed against, so that a change
 * made before this thread first looks is one it acts on. */
static void watch(void *arg)
{
	const struct tw_rt *rt = tw_rt();
	const uint32_t *word = &rt->page->head;
	uint32_t seen = (uint32_t)(uintptr_t)arg;
	int fresh = 0;

	for (;;) {
		uint32_t h = __atomic_load_n(word, __ATOMIC_ACQUIRE);
		struct tw_ts retry = { 0, 1000000 };
		int most;

		if (h != seen) {
			tw_timers_rearm();
			seen = h;
			fresh = 1;
		}
		most = tw_kick_waits(h, fresh);
		fresh = 0;
		if (most >= QUICK_KICKS)
			retry.nsec = 20000000;
		tw_rt_syscall(__NR_futex, (long)word, FUTEX_WAIT, h, most >= 0 ? (long)&retry : 0, 0,
			      0);
	}
}

long tw_watcher_start(uint32_t head)
{
	struct tw_rt *rt = tw_rt();
	int32_t pid = tw_getpid();
	int32_t cur = __atomic_load_n(&rt->watcher_pid, __ATOMIC_ACQUIRE);
	uint64_t all = ~0ULL, old;
	long stack, tid;
	char *tls;

	if (cur == pid || cur == -pid)
		return 0; /* running, or being started by another thread */
	if (!__atomic_compare_exchange_n(&rt->watcher_pid, &cur, -pid, 0, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE))
		return 0;
	stack = tw_rt_syscall(__NR_mmap, 0, STACK_BYTES, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (stack < 0 && stack > -4096)
		goto fail;
	tw_rt_syscall(__NR_prctl, 0x53564d41 /* PR_SET_VMA */, 0 /* ANON_NAME */, stack,
		      STACK_BYTES, (long)"timewarp-watcher", 0);
	/* the thread pointer: a block of its own at the stack's far end, whose
	 * first word points to itself, as x86-64 thread pointers do */
	tls = (char *)stack;
	*(char **)tls = tls;
	/* every signal blocked for the new thread (it inherits this mask) */
	tw_rt_syscall(__NR_rt_sigprocmask, 0 /* SIG_BLOCK */, (long)&all, (long)&old, 8, 0, 0);
	tid = tw_thread_spawn(watch, (void *)(uintptr_t)head, (char *)stack + STACK_BYTES,
			      CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD |
				      CLONE_SYSVSEM | CLONE_SETTLS,
			      tls);
	tw_rt_syscall(__NR_rt_sigprocmask, 2 /* SIG_SETMASK */, (long)&old, 0, 8, 0, 0);
	if (tid < 0) {
		tw_rt_syscall(__NR_munmap, stack, STACK_BYTES, 0, 0, 0, 0);
		goto fail;
	}
	__atomic_store_n(&rt->watcher_tid, (int32_t)tid, __ATOMIC_RELAXED);
	__atomic_store_n(&rt->watcher_pid, pid, __ATOMIC_RELEASE);
	return 0;
fail:
	__atomic_store_n(&rt->watcher_pid, 0, __ATOMIC_RELEASE);
	return -1;
}
