/* Joining the namespace at start-up: find and map the clock page, or say why not
 * and exit.  A member never runs on host time unannounced (DESIGN section 3). */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <unistd.h>

#include "control.h"
#include "preload.h"
#include "timewarp.h"

static struct tw_member self;
static pthread_once_t once = PTHREAD_ONCE_INIT;

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

static void join(void)
{
	const char *path = getenv(TW_ENV_PAGE);
	Dl_info info;
	void *m;
	int fd;

	tw_host_init(&self.host, (const void *)getauxval(AT_SYSINFO_EHDR));
	tw_control_set_host(&self.host);
	if (dladdr((void *)tw_member, &info) && info.dli_fname)
		self.lib_path = strdup(info.dli_fname);
	if (!path || !*path)
		return; /* loaded without a namespace (LD_PRELOAD by hand): host time */
	if (!(self.page_path = strdup(path)))
		unreachable_namespace(path, strerror(ENOMEM));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		unreachable_namespace(path, strerror(errno));
	m = mmap(NULL, TW_PAGE_BYTES, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (m == MAP_FAILED)
		unreachable_namespace(path, strerror(errno));
	if (tw_page_check(m))
		unreachable_namespace(path, "not a clock page of this timewarp version");
	self.page = m;
}

const struct tw_member *tw_member(void)
{
	pthread_once(&once, join);
	return &self;
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

int tw_ret(long r)
{
	if (r < 0) {
		errno = (int)-r;
		return -1;
	}
	return 0;
}
