/* Execs under a debugger (DESIGN section 4, "Debuggers").
 *
 * A traced vfork child.  A debugger starts its program in a vfork child that
 * asks to be traced (PTRACE_TRACEME) and execs (gdb does).  Its exec is
 * trapped, and a traced process's signal stops it for its tracer: the
 * debugger, which is blocked in vfork until that very exec.  So a vfork
 * child's PTRACE_TRACEME is kept until its exec, and made (through the gate)
 * right before it: the kernel then stops the new image for the debugger as it
 * always does.  Nothing can tell the difference: the tracer could not act on
 * the child before the exec anyway.
 *
 * A static program under a tracer.  A debugger that starts a program stops it
 * at its exec and sets its breakpoints then, in the program's code: the
 * loader's exec would show it a process where the program is not mapped yet.
 * So a static program exec'd while traced (gdb's, strace's) is exec'd as a
 * copy (a memfd) whose headers name the runtime as its ELF interpreter: the
 * kernel maps the program where it always does, and the runtime beside it,
 * which starts and enters the program as the loader would (loader.c).  The
 * copy costs its size in memory while the program runs; only traced programs
 * pay it. */
#include <asm/stat.h>
#include <asm/unistd.h>
#include <errno.h>
#include <linux/fcntl.h>

#include "exec.h"
#include "runtime.h"
#include "serve.h"

static long sys(long nr, long a, long b, long c, long d, long e)
{
	return tw_rt_syscall(nr, a, b, c, d, e, 0);
}

#define KCMP_VM_ 1
#define NTRACEME (sizeof(((struct tw_rt *)0)->exec_traceme) / sizeof(int32_t))

long tw_serve_ptrace(const struct tw_call *c)
{
	struct tw_rt *rt = tw_rt();
	long pid = sys(__NR_getpid, 0, 0, 0, 0, 0), tid = sys(__NR_gettid, 0, 0, 0, 0, 0);

	/* a vfork child: its address space is its parent's */
	if (c->a[0] != 0 /* PTRACE_TRACEME */ ||
	    sys(__NR_kcmp, pid, sys(__NR_getppid, 0, 0, 0, 0, 0), KCMP_VM_, 0, 0))
		return sys(c->nr, c->a[0], c->a[1], c->a[2], c->a[3], c->a[4]);
	for (unsigned i = 0; i < NTRACEME; i++) {
		int32_t free = 0;

		if (!__atomic_compare_exchange_n(&rt->exec_traceme[i], &free, (int32_t)tid, 0,
						 __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
			continue;
		/* should the child _exit instead, the kernel frees the slot */
		sys(__NR_set_tid_address, (long)&rt->exec_traceme[i], 0, 0, 0, 0);
		return 0;
	}
	return sys(c->nr, c->a[0], c->a[1], c->a[2], c->a[3], c->a[4]);
}

void tw_exec_traceme(struct tw_exec_mem *h)
{
	struct tw_rt *rt = tw_rt();
	int32_t tid = 0;

	for (unsigned i = 0; i < NTRACEME; i++) {
		int32_t t = __atomic_load_n(&rt->exec_traceme[i], __ATOMIC_ACQUIRE);

		if (!t)
			continue;
		if (!tid)
			tid = (int32_t)sys(__NR_gettid, 0, 0, 0, 0, 0);
		if (t == tid) {
			if (h->old_tid_address == (long)&rt->exec_traceme[i])
				h->old_tid_address = 0;
			__atomic_store_n(&rt->exec_traceme[i], 0, __ATOMIC_RELEASE);
			sys(__NR_ptrace, 0 /* PTRACE_TRACEME */, 0, 0, 0, 0);
		}
	}
}

/* ---- a static program under a tracer ---- */
#define MFD_CLOEXEC_ 1U

int tw_exec_traced(char *t, unsigned long size)
{
	if (tw_read_file("/proc/thread-self/status", t, size) <= 0)
		return 0;
	for (; *t; t++)
		if (!tw_strncmp(t, "\nTracerPid:", 11)) {
			for (t += 11; *t == ' ' || *t == '\t'; t++)
				;
			return *t != '0';
		}
	return 0;
}

long tw_exec_interp_copy(long fd, const char *path, const char *rt, Elf64_Phdr *ph)
{
	const char *name = path;
	Elf64_Ehdr eh;
	struct stat st;
	long m, r = -ENOEXEC, off = 0, size, at = -1, len = (long)tw_strlen(rt) + 1;

	for (const char *q = path; *q; q++)
		if (*q == '/')
			name = q + 1;
	if (sys(__NR_fstat, fd, (long)&st, 0, 0, 0))
		return -EIO;
	size = st.st_size;
	m = sys(__NR_memfd_create, (long)name, MFD_CLOEXEC_, 0, 0, 0);
	if (m < 0)
		return m;
	while (off < size)
		if ((r = sys(__NR_sendfile, m, fd, (long)&off, size - off, 0)) <= 0)
			goto fail;
	r = -ENOEXEC;
	if (sys(__NR_pread64, m, (long)&eh, sizeof(eh), 0, 0) != sizeof(eh) ||
	    sys(__NR_pread64, m, (long)ph, (long)(eh.e_phnum * sizeof(Elf64_Phdr)),
		(long)eh.e_phoff, 0) != (long)(eh.e_phnum * sizeof(Elf64_Phdr)))
		goto fail;
	for (long i = 0; i < eh.e_phnum && at < 0; i++)
		if (ph[i].p_type == PT_NOTE)
			at = i;
	for (long i = 0; i < eh.e_phnum && at < 0; i++)
		if (ph[i].p_type == PT_GNU_STACK && !(ph[i].p_flags & PF_X))
			at = i;
	if (at < 0)
		goto fail;
	ph[at] = (Elf64_Phdr){ .p_type = PT_INTERP, .p_flags = PF_R, .p_offset = (uint64_t)size,
				  .p_filesz = (uint64_t)len, .p_memsz = (uint64_t)len, .p_align = 1 };
	if (sys(__NR_pwrite64, m, (long)rt, len, size, 0) != len ||
	    sys(__NR_pwrite64, m, (long)&ph[at], sizeof(Elf64_Phdr),
		(long)(eh.e_phoff + (uint64_t)at * sizeof(Elf64_Phdr)), 0) != sizeof(Elf64_Phdr))
		goto fail;
	return m;
fail:
	sys(__NR_close, m, 0, 0, 0, 0);
	return r < 0 ? r : -EIO;
}
