/* Joining the namespace at start-up: find and map the clock page, or say why not
 * and exit.  A member never runs on host time unannounced (DESIGN section 3). */
#include <dlfcn.h>
#include <limits.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
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

/* The kernel's vDSO data below the vDSO: the [vvar] mapping and, on kernels
 * with one, the [vvar_vclock] mapping (the clock sources' counter pages). */
struct vvar_maps {
	const void *vvar, *vclock;
};

/* Notes a mapping named `name` starting at `start`; 1 once [vvar] is found. */
static int note_vvar(struct vvar_maps *v, const char *name, uintptr_t start)
{
	if (!strcmp(name, "[vvar_vclock]"))
		v->vclock = (const void *)start;
	if (strcmp(name, "[vvar]"))
		return 0;
	v->vvar = (const void *)start;
	return 1;
}

/* The [vvar] mappings just below the vDSO at `vdso`.  No allocation (see
 * join).  -1 when the query fails (a kernel without PROCMAP_QUERY, a seccomp
 * filter): then the caller scans the file. */
static long vvar_by_query(int fd, const void *vdso, struct vvar_maps *v)
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
		if (strncmp(name, "[vvar", 5) || note_vvar(v, name, q.vma_start))
			return 0;
		addr = q.vma_start - 1;
	}
	return 0;
}

static void find_vvar(const void *vdso, struct vvar_maps *v)
{
	char buf[4096];
	size_t have = 0;
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);

	v->vvar = v->vclock = NULL;
	if (fd < 0)
		return;
	if (vdso && vvar_by_query(fd, vdso, v) == 0) {
		close(fd);
		return;
	}
	for (;;) {
		ssize_t n = read(fd, buf + have, sizeof(buf) - 1 - have);
		char *line = buf, *nl;

		if (n <= 0)
			break;
		have += (size_t)n;
		buf[have] = 0;
		while ((nl = strchr(line, '\n'))) {
			char *name;

			*nl = 0;
			name = strrchr(line, ' ');
			if (name && !strchr(line, '/') &&
			    note_vvar(v, name + 1, (uintptr_t)strtoul(line, NULL, 16)) && v->vclock) {
				close(fd);
				return;
			}
			line = nl + 1;
		}
		have = (size_t)(buf + have - line);
		if (have == sizeof(buf) - 1)
			have = 0; /* a line longer than the buffer: not [vvar]'s */
		memmove(buf, line, have);
	}
	close(fd);
}

/* No allocation here: an allocator may read the clock while it is being set up
 * (ASan's does), and that read comes back into tw_member(). */
static void join(void)
{
	const char *path = getenv(TW_ENV_PAGE), *hide = getenv("TIMEWARP_HOST_VDSO");
	const void *host_vdso = (const void *)getauxval(AT_SYSINFO_EHDR);
	struct vvar_maps vv;
	Dl_info info;
	void *m;
	int fd;

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
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		unreachable_namespace(path, strerror(errno));
	m = mmap(NULL, TW_PAGE_BYTES, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (m == MAP_FAILED)
		unreachable_namespace(path, strerror(errno));
	switch (tw_page_valid(m)) {
	case 0:
		break;
	case -EPROTO:
		unreachable_namespace(path, "not a clock page of this timewarp version");
	default:
		unreachable_namespace(path, "its clock page holds values out of range (damaged)");
	}
	tw_self.page_path = page_path;
	tw_self.page = m;
	if (!hide || strcmp(hide, "call")) {
		find_vvar(host_vdso, &vv);
		if (!tw_vvar_use(&tw_self.host, vv.vvar, vv.vclock)) {
			tw_self.host.memo = coarse_memo;
			tw_self.host.fold = fine_fold;
		} /* else refused: the host vDSO's calls */
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
