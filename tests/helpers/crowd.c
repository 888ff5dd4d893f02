/* tw-crowd: many waits and timers at once, and the corners of signal handling
 * and forking they meet, for tests/86-crowds.t.
 *
 *   tw-crowd wait KIND N SECONDS
 *       N waits of KIND at once, each until the namespace's clock is SECONDS
 *       ahead; prints "ready" once all have started, then "woke N" once all
 *       have ended (by the deadline, or a change that passed it).  KIND:
 *       abstime (clock_nanosleep TIMER_ABSTIME, MONOTONIC), cond
 *       (pthread_cond_timedwait), sem (sem_timedwait), poll, timerfd (N
 *       timerfds, each read by a thread), posix (N POSIX timers, each
 *       signalling a thread of its own), raw (FUTEX_WAIT_BITSET by raw
 *       system call, on REALTIME).
 *   tw-crowd rearm SECONDS
 *       for SECONDS of the namespace's time, the main thread arms timers
 *       (timer_settime, setitimer) in a loop while a SIGALRM handler re-arms
 *       them; prints "done" when it is over.
 *   tw-crowd cancel FD
 *       a TFD_TIMER_CANCEL_ON_SET timerfd at descriptor FD, then the
 *       namespace's REALTIME set (settimeofday, a minute on): prints what
 *       read() then says ("ECANCELED", or the expirations).
 *   tw-crowd exit-thread
 *       the main thread makes a timed wait, then calls pthread_exit.
 *   tw-crowd forks THREADS ROUNDS
 *       THREADS threads each fork ROUNDS times while making timed waits; each
 *       child makes one and exits 7; prints "forked N, all exited 7" or what
 *       went wrong (a child that does not exit within 10 s of host time is
 *       killed and counted). */
#include <errno.h>
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "host.h"

static void die(const char *what)
{
	fprintf(stderr, "tw-crowd: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* ---- wait ---- */

static const char *kind;
static double seconds;
static pthread_mutex_t mx = PTHREAD_MUTEX_INITIALIZER;
static sem_t sem;
static int started, ended, pipefd[2];
static uint32_t raw_word;

static struct timespec ahead(clockid_t clk, double s)
{
	struct timespec t;

	clock_gettime(clk, &t);
	t.tv_sec += (time_t)s;
	t.tv_nsec += (long)((s - (double)(time_t)s) * 1e9);
	if (t.tv_nsec >= 1000000000L)
		t.tv_sec++, t.tv_nsec -= 1000000000L;
	return t;
}

static void note(int *counter)
{
	pthread_mutex_lock(&mx);
	(*counter)++;
	pthread_mutex_unlock(&mx);
}

static void *waiter(void *arg)
{
	long i = (long)arg;
	struct timespec until;

	if (!strcmp(kind, "abstime")) {
		until = ahead(CLOCK_MONOTONIC, seconds);
		note(&started);
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL) == EINTR)
			;
	} else if (!strcmp(kind, "cond")) {
		pthread_condattr_t a;
		pthread_cond_t mine;
		pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;

		pthread_condattr_init(&a);
		pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
		pthread_cond_init(&mine, &a);
		until = ahead(CLOCK_MONOTONIC, seconds);
		pthread_mutex_lock(&m);
		note(&started);
		while (pthread_cond_timedwait(&mine, &m, &until) != ETIMEDOUT)
			;
		pthread_mutex_unlock(&m);
	} else if (!strcmp(kind, "sem")) {
		until = ahead(CLOCK_REALTIME, seconds);
		note(&started);
		while (sem_timedwait(&sem, &until) && errno != ETIMEDOUT)
			;
	} else if (!strcmp(kind, "poll")) {
		struct pollfd p = { pipefd[0], POLLIN, 0 };

		note(&started);
		poll(&p, 1, (int)(seconds * 1000));
	} else if (!strcmp(kind, "timerfd")) {
		int fd = timerfd_create(CLOCK_MONOTONIC, 0);
		struct itimerspec v = { { 0, 0 }, { (time_t)seconds, 0 } };
		uint64_t n;

		if (fd < 0 || timerfd_settime(fd, 0, &v, NULL))
			die("timerfd");
		note(&started);
		while (read(fd, &n, sizeof(n)) < 0 && errno == EINTR)
			;
		close(fd);
	} else if (!strcmp(kind, "posix")) {
		/* a timer that signals this very thread, waited for with sigwaitinfo */
		struct sigevent ev = { .sigev_notify = SIGEV_THREAD_ID,
				       .sigev_signo = SIGRTMIN + 1 };
		struct itimerspec v = { { 0, 0 }, { (time_t)seconds, 0 } };
		sigset_t set;
		timer_t t;

		ev._sigev_un._tid = (pid_t)syscall(SYS_gettid);
		sigemptyset(&set);
		sigaddset(&set, SIGRTMIN + 1);
		if (timer_create(CLOCK_MONOTONIC, &ev, &t) || timer_settime(t, 0, &v, NULL))
			die("timer");
		note(&started);
		while (sigwaitinfo(&set, NULL) < 0 && errno == EINTR)
			;
		timer_delete(t);
	} else if (!strcmp(kind, "raw")) {
		until = ahead(CLOCK_REALTIME, seconds);
		note(&started);
		while (syscall(SYS_futex, &raw_word, FUTEX_WAIT_BITSET | FUTEX_CLOCK_REALTIME |
							   FUTEX_PRIVATE_FLAG,
			       0, &until, NULL, FUTEX_BITSET_MATCH_ANY) == 0 ||
		       errno == EINTR || errno == EAGAIN)
			;
	} else {
		fprintf(stderr, "tw-crowd: unknown kind '%s'\n", kind);
		exit(2);
	}
	(void)i;
	note(&ended);
	return NULL;
}

static int cmd_wait(const char *k, int n, double s)
{
	pthread_t *t = calloc((size_t)n, sizeof(*t));
	pthread_attr_t a;
	sigset_t set;

	kind = k;
	seconds = s;
	if (!t || pipe(pipefd) || sem_init(&sem, 0, 0))
		die("setting up");
	/* the posix kind's signal is waited for, not handled: blocked everywhere */
	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN + 1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	pthread_attr_init(&a);
	pthread_attr_setstacksize(&a, 64 * 1024);
	for (long i = 0; i < n; i++)
		if (pthread_create(&t[i], &a, waiter, (void *)i))
			die("pthread_create");
	for (;;) {
		pthread_mutex_lock(&mx);
		int all = started == n;
		pthread_mutex_unlock(&mx);
		if (all)
			break;
		usleep(10000);
	}
	/* started: in the call, or just before it (it plans at its start) */
	usleep(200000);
	printf("ready\n");
	fflush(stdout);
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	printf("woke %d\n", ended);
	return 0;
}

/* ---- rearm ---- */

static timer_t rearm_timer;

static void on_alarm(int sig)
{
	struct itimerval iv = { { 0, 0 }, { 0, 2000 } };
	struct itimerspec v = { { 0, 0 }, { 0, 3000000 } };

	(void)sig;
	setitimer(ITIMER_REAL, &iv, NULL);
	timer_settime(rearm_timer, 0, &v, NULL);
}

static int cmd_rearm(double s)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	struct sigevent ev = { .sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGALRM };
	struct timespec end = ahead(CLOCK_MONOTONIC, s), now;
	long rounds = 0;

	sigaction(SIGALRM, &sa, NULL);
	if (timer_create(CLOCK_MONOTONIC, &ev, &rearm_timer))
		die("timer_create");
	do {
		struct itimerval iv = { { 0, 0 }, { 0, 1000 + rounds % 1000 } };
		struct itimerspec v = { { 0, 0 }, { 0, 1000000 } };

		setitimer(ITIMER_REAL, &iv, NULL);
		timer_settime(rearm_timer, 0, &v, NULL);
		rounds++;
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while (now.tv_sec < end.tv_sec || (now.tv_sec == end.tv_sec && now.tv_nsec < end.tv_nsec));
	signal(SIGALRM, SIG_IGN);
	printf("done\n");
	return 0;
}

/* ---- cancel ---- */

static int cmd_cancel(int at)
{
	int fd = timerfd_create(CLOCK_REALTIME, 0);
	struct itimerspec v = { { 0, 0 }, ahead(CLOCK_REALTIME, 86400) };
	struct timeval tv;
	uint64_t n;

	if (fd < 0 || dup2(fd, at) != at)
		die("timerfd at that descriptor");
	close(fd);
	if (timerfd_settime(at, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &v, NULL))
		die("timerfd_settime");
	gettimeofday(&tv, NULL);
	tv.tv_sec += 60;
	if (settimeofday(&tv, NULL))
		die("settimeofday");
	if (read(at, &n, sizeof(n)) < 0)
		printf("%s\n", errno == ECANCELED ? "ECANCELED" : strerror(errno));
	else
		printf("%llu expirations\n", (unsigned long long)n);
	return 0;
}

/* ---- exit-thread ---- */

static int cmd_exit_thread(void)
{
	struct pollfd p = { 0, 0, 0 };

	poll(&p, 1, 10); /* a timed wait: the runtime's watcher starts */
	pthread_exit(NULL);
}

/* ---- forks ---- */

static int rounds, forked, bad;

static void *forker(void *arg)
{
	(void)arg;
	for (int i = 0; i < rounds; i++) {
		struct timespec d = { 0, 1000000 };
		pid_t pid;
		int st = 0;

		nanosleep(&d, NULL);
		if ((pid = fork()) == 0) {
			nanosleep(&d, NULL);
			_exit(7);
		}
		if (pid < 0) {
			note(&bad);
			continue;
		}
		note(&forked);
		/* the child gets 10 s of host time (measured through the gate) */
		for (int t = 0; t < 1000; t++) {
			struct timespec tick = { 0, 10000000 };

			if (waitpid(pid, &st, WNOHANG) == pid)
				break;
			host_syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, (long)&tick, 0);
			if (t == 999) {
				kill(pid, SIGKILL);
				waitpid(pid, &st, 0);
			}
		}
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 7)
			note(&bad);
	}
	return NULL;
}

static int cmd_forks(int threads, int r)
{
	pthread_t t[64];

	rounds = r;
	if (threads > 64)
		threads = 64;
	for (int i = 0; i < threads; i++)
		pthread_create(&t[i], NULL, forker, NULL);
	for (int i = 0; i < threads; i++)
		pthread_join(t[i], NULL);
	if (bad)
		printf("forked %d, %d did not exit 7\n", forked, bad);
	else
		printf("forked %d, all exited 7\n", forked);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 5 && !strcmp(argv[1], "wait"))
		return cmd_wait(argv[2], atoi(argv[3]), atof(argv[4]));
	if (argc == 3 && !strcmp(argv[1], "rearm"))
		return cmd_rearm(atof(argv[2]));
	if (argc == 3 && !strcmp(argv[1], "cancel"))
		return cmd_cancel(atoi(argv[2]));
	if (argc == 2 && !strcmp(argv[1], "exit-thread"))
		return cmd_exit_thread();
	if (argc == 4 && !strcmp(argv[1], "forks"))
		return cmd_forks(atoi(argv[2]), atoi(argv[3]));
	fprintf(stderr, "usage: tw-crowd wait KIND N SECONDS | rearm SECONDS | cancel FD | "
			"exit-thread | forks THREADS ROUNDS\n");
	return 2;
}
