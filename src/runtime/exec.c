/* Every exec inside a member makes a member, however it is made (a raw
 * execve from Go's os/exec with an environment of its own, posix_spawn, a
 * shell): execve and execveat are trapped, and `timewarp run` execs its
 * command through here too.
 *
 * The new image is looked at as the kernel will look at it, following script
 * lines to their last interpreter:
 *   - a dynamically linked x86-64 program loads the runtime itself (LD_AUDIT)
 *     and the preload library: the kernel's own exec, with an environment that
 *     names them and the namespace, whatever the program passed;
 *   - a statically linked one loads nothing: the exec is of the loader
 *     (libtimewarp-rt.so, loader.c) instead, with the program's descriptor,
 *     and the argument vector the kernel would have given it;
 *   - a program of another machine or class (32-bit) is refused, saying why,
 *     with ENOEXEC: timewarp serves the x86-64 system calls only;
 *   - anything else, and every file exec cannot run, goes to the kernel as it
 *     is, which runs it (binfmt_misc) or fails with its own error.
 * Failures come back before anything is replaced, as the kernel's errno.
 * The new vectors are built in memory of the exec's own (exec_mem.c); a
 * debugger's exec is helped along (traced.c). */
#include <asm/stat.h>
#include <asm/statfs.h>
#include <asm/unistd.h>
#include <errno.h>
#include <linux/fcntl.h>

#include "exec.h"
#include "runtime.h"
#include "serve.h"

#define FILE_TYPE 0170000 /* S_IFMT */
#define REGULAR 0100000   /* S_IFREG */
#define NOEXEC_MOUNT 8    /* ST_NOEXEC */
#define X_OK_ 1

/* The kernel runs at most five interpreters for one exec (exec_binprm). */
#define MAX_LEVELS 5

static long sys(long nr, long a, long b, long c, long d, long e)
{
	return tw_rt_syscall(nr, a, b, c, d, e, 0);
}

/* ---- looking at the new image ---- */

static char *put_str(char *at, const char *s)
{
	unsigned long n = tw_strlen(s);

	tw_memcpy(at, s, n + 1);
	return at + n;
}

/* The file name the kernel gives an exec (bprm->filename): the path, or
 * /dev/fd/N[/path] for one relative to a directory descriptor. */
static void file_name(char *buf, long dirfd, const char *path, long flags)
{
	char *p;

	if (dirfd == AT_FDCWD || path[0] == '/') {
		put_str(buf, path);
		return;
	}
	p = tw_put_dec(put_str(buf, "/dev/fd/"), (unsigned long)dirfd);
	if (!(path[0] == 0 && (flags & AT_EMPTY_PATH))) {
		*p++ = '/';
		put_str(p, path);
	}
}

/* The file exec would run, opened for reading; -errno when it cannot be. */
static long open_file(long dirfd, const char *path, long flags)
{
	char self[40];

	if (!path[0] && (flags & AT_EMPTY_PATH)) {
		/* the descriptor itself (which may be O_PATH): opened again */
		tw_put_dec(put_str(self, "/proc/self/fd/"), (unsigned long)dirfd);
		return sys(__NR_openat, AT_FDCWD, (long)self, O_RDONLY | O_CLOEXEC, 0, 0);
	}
	return sys(__NR_openat, dirfd, (long)path,
		   O_RDONLY | O_CLOEXEC | ((flags & AT_SYMLINK_NOFOLLOW) ? O_NOFOLLOW : 0), 0, 0);
}

/* Whether the kernel would exec this file at all: a regular file we may
 * execute, on a mount that allows it.  When it would not, the kernel is left
 * to say so with its own errno. */
static int runnable(long fd)
{
	struct stat st;
	struct statfs sf;
	long r;

	if (sys(__NR_fstat, fd, (long)&st, 0, 0, 0) || (st.st_mode & FILE_TYPE) != REGULAR)
		return 0;
	r = sys(__NR_faccessat2, fd, (long)"", X_OK_, AT_EMPTY_PATH | AT_EACCESS, 0);
	if (r == -ENOSYS)
		r = (st.st_mode & 0111) ? 0 : -EACCES;
	if (r)
		return 0;
	return !sys(__NR_fstatfs, fd, (long)&sf, 0, 0, 0) && !(sf.f_flags & NOEXEC_MOUNT);
}

enum kind {
	KERNEL,  /* the kernel's exec, as asked */
	STATIC,  /* the loader's: chain.fd is the program */
	FOREIGN, /* refused: not x86-64 */
};

/* What the exec would run: the script lines followed to a program. */
struct chain {
	enum kind kind;
	int levels;
	char *name[MAX_LEVELS], *arg[MAX_LEVELS];
	long fd;
	const char *culprit; /* the foreign program's path */
};

/* The buffers looking needs, in the exec's memory. */
struct looking {
	char head[MAX_LEVELS + 1][TW_SCRIPT_HEAD];
	Elf64_Phdr ph[4096 / sizeof(Elf64_Phdr)];
};

static int cloexec(long fd)
{
	long r = sys(__NR_fcntl, fd, F_GETFD, 0, 0, 0);

	return r < 0 || (r & FD_CLOEXEC);
}

static void look(struct chain *c, struct looking *b, const struct tw_exec_paths *p, long dirfd,
		 const char *path, long flags)
{
	const char *at = path;
	long fd;

	c->kind = KERNEL;
	c->levels = 0;
	c->fd = -1;
	for (int level = 0;; level++) {
		char *head = b->head[level];
		enum tw_elf_class class;
		struct tw_elf_layout l;
		long n;

		if (level == 0 && p->exe && tw_is_self_exe(dirfd, path))
			fd = sys(__NR_openat, AT_FDCWD, (long)p->exe, O_RDONLY | O_CLOEXEC, 0, 0);
		else if (level == 0)
			fd = open_file(dirfd, path, flags);
		else
			fd = sys(__NR_openat, AT_FDCWD, (long)at, O_RDONLY | O_CLOEXEC, 0, 0);
		if (fd < 0)
			return;
		if (!runnable(fd))
			goto kernel;
		tw_memset(head, 0, TW_SCRIPT_HEAD);
		n = sys(__NR_pread64, fd, (long)head, TW_SCRIPT_HEAD, 0, 0);
		if (n < 0)
			goto kernel;
		class = tw_elf_class(head, (unsigned long)n);
		if (class == TW_ELF_FOREIGN) {
			c->kind = FOREIGN;
			c->culprit = at;
			goto kernel;
		}
		if (class == TW_ELF_NATIVE) {
			const Elf64_Ehdr *eh = (const Elf64_Ehdr *)head;
			long want = (long)(eh->e_phnum * sizeof(Elf64_Phdr));

			if (sys(__NR_pread64, fd, (long)b->ph, want, (long)eh->e_phoff, 0) != want ||
			    tw_elf_layout(eh, b->ph, eh->e_phnum, &l) || l.interp)
				goto kernel;
			c->kind = STATIC;
			c->fd = fd;
			return;
		}
		/* a script: its interpreter is what runs (the kernel gives a
		 * script named by a close-on-exec descriptor ENOENT) */
		if (class != TW_ELF_NONE || level == MAX_LEVELS ||
		    tw_script_line(head, &c->name[level], &c->arg[level]) ||
		    (level == 0 && dirfd != AT_FDCWD && path[0] != '/' && cloexec(dirfd)))
			goto kernel;
		sys(__NR_close, fd, 0, 0, 0, 0);
		c->levels = level + 1;
		at = c->name[level];
	}
kernel:
	sys(__NR_close, fd, 0, 0, 0, 0);
}

/* ---- the exec ---- */

long tw_exec(const struct tw_exec_paths *p, long dirfd, const char *path, char *const argv[],
	     char *const envp[], long flags)
{
	struct tw_exec_mem h;
	struct chain c;
	struct looking *b;
	char *filename, *extra = 0, **env, **args = (char **)argv;
	unsigned long env_ptrs, env_bytes, plen = tw_strlen(path), room;
	long r, m;

	/* room for: looking, the file name, the loader's variable, the
	 * environment and the argument vector */
	tw_env_member(envp, p, "", 0, 0, &env_ptrs, &env_bytes);
	room = sizeof(struct looking) + 2 * (plen + 64) + sizeof(TW_ENV_EXEC) + 24 + env_bytes +
	       8 * (env_ptrs + tw_argv_count(argv, MAX_LEVELS)) + 64;
	if ((r = tw_exec_mem_take(&h, room)))
		return r;
	b = (struct looking *)h.mem;
	filename = h.mem + sizeof(*b);
	file_name(filename, dirfd, path, flags);
	look(&c, b, p, dirfd, path, flags);
	if (c.kind == FOREIGN) {
		tw_say(c.culprit, "not an x86-64 program: timewarp cannot give it the namespace's "
				  "clocks, and does not run it on host time");
		tw_exec_mem_drop(&h);
		return -ENOEXEC;
	}
	if (c.kind == STATIC && !p->audit) {
		sys(__NR_close, c.fd, 0, 0, 0, 0);
		tw_say(c.levels ? c.name[c.levels - 1] : path,
		       "statically linked, and timewarp's runtime (libtimewarp-rt.so) that would "
		       "load it is not known here: not run on host time");
		tw_exec_mem_drop(&h);
		return -ENOEXEC;
	}
	if (c.kind == STATIC) {
		/* TIMEWARP_EXEC=FD:FILENAME, the loader's */
		char *e = filename + plen + 64;

		extra = e;
		e = put_str(e, TW_ENV_EXEC "=");
		e = tw_put_dec(e, (unsigned long)c.fd);
		*e++ = ':';
		put_str(e, filename);
	}
	env = (char **)(((unsigned long)filename + 2 * (plen + 64) + sizeof(TW_ENV_EXEC) + 24 + 7) &
			~7UL);
	tw_env_member(envp, p, extra, env, (char *)(env + env_ptrs), &env_ptrs, &env_bytes);
	tw_exec_traceme(&h);
	if (c.kind == KERNEL) {
		r = dirfd == AT_FDCWD && !flags
			    ? sys(__NR_execve, (long)path, (long)argv, (long)env, 0, 0)
			    : sys(__NR_execveat, dirfd, (long)path, (long)argv, (long)env, flags);
	} else {
		if (c.levels) {
			args = (char **)(((unsigned long)((char *)(env + env_ptrs) + env_bytes) + 7) &
					 ~7UL);
			tw_argv_scripts(argv, filename, c.levels, c.name, c.arg, args);
		}
		/* the descriptor is the loader's to take */
		sys(__NR_fcntl, c.fd, F_SETFD, 0, 0, 0);
		if (tw_exec_traced((char *)b->ph, sizeof(b->ph)) &&
		    (m = tw_exec_interp_copy(c.fd, c.levels ? c.name[c.levels - 1] : path, p->audit,
					     b->ph)) >= 0) {
			r = sys(__NR_execveat, m, (long)"", (long)args, (long)env, AT_EMPTY_PATH);
			sys(__NR_close, m, 0, 0, 0, 0);
		} else {
			r = sys(__NR_execve, (long)p->audit, (long)args, (long)env, 0, 0);
		}
		sys(__NR_close, c.fd, 0, 0, 0, 0);
	}
	tw_exec_mem_drop(&h);
	return r;
}

void tw_exec_record(char *const envp[])
{
	struct tw_rt *rt = tw_rt();

	if (tw_list_find(tw_env_get(envp, "LD_PRELOAD="), ": ", "libtimewarp.so",
			 rt->exec_preload, sizeof(rt->exec_preload)))
		rt->exec_preload[0] = 0;
	if (tw_list_find(tw_env_get(envp, "LD_AUDIT="), ":", "libtimewarp-rt.so", rt->exec_audit,
			 sizeof(rt->exec_audit)))
		rt->exec_audit[0] = 0;
}

/* ---- the trap ---- */

static long member_exec(long dirfd, const char *path, char *const argv[], char *const envp[],
			long flags)
{
	const struct tw_rt *rt = tw_rt();
	struct tw_exec_paths p = {
		rt->page_path,
		rt->exec_preload[0] ? rt->exec_preload : 0,
		rt->exec_audit[0] ? rt->exec_audit : 0,
		rt->exe_path[0] ? rt->exe_path : 0,
	};
	if (!rt->page)
		p.page = 0;
	return tw_exec(&p, dirfd, path, argv, envp, flags);
}

long tw_serve_execve(const struct tw_call *c)
{
	return member_exec(AT_FDCWD, (const char *)c->a[0], (char *const *)c->a[1],
			   (char *const *)c->a[2], 0);
}

long tw_serve_execveat(const struct tw_call *c)
{
	return member_exec(c->a[0], (const char *)c->a[1], (char *const *)c->a[2],
			   (char *const *)c->a[3], c->a[4]);
}
