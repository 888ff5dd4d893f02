/* tw-timens: the checks of the kernel's time-namespace selftests
 * (tools/testing/selftests/timens: timerfd, timer, clock_nanosleep, futex),
 * written again as one black-box program to run under timewarp.
 *
 *     tw-timens timerfd CLOCK SECONDS
 *     tw-timens timer CLOCK SECONDS
 *     tw-timens nanosleep CLOCK SECONDS
 *     tw-timens futex CLOCK SECONDS
 *
 * CLOCK is REALTIME, MONOTONIC or BOOTTIME.  Each mode reads CLOCK, then
 *
 *   timerfd    arms timerfds an hour away (relative, then absolute at now + 1h)
 *              and checks that timerfd_gettime says an hour is left and the
 *              interval is one second; then arms one at now + SECONDS
 *              (TFD_TIMER_ABSTIME), checks the time left it reports, reads one
 *              expiry and checks that it is disarmed afterwards.
 *   timer      the same with timer_create (SIGEV_NONE for the hour-long timers,
 *              SIGEV_SIGNAL for the one that fires: the signal must carry
 *              SI_TIMER and the timer's value).
 *   nanosleep  an hour-long clock_nanosleep (relative, then absolute) in a
 *              thread must still be sleeping when a signal interrupts it, must
 *              return EINTR and (relative) leave about an hour in the remainder;
 *              then clock_nanosleep(TIMER_ABSTIME) until now + SECONDS.
 *   futex      libc's absolute-deadline waits, all at once in threads with the
 *              deadline now + SECONDS: pthread_cond_clockwait,
 *              pthread_cond_timedwait (condattr clock), sem_clockwait,
 *              pthread_mutex_clocklock, pthread_rwlock_clock{rd,wr}lock,
 *              pthread_clockjoin_np, and for REALTIME also sem_timedwait,
 *              pthread_mutex_timedlock, pthread_rwlock_timed{rd,wr}lock and
 *              pthread_timedjoin_np.  Each must time out (ETIMEDOUT).
 *
 * After every deadline the clock read must be at or past it.  Prints one line:
 *     ok ELAPSED [left=LEFT|rem=REM|waits=N]
 *                              exit 0: ELAPSED is the virtual time (CLOCK) from
 *                              the first read to the wake-up; LEFT what gettime
 *                              said right after arming the SECONDS timer, REM
 *                              the remainder of the interrupted relative hour's
 *                              sleep, N how many waits timed out
 *     fail REASON              exit 1
 *     refused REASON           exit 3: libc or the kernel refuses every wait
 *                              on this clock (futex waits on BOOTTIME)
 * A watchdog on host time (raw syscalls, which timewarp leaves alone) ends the
 * program with "fail hung in STAGE" after 4 + 3 * SECONDS host seconds. */
#include <errno.h>
#include <stdarg.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "host.h"

#define HOUR 3600.0
/* how far gettime may be from an hour (the selftests allow a minute) */
#define HOUR_SLACK 5.0
/* how far gettime may be below SECONDS right after arming (virtual seconds) */
#define ARM_SLACK 0.5
/* rounding of a virtual time read back (virtual seconds) */
#define EPS 0.002

static clockid_t clk;
static double secs;
static const char *volatile stage = "start";

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void fail(const char *fmt, ...)
{
	va_list ap;
	char buf[512];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	printf("fail %s: %s\n", stage, buf);
	fflush(stdout);
	_exit(1);
}

/* ---- times --------------------------------------------------------------- */

static double secs_of(struct timespec t)
{
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static struct timespec add(struct timespec t, double s)
{
	int64_t ns = (int64_t)(s * 1e9 + (s < 0 ? -0.5 : 0.5));

	t.tv_sec += (time_t)(ns / 1000000000LL);
	t.tv_nsec += (long)(ns % 1000000000LL);
	if (t.tv_nsec >= 1000000000L)
		t.tv_sec++, t.tv_nsec -= 1000000000L;
	else if (t.tv_nsec < 0)
		t.tv_sec--, t.tv_nsec += 1000000000L;
	return t;
}

/* b - a in seconds, exact enough for years off (whole seconds apart first) */
static double diff(struct timespec a, struct timespec b)
{
	return (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
}

static int before(struct timespec a, struct timespec b)
{
	return a.tv_sec < b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec < b.tv_nsec);
}

static struct timespec now(void)
{
	struct timespec t;

	if (clock_gettime(clk, &t))
		fail("clock_gettime: %s", strerror(errno));
	return t;
}

/* The clock read after a deadline must be at or past it (all the selftests). */
static struct timespec check_past(struct timespec deadline, const char *what)
{
	struct timespec t = now();

	if (before(t, deadline))
		fail("%s: woke %.6f s before its deadline (clock %lld.%09ld, deadline %lld.%09ld)",
		     what, diff(t, deadline), (long long)t.tv_sec, t.tv_nsec,
		     (long long)deadline.tv_sec, deadline.tv_nsec);
	return t;
}

/* An hour-long timer must say about an hour is left, with a 1 s interval. */
static void check_hour(const struct itimerspec *cur, const char *what)
{
	double left = secs_of(cur->it_value), iv = secs_of(cur->it_interval);

	if (left > HOUR + EPS || left < HOUR - HOUR_SLACK)
		fail("%s: %.6f s left reported for a timer an hour away", what, left);
	if (iv < 1 - EPS || iv > 1 + EPS)
		fail("%s: interval reported as %.6f s, armed as 1 s", what, iv);
}

/* Right after arming the SECONDS timer: about SECONDS left. */
static double check_armed(const struct itimerspec *cur, const char *what)
{
	double left = secs_of(cur->it_value);

	if (left > secs + EPS || left < secs - ARM_SLACK)
		fail("%s: %.6f s left reported right after arming %.3f s", what, left, secs);
	return left;
}

static void check_disarmed(const struct itimerspec *cur, const char *what)
{
	if (cur->it_value.tv_sec || cur->it_value.tv_nsec)
		fail("%s: %.6f s left reported after the one-shot expiry", what,
		     secs_of(cur->it_value));
}

/* ---- watchdog on host time ----------------------------------------------- */

static void host_sleep(double s)
{
	struct timespec t = { (time_t)s, (long)((s - (double)(time_t)s) * 1e9) };

	long r;

	while ((r = host_syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, (long)&t, (long)&t)) ==
		       -EINTR ||
	       (r == -1 && errno == EINTR))
		;
}

static void *watchdog(void *arg)
{
	(void)arg;
	host_sleep(4 + 3 * secs);
	fail("hung (%.1f host seconds)", 4 + 3 * secs);
}

/* ---- timerfd --------------------------------------------------------------- */

static void run_timerfd(void)
{
	struct itimerspec its, cur;
	struct timespec t0, t1, deadline;
	uint64_t n = 0;
	double left;
	int fd, absolute;

	for (absolute = 0; absolute < 2; absolute++) {
		stage = absolute ? "timerfd an hour away (absolute)" : "timerfd an hour away (relative)";
		if ((fd = timerfd_create(clk, TFD_CLOEXEC)) < 0)
			fail("timerfd_create: %s", strerror(errno));
		its.it_interval = (struct timespec){ 1, 0 };
		its.it_value = absolute ? add(now(), HOUR) : (struct timespec){ (time_t)HOUR, 0 };
		if (timerfd_settime(fd, absolute ? TFD_TIMER_ABSTIME : 0, &its, NULL))
			fail("timerfd_settime: %s", strerror(errno));
		if (timerfd_gettime(fd, &cur))
			fail("timerfd_gettime: %s", strerror(errno));
		check_hour(&cur, "timerfd_gettime");
		close(fd);
	}

	stage = "timerfd at now + SECONDS";
	if ((fd = timerfd_create(clk, TFD_CLOEXEC)) < 0)
		fail("timerfd_create: %s", strerror(errno));
	t0 = now();
	deadline = add(t0, secs);
	its.it_interval = (struct timespec){ 0, 0 };
	its.it_value = deadline;
	if (timerfd_settime(fd, TFD_TIMER_ABSTIME, &its, NULL))
		fail("timerfd_settime: %s", strerror(errno));
	if (timerfd_gettime(fd, &cur))
		fail("timerfd_gettime: %s", strerror(errno));
	left = check_armed(&cur, "timerfd_gettime");
	if (read(fd, &n, sizeof(n)) != sizeof(n))
		fail("read: %s", strerror(errno));
	if (n != 1)
		fail("read %llu expirations of a one-shot timer", (unsigned long long)n);
	t1 = check_past(deadline, "timerfd expiry");
	if (timerfd_gettime(fd, &cur))
		fail("timerfd_gettime after expiry: %s", strerror(errno));
	check_disarmed(&cur, "timerfd_gettime");
	printf("ok %.3f left=%.3f\n", diff(t0, t1), left);
}

/* ---- POSIX timers -------------------------------------------------------- */

static void run_timer(void)
{
	struct itimerspec its, cur;
	struct timespec t0, t1, deadline;
	struct sigevent ev;
	siginfo_t si;
	sigset_t set;
	timer_t t;
	double left;
	int absolute, r;

	for (absolute = 0; absolute < 2; absolute++) {
		stage = absolute ? "timer an hour away (absolute)" : "timer an hour away (relative)";
		memset(&ev, 0, sizeof(ev));
		ev.sigev_notify = SIGEV_NONE;
		if (timer_create(clk, &ev, &t))
			fail("timer_create: %s", strerror(errno));
		its.it_interval = (struct timespec){ 1, 0 };
		its.it_value = absolute ? add(now(), HOUR) : (struct timespec){ (time_t)HOUR, 0 };
		if (timer_settime(t, absolute ? TIMER_ABSTIME : 0, &its, NULL))
			fail("timer_settime: %s", strerror(errno));
		if (timer_gettime(t, &cur))
			fail("timer_gettime: %s", strerror(errno));
		check_hour(&cur, "timer_gettime");
		timer_delete(t);
	}

	stage = "timer at now + SECONDS";
	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN);
	memset(&ev, 0, sizeof(ev));
	ev.sigev_notify = SIGEV_SIGNAL;
	ev.sigev_signo = SIGRTMIN;
	ev.sigev_value.sival_int = 0x7e57;
	if (timer_create(clk, &ev, &t))
		fail("timer_create: %s", strerror(errno));
	t0 = now();
	deadline = add(t0, secs);
	its.it_interval = (struct timespec){ 0, 0 };
	its.it_value = deadline;
	if (timer_settime(t, TIMER_ABSTIME, &its, NULL))
		fail("timer_settime: %s", strerror(errno));
	if (timer_gettime(t, &cur))
		fail("timer_gettime: %s", strerror(errno));
	left = check_armed(&cur, "timer_gettime");
	while ((r = sigwaitinfo(&set, &si)) < 0 && errno == EINTR)
		;
	if (r < 0)
		fail("sigwaitinfo: %s", strerror(errno));
	if (si.si_code != SI_TIMER || si.si_value.sival_int != 0x7e57)
		fail("signal with si_code %d and value %#x, want SI_TIMER (%d) and 0x7e57",
		     si.si_code, si.si_value.sival_int, SI_TIMER);
	t1 = check_past(deadline, "timer expiry");
	if (timer_gettime(t, &cur))
		fail("timer_gettime after expiry: %s", strerror(errno));
	check_disarmed(&cur, "timer_gettime");
	if ((r = timer_getoverrun(t)) != 0)
		fail("timer_getoverrun says %d after one expiry", r);
	printf("ok %.3f left=%.3f\n", diff(t0, t1), left);
}

/* ---- clock_nanosleep ------------------------------------------------------ */

struct sleeper {
	int absolute;
	struct timespec req, rem;
	int ret;
	volatile int entered, done;
};

static void on_usr1(int sig)
{
	(void)sig;
}

static void *sleeper(void *arg)
{
	struct sleeper *s = arg;

	s->entered = 1;
	s->ret = clock_nanosleep(clk, s->absolute ? TIMER_ABSTIME : 0, &s->req, &s->rem);
	__atomic_store_n(&s->done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

static void run_nanosleep(void)
{
	struct sigaction sa;
	struct timespec t0, deadline;
	pthread_t th;
	double rem = -1;
	int absolute, i, r;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1; /* no SA_RESTART: a sleep ends with EINTR anyway */
	sigaction(SIGUSR1, &sa, NULL);
	for (absolute = 0; absolute < 2; absolute++) {
		struct sleeper s;

		stage = absolute ? "clock_nanosleep an hour (absolute) interrupted"
				 : "clock_nanosleep an hour (relative) interrupted";
		memset(&s, 0, sizeof(s));
		s.absolute = absolute;
		s.rem = (struct timespec){ -1, -1 };
		s.req = absolute ? add(now(), HOUR) : (struct timespec){ (time_t)HOUR, 0 };
		deadline = absolute ? s.req : add(now(), HOUR);
		if ((r = pthread_create(&th, NULL, sleeper, &s)))
			fail("pthread_create: %s", strerror(r));
		while (!s.entered)
			host_sleep(0.001);
		/* Give it time to be inside the sleep, which must not end by itself;
		 * a signal that comes before the sleep starts is lost, so send again. */
		for (i = 0; i < 20 && !__atomic_load_n(&s.done, __ATOMIC_SEQ_CST); i++) {
			host_sleep(i ? 0.1 : 0.15);
			if (__atomic_load_n(&s.done, __ATOMIC_SEQ_CST) && i == 0)
				fail("an hour's sleep ended by itself after 0.15 host s: %s",
				     s.ret ? strerror(s.ret) : "returned 0");
			pthread_kill(th, SIGUSR1);
			host_sleep(0.05);
		}
		if (!__atomic_load_n(&s.done, __ATOMIC_SEQ_CST))
			fail("SIGUSR1 did not interrupt the sleep (sent %d times)", i);
		pthread_join(th, NULL);
		if (s.ret != EINTR)
			fail("clock_nanosleep returned %d (%s), want EINTR", s.ret,
			     s.ret ? strerror(s.ret) : "slept");
		if (!before(now(), deadline))
			fail("interrupted, but the clock is already past the hour's deadline");
		if (!absolute && (secs_of(s.rem) > HOUR + EPS || secs_of(s.rem) < HOUR - 30))
			fail("remainder %lld.%09ld s after a short while of an hour's sleep",
			     (long long)s.rem.tv_sec, s.rem.tv_nsec);
		if (!absolute)
			rem = secs_of(s.rem);
	}

	stage = "clock_nanosleep(TIMER_ABSTIME) until now + SECONDS";
	t0 = now();
	deadline = add(t0, secs);
	if ((r = clock_nanosleep(clk, TIMER_ABSTIME, &deadline, NULL)))
		fail("clock_nanosleep: %s", strerror(r));
	printf("ok %.3f rem=%.3f\n", diff(t0, check_past(deadline, "clock_nanosleep")), rem);
}

/* ---- libc's absolute-deadline waits (futexes) ---------------------------- */

enum wait_kind {
	COND_CLOCKWAIT, COND_TIMEDWAIT, SEM_CLOCKWAIT, MUTEX_CLOCKLOCK, RWLOCK_CLOCKRDLOCK,
	RWLOCK_CLOCKWRLOCK, CLOCKJOIN, SEM_TIMEDWAIT, MUTEX_TIMEDLOCK, RWLOCK_TIMEDRDLOCK,
	RWLOCK_TIMEDWRLOCK, TIMEDJOIN, N_KINDS
};
static const char *const kind_name[N_KINDS] = {
	"pthread_cond_clockwait", "pthread_cond_timedwait", "sem_clockwait",
	"pthread_mutex_clocklock", "pthread_rwlock_clockrdlock", "pthread_rwlock_clockwrlock",
	"pthread_clockjoin_np", "sem_timedwait", "pthread_mutex_timedlock",
	"pthread_rwlock_timedrdlock", "pthread_rwlock_timedwrlock", "pthread_timedjoin_np",
};

/* What the waiters wait for: nobody ever signals, posts or unlocks. */
static pthread_mutex_t held = PTHREAD_MUTEX_INITIALIZER;
static pthread_rwlock_t read_held = PTHREAD_RWLOCK_INITIALIZER;
static pthread_rwlock_t write_held = PTHREAD_RWLOCK_INITIALIZER;
static pthread_t never_ends;
static sem_t empty;
static int forever[2];

struct waiter {
	enum wait_kind kind;
	struct timespec deadline, woke;
	int ret;
};

static void *endless(void *arg)
{
	char c;

	(void)arg;
	while (read(forever[0], &c, 1) < 0 && errno == EINTR)
		;
	return NULL;
}

static void *wait_one(void *arg)
{
	struct waiter *w = arg;
	pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
	pthread_condattr_t ca;
	pthread_cond_t cv;
	void *res;
	int r = 0;

	switch (w->kind) {
	case COND_CLOCKWAIT:
	case COND_TIMEDWAIT:
		pthread_condattr_init(&ca);
		if (w->kind == COND_TIMEDWAIT && (r = pthread_condattr_setclock(&ca, clk)))
			break;
		pthread_cond_init(&cv, &ca);
		pthread_mutex_lock(&m);
		do /* a spurious wake-up is allowed: wait again */
			r = w->kind == COND_CLOCKWAIT ? pthread_cond_clockwait(&cv, &m, clk, &w->deadline)
						      : pthread_cond_timedwait(&cv, &m, &w->deadline);
		while (r == 0);
		pthread_mutex_unlock(&m);
		break;
	case SEM_CLOCKWAIT:
		r = sem_clockwait(&empty, clk, &w->deadline) ? errno : 0;
		break;
	case SEM_TIMEDWAIT:
		r = sem_timedwait(&empty, &w->deadline) ? errno : 0;
		break;
	case MUTEX_CLOCKLOCK:
		r = pthread_mutex_clocklock(&held, clk, &w->deadline);
		break;
	case MUTEX_TIMEDLOCK:
		r = pthread_mutex_timedlock(&held, &w->deadline);
		break;
	case RWLOCK_CLOCKRDLOCK:
		r = pthread_rwlock_clockrdlock(&write_held, clk, &w->deadline);
		break;
	case RWLOCK_TIMEDRDLOCK:
		r = pthread_rwlock_timedrdlock(&write_held, &w->deadline);
		break;
	case RWLOCK_CLOCKWRLOCK:
		r = pthread_rwlock_clockwrlock(&read_held, clk, &w->deadline);
		break;
	case RWLOCK_TIMEDWRLOCK:
		r = pthread_rwlock_timedwrlock(&read_held, &w->deadline);
		break;
	case CLOCKJOIN:
		r = pthread_clockjoin_np(never_ends, &res, clk, &w->deadline);
		break;
	case TIMEDJOIN:
		r = pthread_timedjoin_np(never_ends, &res, &w->deadline);
		break;
	case N_KINDS:
		break;
	}
	w->ret = r;
	clock_gettime(clk, &w->woke);
	return NULL;
}

static void run_futex(void)
{
	struct waiter w[N_KINDS];
	pthread_t th[N_KINDS];
	struct timespec t0, deadline, last;
	int n, i, r, refused = 0;

	stage = "absolute-deadline waits at now + SECONDS";
	sem_init(&empty, 0, 0);
	pthread_mutex_lock(&held);
	pthread_rwlock_rdlock(&read_held);
	pthread_rwlock_wrlock(&write_held);
	if (pipe(forever) || (r = pthread_create(&never_ends, NULL, endless, NULL)))
		fail("cannot start the thread that never ends");
	n = clk == CLOCK_REALTIME ? N_KINDS : SEM_TIMEDWAIT;
	t0 = now();
	deadline = add(t0, secs);
	for (i = 0; i < n; i++) {
		w[i].kind = (enum wait_kind)i;
		w[i].deadline = deadline;
		w[i].ret = -1;
		if ((r = pthread_create(&th[i], NULL, wait_one, &w[i])))
			fail("pthread_create: %s", strerror(r));
	}
	last = t0;
	for (i = 0; i < n; i++) {
		pthread_join(th[i], NULL);
		if (w[i].ret == EINVAL)
			refused++;
		else if (before(last, w[i].woke))
			last = w[i].woke;
	}
	if (refused == n) {
		printf("refused every wait on this clock with EINVAL\n");
		fflush(stdout);
		_exit(3);
	}
	for (i = 0; i < n; i++) {
		if (w[i].ret != ETIMEDOUT)
			fail("%s returned %d (%s), want ETIMEDOUT", kind_name[i], w[i].ret,
			     w[i].ret ? strerror(w[i].ret) : "woken");
		if (before(w[i].woke, deadline))
			fail("%s woke %.6f s before its deadline", kind_name[i], diff(w[i].woke, deadline));
	}
	check_past(deadline, "absolute-deadline waits");
	printf("ok %.3f waits=%d\n", diff(t0, last), n);
}

int main(int argc, char **argv)
{
	pthread_t wd;
	sigset_t set;
	int r;

	if (argc != 4)
		goto usage;
	if (!strcmp(argv[2], "REALTIME"))
		clk = CLOCK_REALTIME;
	else if (!strcmp(argv[2], "MONOTONIC"))
		clk = CLOCK_MONOTONIC;
	else if (!strcmp(argv[2], "BOOTTIME"))
		clk = CLOCK_BOOTTIME;
	else
		goto usage;
	secs = atof(argv[3]);
	if (secs <= 0 || secs > 600)
		goto usage;
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* the timer's signal is taken with sigwaitinfo: blocked in every thread */
	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if ((r = pthread_create(&wd, NULL, watchdog, NULL)))
		fail("pthread_create: %s", strerror(r));
	if (!strcmp(argv[1], "timerfd"))
		run_timerfd();
	else if (!strcmp(argv[1], "timer"))
		run_timer();
	else if (!strcmp(argv[1], "nanosleep"))
		run_nanosleep();
	else if (!strcmp(argv[1], "futex"))
		run_futex();
	else
		goto usage;
	fflush(stdout);
	_exit(0);
usage:
	fprintf(stderr, "usage: tw-timens timerfd|timer|nanosleep|futex REALTIME|MONOTONIC|BOOTTIME SECONDS\n");
	return 2;
}
