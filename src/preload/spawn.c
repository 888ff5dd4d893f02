/* Membership across exec: every descendant stays a member (DESIGN section 3).
 *
 * A program may hand its children a cleaned environment (env -i, su, daemons),
 * so each way into exec puts TIMEWARP_NS and this library in LD_PRELOAD back
 * into the environment the child gets.  An environment that names another
 * namespace (a nested `timewarp run`) is left alone.
 *
 * These run between vfork and exec too, where the parent's heap is shared and
 * malloc must not be called: the new environment is built on the stack when
 * it is small, else in memory of its own (mmap), whatever its size: a thread's
 * stack may be far smaller than an environment the kernel accepts.  (That
 * memory is unmapped when the exec fails; after an exec from a vfork child
 * that succeeded, it stays in the parent, which shares it: one environment's
 * worth, and only for a child given an environment without the member's
 * variables.)
 *
 * Each keeps the clock page open across the exec (the bridge, control.h), so
 * that it is never unused while the new program starts. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "preload.h"
#include "timewarp.h"

#define PAGE_VAR TW_ENV_PAGE "="
#define PRELOAD_VAR "LD_PRELOAD="

static const char *value(char *const envp[], const char *var)
{
	size_t n = strlen(var);

	for (; envp && *envp; envp++)
		if (!strncmp(*envp, var, n))
			return *envp + n;
	return NULL;
}

/* Is `lib` one of the entries of an LD_PRELOAD value (space or colon separated)? */
static int preloads(const char *list, const char *lib)
{
	size_t n = strlen(lib);

	for (const char *p = list; p && *p;) {
		size_t len = strcspn(p, ": ");
		if (len == n && !strncmp(p, lib, n))
			return 1;
		p += len;
		p += strspn(p, ": ");
	}
	return 0;
}

/* How much room the member environment of `envp` needs: pointers and bytes;
 * 0 pointers when `envp` already makes a member. */
struct env_room {
	size_t ptrs, bytes;
};

static struct env_room room(char *const envp[])
{
	const struct tw_member *m = tw_member();
	const char *page, *pre;
	struct env_room r = { 0, 0 };
	size_t n = 0;

	if (!m->page || !m->lib_path)
		return r;
	page = value(envp, PAGE_VAR);
	pre = value(envp, PRELOAD_VAR);
	if (page && *page && preloads(pre, m->lib_path))
		return r;
	while (envp && envp[n])
		n++;
	r.ptrs = n + 3;
	r.bytes = sizeof(PAGE_VAR) + strlen(m->page_path) + sizeof(PRELOAD_VAR) +
		  strlen(m->lib_path) + 1 + (pre ? strlen(pre) : 0) + 1;
	return r;
}

/* Fill `out` (r.ptrs pointers, then r.bytes bytes at `buf`) with `envp`
 * made a member's. */
static void fill_env(char *const envp[], struct env_room r, char **out, char *buf)
{
	const struct tw_member *m = tw_member();
	const char *page, *pre;
	size_t n = 0;
	int len;

	page = value(envp, PAGE_VAR);
	pre = value(envp, PRELOAD_VAR);
	for (; envp && *envp; envp++) {
		if (!strncmp(*envp, PRELOAD_VAR, sizeof(PRELOAD_VAR) - 1))
			continue;
		if (!strncmp(*envp, PAGE_VAR, sizeof(PAGE_VAR) - 1) && !(page && *page))
			continue;
		out[n++] = *envp;
	}
	if (preloads(pre, m->lib_path))
		len = snprintf(buf, r.bytes, "%s%s", PRELOAD_VAR, pre);
	else
		len = snprintf(buf, r.bytes, "%s%s%s%s", PRELOAD_VAR, m->lib_path,
			       pre && *pre ? ":" : "", pre ? pre : "");
	out[n++] = buf;
	if (!(page && *page)) {
		char *p = buf + len + 1;
		snprintf(p, r.bytes - (size_t)len - 1, "%s%s", PAGE_VAR, m->page_path);
		out[n++] = p;
	}
	out[n] = NULL;
}

/* What an exec gets from a member: the environment to exec with (envp itself
 * when it already makes a member), the memory it was built in, and the
 * bridge. */
struct member_exec {
	char *const *env;
	void *map;
	size_t map_len;
	int bridge;
};

#define STACK_ROOM 16384

static size_t room_bytes(struct env_room r)
{
	return r.ptrs ? (r.ptrs + 1) * sizeof(char *) + r.bytes + 1 : 0;
}

/* Fills *me for an exec with `envp`, building the environment in `stack`
 * (room_bytes(r) of them, when at most STACK_ROOM) or in a mapping.  -1 with
 * errno ENOMEM when there is no memory for it. */
static int enter(char *const envp[], struct env_room r, char *stack, struct member_exec *me)
{
	size_t n = room_bytes(r);
	const char *page;
	char *mem = stack;

	me->env = envp;
	me->map = NULL;
	me->bridge = -1;
	if (n) {
		if (n > STACK_ROOM) {
			me->map_len = n;
			me->map = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
				       -1, 0);
			if (me->map == MAP_FAILED) {
				me->map = NULL;
				errno = ENOMEM;
				return -1;
			}
			mem = me->map;
		}
		fill_env(envp, r, (char **)(void *)mem, mem + (r.ptrs + 1) * sizeof(char *));
		me->env = (char *const *)(void *)mem;
	}
	/* a child that joins another namespace (a nested run) is not ours to hold */
	page = value(me->env, PAGE_VAR);
	if (tw_member()->page && page && !strcmp(page, tw_member()->page_path))
		me->bridge = tw_bridge_open();
	return 0;
}

/* After the exec (or the spawn) returned: undone, errno kept. */
static void leave(struct member_exec *me)
{
	int e = errno;

	if (me->bridge >= 0)
		close(me->bridge);
	if (me->map)
		munmap(me->map, me->map_len);
	errno = e;
}

/* Declares `var`, a struct member_exec for envp, with the stack room a small
 * environment is built in (a variable-length array needs one element at
 * least); returns `fail` from the caller when there is no memory. */
#define MEMBER_EXEC(var, envp, fail)                                                       \
	struct env_room var##_r = room(envp);                                        \
	size_t var##_n = room_bytes(var##_r);                                        \
	char var##_s[var##_n <= STACK_ROOM ? var##_n + 1 : 1]                        \
		__attribute__((aligned(sizeof(char *))));                             \
	struct member_exec var;                                                      \
	if (enter(envp, var##_r, var##_s, &var))                                     \
	return fail

/* A program no namespace can serve (32-bit) would run on host time: refuse it
 * with a sentence on stderr (a statically linked one is the runtime's to load:
 * src/runtime/exec.c).  `search`: look `file`
 * up in PATH as execvp does. */
static int unreachable(const char *file, int search)
{
	char path[PATH_MAX], culprit[256], msg[PATH_MAX + 256];
	int n;

	if (!tw_member()->page)
		return 0;
	if (search ? tw_exec_find(file, path, sizeof(path))
		   : snprintf(path, sizeof(path), "%s", file) >= (int)sizeof(path))
		return 0; /* exec will fail and say why */
	if (!tw_exec_reachable(path, culprit, sizeof(culprit)))
		return 0;
	n = snprintf(msg, sizeof(msg),
		     "timewarp: %s: not an x86-64 program: timewarp cannot give it the "
		     "namespace's clocks, and does not run it on host time\n", culprit);
	if (n > 0) {
		ssize_t w = write(STDERR_FILENO, msg, (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg));
		(void)w;
	}
	return 1;
}

#define REFUSE_UNREACHABLE(file, search)                                             \
	do {                                                                         \
		if (unreachable(file, search)) {                                     \
			errno = ENOEXEC;                                             \
			return -1;                                                   \
		}                                                                    \
	} while (0)

/* libc's own definitions, found when the library is loaded: dlsym may allocate,
 * which a vfork child must not do. */
enum { N_EXECVE, N_EXECVPE, N_FEXECVE, N_EXECVEAT, N_SPAWN, N_SPAWNP, N_SYSTEM, N_POPEN, N_COUNT };
static const char *const next_names[N_COUNT] = {
	"execve", "execvpe", "fexecve", "execveat", "posix_spawn", "posix_spawnp", "system", "popen",
};
static void *next_fns[N_COUNT];

static void *next(int i)
{
	return tw_next_once(&next_fns[i], next_names[i]);
}

__attribute__((constructor)) static void find_next(void)
{
	for (int i = 0; i < N_COUNT; i++)
		next(i);
}

typedef int execve_fn(const char *, char *const[], char *const[]);

TW_EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
	execve_fn *f = (execve_fn *)next(N_EXECVE);
	REFUSE_UNREACHABLE(path, 0);
	MEMBER_EXEC(me, envp, -1);
	int r = f(path, argv, me.env);

	leave(&me);
	return r;
}

TW_EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
	execve_fn *f = (execve_fn *)next(N_EXECVPE);
	REFUSE_UNREACHABLE(file, 1);
	MEMBER_EXEC(me, envp, -1);
	int r = f(file, argv, me.env);

	leave(&me);
	return r;
}

TW_EXPORT int execv(const char *path, char *const argv[])
{
	return execve(path, argv, environ);
}

TW_EXPORT int execvp(const char *file, char *const argv[])
{
	return execvpe(file, argv, environ);
}

TW_EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
	int (*f)(int, char *const[], char *const[]) =
		(int (*)(int, char *const[], char *const[]))next(N_FEXECVE);
	char self[64];
	snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
	REFUSE_UNREACHABLE(self, 0);
	MEMBER_EXEC(me, envp, -1);
	int r = f(fd, argv, me.env);

	leave(&me);
	return r;
}

TW_EXPORT int execveat(int dirfd, const char *path, char *const argv[], char *const envp[],
		       int flags);
TW_EXPORT int execveat(int dirfd, const char *path, char *const argv[], char *const envp[],
		       int flags)
{
	int (*f)(int, const char *, char *const[], char *const[], int) =
		(int (*)(int, const char *, char *const[], char *const[], int))next(N_EXECVEAT);
	char at[PATH_MAX];
	if (path[0] == '/' || dirfd == AT_FDCWD)
		snprintf(at, sizeof(at), "%s", path);
	else if (!path[0] && (flags & AT_EMPTY_PATH))
		snprintf(at, sizeof(at), "/proc/self/fd/%d", dirfd);
	else
		snprintf(at, sizeof(at), "/proc/self/fd/%d/%s", dirfd, path);
	REFUSE_UNREACHABLE(at, 0);
	MEMBER_EXEC(me, envp, -1);
	int r = f(dirfd, path, argv, me.env, flags);

	leave(&me);
	return r;
}

/* The execl family: the argument list gathered into an argv on the stack. */
static size_t count_args(const char *arg0, va_list ap)
{
	size_t n = 0;

	if (arg0)
		for (n = 1; va_arg(ap, const char *); n++)
			;
	return n;
}

/* Leaves `ap` just past the list's terminating null. */
#define GATHER_ARGV(argv, arg0)                                                      \
	va_list ap;                                                                  \
	va_start(ap, arg0);                                                          \
	size_t argv##_n = count_args(arg0, ap);                                      \
	va_end(ap);                                                                  \
	char *argv[argv##_n + 1];                                                    \
	va_start(ap, arg0);                                                          \
	argv[0] = (char *)(arg0);                                                    \
	for (size_t i_ = 1; i_ <= argv##_n; i_++)                                    \
		argv[i_] = va_arg(ap, char *)

TW_EXPORT int execl(const char *path, const char *arg, ...)
{
	GATHER_ARGV(argv, arg);
	va_end(ap);
	return execve(path, argv, environ);
}

TW_EXPORT int execlp(const char *file, const char *arg, ...)
{
	GATHER_ARGV(argv, arg);
	va_end(ap);
	return execvpe(file, argv, environ);
}

TW_EXPORT int execle(const char *path, const char *arg, ...)
{
	char *const *envp;
	GATHER_ARGV(argv, arg);
	envp = va_arg(ap, char *const *);
	va_end(ap);
	return execve(path, argv, envp);
}

typedef int spawn_fn(pid_t *, const char *, const posix_spawn_file_actions_t *,
		     const posix_spawnattr_t *, char *const[], char *const[]);

TW_EXPORT int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
			  const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	spawn_fn *f = (spawn_fn *)next(N_SPAWN);
	if (unreachable(path, 0))
		return ENOEXEC;
	MEMBER_EXEC(me, envp, ENOMEM);
	int r = f(pid, path, fa, attr, argv, me.env);

	leave(&me);
	return r;
}

TW_EXPORT int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
			   const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	spawn_fn *f = (spawn_fn *)next(N_SPAWNP);
	if (unreachable(file, 1))
		return ENOEXEC;
	MEMBER_EXEC(me, envp, ENOMEM);
	int r = f(pid, file, fa, attr, argv, me.env);

	leave(&me);
	return r;
}

/* system() and popen() start /bin/sh with the process environment through libc
 * internals that cannot be interposed; put the member variables back into the
 * process environment first. */
static void restore_environ(void)
{
	const struct tw_member *m = tw_member();
	const char *pre;

	if (!room(environ).ptrs)
		return;
	if (!value(environ, PAGE_VAR) || !*value(environ, PAGE_VAR))
		setenv(TW_ENV_PAGE, m->page_path, 1);
	pre = getenv("LD_PRELOAD");
	if (!preloads(pre, m->lib_path)) {
		size_t n = strlen(m->lib_path) + (pre ? strlen(pre) : 0) + 2;
		char buf[n];
		snprintf(buf, n, "%s%s%s", m->lib_path, pre && *pre ? ":" : "", pre ? pre : "");
		setenv("LD_PRELOAD", buf, 1);
	}
}

TW_EXPORT int system(const char *command)
{
	int (*f)(const char *) = (int (*)(const char *))next(N_SYSTEM);

	restore_environ();
	return f(command);
}

TW_EXPORT FILE *popen(const char *command, const char *mode)
{
	FILE *(*f)(const char *, const char *) =
		(FILE * (*)(const char *, const char *)) next(N_POPEN);

	restore_environ();
	return f(command, mode);
}
