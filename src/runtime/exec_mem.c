/* The memory of one exec: the new image's vectors are built in a mapping of
 * the exec's own, not on the stack (a SIGSYS handler may run on a small
 * alternate stack, and an environment may be as large as the kernel accepts).
 *
 * A vfork child (posix_spawn, Go's os/exec) shares its parent's memory: its
 * mapping would outlive a successful exec there, one more per spawn.  So each
 * mapping is noted in the runtime's state (also shared), with a word the
 * kernel clears when the exec is done: the thread's clear_child_tid, which
 * the kernel clears (and wakes) when the thread's exec, or exit, leaves an
 * address space it shared.  The next exec of the parent frees every mapping
 * whose word is clear.  A mapping of an exec that did not share its memory
 * went with it. */
#include <asm/unistd.h>
#include <linux/mman.h>
#include <linux/prctl.h>

#include "exec.h"
#include "runtime.h"

#define NSCRATCH (sizeof(((struct tw_rt *)0)->exec_scratch) / sizeof(struct tw_exec_scratch))

enum { FREE, TAKING, TAKEN, FREEING };

static long sys(long nr, long a, long b, long c, long d, long e)
{
	return tw_rt_syscall(nr, a, b, c, d, e, 0);
}

/* Frees what execs of vfork children left behind, now done. */
static void collect(void)
{
	struct tw_rt *rt = tw_rt();

	for (unsigned i = 0; i < NSCRATCH; i++) {
		struct tw_exec_scratch *s = &rt->exec_scratch[i];
		uint32_t taken = TAKEN;

		if (__atomic_load_n(&s->state, __ATOMIC_ACQUIRE) != TAKEN ||
		    __atomic_load_n(&s->user, __ATOMIC_ACQUIRE) ||
		    !__atomic_compare_exchange_n(&s->state, &taken, FREEING, 0, __ATOMIC_ACQ_REL,
						 __ATOMIC_RELAXED))
			continue;
		sys(__NR_munmap, (long)s->addr, (long)s->len, 0, 0, 0);
		s->addr = s->len = 0;
		__atomic_store_n(&s->state, FREE, __ATOMIC_RELEASE);
	}
}

long tw_exec_mem_take(struct tw_exec_mem *h, unsigned long len)
{
	struct tw_rt *rt = tw_rt();
	long m, tid;

	collect();
	h->len = (len + 4095) & ~4095UL;
	m = sys(__NR_mmap, 0, (long)h->len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1);
	if (m < 0 && m > -4096)
		return m;
	h->mem = (char *)m;
	h->slot = 0;
	h->told = 0;
	h->old_tid_address = 0;
	tid = sys(__NR_gettid, 0, 0, 0, 0, 0);
	for (unsigned i = 0; i < NSCRATCH && !h->slot; i++) {
		struct tw_exec_scratch *s = &rt->exec_scratch[i];
		uint32_t free = FREE;

		if (!__atomic_compare_exchange_n(&s->state, &free, TAKING, 0, __ATOMIC_ACQ_REL,
						 __ATOMIC_RELAXED))
			continue;
		s->addr = (uint64_t)m;
		s->len = h->len;
		__atomic_store_n(&s->user, (int32_t)tid, __ATOMIC_RELEASE);
		__atomic_store_n(&s->state, TAKEN, __ATOMIC_RELEASE);
		h->slot = s;
	}
	/* the word the kernel clears when this thread's exec leaves the
	 * address space it shares (PR_GET_TID_ADDRESS: to give the thread its
	 * own back should the exec fail) */
	if (h->slot && !sys(__NR_prctl, PR_GET_TID_ADDRESS, (long)&h->old_tid_address, 0, 0, 0)) {
		sys(__NR_set_tid_address, (long)&h->slot->user, 0, 0, 0, 0);
		h->told = 1;
	}
	return 0;
}

void tw_exec_mem_drop(struct tw_exec_mem *h)
{
	if (h->told)
		sys(__NR_set_tid_address, h->old_tid_address, 0, 0, 0, 0);
	sys(__NR_munmap, (long)h->mem, (long)h->len, 0, 0, 0);
	if (h->slot) {
		h->slot->addr = h->slot->len = 0;
		__atomic_store_n(&h->slot->user, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&h->slot->state, FREE, __ATOMIC_RELEASE);
	}
}
