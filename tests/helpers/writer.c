/* tw-writer: a change held stopped in the middle, for the black-box tests of
 * writers that stop (tests/33-writers.t).
 *
 *   tw-writer NAME SECONDS
 *
 * Makes `timewarp set NAME --advance 1h` as the CLI makes it (the control
 * library's change), in a child run one instruction at a time under ptrace
 * until it is about to publish, prints "held" and leaves it stopped there
 * for SECONDS, then lets it run on.  Exits with the change's result: 0 when
 * it succeeded after all. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>

#include "control.h"
#include "change.h"
#include "stepper.h"
#include "timewarp.h"

static const char *name;

static int advance_hour(void *arg)
{
	struct tw_change c = { .what = TW_CH_ADVANCE, .advance = 3600 * TW_NSEC };
	enum tw_refusal why;
	struct tw_ns *ns;
	int r;

	(void)arg;
	if (tw_ns_open(name, &ns))
		return 1;
	r = tw_ns_change(ns, &c, NULL, &why);
	tw_ns_close(ns);
	return r;
}

int main(int argc, char **argv)
{
	int st = 0, held = 0;
	pid_t pid;

	if (argc != 3 || atoi(argv[2]) <= 0) {
		fprintf(stderr, "usage: tw-writer NAME SECONDS\n");
		return 2;
	}
	name = argv[1];
	if ((pid = step_start(advance_hour, NULL)) < 0) {
		fprintf(stderr, "tw-writer: cannot trace a writer: %s\n", strerror(errno));
		return 1;
	}
	while (!(held = step_at_publish(pid)) && !step_one(pid, &st))
		;
	if (!held) {
		fprintf(stderr, "tw-writer: the change ended before it published\n");
		return 1;
	}
	printf("held\n");
	fflush(stdout);
	sleep((unsigned)atoi(argv[2]));
	ptrace(PTRACE_DETACH, pid, 0, 0);
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return 1;
	return WEXITSTATUS(st);
}
