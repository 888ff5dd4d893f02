/* Memory a trapped call names (a timespec to fill, a timeout to read), taken
 * as the kernel takes it: an address the program cannot use makes the call
 * fail with EFAULT.  The handler must not touch such an address itself: the
 * fault would come inside its SIGSYS handler, and end the program.
 *
 * Memory within the page of the interrupted stack pointer is the thread's
 * stack, mapped and writable: used directly (the usual case, a timespec on
 * the caller's stack, costs nothing more).  Other memory is copied by the
 * kernel (process_vm_readv and process_vm_writev on the process itself, which
 * check it as copy_from_user and copy_to_user do), and directly where a
 * filter of the program's refuses those calls. */
#include <asm/unistd.h>
#include <errno.h>

#include "serve.h"

struct iov {
	const void *base;
	unsigned long len;
};

/* Whether [p, p + n) lies in the page of the interrupted stack pointer. */
static int on_stack_page(const struct tw_call *c, const void *p, unsigned long n)
{
	uint64_t page = c->uc->mc.rsp & ~4095ULL, a = (uint64_t)p;

	return a >= page && n <= 4096 && a - page <= 4096 - n;
}

/* The kernel's copy between this process and itself: 0, -EFAULT, or 1 when
 * it may not be used. */
static long copy(long nr, void *local, const void *remote, unsigned long n)
{
	struct iov l = { local, n }, r = { remote, n };
	long got = tw_rt_syscall(nr, tw_rt_syscall(__NR_getpid, 0, 0, 0, 0, 0, 0), (long)&l, 1,
				 (long)&r, 1, 0);

	if (got == (long)n)
		return 0;
	if (got == -ENOSYS || got == -EPERM || got == -EACCES)
		return 1;
	return -EFAULT; /* not at all, or only the part before a bad page */
}

long tw_get_user(const struct tw_call *c, void *dst, const void *src, unsigned long n)
{
	long r;

	if (!src)
		return -EFAULT;
	if (on_stack_page(c, src, n) || (r = copy(__NR_process_vm_readv, dst, src, n)) == 1) {
		tw_memcpy(dst, src, n);
		return 0;
	}
	return r;
}

long tw_put_user(const struct tw_call *c, void *dst, const void *src, unsigned long n)
{
	long r;

	if (!dst)
		return -EFAULT;
	if (on_stack_page(c, dst, n) || (r = copy(__NR_process_vm_writev, (void *)src, dst, n)) == 1) {
		tw_memcpy(dst, src, n);
		return 0;
	}
	return r;
}
