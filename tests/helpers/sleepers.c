/* tw-sleepers: many member processes waiting at once, for tests/87-members.t.
 *
 *   tw-sleepers N SECONDS
 *       forks N processes, each waiting (clock_nanosleep, TIMER_ABSTIME) until
 *       the namespace's REALTIME is SECONDS ahead of when it started; once
 *       every one has fixed its deadline and is blocked in its wait, prints
 *       "ready PID..." (theirs); once they have all ended, "woke K of N": K
 *       is how many ended with their clock at or past their deadline (the
 *       others say on stderr what went wrong).
 *
 * Each child dies with its parent (PR_SET_PDEATHSIG), and the test kills the
 * process group it started this in when it gives up, so no waiter outlives a
 * failed test. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../bench/blocked.h"

/* A child's exit status: what its wait did. */
enum { WOKE = 0, EARLY = 3, FAILED = 4 };

static int child(double seconds, int ready_fd)
{
	struct timespec until, now;
	int r;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += (time_t)seconds;
	if (write(ready_fd, "r", 1) != 1)
		return FAILED;
	close(ready_fd);
	do
		r = clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &until, NULL);
	while (r == EINTR);
	if (r) {
		fprintf(stderr, "tw-sleepers: clock_nanosleep: %s\n", strerror(r));
		return FAILED;
	}
	clock_gettime(CLOCK_REALTIME, &now);
	if (now.tv_sec < until.tv_sec || (now.tv_sec == until.tv_sec && now.tv_nsec < until.tv_nsec)) {
		fprintf(stderr, "tw-sleepers: %d woke %lds before its deadline\n", (int)getpid(),
			(long)(until.tv_sec - now.tv_sec));
		return EARLY;
	}
	return WOKE;
}

static pid_t *pid;
static int forked;

/* Ends the waiters forked so far, each by its pid, and this program. */
static void give_up(const char *why, int i)
{
	fprintf(stderr, "tw-sleepers: %s (%d): %s\n", why, i, strerror(errno));
	for (int k = 0; k < forked; k++)
		kill(pid[k], SIGKILL);
	exit(1);
}

int main(int argc, char **argv)
{
	pid_t parent = getpid();
	int n, fds[2], st, woke = 0, ended = 0;
	double seconds;
	char c;

	if (argc != 3 || (n = atoi(argv[1])) < 1 || (seconds = atof(argv[2])) < 1) {
		fprintf(stderr, "usage: tw-sleepers N SECONDS\n");
		return 2;
	}
	if (!(pid = calloc((size_t)n, sizeof(*pid))) || pipe(fds)) {
		perror("tw-sleepers");
		return 1;
	}
	for (int i = 0; i < n; i++) {
		if ((pid[i] = fork()) < 0)
			give_up("fork failed, after this many", i);
		if (!pid[i]) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (getppid() != parent)
				_exit(FAILED);
			close(fds[0]);
			_exit(child(seconds, fds[1]));
		}
		forked++;
	}
	close(fds[1]);
	/* every deadline fixed (before the test advances the clock) ... */
	for (int i = 0; i < n; i++)
		if (read(fds[0], &c, 1) != 1)
			give_up("waiters gone before their wait, after this many started", i);
	/* ... and every waiter in its wait, so that the advance wakes it rather
	 * than finds it on its way */
	for (int i = 0; i < n; i++)
		while (!blocked(pid[i])) {
			if (waitpid(pid[i], &st, WNOHANG))
				give_up("a waiter ended before the advance, number", i);
			usleep(1000);
		}
	printf("ready");
	for (int i = 0; i < n; i++)
		printf(" %d", (int)pid[i]);
	printf("\n");
	fflush(stdout);
	while (ended < n) {
		if (wait(&st) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		ended++;
		woke += WIFEXITED(st) && WEXITSTATUS(st) == WOKE;
	}
	printf("woke %d of %d\n", woke, n);
	return 0;
}
