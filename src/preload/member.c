/* Joining the namespace at start-up: the member runtime's state, taken over
 * (the runtime finds and maps the clock page, or says why not and exits: a
 * member never runs on host time unannounced, DESIGN section 3). */
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
#include "runtime.h"

/* glibc: the initial stack pointer, where argc, argv, envp and the auxiliary
 * vector are. */
extern void *__libc_stack_end;

struct tw_member tw_self;
static char lib_path[PATH_MAX];

/* A descriptor of this member's clock page for an exec (the bridge,
 * control.h): the new program's runtime closes it once it has the page
 * mapped, so that the page is never left with no process holding it. */
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

/* A member's runtime (src/runtime) is started by ld.so, as an audit module,
 * before any library's constructor; where ld.so does not take audit modules,
 * this library starts the copy of it that it carries.  Either way the clock
 * page, the host clocks and the timewarp vDSO are the runtime's.  No
 * allocation here: an allocator may read the clock while it is being set up
 * (ASan's does), and that read comes back into tw_member(). */
static void join(void)
{
	const char *hide = getenv("TIMEWARP_HOST_VDSO");
	const void *host_vdso = (const void *)getauxval(AT_SYSINFO_EHDR);
	const struct tw_rt *rt;
	Dl_info info;

	tw_rt_start(__libc_stack_end);
	if (tw_gate_mapped() && (rt = tw_rt())->page) {
		tw_self.host = rt->host;
		tw_self.page = rt->page;
		tw_self.page_path = rt->page_path;
		tw_self.page_dev = (dev_t)rt->page_dev;
		tw_self.page_ino = (ino_t)rt->page_ino;
		tw_self.vdso = rt->vdso;
	} else {
		/* loaded without a namespace (LD_PRELOAD by hand): host time */
		if (hide && !strcmp(hide, "off"))
			host_vdso = NULL;
		tw_host_init(&tw_self.host, host_vdso);
	}
	tw_control_set_host(&tw_self.host);
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
