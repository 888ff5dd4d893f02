/* Kicks: ending a served wait early when the namespace changes.
 *
 * A wait whose system call a change of the page's head cannot wake (a sleep, a
 * poll, a select: all end with EINTR after any signal handler, as the kernel
 * never restarts them) takes a *slot* for as long as it waits, saying which
 * head it planned against.  After a change the watcher (watcher.c) queues a
 * SIGSYS for each thread whose slot is behind, carrying a value of its own;
 * the runtime's handler (sigsys.c) swallows it, the system call returns EINTR,
 * and the wait sees its slot kicked and plans again.  A program's own signal
 * ends the wait with EINTR as it would have ended the program's call.
 *
 * A kick lands only inside the wait: the slot's state goes WAITING, KICKING
 * (the watcher sending), KICKED (sent); a wait that ends takes its slot back
 * only once any kick sent to it has been delivered (a system call of its own,
 * on whose return the pending signal is taken), so no stray SIGSYS ever
 * interrupts the program.  A kick that came just before the wait's system
 * call (taken there, ending nothing) leaves the slot KICKED and behind the
 * head: the watcher kicks it again a millisecond later.
 *
 * Slots come in chunks, mapped as more waits run at once: no limit but memory.
 * After a fork the child's copies of the parent's slots name threads that are
 * not its own (each slot says which process took it); the child takes them as
 * free. */
#include <asm/unistd.h>

#include "wait.h"

#define SI_QUEUE_CODE (-1)
#define KICK_VALUE 0x74776b69636bULL
#define SIGSYS_NR 31

enum { FREE, WAITING, KICKING, KICKED };

struct tw_slot {
	uint32_t state;
	int32_t pid; /* the process whose thread took it */
	int32_t tid;
	uint32_t head; /* the head the wait planned against */
	uint32_t kicks;
	uint32_t pad[3];
};

#define CHUNK_BYTES 16384UL
#define CHUNK_SLOTS ((CHUNK_BYTES - 64) / sizeof(struct tw_slot))

struct chunk {
	struct chunk *next;
	char pad[56];
	struct tw_slot slot[CHUNK_SLOTS];
};
_Static_assert(sizeof(struct chunk) <= CHUNK_BYTES, "a chunk of slots in its pages");

static struct chunk **first(void)
{
	return (struct chunk **)&tw_rt()->slots;
}

int tw_kick_taken(const struct tw_siginfo *si)
{
	return si->code == SI_QUEUE_CODE && si->u.rt.value == KICK_VALUE &&
	       si->u.rt.pid == tw_getpid();
}

/* A slot free for this process, or a new chunk's first. */
static struct tw_slot *find(int32_t pid)
{
	struct chunk **link = first(), *c;

	for (;;) {
		while ((c = __atomic_load_n(link, __ATOMIC_ACQUIRE))) {
			for (unsigned long i = 0; i < CHUNK_SLOTS; i++) {
				struct tw_slot *s = &c->slot[i];
				uint32_t st = __atomic_load_n(&s->state, __ATOMIC_ACQUIRE);

				/* another process's: a fork's copy of the parent's */
				if ((st == FREE || __atomic_load_n(&s->pid, __ATOMIC_RELAXED) != pid) &&
				    __atomic_compare_exchange_n(&s->state, &st, KICKING, 0,
								__ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
					__atomic_store_n(&s->pid, pid, __ATOMIC_RELAXED);
					return s;
				}
			}
			link = &c->next;
		}
		if (tw_chunk_append((void **)link, CHUNK_BYTES))
			return 0;
	}
}

struct tw_slot *tw_slot_take(uint32_t head)
{
	int32_t pid = tw_getpid();
	struct tw_slot *s;

	if (tw_watcher_start(head) || !(s = find(pid)))
		return 0;
	s->tid = (int32_t)tw_rt_syscall(__NR_gettid, 0, 0, 0, 0, 0, 0);
	s->kicks = 0;
	__atomic_store_n(&s->head, head, __ATOMIC_RELAXED);
	/* taken as KICKING, so that no watcher kicks it half filled in */
	__atomic_store_n(&s->state, WAITING, __ATOMIC_RELEASE);
	return s;
}

/* A kick sent or being sent: wait until it is sent, then take it (the pending
 * SIGSYS is delivered as this system call returns, and swallowed). */
static void consume(struct tw_slot *s)
{
	while (__atomic_load_n(&s->state, __ATOMIC_ACQUIRE) == KICKING)
		tw_rt_syscall(__NR_sched_yield, 0, 0, 0, 0, 0, 0);
	tw_rt_syscall(__NR_getpid, 0, 0, 0, 0, 0, 0);
}

int tw_slot_kicked(struct tw_slot *s)
{
	if (!s || __atomic_load_n(&s->state, __ATOMIC_ACQUIRE) == WAITING)
		return 0;
	consume(s);
	__atomic_store_n(&s->state, WAITING, __ATOMIC_RELEASE);
	return 1;
}

void tw_slot_planned(struct tw_slot *s, uint32_t head)
{
	if (s)
		__atomic_store_n(&s->head, head, __ATOMIC_RELEASE);
}

void tw_slot_give(struct tw_slot *s)
{
	uint32_t st = WAITING;

	if (!s)
		return;
	if (!__atomic_compare_exchange_n(&s->state, &st, FREE, 0, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE)) {
		consume(s);
		__atomic_store_n(&s->state, FREE, __ATOMIC_RELEASE);
	}
}

/* The kick itself: SIGSYS queued for the thread, with the kick's value. */
static void send(int32_t pid, const struct tw_slot *s)
{
	struct tw_siginfo si;

	tw_memset(&si, 0, sizeof(si));
	si.signo = SIGSYS_NR;
	si.code = SI_QUEUE_CODE;
	si.u.rt.pid = pid;
	si.u.rt.uid = (uint32_t)tw_rt_syscall(__NR_getuid, 0, 0, 0, 0, 0, 0);
	si.u.rt.value = KICK_VALUE;
	tw_rt_syscall(__NR_rt_tgsigqueueinfo, pid, s->tid, SIGSYS_NR, (long)&si, 0, 0);
}

int tw_kick_waits(uint32_t head, int fresh)
{
	int32_t pid = tw_getpid();
	int most = -1;

	for (struct chunk *c = *first(); c; c = __atomic_load_n(&c->next, __ATOMIC_ACQUIRE))
		for (unsigned long i = 0; i < CHUNK_SLOTS; i++) {
			struct tw_slot *s = &c->slot[i];
			uint32_t st = __atomic_load_n(&s->state, __ATOMIC_ACQUIRE);

			if (__atomic_load_n(&s->pid, __ATOMIC_RELAXED) != pid)
				continue;
			if (fresh)
				__atomic_store_n(&s->kicks, 0, __ATOMIC_RELAXED);
			/* a wait behind the head: kicked, or kicked again if the
			 * kick came just before its system call (taken there) and
			 * it has not planned again since */
			if ((st != WAITING && st != KICKED) ||
			    __atomic_load_n(&s->head, __ATOMIC_ACQUIRE) == head ||
			    !__atomic_compare_exchange_n(&s->state, &st, KICKING, 0,
							 __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
				continue;
			send(pid, s);
			s->kicks++;
			if ((int)s->kicks > most)
				most = (int)s->kicks;
			__atomic_store_n(&s->state, KICKED, __ATOMIC_RELEASE);
		}
	return most;
}
