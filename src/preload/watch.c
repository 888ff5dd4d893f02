/* The watcher: re-evaluates waits and timers when the namespace changes
 * (DESIGN section 2: an absolute deadline "is re-evaluated promptly after every
 * change").
 *
 * Sleeps wait on the clock page's head (page.h) themselves (sleeps.c).  The
 * other waits are made by libc or the kernel with a host timeout planned once,
 * so a member that has such a wait under way gets one thread, the watcher,
 * started at its first such wait.  It blocks on the head word, and after
 * every change it
 *   - kicks each registered wait planned against an older generation: a
 *     condition variable is broadcast (a spurious wake-up, which callers
 *     handle), any other wait gets the kick signal, whose handler does nothing,
 *     so that the wait returns EINTR and its wrapper plans again;
 *   - re-arms the armed timers against the new clocks (timers.c).
 * A wait that has not planned again within a millisecond is kicked again, a
 * few times at most (it may be between its registration and its system call,
 * where a signal finds nothing to interrupt).
 *
 * The kick signal is SIGRTMAX, taken only if the program left it at SIG_DFL and
 * used only while its handler is still ours, and only for threads that have it
 * unblocked during their wait (it is never unblocked for them: a program may
 * be collecting SIGRTMAX with sigwaitinfo or a signalfd); other waits keep the
 * plan they started with until their host timeout.  The handler is SA_RESTART
 * and marks the thread kicked, so a kick that lands after a wait has ended
 * interrupts nothing of the program's and is not taken for its own signal. */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "preload.h"
#include "waits.h"

#define SLOTS 128
#define QUICK_KICKS 8 /* kicks a millisecond apart, then 20 ms apart */

enum { FREE, OWNED, BUSY }; /* BUSY: the watcher is kicking it */

static struct slot {
	int state;
	int kind;
	pid_t tid;
	pthread_cond_t *cond;
	uint32_t gen;   /* the generation its plan was made against */
	uint32_t kicks; /* for the watcher: kicks since the change */
} slots[SLOTS];

static int started;      /* the watcher runs (in this process) */
static int kick_sig;     /* SIGRTMAX once installed, 0 if the program has it */
static pthread_mutex_t start_lock = PTHREAD_MUTEX_INITIALIZER;

static __thread volatile sig_atomic_t kicked;
static __thread pid_t my_tid;

static void on_kick(int sig)
{
	(void)sig; /* being delivered is most of what it is for */
	kicked = 1;
}

int tw_kicked(void)
{
	int k = kicked;

	kicked = 0;
	return k;
}

static int handler_is_ours(void)
{
	struct sigaction sa;

	return kick_sig && !sigaction(kick_sig, NULL, &sa) && sa.sa_handler == on_kick;
}

/* One pass over the waits; returns the most kicks any still waiting has had,
 * or -1 when none waits for a kick. */
static int kick(uint32_t gen)
{
	int signals = handler_is_ours(), most = -1;
	pid_t pid = getpid();

	for (int i = 0; i < SLOTS; i++) {
		struct slot *s = &slots[i];
		int owned = OWNED;

		if (__atomic_load_n(&s->state, __ATOMIC_ACQUIRE) != OWNED ||
		    __atomic_load_n(&s->gen, __ATOMIC_ACQUIRE) == gen)
			continue;
		if (!__atomic_compare_exchange_n(&s->state, &owned, BUSY, 0, __ATOMIC_ACQ_REL,
						 __ATOMIC_RELAXED))
			continue;
		if (__atomic_load_n(&s->gen, __ATOMIC_ACQUIRE) != gen) {
			s->kicks++;
			if (s->kind == TW_KICK_COND)
				pthread_cond_broadcast(s->cond);
			else if (signals)
				syscall(SYS_tgkill, pid, s->tid, kick_sig);
			if ((int)s->kicks > most)
				most = (int)s->kicks;
		}
		__atomic_store_n(&s->state, OWNED, __ATOMIC_RELEASE);
	}
	return most;
}

static void *watch(void *arg)
{
	const struct tw_member *m = arg;
	const uint32_t *word = &m->page->head;
	uint32_t seen = __atomic_load_n(word, __ATOMIC_ACQUIRE);

	for (;;) {
		struct timespec retry = { 0, 1000000 };
		uint32_t gen = __atomic_load_n(word, __ATOMIC_ACQUIRE);
		int most;

		if (gen != seen) {
			for (int i = 0; i < SLOTS; i++)
				slots[i].kicks = 0;
			tw_timers_rearm();
			seen = gen;
		}
		/* a wait that has not planned again yet may have been between its
		 * registration and its system call: kick it again until it has */
		most = kick(gen);
		if (most >= QUICK_KICKS)
			retry.tv_nsec = 20000000;
		syscall(SYS_futex, word, FUTEX_WAIT, gen, most >= 0 ? &retry : NULL, NULL, 0);
	}
	return NULL;
}

/* After fork the child has no watcher and none of the other threads' waits. */
static void forked_child(void)
{
	memset(slots, 0, sizeof(slots));
	started = 0;
	my_tid = 0; /* the child's thread has its own id */
	pthread_mutex_init(&start_lock, NULL);
}

static void start(const struct tw_member *m)
{
	static int atfork_done;
	sigset_t all, old;
	pthread_attr_t a;
	pthread_t t;

	pthread_mutex_lock(&start_lock);
	if (__atomic_load_n(&started, __ATOMIC_ACQUIRE))
		goto out;
	if (!atfork_done) {
		pthread_atfork(NULL, NULL, forked_child);
		atfork_done = 1;
	}
	if (!kick_sig) {
		struct sigaction sa, cur;

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_kick;
		sa.sa_flags = SA_RESTART;
		sigemptyset(&sa.sa_mask);
		if (!sigaction(SIGRTMAX, NULL, &cur) && cur.sa_handler == SIG_DFL &&
		    !(cur.sa_flags & SA_SIGINFO) && !sigaction(SIGRTMAX, &sa, NULL))
			kick_sig = SIGRTMAX;
	}
	sigfillset(&all);
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&a, 64 * 1024);
	pthread_sigmask(SIG_SETMASK, &all, &old); /* the watcher takes no signals */
	if (!pthread_create(&t, &a, watch, (void *)m))
		__atomic_store_n(&started, 1, __ATOMIC_RELEASE);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&a);
out:
	pthread_mutex_unlock(&start_lock);
}

void tw_watch_start(void)
{
	const struct tw_member *m = tw_member_fast();

	if (m->page && !__atomic_load_n(&started, __ATOMIC_ACQUIRE))
		start(m);
}

int tw_kick_signal(void)
{
	return kick_sig;
}

/* Whether a kick by signal can reach the calling thread's wait: its signal
 * is unblocked (the wait's own mask, for TW_KICK_SIGNAL_OPEN, lets it through). */
static int reachable(int kind)
{
	sigset_t cur;

	if (kind == TW_KICK_COND)
		return 1;
	if (!kick_sig)
		return 0;
	return kind == TW_KICK_SIGNAL_OPEN ||
	       (!pthread_sigmask(SIG_BLOCK, NULL, &cur) && !sigismember(&cur, kick_sig));
}

void tw_watch(struct tw_watch *w, int kind, pthread_cond_t *cond)
{
	pid_t tid;

	w->slot = -1;
	if (kind == TW_KICK_NONE)
		return;
	tw_watch_start();
	if (!__atomic_load_n(&started, __ATOMIC_ACQUIRE) || !reachable(kind))
		return;
	if (!(tid = my_tid))
		tid = my_tid = (pid_t)syscall(SYS_gettid);
	for (int n = 0, i = (int)((unsigned)tid % SLOTS); n < SLOTS; n++, i = (i + 1) % SLOTS) {
		struct slot *s = &slots[i];
		int free_slot = FREE;

		if (__atomic_load_n(&s->state, __ATOMIC_RELAXED) != FREE ||
		    !__atomic_compare_exchange_n(&s->state, &free_slot, BUSY, 0, __ATOMIC_ACQ_REL,
						 __ATOMIC_RELAXED))
			continue;
		s->kind = kind;
		s->tid = tid;
		s->cond = cond;
		s->kicks = 0;
		__atomic_store_n(&s->gen, __atomic_load_n(&tw_member_fast()->page->head,
							   __ATOMIC_ACQUIRE), __ATOMIC_RELEASE);
		__atomic_store_n(&s->state, OWNED, __ATOMIC_RELEASE);
		w->slot = i;
		return;
	}
}

void tw_watch_planned(struct tw_watch *w, uint32_t gen)
{
	if (w->slot >= 0)
		__atomic_store_n(&slots[w->slot].gen, gen, __ATOMIC_RELEASE);
}

void tw_unwatch(struct tw_watch *w)
{
	if (w->slot >= 0) {
		struct slot *s = &slots[w->slot];
		int owned = OWNED;

		/* wait out a kick under way: its condition variable may not go yet */
		while (!__atomic_compare_exchange_n(&s->state, &owned, FREE, 0, __ATOMIC_ACQ_REL,
						    __ATOMIC_RELAXED)) {
			owned = OWNED;
			sched_yield();
		}
		w->slot = -1;
	}
}

/* pthread_cleanup_push's form: a cancelled wait leaves no slot behind */
void tw_unwatch_cleanup(void *w)
{
	tw_unwatch(w);
}
