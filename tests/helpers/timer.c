/* tw-timer: arms a timer as a program would and says when it fired.
 *
 *     tw-timer timerfd-abs CLOCK SECONDS   timerfd, TFD_TIMER_ABSTIME at now + SECONDS
 *     tw-timer timerfd-rel CLOCK SECONDS   timerfd, relative, then interval SECONDS:
 *                                          waits for 3 expirations
 *     tw-timer posix-abs CLOCK SECONDS     timer_create + timer_settime TIMER_ABSTIME
 *     tw-timer itimer SECONDS              setitimer(ITIMER_REAL), waits for SIGALRM
 *     tw-timer alarm SECONDS               alarm(), pause()
 *     tw-timer cancel SECONDS              timerfd on REALTIME, TFD_TIMER_ABSTIME |
 *                                          TFD_TIMER_CANCEL_ON_SET at now + SECONDS;
 *                                          prints "canceled VIRTUAL_ELAPSED" for each
 *                                          read that fails with ECANCELED
 *
 * Prints "fired VIRTUAL_ELAPSED [REMAINING_AT_ARM]" from the timer's own clock
 * (REALTIME for itimer and alarm), where REMAINING_AT_ARM is what the matching
 * gettime reported right after arming: virtual, like the time armed. */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

static double now(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static struct timespec ts_of(double s)
{
	struct timespec t = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };
	return t;
}

static double secs(struct timespec t)
{
	return (double)t.tv_sec + t.tv_nsec / 1e9;
}

static void on_alarm(int sig)
{
	(void)sig;
}

int main(int argc, char **argv)
{
	const char *mode = argv[1];
	clockid_t c = CLOCK_REALTIME;
	double s, t0, left = -1;
	struct itimerspec its = { { 0, 0 }, { 0, 0 } }, cur;

	if (argc < 3)
		return fprintf(stderr, "usage: see the source\n"), 2;
	if (argc == 4)
		c = !strcmp(argv[2], "REALTIME") ? CLOCK_REALTIME
		    : !strcmp(argv[2], "MONOTONIC") ? CLOCK_MONOTONIC : CLOCK_BOOTTIME;
	s = atof(argv[argc - 1]);
	t0 = now(c);
	if (!strcmp(mode, "cancel")) {
		int fd = timerfd_create(CLOCK_REALTIME, 0);
		uint64_t n;
		its.it_value = ts_of(t0 + s);
		if (fd < 0 ||
		    timerfd_settime(fd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &its, NULL))
			return perror("timerfd"), 1;
		while (read(fd, &n, sizeof(n)) < 0) {
			if (errno != ECANCELED)
				return perror("read"), 1;
			printf("canceled %.3f\n", now(c) - t0);
			fflush(stdout);
		}
	} else if (!strncmp(mode, "timerfd", 7)) {
		int fd = timerfd_create(c, 0), abs = !strcmp(mode, "timerfd-abs");
		uint64_t n, total = 0;
		its.it_value = ts_of(abs ? t0 + s : s);
		if (!abs)
			its.it_interval = ts_of(s);
		if (fd < 0 || timerfd_settime(fd, abs ? TFD_TIMER_ABSTIME : 0, &its, NULL))
			return perror("timerfd"), 1;
		timerfd_gettime(fd, &cur);
		left = secs(cur.it_value);
		while (total < (abs ? 1u : 3u) && read(fd, &n, sizeof(n)) == sizeof(n))
			total += n;
	} else if (!strcmp(mode, "posix-abs")) {
		timer_t t;
		sigset_t set;
		int sig;
		struct sigevent ev = { .sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGRTMIN };
		sigemptyset(&set);
		sigaddset(&set, SIGRTMIN);
		sigprocmask(SIG_BLOCK, &set, NULL);
		its.it_value = ts_of(t0 + s);
		if (timer_create(c, &ev, &t) || timer_settime(t, TIMER_ABSTIME, &its, NULL))
			return perror("timer"), 1;
		timer_gettime(t, &cur);
		left = secs(cur.it_value);
		sigwait(&set, &sig);
	} else {
		signal(SIGALRM, on_alarm);
		if (!strcmp(mode, "alarm")) {
			alarm((unsigned)s);
		} else {
			struct itimerval v = { { 0, 0 }, { (time_t)s, (long)((s - (double)(time_t)s) * 1e6) } };
			struct itimerval g;
			setitimer(ITIMER_REAL, &v, NULL);
			getitimer(ITIMER_REAL, &g);
			left = (double)g.it_value.tv_sec + g.it_value.tv_usec / 1e6;
		}
		pause();
	}
	printf("fired %.3f %.3f\n", now(c) - t0, left);
	return 0;
}
