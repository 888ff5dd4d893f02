/* The command line: one verb, its options, and the command to run. */
#ifndef TW_OPTIONS_H
#define TW_OPTIONS_H

#include <sys/types.h>

#include "timewarp.h"

enum verb { V_RUN, V_CREATE, V_JOIN, V_SET, V_SHOW, V_LS, V_RM };

struct options {
	enum verb verb;
	const char *verb_name;
	const char *name;      /* NAME, or run's --name */
	pid_t pid;             /* --pid, 0 when not given */
	int json;
	struct tw_change change;
	char **names;          /* rm: every NAME */
	char **command;        /* run, join: the command and its arguments */
	/* what the change options said, for messages naming a refused value */
	const char *given_at, *given_offset, *given_monotonic, *given_boottime,
		*given_advance;
};

/* Parses argv into *o; bad input ends the program with status 2. */
void parse_options(int argc, char **argv, struct options *o);
void print_usage(void);

#endif
