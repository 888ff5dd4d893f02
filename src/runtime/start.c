/* Starting the runtime in a member: the namespace joined, host clocks found,
 * the gate mapped, the timewarp vDSO installed, SIGSYS taken.  A member never
 * runs on host time unannounced (DESIGN section 3): when it cannot reach its
 * namespace it says why and exits. */
#include <linux/fcntl.h>
#include <linux/mman.h>
#include <asm/stat.h>
#include <asm/unistd.h>
#include <errno.h>
#include <linux/auxvec.h>
#include <linux/elf.h>
#include <linux/prctl.h>

#include "exec.h"
#include "runtime.h"
#include "vdso.h"
#include "vdso_lookup.h"

extern __attribute__((visibility("hidden"))) const unsigned char tw_vdso_image[],
	tw_vdso_image_end[];

#define FILE_TYPE 0170000 /* S_IFMT */
#define REGULAR 0100000   /* S_IFREG */

/* What the process started with: argc, argv, envp, the auxiliary vector. */
struct start {
	char **envp;
	uint64_t *auxv; /* pairs: type, value */
};

static struct start initial(long *sp)
{
	struct start s;
	char **p = (char **)(sp + 1) + sp[0] + 1; /* past argv and its null */

	s.envp = p;
	while (*p)
		p++;
	s.auxv = (uint64_t *)(p + 1);
	return s;
}

static const char *env(const struct start *s, const char *name)
{
	unsigned long n = tw_strlen(name);

	for (char **e = s->envp; *e; e++)
		if (!tw_strncmp(*e, name, n) && (*e)[n] == '=')
			return *e + n + 1;
	return 0;
}

static uint64_t *aux(const struct start *s, uint64_t type)
{
	for (uint64_t *a = s->auxv; a[0] != AT_NULL; a += 2)
		if (a[0] == type)
			return a;
	return 0;
}

__attribute__((noreturn)) static void unreachable(const char *path, const char *why)
{
	static const char exiting[] = "; exiting rather than running on host time";
	char what[TW_PATH_MAX + 64], because[256];
	unsigned long n = tw_strlen(path), w = tw_strlen(why);

	if (n > TW_PATH_MAX)
		n = TW_PATH_MAX;
	if (w > sizeof(because) - sizeof(exiting))
		w = sizeof(because) - sizeof(exiting);
	tw_memcpy(what, "cannot reach time namespace ", 28);
	tw_memcpy(what + 28, path, n);
	what[28 + n] = 0;
	tw_memcpy(because, why, w);
	tw_memcpy(because + w, exiting, sizeof(exiting));
	tw_say(what, because);
	tw_exit(1);
}

/* The clock page: opened without following links or blocking on a FIFO, and
 * only if it is a regular file of the page's size; mapped read-only. */
static const struct tw_page *join(const char *path)
{
	struct stat st;
	long fd, m, r;

	fd = tw_rt_syscall(__NR_openat, AT_FDCWD, (long)path,
			   O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0, 0, 0);
	if (fd < 0)
		unreachable(path, tw_strerror(fd));
	r = tw_rt_syscall(__NR_fstat, fd, (long)&st, 0, 0, 0, 0);
	if (r || (st.st_mode & FILE_TYPE) != REGULAR || st.st_size != TW_PAGE_BYTES) {
		tw_rt_syscall(__NR_close, fd, 0, 0, 0, 0, 0);
		unreachable(path, r ? tw_strerror(r) : (st.st_mode & FILE_TYPE) != REGULAR
							     ? tw_strerror(ENXIO)
							     : tw_strerror(EPROTO));
	}
	m = tw_rt_syscall(__NR_mmap, 0, TW_PAGE_BYTES, PROT_READ, MAP_SHARED, fd, 0);
	tw_rt_syscall(__NR_close, fd, 0, 0, 0, 0, 0);
	if (m < 0 && m > -4096)
		unreachable(path, tw_strerror(m));
	if ((r = tw_page_valid((const struct tw_page *)m)))
		unreachable(path, tw_strerror(r));
	return (const struct tw_page *)m;
}

/* The timewarp vDSO (src/vdso/): the image copied in, its data filled in, and
 * the auxiliary vector's AT_SYSINFO_EHDR pointed at it, so that a runtime that
 * looks the vDSO up itself (Go, musl, static glibc) binds to the engine. */
static void *install_vdso(struct tw_rt *rt, const void *host_vdso, uint64_t *at_sysinfo)
{
	unsigned long len = (unsigned long)(tw_vdso_image_end - tw_vdso_image);
	unsigned long size = (len + 4095) & ~4095UL;
	struct tw_vdso_data *d;
	long base;

	base = tw_rt_syscall(__NR_mmap, 0, (long)size, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base < 0 && base > -4096)
		return 0;
	tw_memcpy((void *)base, tw_vdso_image, len);
	if (!(d = tw_vdso_sym((void *)base, TW_VDSO_DATA_SYMBOL, "LINUX_2.6"))) {
		tw_rt_syscall(__NR_munmap, base, (long)size, 0, 0, 0, 0);
		return 0;
	}
	d->page = rt->page;
	d->host = rt->host;
	d->gettimeofday = (long (*)(struct tw_tv *, void *))tw_vdso_sym(
		host_vdso, "__vdso_gettimeofday", "LINUX_2.6");
	d->getcpu = (long (*)(unsigned *, unsigned *, void *))tw_vdso_sym(
		host_vdso, "__vdso_getcpu", "LINUX_2.6");
	d->magic = TW_VDSO_DATA_MAGIC;
	if (tw_rt_syscall(__NR_mprotect, base, (long)size, PROT_READ | PROT_EXEC, 0, 0, 0)) {
		tw_rt_syscall(__NR_munmap, base, (long)size, 0, 0, 0, 0);
		return 0;
	}
	tw_rt_syscall(__NR_prctl, PR_SET_VMA, PR_SET_VMA_ANON_NAME, base, (long)size,
		      (long)"timewarp-vdso", 0);
	if (at_sysinfo)
		at_sysinfo[1] = (uint64_t)base;
	return (void *)base;
}

/* The addresses the host vDSO's loadable segments span. */
static void vdso_span(const void *base, uint64_t *lo, uint64_t *hi)
{
	const Elf64_Ehdr *eh = base;
	const Elf64_Phdr *ph;

	*lo = *hi = 0;
	if (!base)
		return;
	ph = (const Elf64_Phdr *)((const char *)base + eh->e_phoff);
	for (int i = 0; i < eh->e_phnum; i++)
		if (ph[i].p_type == PT_LOAD && (uint64_t)base + ph[i].p_vaddr + ph[i].p_memsz > *hi)
			*hi = (uint64_t)base + ph[i].p_vaddr + ph[i].p_memsz;
	*lo = (uint64_t)base;
}

void tw_rt_start(long *sp)
{
	struct start s = initial(sp);
	const char *path = env(&s, "TIMEWARP_NS"), *hide = env(&s, "TIMEWARP_HOST_VDSO");
	uint64_t *at_sysinfo = aux(&s, AT_SYSINFO_EHDR);
	const void *host_vdso = at_sysinfo ? (const void *)at_sysinfo[1] : 0;
	struct tw_rt *rt = tw_rt();
	unsigned long n;
	long r;

	if (!path || !*path || tw_gate_mapped())
		return; /* not a member, or started already (by the audit module) */
	if ((n = tw_strlen(path)) >= TW_PATH_MAX)
		unreachable(path, tw_strerror(ENAMETOOLONG));
	if ((r = tw_gate_map()))
		unreachable(path, "cannot map its system call gate at 0x6f5a0000");
	/* TIMEWARP_HOST_VDSO=off: host time by system call; =call: through the
	 * host vDSO's entry points, not its data page (tests of those paths) */
	if (hide && !tw_strncmp(hide, "off", 4))
		host_vdso = 0;
	tw_memcpy(rt->page_path, path, n + 1);
	tw_exec_record(s.envp);
	rt->pid = (int32_t)tw_rt_syscall(__NR_getpid, 0, 0, 0, 0, 0, 0);
	rt->page = join(path);
	vdso_span(at_sysinfo ? (const void *)at_sysinfo[1] : 0, &rt->host_vdso_lo, &rt->host_vdso_hi);
	tw_host_init(&rt->host, host_vdso);
	rt->host.syscall = (long (*)(long, long, long, long, long, long, long))TW_RT_ADDR;
	if ((!hide || tw_strncmp(hide, "call", 5)) &&
	    !tw_vvar_use(&rt->host, tw_find_vvar(host_vdso))) {
		rt->host.memo = rt->memo;
		rt->host.fold = rt->fold;
	}
	rt->vdso = install_vdso(rt, host_vdso, at_sysinfo);
	__atomic_store_n(&rt->magic, TW_RT_MAGIC, __ATOMIC_RELEASE);
	if ((r = tw_sigsys_install()))
		unreachable(path, "cannot take SIGSYS for its system call trap");
}
