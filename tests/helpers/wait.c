/* tw-wait: waits on a clock as a program would, and says how it ended.
 *
 *     tw-wait abs CLOCK SECONDS   clock_nanosleep(TIMER_ABSTIME) until now + SECONDS
 *     tw-wait rel CLOCK SECONDS   clock_nanosleep for SECONDS
 *     tw-wait cond CLOCK SECONDS  pthread_cond_clockwait, nobody signals
 *     tw-wait sem CLOCK SECONDS   sem_clockwait on an empty semaphore
 *     tw-wait poll CLOCK SECONDS  poll with no descriptors, SECONDS as the timeout
 *     tw-wait epoll CLOCK SECONDS epoll_wait on an empty set, likewise
 *
 * CLOCK is REALTIME, MONOTONIC or BOOTTIME.  Prints "done VIRTUAL_ELAPSED" or
 * the error, with the elapsed time read from the same clock. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>

static double now(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	clockid_t c;
	struct timespec t;
	double s, t0;
	int r = 0;

	if (argc != 4)
		return fprintf(stderr, "usage: tw-wait abs|rel|cond|sem|poll|epoll CLOCK SECONDS\n"), 2;
	c = !strcmp(argv[2], "REALTIME") ? CLOCK_REALTIME
	    : !strcmp(argv[2], "MONOTONIC") ? CLOCK_MONOTONIC : CLOCK_BOOTTIME;
	s = atof(argv[3]);
	t0 = now(c);
	if (!strcmp(argv[1], "poll")) {
		r = poll(NULL, 0, (int)(s * 1000)) < 0 ? errno : 0;
	} else if (!strcmp(argv[1], "epoll")) {
		struct epoll_event ev;
		int ep = epoll_create1(0);
		r = epoll_wait(ep, &ev, 1, (int)(s * 1000)) < 0 ? errno : 0;
	} else if (!strcmp(argv[1], "rel")) {
		t.tv_sec = (time_t)s;
		t.tv_nsec = (long)((s - (double)t.tv_sec) * 1e9);
		r = clock_nanosleep(c, 0, &t, NULL);
	} else {
		clock_gettime(c, &t);
		t.tv_sec += (time_t)s;
		t.tv_nsec += (long)((s - (double)(time_t)s) * 1e9);
		if (t.tv_nsec >= 1000000000L)
			t.tv_sec++, t.tv_nsec -= 1000000000L;
		if (!strcmp(argv[1], "abs")) {
			r = clock_nanosleep(c, TIMER_ABSTIME, &t, NULL);
		} else if (!strcmp(argv[1], "cond")) {
			pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
			pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
			pthread_mutex_lock(&m);
			do
				r = pthread_cond_clockwait(&cv, &m, c, &t);
			while (r == 0);
			r = r == ETIMEDOUT ? 0 : r;
		} else {
			sem_t sem;
			sem_init(&sem, 0, 0);
			r = sem_clockwait(&sem, c, &t) ? errno : 0;
			r = r == ETIMEDOUT ? 0 : r;
		}
	}
	if (r)
		printf("error %s\n", strerror(r));
	else
		printf("done %.3f\n", now(c) - t0);
	fflush(stdout);
	return r ? 1 : 0;
}
