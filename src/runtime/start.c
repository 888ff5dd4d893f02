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
#include "serve.h"
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

static const char *file_type(unsigned mode)
{
	switch (mode & FILE_TYPE) {
	case REGULAR: return "a regular file";
	case 0040000: return "a directory";
	case 0010000: return "a FIFO";
	case 0120000: return "a symbolic link";
	case 0140000: return "a socket";
	case 0020000: return "a character device";
	case 0060000: return "a block device";
	}
	return "of an unknown type";
}

/* What is at `path` that is not a clock page (it did not open as one). */
static const char *not_a_page(const char *path, char *why, unsigned long n)
{
	struct stat st;
	const char *parts[2];

	if (tw_rt_syscall(__NR_newfstatat, AT_FDCWD, (long)path, (long)&st, AT_SYMLINK_NOFOLLOW, 0,
			  0))
		return 0;
	parts[0] = file_type((unsigned)st.st_mode);
	parts[1] = ", not a clock page";
	return tw_cat(why, n, parts, 2);
}

/* The checks the CLI's opener makes too (src/control/pagefile.c): a regular
 * file of the user's or root's, exactly a page long; 0, or why not. */
static const char *not_fit(const struct stat *st, char *why, unsigned long n)
{
	unsigned long euid = (unsigned long)tw_rt_syscall(__NR_geteuid, 0, 0, 0, 0, 0, 0);
	char a[24], b[24];

	if ((st->st_mode & FILE_TYPE) != REGULAR) {
		const char *parts[] = { file_type((unsigned)st->st_mode), ", not a clock page" };
		return tw_cat(why, n, parts, 2);
	}
	if (st->st_uid != euid && st->st_uid != 0) {
		const char *parts[] = { "owned by uid ", tw_utoa(st->st_uid, a),
					euid ? ", must be owned by uid " : ", must be owned by root",
					euid ? tw_utoa(euid, b) : "", euid ? " or root" : "" };
		return tw_cat(why, n, parts, 5);
	}
	if (st->st_size != TW_PAGE_BYTES) {
		const char *parts[] = { tw_utoa((unsigned long)st->st_size, a),
					" bytes long, a clock page is ",
					tw_utoa(TW_PAGE_BYTES, b) };
		return tw_cat(why, n, parts, 3);
	}
	return 0;
}

/* The clock page: opened without following links or blocking on a FIFO, and
 * only if it is a regular file of the user's or root's, of the page's size;
 * mapped read-only.  A collector examining an unused page holds a lease on it
 * for microseconds (src/control/collect.c): an open then fails with
 * EWOULDBLOCK, or finds the page moved away for the moment, and is tried
 * again, for a second at most. */
static const struct tw_page *join(struct tw_rt *rt, const char *path)
{
	char why[160];
	const char *bad;
	struct stat st;
	long fd = -1, m, r;
	int leased = 0;

	for (int tries = 0; tries <= 1000; tries++) {
		struct tw_ts ms = { 0, 1000000 };

		fd = tw_rt_syscall(__NR_openat, AT_FDCWD, (long)path,
				   O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0, 0, 0);
		if (fd >= 0)
			break;
		if (fd == -EWOULDBLOCK)
			leased = 1;
		else if (!(fd == -ENOENT && leased))
			break;
		tw_rt_syscall(__NR_nanosleep, (long)&ms, 0, 0, 0, 0, 0);
	}
	if (fd < 0)
		unreachable(path, (fd == -ELOOP || fd == -ENXIO) &&
					  (bad = not_a_page(path, why, sizeof(why)))
				      ? bad
				      : tw_strerror(fd));
	if ((r = tw_rt_syscall(__NR_fstat, fd, (long)&st, 0, 0, 0, 0)) ||
	    (bad = not_fit(&st, why, sizeof(why)))) {
		tw_rt_syscall(__NR_close, fd, 0, 0, 0, 0, 0);
		unreachable(path, r ? tw_strerror(r) : bad);
	}
	m = tw_rt_syscall(__NR_mmap, 0, TW_PAGE_BYTES, PROT_READ, MAP_SHARED, fd, 0);
	tw_rt_syscall(__NR_close, fd, 0, 0, 0, 0, 0);
	if (m < 0 && m > -4096)
		unreachable(path, tw_strerror(m));
	if ((r = tw_page_valid((const struct tw_page *)m)))
		unreachable(path, tw_strerror(r));
	rt->page_dev = st.st_dev;
	rt->page_ino = st.st_ino;
	return (const struct tw_page *)m;
}

/* The bridges the exec that started this program kept open (page.h: a
 * descriptor of the page at TW_BRIDGE_FD_MIN or above, so that the page was
 * never left with no process holding it): closed now that the page is
 * mapped, so that the program has no descriptor it did not open.  Only those
 * not close-on-exec, of this very page. */
static void close_bridges(const struct tw_rt *rt)
{
	char buf[1024];
	long n, dir = tw_rt_syscall(__NR_openat, AT_FDCWD, (long)"/proc/self/fd",
				    O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0, 0, 0);

	while (dir >= 0 && (n = tw_rt_syscall(__NR_getdents64, dir, (long)buf, sizeof(buf), 0, 0,
					      0)) > 0) {
		for (long at = 0; at < n;) {
			/* struct linux_dirent64: ino, off, reclen, type, name */
			unsigned short reclen = *(unsigned short *)(buf + at + 16);
			const char *name = buf + at + 19;
			long fd = 0;
			struct stat st;

			at += reclen;
			while (*name >= '0' && *name <= '9')
				fd = fd * 10 + (*name++ - '0');
			if (*name || fd < TW_BRIDGE_FD_MIN || fd == dir)
				continue;
			if (!(tw_rt_syscall(__NR_fcntl, fd, F_GETFD, 0, 0, 0, 0) & FD_CLOEXEC) &&
			    !tw_rt_syscall(__NR_fstat, fd, (long)&st, 0, 0, 0, 0) &&
			    st.st_dev == rt->page_dev && st.st_ino == rt->page_ino)
				tw_rt_syscall(__NR_close, fd, 0, 0, 0, 0, 0);
		}
	}
	if (dir >= 0)
		tw_rt_syscall(__NR_close, dir, 0, 0, 0, 0, 0);
}

/* A clock page cut short while in use (by its owner or root: nobody else may
 * write it) makes the next clock read fault with SIGBUS.  timewarp cannot stop
 * that, but it says what happened: while the program leaves SIGBUS at its
 * default, this handler names the namespace for a fault in the page, then
 * does what the default would have done: the same signal, at its default,
 * ends the process (with a core where the default makes one).  It does so
 * itself rather than return, as a runtime that took SIGBUS over since (Go)
 * calls the handler it found for faults outside its own code. */
static void on_sigbus(int sig, struct tw_siginfo *si, void *ctx)
{
	const struct tw_rt *rt = tw_rt();
	const char *a = (const char *)si->u.sys.call_addr, *pg = (const char *)rt->page;
	struct tw_sigaction dfl = { 0, 0, 0, 0 };
	uint64_t set = 1ULL << (sig - 1);

	(void)ctx;
	if (si->code > 0 && pg && a >= pg && a < pg + TW_PAGE_BYTES) {
		const char *parts[] = { "the clock page of time namespace ", rt->page_path,
					" was cut short while in use; ending with SIGBUS" };
		char msg[TW_PATH_MAX + 128];

		tw_say(tw_cat(msg, sizeof(msg), parts, 3), 0);
	}
	tw_rt_syscall(__NR_rt_sigaction, sig, (long)&dfl, 0, 8, 0, 0);
	tw_rt_syscall(__NR_rt_tgsigqueueinfo, tw_rt_syscall(__NR_getpid, 0, 0, 0, 0, 0, 0),
		      tw_rt_syscall(__NR_gettid, 0, 0, 0, 0, 0, 0), sig, (long)si, 0, 0);
	tw_rt_syscall(__NR_rt_sigprocmask, 1 /* SIG_UNBLOCK */, (long)&set, 0, 8, 0, 0);
}

static void watch_for_truncation(void)
{
	struct tw_sigaction cur, sa = { (uint64_t)on_sigbus,
					0x04000000UL | 0x08000000UL | 0x4UL, /* RESTORER, ONSTACK, SIGINFO */
					TW_RT_ADDR + (uint64_t)(tw_gate_restorer - tw_gate_code), 0 };

	if (tw_rt_syscall(__NR_rt_sigaction, 7 /* SIGBUS */, 0, (long)&cur, 8, 0, 0) ||
	    cur.handler != 0 /* SIG_DFL */ || (cur.flags & 0x4))
		return;
	tw_rt_syscall(__NR_rt_sigaction, 7, (long)&sa, 0, 8, 0, 0);
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
	rt->pid = tw_getpid();
	rt->page = join(rt, path);
	close_bridges(rt);
	watch_for_truncation();
	vdso_span(at_sysinfo ? (const void *)at_sysinfo[1] : 0, &rt->host_vdso_lo, &rt->host_vdso_hi);
	tw_host_init(&rt->host, host_vdso);
	rt->host.syscall = (long (*)(long, long, long, long, long, long, long))TW_RT_ADDR;
	if (!hide || tw_strncmp(hide, "call", 5)) {
		struct tw_vvar_maps vv;

		tw_find_vvar(host_vdso, &vv);
		if (!tw_vvar_use(&rt->host, vv.vvar, vv.vclock)) {
			rt->host.memo = rt->memo;
			rt->host.fold = rt->fold;
		}
	}
	rt->vdso = install_vdso(rt, host_vdso, at_sysinfo);
	__atomic_store_n(&rt->magic, TW_RT_MAGIC, __ATOMIC_RELEASE);
	if ((r = tw_sigsys_install()))
		unreachable(path, "cannot take SIGSYS for its system call trap");
}
