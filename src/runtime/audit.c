/* The runtime as ld.so's audit module (LD_AUDIT): ld.so loads it before the
 * program's libraries and calls la_version at once, so the runtime is in
 * place before any library constructor runs, and with it the handler for the
 * system calls the filter traps (a trapped call with no handler kills).  It
 * asks ld.so for nothing else: no other audit callback is defined, so
 * binding and calls go on as without it. */
#include "runtime.h"

/* ld.so's: the initial stack pointer, where argc, argv, envp and the
 * auxiliary vector are. */
extern void *__libc_stack_end __attribute__((weak));

__attribute__((visibility("default"))) unsigned int la_version(unsigned int version);
__attribute__((visibility("default"))) unsigned int la_version(unsigned int version)
{
	if (&__libc_stack_end && __libc_stack_end)
		tw_rt_start(__libc_stack_end);
	return version; /* the interface ld.so offers: keep this module loaded */
}
