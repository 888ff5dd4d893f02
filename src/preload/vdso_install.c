/* Giving a member the timewarp vDSO (src/vdso/): the image is copied into the
 * process, its data filled in, and the auxiliary vector's AT_SYSINFO_EHDR is
 * pointed at it before the program's own code runs, so a runtime that looks
 * the vDSO up itself (Go) binds to the engine instead of the host's clocks. */
#include <elf.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/prctl.h>

#include "preload.h"
#include "vdso.h"
#include "vdso_lookup.h"

extern const unsigned char tw_vdso_image[], tw_vdso_image_end[];
/* glibc: the initial stack pointer, where argc, argv, envp and the auxiliary
 * vector are. */
extern void *__libc_stack_end;

#ifndef PR_SET_VMA
#define PR_SET_VMA 0x53564d41
#define PR_SET_VMA_ANON_NAME 0
#endif

static Elf64_auxv_t *initial_auxv(void)
{
	long *sp = __libc_stack_end;
	char **p;

	if (!sp || sp[0] < 0)
		return NULL;
	p = (char **)(sp + 1) + sp[0] + 1; /* past argv and its null */
	while (*p)
		p++; /* past envp */
	return (Elf64_auxv_t *)(p + 1);
}

void *tw_vdso_install(const struct tw_member *m, const void *host_vdso)
{
	size_t len = (size_t)(tw_vdso_image_end - tw_vdso_image);
	size_t size = (len + 4095) & ~(size_t)4095;
	struct tw_vdso_data *d;
	Elf64_auxv_t *av;
	void *base;

	base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED)
		return NULL;
	memcpy(base, tw_vdso_image, len);
	d = tw_vdso_sym(base, TW_VDSO_DATA_SYMBOL, "LINUX_2.6");
	if (!d) {
		munmap(base, size);
		return NULL;
	}
	d->page = m->page;
	d->host = m->host;
	d->gettimeofday = (long (*)(struct tw_tv *, void *))tw_vdso_sym(
		host_vdso, "__vdso_gettimeofday", "LINUX_2.6");
	d->getcpu = (long (*)(unsigned *, unsigned *, void *))tw_vdso_sym(
		host_vdso, "__vdso_getcpu", "LINUX_2.6");
	d->magic = TW_VDSO_DATA_MAGIC;
	if (mprotect(base, size, PROT_READ | PROT_EXEC)) {
		munmap(base, size);
		return NULL;
	}
	/* named in /proc/PID/maps where the kernel allows it */
	prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, (unsigned long)base, size,
	      (unsigned long)"timewarp-vdso");

	/* The entry the kernel gave (getauxval agrees) gets the new image. */
	if ((av = initial_auxv()))
		for (; av->a_type != AT_NULL; av++)
			if (av->a_type == AT_SYSINFO_EHDR &&
			    av->a_un.a_val == getauxval(AT_SYSINFO_EHDR))
				av->a_un.a_val = (uint64_t)(uintptr_t)base;
	return base;
}
