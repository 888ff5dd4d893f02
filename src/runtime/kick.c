/* Kicks: a SIGSYS the runtime sends one of the program's threads to end a
 * wait it serves early when the namespace changes (tw_kick).  Queued with a
 * value of its own, so that it is never taken for the program's. */
#include <asm/unistd.h>

#include "serve.h"

#define SI_QUEUE_CODE (-1)
#define KICK_VALUE 0x74776b69636bULL

int tw_kick_taken(const struct tw_siginfo *si)
{
	return si->code == SI_QUEUE_CODE && si->u.rt.value == KICK_VALUE &&
	       si->u.rt.pid == tw_rt_syscall(__NR_getpid, 0, 0, 0, 0, 0, 0);
}
