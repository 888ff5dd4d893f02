/* /proc/self/exe of a statically linked member: the kernel's link names the
 * file it exec'd, the loader (libtimewarp-rt.so); the program asked for its
 * own file.  readlink and readlinkat are trapped and answer with the path the
 * loader recorded (rt->exe_path), and an exec of /proc/self/exe runs that
 * program again (exec.c): busybox re-executes its applets that way, Go
 * programs find themselves with os.Executable.  Other links, and every link
 * in a member the kernel exec'd itself, go to the kernel as they are. */
#include <asm/unistd.h>
#include <errno.h>
#include <linux/fcntl.h>

#include "exec.h"
#include "runtime.h"
#include "serve.h"

static const char *skip(const char *s, const char *prefix)
{
	unsigned long n = tw_strlen(prefix);

	return tw_strncmp(s, prefix, n) ? 0 : s + n;
}

int tw_is_self_exe(long dirfd, const char *path)
{
	char mine[40];
	const char *s;

	if (dirfd != AT_FDCWD && path[0] != '/')
		return 0;
	if (!tw_strncmp(path, "/proc/self/exe", 15) || !tw_strncmp(path, "/proc/thread-self/exe", 22))
		return 1;
	tw_put_dec(mine + 6, (unsigned long)tw_rt_syscall(__NR_getpid, 0, 0, 0, 0, 0, 0));
	tw_memcpy(mine, "/proc/", 6);
	if (!(s = skip(path, mine)) || *s++ != '/')
		return 0;
	if (!tw_strncmp(s, "exe", 4))
		return 1;
	/* /proc/PID/task/TID/exe, a thread of this process */
	if (!(s = skip(s, "task/")) || *s < '0' || *s > '9')
		return 0;
	while (*s >= '0' && *s <= '9')
		s++;
	return !tw_strncmp(s, "/exe", 5);
}

static long answer(char *buf, long size)
{
	const char *exe = tw_rt()->exe_path;
	unsigned long n = tw_strlen(exe);

	if (size <= 0)
		return -EINVAL;
	if (n > (unsigned long)size)
		n = (unsigned long)size;
	tw_memcpy(buf, exe, n);
	return (long)n;
}

long tw_serve_readlink(const struct tw_call *c)
{
	const char *path = (const char *)c->a[0];

	if (!tw_rt()->exe_path[0] || !path || !tw_is_self_exe(AT_FDCWD, path))
		return tw_rt_syscall(c->nr, c->a[0], c->a[1], c->a[2], c->a[3], 0, 0);
	return answer((char *)c->a[1], c->a[2]);
}

long tw_serve_readlinkat(const struct tw_call *c)
{
	const char *path = (const char *)c->a[1];

	if (!tw_rt()->exe_path[0] || !path || !tw_is_self_exe(c->a[0], path))
		return tw_rt_syscall(c->nr, c->a[0], c->a[1], c->a[2], c->a[3], 0, 0);
	return answer((char *)c->a[2], c->a[3]);
}
