/* run and join: the command becomes a member of a namespace. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "control.h"
#include "die.h"
#include "exec.h"
#include "filter.h"
#include "runtime.h"
#include "verbs.h"

/* Nothing inside a namespace may set the host clock, whatever its privileges:
 * the preload library turns clock setting into namespace changes, and this takes
 * CAP_SYS_TIME away for good from the whole tree, so a raw system call or a
 * program the library cannot reach gets EPERM.  With CAP_SETPCAP (root) the
 * capability leaves the bounding set.
 *
 * And no member runs on host time after exec of a setuid, setgid or
 * file-capability program, root's included: such an exec would be a secure one
 * (AT_SECURE), for which the loader drops LD_PRELOAD.  no_new_privs, for every
 * member, makes the kernel run it without the privilege (the process keeps the
 * credentials it has, root stays root), so it stays a member; it also keeps
 * such a program from bringing CAP_SYS_TIME back. */
static void give_up_host_clock(void)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];
	int word = CAP_SYS_TIME / 32;
	unsigned bit = 1u << (CAP_SYS_TIME % 32);

	if (!syscall(SYS_capget, &hdr, data)) {
		data[word].effective &= ~bit;
		data[word].permitted &= ~bit;
		data[word].inheritable &= ~bit;
		if (syscall(SYS_capset, &hdr, data))
			die(1, "cannot drop CAP_SYS_TIME: %s", strerror(errno));
	}
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_LOWER, CAP_SYS_TIME, 0, 0);
	prctl(PR_CAPBSET_DROP, CAP_SYS_TIME, 0, 0, 0); /* fails without CAP_SETPCAP */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		die(1, "cannot set no_new_privs, which keeps members on the namespace's "
		       "clocks: %s", strerror(errno));
}

/* VAR=LIB[:what was there] */
static void add_library(const char *var, const char *lib)
{
	const char *old = getenv(var);
	size_t n = strlen(lib) + (old ? strlen(old) : 0) + 2;
	char *v = malloc(n);

	if (!v)
		die(1, "out of memory");
	snprintf(v, n, "%s%s%s", lib, old && *old ? ":" : "", old ? old : "");
	if (setenv(var, v, 1))
		die(1, "cannot set %s: %s", var, strerror(errno));
	free(v);
}

/* The seccomp filter that traps the member's time system calls for its
 * runtime (src/runtime/filter.c), once for the whole tree: a timewarp run
 * inside a namespace has it already (its own runtime is started), and a
 * second would trap the first's gate.  Then the exec itself goes through the
 * gate, as every system call of this process that the filter traps must. */
static void trap_time_calls(void)
{
	long r;

	if (tw_gate_mapped())
		return;
	if ((r = tw_gate_map()))
		die(1, "cannot map the system call gate at 0x%lx: %s", TW_RT_ADDR, strerror((int)-r));
	if ((r = tw_filter_install()))
		die(1, "cannot install the seccomp filter that traps time system calls: %s",
		    strerror((int)-r));
}

/* execvp, made as the exec trap makes a member's exec (src/runtime/exec.c):
 * a statically linked command is started by the runtime's loader.  Its
 * system calls go through the gate. */
static void exec_member(char **command, const char *page_path, const char *lib, const char *rt)
{
	struct tw_exec_paths paths = { page_path, lib, rt, NULL };
	char path[PATH_MAX];
	int r = tw_exec_find(command[0], path, sizeof(path));

	if (r) {
		errno = -r;
		return;
	}
	errno = (int)-tw_exec(&paths, AT_FDCWD, path, command, environ, 0);
}

/* A program of another machine or class (32-bit) would run on host time: say
 * so rather than run it. */
static int refuse_unreachable(const char *file)
{
	char path[PATH_MAX], culprit[256];

	if (tw_exec_find(file, path, sizeof(path)))
		return 0; /* execvp reports it */
	if (!tw_exec_reachable(path, culprit, sizeof(culprit)))
		return 0;
	warn("cannot run '%s': %s is not an x86-64 program, and timewarp cannot give it the "
	     "namespace's clocks", file, culprit);
	return 1;
}

/* The end of a run or join whose command could not be run.  The seccomp
 * filter may be in place by now, with no runtime to serve what it traps: the
 * process makes no more calls of its own choosing, and exit handlers (a
 * sanitizer's blocks every signal, SIGSYS included, which the filter kills
 * for) are not run. */
void leave(int status)
{
	fflush(NULL);
	_exit(status);
}

/* Becomes the command, a member of namespace ns.  timewarp does not stay
 * behind as a parent: the command's exit status and the signals sent to it are
 * its own, and a run's namespace is cleared away once the command is gone
 * (src/control/collect.c).  Returns only when the command cannot be run, with
 * the status to exit with (126, 127) after saying why. */
int become_member(const struct tw_ns *ns, char **command)
{
	char lib[PATH_MAX + 32], rt[PATH_MAX + 32];
	int bridge, e;

	find_library("libtimewarp.so", lib, sizeof(lib));
	find_library("libtimewarp-rt.so", rt, sizeof(rt));
	if (setenv(TW_ENV_PAGE, tw_ns_path(ns), 1))
		die(1, "cannot set %s: %s", TW_ENV_PAGE, strerror(errno));
	add_library("LD_PRELOAD", lib);
	add_library("LD_AUDIT", rt);
	give_up_host_clock();
	if (refuse_unreachable(command[0]))
		return 126;
	/* The page stays open across the exec, until the command has mapped it:
	 * the collector takes an unused page for garbage (the command's runtime
	 * closes this, src/runtime/start.c). */
	if ((bridge = fcntl(ns->fd, F_DUPFD, TW_BRIDGE_FD_MIN)) < 0)
		die(1, "cannot keep the clock page open across exec: %s", strerror(errno));
	fflush(NULL);
	trap_time_calls();
	exec_member(command, tw_ns_path(ns), lib, rt);
	e = errno;
	close(bridge);
	warn("cannot run '%s': %s", command[0], strerror(e));
	return e == ENOENT ? 127 : 126;
}
