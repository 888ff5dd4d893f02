/* tw-bigenv: exec with a large environment from a thread with a small stack.
 *
 *   tw-bigenv COUNT STACK_KIB CMD [ARG...]
 *       starts a thread with a STACK_KIB KiB stack that execs CMD with an
 *       environment of its own: COUNT variables TWV_<i>=x and PATH (no
 *       TIMEWARP_NS, no LD_PRELOAD, so a member has to build a new one).
 *       Prints nothing itself on success (CMD replaces it); on failure, one
 *       line on stderr and status 1.  Usage errors: status 2. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static long count;
static char **command;

static void *run(void *arg)
{
	char **env = calloc((size_t)count + 2, sizeof(char *));
	size_t each = 32;
	char *text = malloc((size_t)count * each);

	(void)arg;
	if (!env || !text) {
		fprintf(stderr, "tw-bigenv: out of memory\n");
		exit(1);
	}
	for (long i = 0; i < count; i++) {
		env[i] = text + (size_t)i * each;
		snprintf(env[i], each, "TWV_%ld=x", i);
	}
	env[count] = "PATH=/usr/local/bin:/usr/bin:/bin";
	execve(command[0], command, env);
	fprintf(stderr, "tw-bigenv: cannot exec %s: %s\n", command[0], strerror(errno));
	exit(1);
}

int main(int argc, char **argv)
{
	pthread_attr_t attr;
	pthread_t t;
	long kib;

	if (argc < 4 || (count = atol(argv[1])) < 0 || (kib = atol(argv[2])) < 64) {
		fprintf(stderr, "usage: %s COUNT STACK_KIB CMD [ARG...]\n", argv[0]);
		return 2;
	}
	command = argv + 3;
	pthread_attr_init(&attr);
	if (pthread_attr_setstacksize(&attr, (size_t)kib * 1024) ||
	    pthread_create(&t, &attr, run, NULL)) {
		fprintf(stderr, "tw-bigenv: cannot start the thread\n");
		return 1;
	}
	pthread_join(t, NULL);
	return 1;
}
