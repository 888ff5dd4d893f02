/* Joining the namespace at start-up: find and map the clock page, or say why not
 * and exit.  A member never runs on host time unannounced (DESIGN section 3). */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "control.h"
#include "preload.h"
#include "timewarp.h"
#include "vvar.h"

struct tw_member tw_self;
/* The coarse clocks' memos (struct tw_memo), shared by libc's entry points and
 * the timewarp vDSO; a cache line of their own. */
static struct tw_memo coarse_memo[2] __attribute__((aligned(64)));
/* The fine clocks' folds (struct tw_fold, fold.h), likewise: a line each. */
static struct tw_fold fine_fold[TW_FOLD_SLOTS] __attribute__((aligned(64)));
static char page_path[PATH_MAX], lib_path[PATH_MAX];

__attribute__((noreturn)) static void unreachable_namespace(const char *path, const char *why)
{
	char msg[PATH_MAX + 256];
	int n = snprintf(msg, sizeof(msg),
			 "timewarp: cannot reach time namespace %s: %s; exiting rather than "
			 "running on host time\n", path, why);

	if (n > 0) {
		ssize_t w = write(STDERR_FILENO, msg, (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg));
		(void)w; /* nothing more to do if stderr is gone */
	}
	_exit(1); /* the program's exit handlers and stdio are not ours to run */
}

/* /proc/PID/maps's PROCMAP_QUERY ioctl (Linux 6.11, <linux/fs.h>): the
 * mapping at an address, without formatting and scanning the whole file. */
struct procmap_query {
	uint64_t size, query_flags, query_addr, vma_start, vma_end, vma_flags, vma_page_size,
		vma_offset, inode;
	uint32_t dev_major, dev_minor, vma_name_size, build_id_size;
	uint64_t vma_name_addr, build_id_addr;
};
_Static_assert(sizeof(struct procmap_query) == 104, "the kernel's struct procmap_query");
#define PROCMAP_QUERY 0xc0686611UL /* _IOWR('f', 17, struct procmap_query) */

/* The start of the [vvar] mapping (the kernel's vDSO data), which lies below the
 * vDSO at `vdso` (maybe after other [vvar_...] pages), or null.  No allocation
 * (see join).  -1 when the query fails (a kernel without PROCMAP_QUERY, a
 * seccomp filter): then the caller scans the file. */
static long vvar_by_query(int fd, const void *vdso, const void **out)
{
	uintptr_t addr = (uintptr_t)vdso - 1;

	for (int i = 0; i < 4; i++) {
		char name[32] = "";
		struct procmap_query q = {
			.size = sizeof(q),
			.query_addr = addr,
			.vma_name_size = sizeof(name),
			.vma_name_addr = (uintptr_t)name,
		};

		if (ioctl(fd, PROCMAP_QUERY, &q) < 0)
			return -1;
		if (!strcmp(name, "[vvar]")) {
			*out = (const void *)(uintptr_t)q.vma_start;
			return 0;
		}
		if (strncmp(name, "[vvar", 5))
			return 0;
		addr = q.vma_start - 1;
	}
	return 0;
}

static const void *find_vvar(const void *vdso)
{
	const void *found = NULL;
	char buf[4096];
	size_t have = 0;
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	if (vdso && vvar_by_query(fd, vdso, &found) == 0) {
		close(fd);
		return found;
	}
	for (;;) {
		ssize_t n = read(fd, buf + have, sizeof(buf) - 1 - have);
		char *line = buf, *nl;

		if (n <= 0)
			break;
		have += (size_t)n;
		buf[have] = 0;
		while ((nl = strchr(line, '\n'))) {
			*nl = 0;
			if (nl - line > 7 && !strcmp(nl - 7, " [vvar]") && !strchr(line, '/')) {
				close(fd);
				return (const void *)strtoul(line, NULL, 16);
			}
			line = nl + 1;
		}
		have = (size_t)(buf + have - line);
		if (have == sizeof(buf) - 1)
			have = 0; /* a line longer than the buffer: not [vvar]'s */
		memmove(buf, line, have);
	}
	close(fd);
	return NULL;
}

/* The bridge the exec that started this program kept open (control.h): closed
 * once the page is mapped, so the program has no descriptor it did not open.
 * Only descriptors at TW_BRIDGE_FD_MIN or above, not close-on-exec, of this
 * very page.  /proc/self/fd says which are open; without /proc, the first few
 * numbers are tried. */
static void close_bridge(int fd, dev_t dev, ino_t ino)
{
	struct stat st;
	int flags = fcntl(fd, F_GETFD);

	if (flags >= 0 && !(flags & FD_CLOEXEC) && !fstat(fd, &st) && st.st_dev == dev &&
	    st.st_ino == ino)
		close(fd);
}

static void close_bridges(dev_t dev, ino_t ino)
{
	char buf[1024];
	long n;
	int dir = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (dir < 0) {
		for (int fd = TW_BRIDGE_FD_MIN; fd < TW_BRIDGE_FD_MIN + 64; fd++)
			close_bridge(fd, dev, ino);
		return;
	}
	while ((n = syscall(SYS_getdents64, dir, buf, sizeof(buf))) > 0) {
		for (long at = 0; at < n;) {
			/* struct linux_dirent64: ino, off, reclen, type, name */
			unsigned short reclen;
			const char *name = buf + at + 19;
			char *end;
			long fd;

			memcpy(&reclen, buf + at + 16, sizeof(reclen));
			at += reclen;
			fd = strtol(name, &end, 10);
			if (*name && !*end && fd >= TW_BRIDGE_FD_MIN && fd != dir)
				close_bridge((int)fd, dev, ino);
		}
	}
	close(dir);
}

int tw_bridge_open(void)
{
	struct stat st;
	int fd, bridge = -1;

	if (!tw_self.page)
		return -1;
	fd = open(tw_self.page_path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (!fstat(fd, &st) && st.st_dev == tw_self.page_dev && st.st_ino == tw_self.page_ino)
		bridge = fcntl(fd, F_DUPFD, TW_BRIDGE_FD_MIN);
	close(fd);
	return bridge;
}

/* A clock page cut short while in use (by its owner or root: nobody else may
 * write it) makes the next clock read fault with SIGBUS.  timewarp cannot stop
 * that, but it says what happened: while the program leaves SIGBUS at its
 * default, this handler names the namespace for a fault in the page, then
 * does what the default would have done: the same signal, at its default,
 * ends the process (with a core where the default makes one).  It does so
 * itself rather than return, as a runtime that took SIGBUS over since (Go)
 * calls the handler it found for faults outside its own code. */
static void on_sigbus(int sig, siginfo_t *si, void *ctx)
{
	const char *a = si->si_addr, *pg = (const char *)tw_self.page;
	struct sigaction dfl;
	sigset_t bus;

	(void)ctx;
	if (si->si_code > 0 && pg && a >= pg && a < pg + TW_PAGE_BYTES) {
		/* in a signal handler: write(2) only, no formatting */
		const char *part[] = { "timewarp: the clock page of time namespace ",
				       tw_self.page_path,
				       " was cut short while in use; ending with SIGBUS\n" };
		for (size_t i = 0; i < sizeof(part) / sizeof(part[0]); i++) {
			ssize_t w = write(STDERR_FILENO, part[i], strlen(part[i]));
			(void)w;
		}
	}
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigaction(sig, &dfl, NULL);
	syscall(SYS_rt_tgsigqueueinfo, getpid(), syscall(SYS_gettid), sig, si);
	sigemptyset(&bus);
	sigaddset(&bus, sig);
	sigprocmask(SIG_UNBLOCK, &bus, NULL);
}

static void watch_for_truncation(void)
{
	struct sigaction sa, cur;

	if (sigaction(SIGBUS, NULL, &cur) || cur.sa_handler != SIG_DFL ||
	    (cur.sa_flags & SA_SIGINFO))
		return;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigbus;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, NULL);
}

/* No allocation here: an allocator may read the clock while it is being set up
 * (ASan's does), and that read comes back into tw_member(). */
static void join(void)
{
	const char *path = getenv(TW_ENV_PAGE), *hide = getenv("TIMEWARP_HOST_VDSO");
	const void *host_vdso = (const void *)getauxval(AT_SYSINFO_EHDR);
	char why[160];
	struct stat st;
	Dl_info info;
	int fd, writable = 0;
	void *m;

	/* TIMEWARP_HOST_VDSO=off: read host time by system call; =call: through
	 * the host vDSO's entry points, not its data page (tests of those paths) */
	if (hide && !strcmp(hide, "off"))
		host_vdso = NULL;
	tw_host_init(&tw_self.host, host_vdso);
	tw_control_set_host(&tw_self.host);
	if (!path || !*path)
		return; /* loaded without a namespace (LD_PRELOAD by hand): host time */
	if (snprintf(page_path, sizeof(page_path), "%s", path) >= (int)sizeof(page_path))
		unreachable_namespace(path, strerror(ENAMETOOLONG));
	fd = tw_page_open(AT_FDCWD, path, &writable, &st, why, sizeof(why));
	if (fd < 0)
		unreachable_namespace(path, why);
	m = mmap(NULL, TW_PAGE_BYTES, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (m == MAP_FAILED)
		unreachable_namespace(path, strerror(errno));
	if (tw_page_check(m))
		unreachable_namespace(path, "not a clock page of this timewarp version");
	tw_self.page_path = page_path;
	tw_self.page_dev = st.st_dev;
	tw_self.page_ino = st.st_ino;
	tw_self.page = m;
	close_bridges(st.st_dev, st.st_ino);
	watch_for_truncation();
	if ((!hide || strcmp(hide, "call")) && !tw_vvar_use(&tw_self.host, find_vvar(host_vdso))) {
		/* else, or refused: the vDSO's calls */
		tw_self.host.memo = coarse_memo;
		tw_self.host.fold = fine_fold;
	}
	tw_self.vdso = tw_vdso_install(&tw_self, host_vdso);
	if (dladdr((void *)tw_member, &info) && info.dli_fname &&
	    snprintf(lib_path, sizeof(lib_path), "%s", info.dli_fname) < (int)sizeof(lib_path))
		tw_self.lib_path = lib_path;
}

int tw_state = TW_UNJOINED;
static long joining_tid;

const struct tw_member *tw_member(void)
{
	int expected = TW_UNJOINED;

	if (__atomic_load_n(&tw_state, __ATOMIC_ACQUIRE) == TW_JOINED)
		return &tw_self;
	if (__atomic_compare_exchange_n(&tw_state, &expected, TW_JOINING, 0, __ATOMIC_ACQ_REL,
					__ATOMIC_ACQUIRE)) {
		joining_tid = syscall(SYS_gettid);
		join();
		__atomic_store_n(&tw_state, TW_JOINED, __ATOMIC_RELEASE);
		return &tw_self;
	}
	/* Called again from inside join() on this thread: what is there so far. */
	if (joining_tid == syscall(SYS_gettid))
		return &tw_self;
	while (__atomic_load_n(&tw_state, __ATOMIC_ACQUIRE) != TW_JOINED)
		__builtin_ia32_pause();
	return &tw_self;
}

/* Join as the program starts, so an unreachable namespace stops it before it
 * does anything, not at its first clock read. */
__attribute__((constructor)) static void join_at_start(void)
{
	tw_member();
}

void *tw_next(const char *name)
{
	return dlsym(RTLD_NEXT, name);
}

void *tw_next_once(void **slot, const char *name)
{
	void *f = __atomic_load_n(slot, __ATOMIC_ACQUIRE);

	if (!f) {
		f = tw_next(name);
		__atomic_store_n(slot, f, __ATOMIC_RELEASE);
	}
	return f;
}

int tw_ret(long r)
{
	if (r < 0) {
		errno = (int)-r;
		return -1;
	}
	return 0;
}
