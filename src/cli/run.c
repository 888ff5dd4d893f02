/* run and join: start a command as a member of a namespace and pass its exit
 * status on, forwarding the signals timewarp is sent. */
#include <errno.h>
#include <limits.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "die.h"
#include "verbs.h"

/* The preload library: beside this binary (the build tree) or in ../lib (after
 * `make install`). */
static void find_library(char *buf, size_t n)
{
	char exe[PATH_MAX], *slash;
	ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (len <= 0)
		die(1, "cannot find where timewarp is installed: /proc/self/exe: %s",
		    strerror(errno));
	exe[len] = 0;
	if ((slash = strrchr(exe, '/')))
		*slash = 0;
	snprintf(buf, n, "%s/libtimewarp.so", exe);
	if (!access(buf, R_OK))
		return;
	snprintf(buf, n, "%s/../lib/libtimewarp.so", exe);
	if (!access(buf, R_OK))
		return;
	die(1, "cannot find libtimewarp.so beside %s/timewarp or in %s/../lib", exe, exe);
}

/* Nothing inside a namespace may set the host clock, whatever its privileges:
 * the preload library turns clock setting into namespace changes, and this takes
 * CAP_SYS_TIME away for good from the whole tree, so a raw system call or a
 * program the library cannot reach gets EPERM.  With CAP_SETPCAP (root) the
 * capability leaves the bounding set; without it, no_new_privs keeps a setuid or
 * file-capability program from bringing it back (and keeps such programs
 * reachable by LD_PRELOAD). */
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
	if (prctl(PR_CAPBSET_DROP, CAP_SYS_TIME, 0, 0, 0) &&
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		die(1, "cannot keep the namespace from setting the host clock: %s",
		    strerror(errno));
}

/* LD_PRELOAD=LIB[:what was there] */
static void set_preload(const char *lib)
{
	const char *old = getenv("LD_PRELOAD");
	size_t n = strlen(lib) + (old ? strlen(old) : 0) + 2;
	char *v = malloc(n);

	if (!v)
		die(1, "out of memory");
	snprintf(v, n, "%s%s%s", lib, old && *old ? ":" : "", old ? old : "");
	if (setenv("LD_PRELOAD", v, 1))
		die(1, "cannot set LD_PRELOAD: %s", strerror(errno));
	free(v);
}

/* A static binary would run on host time (the preload library cannot reach
 * it): say so rather than run it. */
static void refuse_unreachable(const char *file)
{
	char path[PATH_MAX], culprit[256];

	if (tw_exec_find(file, path, sizeof(path)))
		return; /* execvp reports it */
	if (tw_exec_reachable(path, culprit, sizeof(culprit)))
		die(126, "cannot run '%s': %s is statically linked or not x86-64, and timewarp "
			 "cannot give it the namespace's clocks yet", file, culprit);
}

static const int forwarded[] = { SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2,
				 SIGALRM, SIGWINCH, SIGCONT };

/* The child's status as ours: its exit status, or 128+N for death by signal N. */
static int exit_status(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 1;
}

int run_member(const char *page_path, char **command)
{
	char lib[PATH_MAX + 32];
	struct signalfd_siginfo si;
	sigset_t mask, old;
	int sfd, status = 0;
	pid_t child;

	find_library(lib, sizeof(lib));
	sigemptyset(&mask);
	for (size_t i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
		sigaddset(&mask, forwarded[i]);
	sigaddset(&mask, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &mask, &old))
		die(1, "cannot block signals: %s", strerror(errno));
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (sfd < 0)
		die(1, "cannot make a signalfd: %s", strerror(errno));

	fflush(NULL);
	child = fork();
	if (child < 0)
		die(1, "cannot fork: %s", strerror(errno));
	if (child == 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		if (setenv(TW_ENV_PAGE, page_path, 1))
			die(1, "cannot set %s: %s", TW_ENV_PAGE, strerror(errno));
		set_preload(lib);
		give_up_host_clock();
		refuse_unreachable(command[0]);
		execvp(command[0], command);
		die(errno == ENOENT ? 127 : 126, "cannot run '%s': %s", command[0],
		    strerror(errno));
	}

	/* Signals sent to timewarp go to the command; those the terminal sends the
	 * whole process group (si_code SI_KERNEL) already reached it. */
	for (;;) {
		ssize_t n = read(sfd, &si, sizeof(si));
		if (n != sizeof(si)) {
			if (n < 0 && errno == EINTR)
				continue;
			die(1, "cannot read signals: %s", n < 0 ? strerror(errno) : "short read");
		}
		if (si.ssi_signo == SIGCHLD) {
			pid_t w = waitpid(child, &status, WNOHANG);
			if (w == child)
				break;
			continue;
		}
		if (si.ssi_code <= 0 || si.ssi_signo == SIGCONT)
			kill(child, (int)si.ssi_signo);
	}
	close(sfd);
	sigprocmask(SIG_SETMASK, &old, NULL);
	return exit_status(status);
}
